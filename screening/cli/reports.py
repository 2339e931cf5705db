"""Reports for the write-up: the columns of Table 3 (and, to come, PRISMA)."""

from __future__ import annotations

from screening.cli.base import AppContext, echo, group, pass_app
from screening.cli.options import format_option
from screening.reports.table3 import FORMATS as TABLE3_FORMATS
from screening.reports.table3 import render_table3, table3


@group()
def report() -> None:
    """Reports for the write-up.

    \b
    Example:
        screening report sets --format md
    """


@report.command("sets")
@format_option(TABLE3_FORMATS, default="md", help="Markdown table, CSV or JSON.")
@pass_app
def report_sets(app: AppContext, fmt: str) -> None:
    """The columns of Table 3: set, records screened, test-screening share (n), pairs / screeners.

    \b
    Example:
        screening report sets --format csv > table3.csv
    """
    with app.db.read() as s:
        echo(render_table3(table3(s), fmt), nl=False)


COMMANDS = [report]
