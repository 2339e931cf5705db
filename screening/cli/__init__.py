"""The `screening` command: a thin layer over the library.

Each command parses its arguments, opens one transaction, makes one library call and prints
the result. Library errors (:class:`screening.errors.ScreeningError`) become a one-line
message and exit 1 at one boundary (:class:`screening.cli.base.ScreeningCommand`, worded by
:mod:`screening.cli.errors`); any other exception is a bug and keeps its traceback. One module
per kind of user: ``records`` and ``dedup`` (information specialist), ``team``, ``review``
and ``tui`` (PI and screeners), ``reports``, ``ranking`` and ``stats``.
"""

from __future__ import annotations

import click

from screening.cli import admin, dedup, fulltext, ranking, records, reports, review, stats, team, tui, web
from screening.cli.base import AppContext, ScreeningGroup


@click.group(cls=ScreeningGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


for _module in (records, dedup, team, review, tui, fulltext, reports, ranking, stats, admin, web):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
