"""Commands for the information specialist: the database, the search log, import and export."""

from __future__ import annotations

import os
import sys

import click

from screening.cli.base import AppContext, command, echo, emit_json, group, pass_app
from screening.cli.options import json_option
from screening.records import searches
from screening.records.ingest import import_files
from screening.reports.export import EXPORT_FORMATS, export_records
from screening.reports.output import atomic_write
from screening.storage.db import database_url
from screening.storage.migrate import upgrade


@command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database schema (Alembic).

    \b
    Example:
        screening --db sqlite:///review.db init
    """
    url = database_url(app.db_url)
    upgrade(url)
    echo(f"database ready: {url}")


@group()
def search() -> None:
    """Register searches and compare reported with imported hits.

    \b
    Example:
        screening search add --from searches/medline_ovid_2016.toml
        screening search list
    """


@search.command("add")
@click.argument("name", required=False)
@click.option("--database", help="The database searched: MEDLINE, EMBASE, CINAHL, HMIC, ...")
@click.option("--interface", help="The interface it was searched through: Ovid, EBSCOhost, Embase.com, PubMed, ...")
@click.option("--searched", help="Date searched, YYYY-MM-DD.")
@click.option("--date-limits", help='Date limits of the search, e.g. "2000-2016".')
@click.option("--hits", type=int, help="Number of hits the interface reported.")
@click.option("--strategy", "strategy_file", type=click.Path(exists=True, dir_okay=False),
              help="File with the search strategy as run.")
@click.option("--from", "from_file", type=click.Path(dir_okay=False),
              help="A TOML search description (see searches/); NAME, if given, overrides its name.")
@json_option
@pass_app
def search_add(app: AppContext, name: str | None, database: str | None, interface: str | None,
               searched: str | None, date_limits: str | None, hits: int | None,
               strategy_file: str | None, from_file: str | None, as_json: bool) -> None:
    """Register a search, from flags or from a TOML file in searches/.

    \b
    Example:
        screening search add medline --database MEDLINE --interface Ovid \\
            --searched 2016-12-01 --hits 4213 --strategy searches/medline_ovid_2016.txt
        screening search add --from searches/medline_ovid_2016.toml
    """
    if from_file:
        data = searches.read_search_file(from_file)
        if name:
            data["name"] = name
    else:
        if not name or not database:
            raise click.UsageError("give NAME and --database, or --from FILE.")
        data = {"name": name, "database": database, "interface": interface, "searched": searched,
                "date_limits": date_limits, "hits": hits, "strategy_file": strategy_file}
    with app.db.transaction() as session:
        s = searches.add_search(session, **data)
        out = {"name": s.name, "database": s.database, "interface": s.interface,
               "searched": s.searched, "hits": s.hits_reported}
    if as_json:
        emit_json(out)
    else:
        echo(f"search {out['name']} added ({out['database']}"
                   + (f", {out['interface']}" if out["interface"] else "") + ")")


@search.command("list")
@json_option
@pass_app
def search_list(app: AppContext, as_json: bool) -> None:
    """Every search with reported vs imported hits; mismatches are flagged.

    \b
    Example:
        screening search list --json
    """
    with app.db.read() as session:
        rows = searches.list_searches(session)
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    if not rows:
        echo("no searches yet: add one with `screening search add`.")
        return
    echo(f"{'search':24} {'database':12} {'interface':12} {'searched':10} {'reported':>8} "
               f"{'imported':>8} {'kept':>8}")
    for r in rows:
        flag = "  MISMATCH" if r.mismatch else ""
        reported = "-" if r.hits_reported is None else str(r.hits_reported)
        echo(f"{r.name:24} {r.database:12} {(r.interface or '-'):12} {(r.searched or '-'):10} "
                   f"{reported:>8} {r.imported:>8} {r.kept:>8}{flag}")


@command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--search", "search_name", required=True, help="The search these exports came from.")
@json_option
@pass_app
def import_(app: AppContext, files: tuple[str, ...], search_name: str, as_json: bool) -> None:
    """Import database exports (RIS, PubMed .nbib, CSV) into a search, all or nothing.

    \b
    Example:
        screening import medline_1.ris medline_2.ris --search medline_ovid_2016
    """
    total = sum(os.path.getsize(f) for f in files if os.path.isfile(f))  # progress is in bytes read
    with click.progressbar(length=total, label="importing", file=sys.stderr,
                           hidden=as_json) as bar, app.db.transaction() as session:
        report = import_files(session, search_name, files, progress=bar.update)
    if as_json:
        emit_json(report.as_dict())
        return
    for f in report.files:
        if f.skipped:
            echo(f"{f.path}: already imported into {report.search} ({f.records} records); nothing to do")
        else:
            echo(f"{f.path}: {f.records} records ({f.format}, {f.encoding})")
        for w in f.warnings:
            echo(f"  warning: {w}", err=True)
    echo(f"imported {report.records} records into search {report.search}")


@command()
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True, help="CSV or RIS.")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file (default: standard output).")
@click.option("--all", "all_records", is_flag=True, help="Include removed duplicates (see duplicate_of).")
@click.option("--set", "set_name", metavar="NAME", help="Only the records of this screening set.")
@click.option("--included", is_flag=True, help="Only records whose final decision is include.")
@pass_app
def export(app: AppContext, fmt: str, out: str | None, all_records: bool, set_name: str | None,
           included: bool) -> None:
    """Export records as CSV or RIS.

    \b
    Example:
        screening export --format ris --out kept.ris
        screening export --format csv --set access --included --out included.csv
    """
    with app.db.snapshot() as session:
        if out:
            with atomic_write(out) as fh:
                n = export_records(session, fh, fmt, all_records=all_records, set_name=set_name,
                                   included=included)
            echo(f"wrote {n} records to {out}", err=True)
        else:
            export_records(session, sys.stdout, fmt, all_records=all_records,
                           set_name=set_name, included=included)


COMMANDS = [init, search, import_, export]
