"""Signing in to the web app: passwords (argon2), sessions and API tokens, and the lock after failures.

A password is stored only as its argon2 hash (argon2-cffi's defaults, RFC 9106), never in
clear and never logged. A signed-in session or API token is a random 256-bit value given to
the client once; the database keeps only its SHA-256, so a copy of the database cannot be
used to sign in. After ``MAX_FAILURES`` wrong passwords in a row an account is locked for
``LOCK_SECONDS`` (each further failure while locked extends nothing: the lock just holds), and
a failure costs the caller ``FAILURE_DELAY`` seconds, so guessing is slow. There are no
default credentials: a user signs in only after someone set their password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from screening.errors import InvalidValue, NotAllowed
from screening.storage.models import Token, User, utcnow
from screening.team.users import get_user, require_role

MIN_PASSWORD = 10  # characters; argon2 makes guessing slow, length makes it hopeless
MAX_FAILURES = 5  # wrong passwords in a row before the account is locked
LOCK_SECONDS = 300
FAILURE_DELAY = 1.0  # seconds a failed sign-in costs the caller (the web layer waits this long)
SESSION_HOURS = 12  # a browser session: a working day
API_TOKEN_DAYS = 30
_hasher = PasswordHasher()


class SignInFailed(NotAllowed):
    """Wrong name or password, or a locked account: the same answer for each, so names cannot be probed."""

    def __init__(self) -> None:
        super().__init__(f"wrong user name or password, or the account is locked: {MAX_FAILURES} wrong passwords "
                         f"lock it for {LOCK_SECONDS // 60} minutes (or until an admin sets a new password).",
                         action="sign in")


def set_password(session: Session, name: str, password: str, *, actor: str | None = None) -> None:
    """Set ``name``'s password: by themselves, or by an admin (the first password of an account
    when no admin exists yet is set by whoever runs the command, as `user add` is)."""
    user = get_user(session, name)
    if actor is not None and actor != name:
        require_role(get_user(session, actor), "admin", action="set another user's password")
    elif actor is None and session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None \
            and user.password_hash is not None:
        raise NotAllowed(f"{name} has a password already; an admin changes it (--as ADMIN).", action="set passwords")
    if len(password) < MIN_PASSWORD or not password.strip():
        raise InvalidValue("password", f"a password needs at least {MIN_PASSWORD} characters.")
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(Token).where(Token.user_id == user.id))  # every session of the old password ends


@dataclass
class SignedIn:
    """A new session or API token: ``token`` is given to the client once and never stored."""

    user: str
    role: str
    token: str
    csrf: str
    expires_at: datetime


def sign_in(session: Session, name: str, password: str, *, kind: str = "session") -> SignedIn:
    """Check a password and open a session (``kind="session"``) or an API token (``"api"``)."""
    user = session.scalar(select(User).where(User.name == name))
    now = utcnow()
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # the same work as a real check: timing does not tell which names exist
        raise SignInFailed()
    if user.locked_until is not None and user.locked_until > now:
        _hasher.hash(password)  # locked: the same answer and work as a wrong name, so names cannot be probed
        raise SignInFailed()
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + timedelta(seconds=LOCK_SECONDS)
            user.failed_logins = 0
        raise SignInFailed() from None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    life = timedelta(hours=SESSION_HOURS) if kind == "session" else timedelta(days=API_TOKEN_DAYS)
    session.add(Token(user_id=user.id, digest=_digest(token), kind=kind, csrf=csrf, expires_at=now + life))
    session.execute(delete(Token).where(Token.expires_at < now))  # tidy: expired sessions go
    return SignedIn(user.name, user.role, token, csrf, now + life)


@dataclass(frozen=True)
class Identity:
    """Who a request comes from (plain values: usable after the request's transaction), with the CSRF
    secret of their session."""

    user_id: int
    name: str
    role: str
    csrf: str
    kind: str


# built once: every request runs it, and building a statement costs more than running it on SQLite
_BY_DIGEST = (select(User, Token.csrf, Token.kind, Token.expires_at).join(User, User.id == Token.user_id)
              .where(Token.digest == bindparam("digest")))


_BY_DIGESTS = (select(User, Token.digest, Token.csrf, Token.kind, Token.expires_at).join(User, User.id == Token.user_id)
               .where(Token.digest.in_(bindparam("digests", expanding=True))))


def authenticate_all(session: Session, tokens: Iterable[str | None]) -> None:
    """Look several tokens up in one statement: each :func:`authenticate` of one of them later in this
    session reads the answer instead of asking again. A group of decisions from several screeners is
    written in one transaction, and there each statement is a round trip every decision of the
    group waits for."""
    known: dict[str, Any] = session.info.setdefault("tokens", {})
    digests = sorted({_digest(t) for t in tokens if t} - set(known))
    if not digests:
        return
    for row in session.execute(_BY_DIGESTS, {"digests": digests}):
        known[row.digest] = row
    for digest in digests:
        known.setdefault(digest, None)  # unknown: authenticate says so without asking again


def authenticate(session: Session, token: str | None) -> Identity | None:
    """The user a session cookie or bearer token belongs to (None if missing, unknown or expired)."""
    if not token:
        return None
    digest = _digest(token)
    known: dict[str, Any] = session.info.get("tokens", {})
    row = known[digest] if digest in known else session.execute(_BY_DIGEST, {"digest": digest}).first()
    if row is None or row.expires_at < utcnow():
        return None
    user = row[0]
    session.info.setdefault("users_by_name", {})[user.name] = user  # the request's later lookups of its user
    return Identity(user.id, user.name, user.role, row.csrf, row.kind)


def csrf_ok(identity: Identity, sent: str | None) -> bool:
    """The CSRF value sent with a form or an htmx request is the session's (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(identity.csrf, sent or "")


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(Token).where(Token.digest == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
