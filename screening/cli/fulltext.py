"""The full-text stage: its start, new includes, the retrieval of each report."""

from __future__ import annotations

import click

from screening.cli.base import AppContext, echo, emit_json, group, pass_app
from screening.cli.options import as_option, json_option
from screening.cli.params import PAIRS
from screening.records.files import FileStore, store_root
from screening.review.fulltext import record_report, report_states, start_full_text, sync_full_text
from screening.review.sets import get_set


@group()
def fulltext() -> None:
    """The full-text stage of a set: its title/abstract includes, screened on their full reports.

    \b
    Example:
        screening fulltext start access --pairs alice+bob --seed 7 --as pat
        screening fulltext report "access (full text)" 812 retrieved --file paper812.pdf --as ann
    """


@fulltext.command("start")
@click.argument("set_name")
@click.option("--pairs", type=PAIRS, help="Screen every report in pairs, e.g. a+b,a+c (blind; the PI resolves).")
@click.option("--screeners", help="Or screen each report once, by these screeners (comma-separated).")
@click.option("--seed", type=int, required=True, help="Stored with the stage: same seed, same batches.")
@click.option("--batch-size", type=int, default=20, show_default=True, help="Reports per batch when in pairs.")
@click.option("--name", help='Name of the full-text set (default: "SET (full text)").')
@click.option("--reason", "reasons", multiple=True, metavar="TEXT",
              help="An exclusion reason (repeatable; default: population, intervention, comparator, outcome, "
                   "design, not empirical, duplicate publication).")
@as_option(required=True, help="The PI or admin acting (recorded).")
@json_option
@pass_app
def start(app: AppContext, set_name: str, pairs: list[tuple[str, str]] | None, screeners: str | None, seed: int,
          batch_size: int, name: str | None, reasons: tuple[str, ...], actor: str, as_json: bool) -> None:
    """Start the full-text stage of SET_NAME with its title/abstract includes.

    \b
    Example:
        screening fulltext start access --pairs alice+bob,alice+carol --seed 7 --as pat
        screening fulltext start access --screeners alice,bob --seed 7 --reason "wrong setting" --as pat
    """
    people = [p.strip() for p in screeners.split(",") if p.strip()] if screeners else None
    with app.db.transaction() as s:
        res = start_full_text(s, set_name, actor=actor, seed=seed, pairs=pairs, screeners=people,
                              batch_size=batch_size, name=name, reasons=list(reasons) or None)
    if as_json:
        emit_json(res.as_dict())
        return
    loads = ", ".join(f"{k} {v}" for k, v in res.assigned.items())
    echo(f"full-text set {res.set}: {res.reports} reports of {res.parent}, screened "
         f"{'in pairs' if res.mode == 'pairs' else 'singly'} ({loads})")


@fulltext.command("sync")
@click.argument("set_name")
@click.option("--pairs", type=PAIRS, help="Pairs for the new reports (when the stage screens in pairs).")
@click.option("--seed", type=int, help="Seed for the new reports' batches (when in pairs).")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def sync(app: AppContext, set_name: str, pairs: list[tuple[str, str]] | None, seed: int | None, actor: str) -> None:
    """Bring SET_NAME's includes decided since the full-text stage began into it.

    \b
    Example:
        screening fulltext sync access --as pat
    """
    with app.db.transaction() as s:
        n = sync_full_text(s, set_name, actor=actor, seed=seed, pairs=pairs)
    echo(f"{n} new report(s) added to the full-text stage of {set_name}")


@fulltext.command("report")
@click.argument("set_name")
@click.argument("record_id", type=int)
@click.argument("status", type=click.Choice(["sought", "retrieved", "not-retrieved"]))
@click.option("--file", "pdf", type=click.Path(exists=True, dir_okay=False),
              help="The full text (PDF): stored once, by its content, in the review's file store.")
@click.option("--reason", help="Why it could not be retrieved (required for not-retrieved).")
@as_option(required=True, help="Who records it (a PI, an admin or a screener of the set).")
@pass_app
def report_cmd(app: AppContext, set_name: str, record_id: int, status: str, pdf: str | None, reason: str | None,
               actor: str) -> None:
    """Record that a report of a full-text set was sought, retrieved (with its file) or not retrieved.

    \b
    Example:
        screening fulltext report "access (full text)" 812 retrieved --file paper812.pdf --as ann
        screening fulltext report "access (full text)" 901 not-retrieved --reason "no library holds it" --as ann
    """
    sha = FileStore(store_root(app.db.url)).put(pdf) if pdf else None
    with app.db.transaction() as s:
        record_report(s, set_name, record_id, status.replace("-", "_"), actor=actor, reason=reason,
                      file_sha256=sha, file_name=pdf.rsplit("/", 1)[-1] if pdf else None)
    echo(f"report {record_id} of {set_name}: {status}" + (f" ({sha[:12]}...)" if sha else ""))


@fulltext.command("list")
@click.argument("set_name")
@json_option
@pass_app
def list_cmd(app: AppContext, set_name: str, as_json: bool) -> None:
    """Every report of a full-text set with where its retrieval stands.

    \b
    Example:
        screening fulltext list "access (full text)" --json
    """
    with app.db.read() as s:
        states = sorted(report_states(s, get_set(s, set_name).id).values(), key=lambda r: r.record_id)
    if as_json:
        emit_json([r.as_dict() for r in states])
        return
    for r in states:
        extra = f" ({r.reason})" if r.reason else (f" {r.file_name}" if r.file_name else "")
        echo(f"{r.record_id:>7} {r.status}{extra}")
    echo(f"{len(states)} report(s)")


COMMANDS = [fulltext]
