"""Who is asking, and the checks every request passes: session or token, CSRF, security headers."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from screening.storage.db import Database
from screening.team.auth import Identity, SignedIn, SignInFailed, authenticate, csrf_ok, sign_in

SESSION_COOKIE = "screening_session"
LOGIN_COOKIE = "screening_login"  # a pre-session CSRF secret for the login form (double submit)
CSRF_HEADER = "x-csrf-token"
SAFE = ("GET", "HEAD", "OPTIONS")


def db_of(request: Request) -> Database:
    """The app's database (set by ``create_app``)."""
    db: Database = request.app.state.db
    return db


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def request_token(request: Request) -> str | None:
    """The request's bearer token (scripts), else its session cookie (browsers)."""
    return bearer(request) or request.cookies.get(SESSION_COOKIE)


def identify(request: Request, session: Session, *, required: bool = True) -> Identity | None:
    """The signed-in user of a request; unsafe browser requests must carry the session's CSRF token.

    A bearer token (scripts) is not sent by browsers on their own, so it needs no CSRF check; a
    session cookie is, so every form post and htmx request carries the token in a hidden field or
    the ``X-CSRF-Token`` header, and is refused (403) without it.
    """
    by_cookie = bearer(request) is None
    identity = authenticate(session, request_token(request))
    if identity is None:
        if required:
            raise HTTPException(401, "sign in first (POST /api/login for a token, or /login in a browser).")
        return None
    if by_cookie and request.method not in SAFE:
        sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None)
        if not csrf_ok(identity, sent):
            raise HTTPException(403, "this form is out of date (no valid CSRF token); reload the page and try again.")
    request.state.identity = identity
    return identity


def attempt_sign_in(db: Database, name: str, password: str, *, kind: str) -> SignedIn:
    """Sign in; a failure is committed too (the count of wrong passwords and the lock must stick)
    before it is raised."""
    failure: SignInFailed | None = None
    with db.transaction() as s:
        try:
            return sign_in(s, name, password, kind=kind)
        except SignInFailed as exc:
            failure = exc
    raise failure


def new_login_secret() -> str:
    return secrets.token_urlsafe(24)


class SecurityHeaders:
    """Pure ASGI middleware: what every answer carries so a browser treats our pages strictly."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
