"""What every command module builds on: the command and group classes with the error boundary,
the application context (the database) and JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from screening.cli.errors import describe
from screening.errors import ScreeningError
from screening.storage.db import Database, check_schema


class ScreeningCommand(click.Command):
    """A command whose library errors become clear messages (naming this command's flags)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScreeningError as exc:
            raise click.ClickException(describe(exc, ctx)) from exc
        except OperationalError as exc:  # the database cannot be opened or reached: not a bug of ours
            raise click.ClickException(
                f"cannot use the database ({exc.orig}); check --db / SCREENING_DB and that it is reachable."
            ) from exc
        except KeyboardInterrupt:
            click.echo("\ninterrupted: nothing from the unfinished step was stored.", err=True)
            sys.exit(130)


class ScreeningGroup(click.Group):
    """A group whose commands (and subgroups) all have the error boundary above."""

    command_class = ScreeningCommand
    group_class = type  # subgroups are ScreeningGroups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScreeningError as exc:  # raised by a group callback itself
            raise click.ClickException(describe(exc, ctx)) from exc


class AppContext:
    """What every command needs: the database, opened (and its schema checked) on first use."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.db_url)
            check_schema(self._db.engine)
        return self._db


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout; NaN is refused so that undefined values stay null."""
    click.echo(json.dumps(data, indent=2, allow_nan=False, default=str))


pass_app = click.make_pass_decorator(AppContext)


def command(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], ScreeningCommand]:
    """``click.command`` with the error boundary: every command of ours is made with this."""
    return click.command(name, cls=ScreeningCommand, **attrs)


def group(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], ScreeningGroup]:
    """``click.group`` with the error boundary for the group and all its commands."""
    return click.group(name, cls=ScreeningGroup, **attrs)
