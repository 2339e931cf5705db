"""Reports for the write-up: Table 3, the PRISMA 2020 flow diagram, the searches (PRISMA-S), a bundle."""

from __future__ import annotations

import sys

import click

from screening.cli.base import AppContext, echo, group, pass_app
from screening.cli.options import format_option, set_option
from screening.reports.bundle import write_bundle
from screening.reports.output import atomic_write
from screening.reports.prisma import FORMATS as PRISMA_FORMATS
from screening.reports.prisma import prisma_counts, render_prisma
from screening.reports.searches_report import FORMATS as SEARCHES_FORMATS
from screening.reports.searches_report import render_searches, searches_report
from screening.reports.table3 import FORMATS as TABLE3_FORMATS
from screening.reports.table3 import render_table3, table3

out_option = click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
                          help="Write to this file, atomically (default: standard output).")


def _write(data: str | bytes, out: str | None) -> None:
    """The report to ``out`` (all or nothing) or to standard output."""
    if out:
        with atomic_write(out, binary=isinstance(data, bytes)) as fh:
            fh.write(data)
        echo(f"wrote {out}", err=True)
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            raise click.UsageError("a PNG is binary: write it to a file with --out FILE.")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        echo(data, nl=False)


@group()
def report() -> None:
    """Reports for the write-up: Table 3, the PRISMA 2020 diagram, the searches, a bundle of them all.

    \b
    Example:
        screening report sets --format md
        screening report prisma --format svg --out prisma.svg
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
    with app.db.snapshot() as s:
        echo(render_table3(table3(s), fmt), nl=False)


@report.command("prisma")
@set_option(help="Only this title/abstract set and its full-text set (default: the whole review).")
@format_option(PRISMA_FORMATS, help="json (the PRISMA2020 template's keys), csv (the template itself, for its "
               "Shiny app), svg or png (the diagram), md (a table of the boxes).")
@out_option
@pass_app
def report_prisma(app: AppContext, set_name: str | None, fmt: str, out: str | None) -> None:
    """The PRISMA 2020 flow diagram, every number counted from the review; refused if the boxes do not add up.

    Records excluded include those left unscreened when a set was stopped on the stopping test
    (given apart in JSON and in the diagram); records and reports still awaiting a decision are
    said so.

    \b
    Example:
        screening report prisma --format json
        screening report prisma --format svg --out prisma.svg
        screening report prisma --set dinosaurs --format png --out prisma.png
    """
    with app.db.snapshot() as s:
        counts = prisma_counts(s, set_name)
    _write(render_prisma(counts, fmt), out)


@report.command("searches")
@format_option(SEARCHES_FORMATS, help="md (one section per search, strategy verbatim), csv (a row per search) or "
               "json.")
@out_option
@pass_app
def report_searches(app: AppContext, fmt: str, out: str | None) -> None:
    """The searches as PRISMA-S asks: database, platform, dates, limits, strategy, hits, deduplication.

    \b
    Example:
        screening report searches --format md --out searches.md
    """
    with app.db.snapshot() as s:
        data = searches_report(s)
    _write(render_searches(data, fmt), out)


@report.command("bundle")
@click.argument("folder", type=click.Path(file_okay=False))
@set_option(help="Only this title/abstract set and its full-text set (default: the whole review).")
@pass_app
def report_bundle(app: AppContext, folder: str, set_name: str | None) -> None:
    """Write one folder to send to co-authors: PRISMA (SVG, PNG, CSV, JSON), searches, Table 3, agreement,
    exclusion reasons, the included records (RIS, CSV) and an index.html tying them together.

    \b
    Example:
        screening report bundle report-2024-05/
    """
    with app.db.snapshot() as s:
        bundle = write_bundle(s, folder, set_name=set_name)
    for f in bundle.files:
        echo(f"  {f.name}: {f.title}")
    echo(f"wrote {len(bundle.files)} files to {bundle.folder}; open {bundle.folder.rstrip('/')}/index.html")


COMMANDS = [report]
