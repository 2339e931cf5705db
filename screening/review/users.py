"""The review team: who may do what. Roles are checked here, in the library, for every caller."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue, MissingActor, NotAllowed, NotFound
from screening.storage.models import User

ROLES = ("screener", "pi", "admin")


def add_user(session: Session, name: str, role: str) -> User:
    """A new member of the team. Names join pairs (``a+b``) and lists (``a,b``), so they hold neither."""
    if role not in ROLES:
        raise InvalidValue("role", f"role must be one of {', '.join(ROLES)}, not {role!r}.", value=role)
    if not name or "+" in name or "," in name:
        raise InvalidValue("name", f"user name {name!r} may not be empty or contain '+' or ','.", value=name)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} exists already.", reason="user_exists")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str | None) -> User:
    """The user called ``name``; the acting user must always be named."""
    if not name:
        raise MissingActor()
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound("user", name)
    return user


def require_role(user: User, *roles: str, action: str) -> None:
    """Raise NotAllowed unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise NotAllowed(f"{user.name} is a {user.role}; only a {' or '.join(roles)} may {action}.",
                         actor=user.name, role=user.role, action=action)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))
