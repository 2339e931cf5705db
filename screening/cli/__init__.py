"""The `screening` command: a thin layer over the library.

Each command parses its arguments, opens one transaction, makes one library call and prints
the result. Library errors (:class:`screening.errors.ScreeningError`) become a one-line
message and exit 1 at one boundary (:class:`screening.cli.base.ScreeningCommand`, worded by
:mod:`screening.cli.errors`); any other exception is a bug and keeps its traceback. One module
per kind of user: ``records`` and ``dedup`` (information specialist), ``team``, ``review``
and ``tui`` (PI and screeners), ``reports``, ``ranking`` and ``stats``.
"""

from __future__ import annotations

import importlib

import click

from screening.cli.base import AppContext, ScreeningGroup

# The module of each command. The group imports a command's module only when that command runs
# (or a help page lists it): `screening simulate` need not load the web app, Alembic or the
# reports, which cost it a second of its three on a 2,000-record set. tests/test_docs.py checks
# this table against each module's COMMANDS.
COMMAND_MODULES: dict[str, str] = {
    "init": "records", "search": "records", "import": "records", "export": "records",
    "dedup": "dedup",
    "user": "team", "set": "team", "sample": "team",
    "queue": "review", "decide": "review", "undo": "review", "decisions": "review", "conflicts": "review",
    "resolve": "review", "history": "review", "phase": "review", "status": "review", "agreement": "review",
    "gate": "review", "debrief": "review",
    "screen": "tui", "adjudicate": "tui",
    "fulltext": "fulltext",
    "report": "reports",
    "rank": "ranking", "progress": "ranking", "stop": "ranking", "simulate": "ranking",
    "stats": "stats",
    "copy": "admin",
    "serve": "web",
}


class LazyGroup(ScreeningGroup):
    """The top-level group: commands listed from :data:`COMMAND_MODULES`, imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_MODULES:
            return None
        module = importlib.import_module(f"screening.cli.{COMMAND_MODULES[cmd_name]}")
        commands: list[click.Command] = module.COMMANDS
        return next(c for c in commands if c.name == cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="SCREENING_DB", metavar="URL",
              help="SQLAlchemy URL of the review's database (default sqlite:///screening.db; also SCREENING_DB).")
@click.version_option(package_name="screening")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Import, deduplicate and screen literature for systematic reviews, in blind pairs.

    --as names who is acting; the library checks that user's role for every action and keeps
    what they may not see blind. It cannot check that you are who you say: whoever can open the
    database can do anything. A team that must stay blind screens through the web app, which
    alone holds the database's credentials.

    \b
    Example:
        screening init
        screening search add --from searches/medline_ovid_2016.toml
        screening import medline.ris --search medline_ovid_2016
    """
    ctx.obj = AppContext(db_url)
