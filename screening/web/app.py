"""The web app: a thin layer over the library, like the CLI.

``create_app(db)`` builds a Starlette application. A route reads the request, makes one
library call in one transaction (a read or a write), and renders HTML (Jinja2 templates,
htmx for the keyboard-driven pages) or JSON (``/api``). What a viewer may see and do is
decided by the library (blinding, frozen batches, roles); library errors are mapped to HTTP
answers in one place (:mod:`screening.web.errors`), never a stack trace.

Who is asking: a browser carries a session cookie (HttpOnly, SameSite=Lax) and sends the
session's CSRF token with every form and htmx request; a script sends ``Authorization: Bearer``
with an API token from ``POST /api/login`` (no cookie, so no CSRF to forge).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from screening.errors import ScreeningError
from screening.prioritise.background import Retrainer
from screening.storage.db import Database, check_schema
from screening.web import api, pages, threads
from screening.web.errors import on_database_busy, on_http_error, on_library_error
from screening.web.security import SecurityHeaders

STATIC = Path(__file__).with_name("static")


def create_app(db: Database | str | None = None) -> Starlette:
    """The app on ``db`` (a Database, a URL, or ``SCREENING_DB`` / the default)."""
    database = db if isinstance(db, Database) else Database(db)
    check_schema(database.engine)
    app = Starlette(
        lifespan=threads.lifespan,  # reads on a few threads, writes on one
        routes=[*api.ROUTES, *pages.ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        exception_handlers={ScreeningError: on_library_error, HTTPException: on_http_error,
                            OperationalError: on_database_busy},
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.db = database
    threads.set_up(app, database)
    app.state.retrainer = Retrainer(database)  # single-phase rankings, retrained off the request path
    return app


def app_from_environment() -> Starlette:
    """For ``uvicorn --factory`` with several worker processes: the database from ``SCREENING_DB``."""
    return create_app(os.environ.get("SCREENING_DB"))

