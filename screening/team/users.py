"""The review team: who may do what. Roles are checked here, in the library, for every caller.

The first admin is added by anyone (someone has to start the team); once an admin exists, only
an admin adds users. Names are compared without regard to case, so "Alice" and "alice" are
never two people.
"""

from __future__ import annotations

import difflib

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue, MissingActor, NotAllowed, NotFound
from screening.storage.limits import check_text
from screening.storage.models import User

ROLES = ("screener", "pi", "admin")
MANAGERS = ("pi", "admin")  # who set up and run a review: sets, samples, criteria, the gate, phases


def add_user(session: Session, name: str, role: str, *, actor: str | None = None) -> User:
    """A new member of the team. Names join pairs (``a+b``) and lists (``a,b``), so they hold neither."""
    if role not in ROLES:
        raise InvalidValue("role", f"role must be one of {', '.join(ROLES)}, not {role!r}.", value=role)
    name = (name or "").strip()
    if not name or "+" in name or "," in name:
        raise InvalidValue("name", f"user name {name!r} may not be empty or contain '+' or ','.", value=name)
    check_text(User.name, name, "name", what="a user name")
    if session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None:
        require_role(get_user(session, actor), "admin", action="add users")
    clash = session.scalar(select(User).where(func.lower(User.name) == name.lower()))
    if clash is not None:
        raise Conflict(f"a user named {clash.name!r} exists already (names are compared without case).",
                       reason="user_exists")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user


_BY_NAME = select(User).where(User.name == bindparam("name"))  # built once: most calls name their user


def get_user(session: Session, name: str | None) -> User:
    """The user called ``name``; the acting user must always be named, and must exist."""
    if not name:
        raise MissingActor()
    seen: dict[str, User] = session.info.setdefault("users_by_name", {})  # a request names its user often
    if name in seen:
        return seen[name]
    user = session.scalar(_BY_NAME, {"name": name})
    if user is not None:
        seen[name] = user
    if user is None:
        names = list(session.scalars(select(User.name).order_by(User.name)))
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or [
            n for n in names if n.lower() == name.lower()]
        message = f"no user named {name!r}" + (f"; did you mean {close[0]!r}?" if close else ".")
        raise NotFound("user", name, message)
    return user


def require_role(user: User, *roles: str, action: str) -> None:
    """Raise NotAllowed unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise NotAllowed(f"{user.name} is a {user.role}; only a {' or '.join(roles)} may {action}.",
                         actor=user.name, role=user.role, action=action)


def manager(session: Session, name: str | None, *, action: str) -> User:
    """The acting user, who must be a PI or an admin to ``action``."""
    user = get_user(session, name)
    require_role(user, *MANAGERS, action=action)
    return user


def list_users(session: Session, viewer: str | None = None) -> list[User]:
    """The team (for a named viewer: an admin only, who manages it)."""
    if viewer is not None:
        require_role(get_user(session, viewer), "admin", action="manage the team")
    return list(session.scalars(select(User).order_by(User.name)))
