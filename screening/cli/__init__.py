"""The `screening` command: a thin layer over the library.

Each command parses its arguments, opens one transaction, makes one library call and prints
the result. User errors (:class:`screening.errors.ScreeningError`) become a one-line message
and exit 1 at this single boundary; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from screening.errors import ScreeningError


class ScreeningGroup(click.Group):
    """A click group that turns library errors into clear messages, never tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScreeningError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):  # the database cannot be opened or reached: not a bug of ours
                raise click.ClickException(
                    f"cannot use the database ({exc.orig}); check --db / SCREENING_DB and that it is reachable."
                ) from exc
            raise
        except KeyboardInterrupt:
            click.echo("\ninterrupted: nothing from the unfinished step was stored.", err=True)
            sys.exit(130)


class AppContext:
    """What every command needs: the database, opened on first use."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._db = None

    @property
    def db(self):  # type: ignore[no-untyped-def]
        from screening.storage.db import Database, check_schema

        if self._db is None:
            self._db = Database(self.db_url)
            check_schema(self._db.engine)
        return self._db


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout; NaN is refused so that undefined values stay null."""
    click.echo(json.dumps(data, indent=2, allow_nan=False, default=str))


pass_app = click.make_pass_decorator(AppContext)


@click.group(cls=ScreeningGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="SCREENING_DB", help="SQLAlchemy URL (default sqlite:///screening.db).")
@click.version_option(package_name="screening")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Import, deduplicate and screen literature for systematic reviews, in blind pairs."""
    ctx.obj = AppContext(db_url)


def _register() -> None:
    from screening.cli import dedup, rank, records, review, screen_tui, stats

    for module in (records, dedup, review, screen_tui, stats, rank):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
