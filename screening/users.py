"""The review team: who may do what. Roles are checked here, in the library, not in the CLI."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import Conflict, NotAllowed, NotFound, ScreeningError
from screening.storage.models import User

ROLES = ("screener", "pi", "admin")


def add_user(session: Session, name: str, role: str) -> User:
    if role not in ROLES:
        raise ScreeningError(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    if not name or "+" in name or "," in name:
        raise ScreeningError(f"user name {name!r} may not be empty or contain '+' or ','.")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} exists already.")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str | None) -> User:
    if not name:
        raise ScreeningError("say who you are with --as NAME.")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}; add them with `screening user add {name} --role screener`.")
    return user


def require_role(user: User, *roles: str, action: str) -> None:
    """Raise NotAllowed unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise NotAllowed(f"{user.name} is a {user.role}; only a {' or '.join(roles)} may {action}.")


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))
