"""Commands for whoever looks after the review's database: moving it to another one."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

import click

from screening.cli.base import AppContext, command, emit_json, pass_app
from screening.cli.options import json_option
from screening.records.files import copy_store
from screening.storage.copy import copy_database


@command()
@click.option("--to", "target_url", required=True, metavar="URL",
              help="SQLAlchemy URL of the database to copy into; it is created or migrated to the latest "
                   "schema and must hold no data.")
@json_option
@pass_app
def copy(app: AppContext, target_url: str, as_json: bool) -> None:
    """Copy the whole review into another database (SQLite <-> PostgreSQL), then verify it.

    Every table is copied with its ids (records, searches with their strategies, users, sets,
    samples, every decision and event), in one transaction on the target; then each table's
    row count and checksum are compared with the source's. Nothing is kept if anything fails.
    Then the full texts the reports name are copied into the target's file store (beside a
    SQLite file, or SCREENING_FILES); a file missing from the source's store is listed.

    \b
    Example:
        screening --db sqlite:///review.db copy --to postgresql+psycopg://me@server/review
        screening --db postgresql+psycopg://me@server/review copy --to sqlite:///laptop.db --json
    """
    with ExitStack() as stack:
        bars: list[Any] = []  # made on the first call, when the total is known

        def progress(rows: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(
                    length=total, label="copying and verifying", file=sys.stderr, hidden=as_json)))
            bars[0].update(rows)

        report = copy_database(app.db, target_url, progress=progress)
    with app.db.read() as s:
        files = copy_store(s, app.db.url, target_url)
    if as_json:
        emit_json({**report.as_dict(), "files": files.as_dict()})
        return
    width = max((len(name) for name in report.tables), default=5)
    for name, table in report.tables.items():
        click.echo(f"  {name:{width}} {table.rows:>9} rows  sha256 {table.checksum[:16]}")
    click.echo(f"copied {report.rows} rows in {len(report.tables)} tables from {report.source} to {report.target} "
               f"in {report.seconds} s; row counts and checksums match")
    click.echo(f"full texts: {files.copied} file(s) copied to {files.root}, {files.present} already there")
    if files.missing:
        click.echo(f"warning: {len(files.missing)} file(s) named by reports are not in the source's store "
                   f"({', '.join(sha[:12] for sha in files.missing[:5])}...): attach them again", err=True)


COMMANDS = [copy]
