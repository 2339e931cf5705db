"""The web layer's one error boundary: library errors become HTTP answers (datasette's pattern).

The status follows the error's class: a bad value 400, not signed in 401, not allowed 403, not
found 404, contradicting what is stored 409, the database unusable 503. ``/api`` and htmx
requests get ``{"error": message}`` JSON or a small fragment; pages get a page. Never a stack
trace: anything else is a bug, logged by the server, answered 500 with no detail.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from screening.errors import (
    Conflict,
    DatabaseError,
    InputFileError,
    InvalidValue,
    NotAllowed,
    NotFound,
    OutputFileError,
    ScreeningError,
)
from screening.team.auth import SignInFailed
from screening.web.render import render_error

STATUS: list[tuple[type[ScreeningError], int]] = [
    (SignInFailed, 401), (NotAllowed, 403), (NotFound, 404), (Conflict, 409), (InvalidValue, 400),
    (InputFileError, 400), (OutputFileError, 400), (DatabaseError, 503),
]


def status_of(exc: ScreeningError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def answer(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render_error(request, status, message)


async def on_library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScreeningError)
    return answer(request, status_of(exc), str(exc))


async def on_database_busy(request: Request, exc: Exception) -> Response:
    """The database refused: SQLite's file lock held past the wait (another process writing for long,
    e.g. an import), or the server unreachable. Either way nothing was stored."""
    text = str(getattr(exc, "orig", exc))
    if "locked" in text or "busy" in text:
        return answer(request, 503, "the database is busy (another command is writing to it); try again in a moment.")
    return answer(request, 503, "the database cannot be reached; try again in a moment.")


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return answer(request, exc.status_code, str(exc.detail))

