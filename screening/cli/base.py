"""What every command module builds on: the command and group classes with the error boundary,
the application context (the database) and JSON output."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from screening.cli.errors import describe
from screening.errors import ScreeningError

if TYPE_CHECKING:
    from screening.storage.db import Database


def _use_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(AppContext).db_url = value


def db_option() -> click.Option:
    """``--db URL`` on every command as well as before it (``screening serve --db URL``)."""
    return click.Option(["--db"], metavar="URL", expose_value=False, is_eager=True, callback=_use_db,
                        help="SQLAlchemy URL of the review's database (as `screening --db URL ...`).")


class ScreeningCommand(click.Command):
    """A command whose library errors become clear messages (naming this command's flags)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(db_option())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScreeningError as exc:
            raise click.ClickException(describe(exc, ctx)) from exc
        except Exception as exc:
            message = _database_unusable(exc)
            if message is None:
                raise
            raise click.ClickException(message) from exc
        except KeyboardInterrupt:
            click.echo("\ninterrupted: nothing from the unfinished step was stored.", err=True)
            sys.exit(130)


def _database_unusable(exc: Exception) -> str | None:
    """What to tell the user when ``exc`` says the database cannot be opened, reached or written
    (not a bug of ours), else None.

    SQLAlchemy is imported by the commands that open a database, not by this module: `screening
    simulate` never loads it (0.3 s of a simulation's 2.0 s on a small review).
    An exception of SQLAlchemy's means it was loaded."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    if "locked" in str(exc.orig) or "busy" in str(exc.orig):
        return ("the database is busy: another command has been writing to it for a while (an import?). "
                "Nothing from this command was stored; try again in a moment.")
    return f"cannot use the database ({exc.orig}); check --db / SCREENING_DB and that it is reachable."


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
            from screening.storage.db import Database, check_schema

            self._db = Database(self.db_url)
            check_schema(self._db.engine)
        return self._db


# C0 and C1 control characters (but tab and newline) and the Unicode bidirectional overrides: in a
# title or a note they could move the cursor, recolour or rewrite the terminal, or reorder text
CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """Text from records and people made safe to print: control characters shown, not obeyed."""
    return CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                          else f"\\u{ord(m.group()):04x}", text)


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for everything the CLI prints that may hold text from a file or a person."""
    click.echo(neutralise(message), err=err, nl=nl)


def secho(message: str, **styles: Any) -> None:
    click.secho(neutralise(message), **styles)


def _finite(data: Any) -> Any:
    """NaN and infinities become null: undefined values are null in every JSON we print."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def emit_json(data: Any) -> None:
    """Exactly one JSON document on stdout; undefined values are null, never NaN."""
    click.echo(json.dumps(_finite(data), indent=2, allow_nan=False, default=str))


pass_app = click.make_pass_decorator(AppContext)


def command(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], ScreeningCommand]:
    """``click.command`` with the error boundary: every command of ours is made with this."""
    return click.command(name, cls=ScreeningCommand, **attrs)


def group(name: str | None = None, **attrs: Any) -> Callable[[Callable[..., Any]], ScreeningGroup]:
    """``click.group`` with the error boundary for the group and all its commands."""
    return click.group(name, cls=ScreeningGroup, **attrs)
