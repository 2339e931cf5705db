"""`screening dedup`: the automatic pass, and the commands that explain and correct it."""

from __future__ import annotations

import sys
import textwrap

import click

from screening.cli.base import AppContext, echo, emit_json, group, pass_app
from screening.cli.options import as_option, json_option
from screening.dedup.core import RELATIONS
from screening.dedup.service import group_of, pending_pairs, related_to
from screening.review.merges import QueueChanges, answer, deduplicate, link, merge, split, unlink
from screening.storage.models import Record

SIDE_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid", "pub_type")


@group(invoke_without_command=True)
@json_option
@click.pass_context
def dedup(ctx: click.Context, as_json: bool) -> None:
    """Find duplicates across and within searches (run it after every import).

    \b
    Example:
        screening dedup
        screening dedup review --as ann
        screening dedup show 123
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    with app.db.transaction() as session, click.progressbar(
            length=100, label="deduplicating", file=sys.stderr, hidden=as_json) as bar:
        summary, changes = deduplicate(session, progress=bar.update)
    if as_json:
        emit_json({**summary.as_dict(), "queues": changes.as_dict()})
        return
    rules = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_rule.items())) or "none"
    echo(f"{summary.records} records: {summary.groups} duplicate groups, {summary.removed} duplicates "
               f"removed ({rules}), {summary.queued} pairs queued for review, {summary.comparisons} comparisons, "
               f"{summary.seconds} s")
    if summary.flagged:
        echo(f"{summary.flagged} duplicates were found after screening had started: they are flagged "
                   "and keep their decisions (see `screening export --all`, column duplicate_of).")
    if summary.queued:
        echo("review the doubtful pairs with `screening dedup review`.")
    report_queue_changes(changes)


def report_queue_changes(changes: QueueChanges) -> None:
    """Tell the team how screening queues followed the merges (also recorded as set events)."""
    if changes.changed:
        echo(f"{changes.changed} queued record(s) were merged into another: the kept record took their place "
             "(see `screening history`).")
    decided = sum(map(len, changes.decided.values()))
    if decided:
        echo(f"{decided} merged record(s) had been decided already: their decisions are kept; the PI sees them "
             "flagged (`screening export --all`, columns duplicate_of).")


def _cell(rec: Record, name: str) -> str:
    v = getattr(rec, name)
    if isinstance(v, list):
        v = "; ".join(map(str, v))
    return "" if v is None else str(v)


def side_by_side(records: list[Record], width: int = 38) -> str:
    """Records in columns, one row per field, so differences are easy to see."""
    lines = [" " * 10 + "".join(f"{('#' + str(r.id)):<{width + 2}}" for r in records)]
    for name in SIDE_FIELDS:
        cols = [textwrap.wrap(_cell(r, name), width) or [""] for r in records]
        for i in range(max(len(c) for c in cols)):
            label = name if i == 0 else ""
            lines.append(f"{label:<10}" + "".join(f"{(c[i] if i < len(c) else ''):<{width + 2}}" for c in cols))
    return "\n".join(lines)


@dedup.command("show")
@click.argument("record_id", type=int)
@pass_app
def show(app: AppContext, record_id: int) -> None:
    """Show RECORD_ID's duplicate group side by side, with the rule and scores that joined it,
    and the records related to it (errata, retractions, updates...).

    \b
    Example:
        screening dedup show 123
    """
    with app.db.read() as session:
        members = group_of(session, record_id)
        echo(f"group {members[0].id}: {len(members)} record(s); kept #{members[0].id}")
        echo(side_by_side(members[:4]))
        for m in members:
            src = m.search_id
            if m.duplicate_of:
                scores = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in (m.dedup_scores or {}).items())
                echo(f"#{m.id} (search {src}) duplicate of #{m.duplicate_of}: rule {m.dedup_rule}"
                           + (f"; {scores}" if scores else "") + (f"; {m.dedup_flag}" if m.dedup_flag else ""))
            else:
                echo(f"#{m.id} (search {src}) kept")
        for r in related_to(session, [members[0].id]).get(members[0].id, []):
            title = textwrap.shorten(r.title or "(no title)", 80)
            if r.relation.endswith(" of"):
                echo(f"related: this record is the {r.relation} #{r.record_id}: {title}")
            else:
                echo(f"related: #{r.record_id} is its {r.relation}: {title}")


@dedup.command("link")
@click.argument("notice", type=int)
@click.argument("article", type=int)
@click.option("--relation", type=click.Choice(RELATIONS), required=True,
              help="What NOTICE is to ARTICLE: its erratum, retraction, comment, reply, update (a newer version), "
                   "abstract (a conference abstract of it), reprint or translation.")
@as_option(required=True, help="The PI or admin who decides (recorded with the link).")
@click.option("--note", help="Why (recorded).")
@pass_app
def link_cmd(app: AppContext, notice: int, article: int, relation: str, actor: str, note: str | None) -> None:
    """Link two records that are related but not duplicates (kept by every later pass).

    \b
    Example:
        screening dedup link 812 455 --relation retraction --as ann
    """
    with app.db.transaction() as session:
        changes = link(session, notice, article, relation, by=actor, note=note)
    echo(f"record {notice} is linked to {article} as its {relation}")
    report_queue_changes(changes)


@dedup.command("unlink")
@click.argument("a", type=int)
@click.argument("b", type=int)
@as_option(required=True, help="The PI or admin who decides (recorded).")
@click.option("--note", help="Why (recorded).")
@pass_app
def unlink_cmd(app: AppContext, a: int, b: int, actor: str, note: str | None) -> None:
    """Say records A and B are not related (dedup's link between them is dropped for good).

    \b
    Example:
        screening dedup unlink 812 455 --as ann
    """
    with app.db.transaction() as session:
        changes = unlink(session, a, b, by=actor, note=note)
    echo(f"records {a} and {b} are no longer linked; later passes keep them unlinked")
    report_queue_changes(changes)


@dedup.command("split")
@click.argument("record_id", type=int)
@as_option(required=True, help="The PI or admin who decides (recorded with the split).")
@click.option("--note", help="Why (recorded).")
@pass_app
def split_cmd(app: AppContext, record_id: int, actor: str, note: str | None) -> None:
    """Take RECORD_ID out of its duplicate group (recorded; later passes respect it).

    \b
    Example:
        screening dedup split 123 --as ann --note "erratum, not the article"
    """
    with app.db.transaction() as session:
        n, changes = split(session, record_id, by=actor, note=note)
    echo(f"record {record_id} split from {n} record(s); later passes keep it apart")
    report_queue_changes(changes)


@dedup.command("merge")
@click.argument("a", type=int)
@click.argument("b", type=int)
@as_option(required=True, help="The PI or admin who decides (recorded with the merge).")
@click.option("--note", help="Why (recorded).")
@pass_app
def merge_cmd(app: AppContext, a: int, b: int, actor: str, note: str | None) -> None:
    """Declare records A and B duplicates (recorded; later passes respect it).

    \b
    Example:
        screening dedup merge 123 456 --as ann
    """
    with app.db.transaction() as session:
        changes = merge(session, a, b, by=actor, note=note)
    echo(f"records {a} and {b} merged; later passes keep them together")
    report_queue_changes(changes)


@dedup.command("review")
@as_option(required=True, help="The PI or admin who decides (recorded with each answer).")
@pass_app
def review(app: AppContext, actor: str) -> None:
    """Work the queue of doubtful pairs: y = duplicates, n = not, s = skip, q = quit.

    \b
    Example:
        screening dedup review --as ann
    """
    with app.db.transaction() as session:
        pairs = [(p.record_a, p.record_b, dict(p.scores)) for p in pending_pairs(session)]
    if not pairs:
        echo("no pairs are waiting for review.")
        return
    answered = 0
    for i, (a, b, scores) in enumerate(pairs, 1):
        with app.db.transaction() as session:
            ra, rb = session.get_one(Record, a), session.get_one(Record, b)
            echo(f"\npair {i} of {len(pairs)}: " + ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items()))
            echo(side_by_side([ra, rb]))
        key = click.prompt("duplicates? [y]es / [n]o / [s]kip / [q]uit", type=click.Choice(list("ynsq")),
                           show_choices=False)
        if key == "q":
            break
        if key == "s":
            continue
        with app.db.transaction() as session:  # each answer is its own transaction: nothing is lost on quit
            answer(session, a, b, key == "y", by=actor)
            answered += 1
    if answered:
        with app.db.transaction() as session:
            _, changes = deduplicate(session)  # groups are recomputed with the answers as constraints
        report_queue_changes(changes)
    echo(f"{answered} pair(s) decided.")


COMMANDS = [dedup]
