"""The CLI's one error boundary: library errors become one-line messages that name flags.

The library raises typed errors that carry what went wrong as data (:mod:`screening.errors`);
this module alone turns them into words for a person at a terminal: the flag that holds a bad
value (found among the running command's own parameters), and the command that helps next.
"""

from __future__ import annotations

import click

from screening.errors import (
    Ambiguous,
    Conflict,
    DatabaseError,
    InvalidValue,
    MissingActor,
    NotAllowed,
    NotFound,
    ScreeningError,
)

NOT_FOUND_HINTS = {
    "search": "add it with `screening search add`.",
    "set": "create it with `screening set create`.",
    "user": "add them with `screening user add NAME --role screener` (see `screening user list`).",
    "record": "see `screening export --format csv --all` for record ids.",
}
CONFLICT_HINTS = {
    "sample_exists": "Add --extend to draw more.",
    "gate_not_met": "Screen more batches (`screening sample --extend`), or use --force --reason TEXT.",
    "no_screeners": "Draw a sample with `screening sample --pairs` first.",
}
DATABASE_HINTS = {
    "no_schema": "Run `screening init` first (or pass --db / SCREENING_DB for another database).",
    "no_database": "Check --db / SCREENING_DB; `screening init` creates a new database.",
    "bad_url": "Give an SQLAlchemy URL such as sqlite:///screening.db or postgresql+psycopg://user@host/dbname "
               "with --db or SCREENING_DB.",
}


def flag_for(ctx: click.Context | None, field: str) -> str | None:
    """How the running command spells the parameter ``field``: ``--batch-size``, ``SET_NAME``."""
    if ctx is None:
        return None
    for param in ctx.command.params:
        if param.name == field:
            if isinstance(param, click.Option):
                return max(param.opts, key=len)
            return param.human_readable_name
    return None


def describe(exc: ScreeningError, ctx: click.Context | None = None) -> str:
    """The message a person at the terminal reads for a library error."""
    text = str(exc)
    if isinstance(exc, MissingActor):
        return "say who you are with --as NAME (every change is recorded with its author)."
    if isinstance(exc, Ambiguous):
        return f"record {exc.record_id} is in several sets ({', '.join(exc.sets)}); say which with --set NAME."
    if isinstance(exc, InvalidValue):
        flag = flag_for(ctx, exc.field)
        return f"{flag}: {text}" if flag else text
    if isinstance(exc, NotFound):
        hint = NOT_FOUND_HINTS.get(exc.kind)
        return f"{text} {hint[0].upper()}{hint[1:]}" if hint else text
    if isinstance(exc, Conflict):
        hint = CONFLICT_HINTS.get(exc.reason)
        return f"{text} {hint}" if hint else text
    if isinstance(exc, DatabaseError):
        hint = DATABASE_HINTS.get(exc.reason)
        return f"{text} {hint}" if hint else text
    if isinstance(exc, NotAllowed) and exc.action == "decide":
        return f"{text} See `screening queue --as {exc.actor}`."
    return text
