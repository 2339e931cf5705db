"""`screening serve`: the web app on the same database the CLI uses."""

from __future__ import annotations

import os

import click
import uvicorn

from screening.cli.base import AppContext, command, echo, pass_app
from screening.storage.db import database_url
from screening.web.app import create_app


@command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: the network, behind HTTPS).")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (one per core on a team server; SQLite is fine with 2).")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int) -> None:
    """Serve the web app (screening, conflicts, dashboards) on this review's database until stopped.

    \b
    Example:
        screening --db sqlite:///review.db serve --port 8000
        screening --db postgresql+psycopg://me@server/review serve --host 0.0.0.0 --workers 4
    """
    url = database_url(app.db_url)
    database = app.db  # it must exist and have its schema: a clear error now, not at the first request
    echo(f"serving {url} on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    if workers == 1:
        uvicorn.run(create_app(database), host=host, port=port, log_level="warning")
    else:
        os.environ["SCREENING_DB"] = url
        uvicorn.run("screening.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


COMMANDS = [serve]
