"""Commands of the dual review: the screeners' queue and decisions, the PI's conflicts, the
agreement statistics, the gate and the move to single screening, progress and history."""

from __future__ import annotations

import click

from screening.cli.base import AppContext, command, echo, emit_json, group, pass_app
from screening.cli.options import as_option, format_option, json_option, set_option
from screening.cli.params import WEIGHTS
from screening.cli.stats import format_agreement
from screening.reports.debrief import FORMATS as DEBRIEF_FORMATS
from screening.reports.debrief import debrief as get_debrief
from screening.reports.debrief import render_debrief
from screening.reports.plots import plot_agreement
from screening.review.conflicts import conflicts as list_conflicts
from screening.review.conflicts import resolve as do_resolve
from screening.review.decisions import history as get_history
from screening.review.decisions import import_decisions, record_decision, retract_last
from screening.review.events import DECISIONS, FINAL
from screening.review.gate import evaluate_set_gate, gate_rule
from screening.review.phase import move_to_single
from screening.review.queue import queue as list_queue
from screening.review.ratings import GROUPINGS, agreement_by
from screening.review.sets import get_set
from screening.review.status import set_status


@command()
@as_option(required=True)
@set_option(help="Only this set's records.")
@click.option("--all", "include_done", is_flag=True, help="Include records already decided.")
@json_option
@pass_app
def queue(app: AppContext, actor: str, set_name: str | None, include_done: bool, as_json: bool) -> None:
    """Your records to screen, in order (test batches first, then single phase by priority).

    \b
    Example:
        screening queue --as alice --set access --json
    """
    with app.db.read() as s:  # served in the set's last stored ranking; retrains run beside screeners
        items = list_queue(s, actor, set_name=set_name, include_done=include_done)
    if as_json:
        emit_json([it.as_dict() for it in items])
        return
    for it in items:
        where = f"batch {it.batch}" if it.batch else "single"
        score = f" score {it.score:.2f}" if it.score is not None else ""
        echo(f"{it.record_id:>7} [{it.set}, {where}{score}] {(it.title or '')[:90]}")
    echo(f"{len(items)} record(s) to screen")


@command()
@as_option(required=True)
@click.argument("record_id", type=int)
@click.argument("decision", type=click.Choice(DECISIONS))
@click.option("--reason", help="Why (an exclusion reason, say); recorded with the decision.")
@click.option("--note", help="A note for the debrief; recorded with the decision.")
@set_option()
@pass_app
def decide(app: AppContext, actor: str, record_id: int, decision: str, reason: str | None, note: str | None,
           set_name: str | None) -> None:
    """Record a screening decision (a new event; history is kept).

    \b
    Example:
        screening decide --as alice 48 exclude --reason "not primary care"
    """
    with app.db.transaction() as s:
        record_decision(s, actor, record_id, decision, reason=reason, note=note, set_name=set_name)
    echo(f"{actor}: record {record_id} {decision}")


@command()
@as_option(required=True)
@set_option(help="Only undo within this set.")
@pass_app
def undo(app: AppContext, actor: str, set_name: str | None) -> None:
    """Withdraw your last decision (recorded as a retract event).

    \b
    Example:
        screening undo --as alice
    """
    with app.db.transaction() as s:
        d = retract_last(s, actor, set_name=set_name)
        msg = f"withdrew your {d.decision} on record {d.record_id}" if d else "nothing to undo"
    echo(msg)


@group()
def decisions() -> None:
    """Decisions made elsewhere.

    \b
    Example:
        screening decisions import decisions.csv --set access
    """


@decisions.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@set_option(help="The set, for rows without a set column.")
@pass_app
def decisions_import(app: AppContext, file: str, set_name: str | None) -> None:
    """Import decisions from FILE.csv (columns record_id, user, decision[, reason, note, set]); all or nothing.

    \b
    Example:
        screening decisions import decisions.csv --set access
    """
    with app.db.transaction() as s:
        n = import_decisions(s, file, set_name=set_name)
    echo(f"imported {n} decisions")


@command()
@click.argument("set_name")
@as_option(required=True)
@json_option
@pass_app
def conflicts(app: AppContext, set_name: str, actor: str, as_json: bool) -> None:
    """Records waiting for a PI's decision (PI only).

    \b
    Example:
        screening conflicts access --as pat --json
    """
    with app.db.read() as s:
        items = list_conflicts(s, set_name, actor)
    if as_json:
        emit_json([c.as_dict() for c in items])
        return
    for c in items:
        ds = "; ".join(f"{d.user}: {d.decision}" + (f" ({d.reason})" if d.reason else "") for d in c.decisions)
        echo(f"{c.record_id:>7} batch {c.batch or '-'}: {(c.title or '')[:70]} | {ds}")
    echo(f"{len(items)} conflict(s)")


@command()
@as_option(required=True)
@click.argument("record_id", type=int)
@click.argument("decision", type=click.Choice(FINAL))
@click.option("--note", help="A note for the debrief (recorded with the final decision).")
@click.option("--reason", help="Why excluded: at full text one of the set's exclusion reasons, required there.")
@click.option("--override", metavar="REASON",
              help="Decide a record that is not waiting for the PI (no conflict or maybe): the reason is recorded.")
@set_option()
@pass_app
def resolve(app: AppContext, actor: str, record_id: int, decision: str, note: str | None, reason: str | None,
            override: str | None, set_name: str | None) -> None:
    """The PI's final decision on a conflict, a maybe or a flagged record (PI only).

    \b
    Example:
        screening resolve --as pat 48 include --note "primary study"
        screening resolve --as pat 51 exclude --override "debrief: a review, not a primary study"
        screening resolve --as pat 48 exclude --set "access (full text)" --reason "wrong population"
    """
    with app.db.transaction() as s:
        do_resolve(s, actor, record_id, decision, note=note, reason=reason, set_name=set_name, override=override)
    echo(f"record {record_id}: final decision {decision} by {actor}")


@command()
@click.argument("record_id", type=int)
@as_option(help="Who is looking: what they may not see yet stays blinded.")
@json_option
@pass_app
def history(app: AppContext, record_id: int, actor: str | None, as_json: bool) -> None:
    """Every decision on a record (blinded where it must be).

    \b
    Example:
        screening history 48 --as alice
    """
    with app.db.read() as s:
        events = get_history(s, record_id, actor)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    for e in events:
        extra = (f"; reason {e.reason}" if e.reason else "") + (f"; note {e.note}" if e.note else "")
        echo(f"{e.at} {e.set} {e.user} {e.kind} ({e.phase}): {e.decision}{extra}")


@command()
@click.argument("set_name")
@click.argument("phase_name", type=click.Choice(["single"]))
@as_option(required=True)
@click.option("--force", is_flag=True, help="Move even if the gate is not met (needs --reason; recorded).")
@click.option("--reason", help="Why the move is forced (recorded).")
@click.option("--weights", type=WEIGHTS, help="Share of the rest per screener, e.g. a=2,b=1 (default: equal).")
@pass_app
def phase(app: AppContext, set_name: str, phase_name: str, actor: str, force: bool, reason: str | None,
          weights: dict[str, float] | None) -> None:
    """Move a set to single screening once agreement is acceptable (PI only).

    \b
    Example:
        screening phase access single --as pat
        screening phase access single --as pat --force --reason "deadline" --weights alice=2,bob=1
    """
    with app.db.transaction() as s:
        res = move_to_single(s, set_name, actor, force=force, reason=reason, weights=weights)
    loads = ", ".join(f"{k} {v}" for k, v in res.assigned.items())
    echo(f"set {set_name} is in single screening" + (" (forced)" if res.forced else "") + f": {loads}")
    for r in res.reasons:
        echo(f"  {r}")


@command()
@click.argument("set_name")
@as_option(help="Who is looking: a PI outside a pair sees its conflicts before the pair has finished.")
@json_option
@pass_app
def status(app: AppContext, set_name: str, actor: str | None, as_json: bool) -> None:
    """Progress per batch and screener (counts only: nobody's decisions are shown).

    \b
    Example:
        screening status access --json
    """
    with app.db.read() as s:
        st = set_status(s, set_name, actor)
    if as_json:
        emit_json(st)
        return
    echo(f"set {st['set']}: {st['records']} records, {st['phase']} phase")
    for b in st["batches"]:
        prog = ", ".join(f"{u} {n}/{b['records']}" for u, n in b["progress"].items())
        echo(f"  batch {b['batch']:>3} ({' + '.join(b['pair'])}): {prog} - {b['state']}"
                   + (f", {b['conflicts_open']} conflict(s) open" if b["conflicts_open"] else ""))
    for u, p in st["screeners"].items():
        echo(f"  {u}: test {p['test_done']}/{p['test_assigned']}, "
                   f"single {p['single_done']}/{p['single_assigned']}")


@command("agreement")
@click.argument("set_name")
@click.option("--batch", type=int, help="Only this batch.")
@click.option("--by", type=click.Choice(GROUPINGS), default="batch", show_default=True,
              help="One entry per batch, pair, screener, or for the whole set.")
@json_option
@click.option("--plot", type=click.Path(dir_okay=False), help="Write kappa and AC1 per batch as a PNG.")
@as_option(help="Who is looking: a PI outside a pair sees its batch before the pair has finished.")
@pass_app
def agreement_cmd(app: AppContext, set_name: str, batch: int | None, by: str, as_json: bool, plot: str | None,
                  actor: str | None) -> None:
    """Inter-rater agreement of the test sample, per batch, pair, screener or set.

    \b
    Example:
        screening agreement access --by pair --json
        screening agreement access --plot kappa.png
    """
    with app.db.read() as s:
        entries = agreement_by(s, set_name, by, batch, actor)
        rule = gate_rule(get_set(s, set_name))
        per_batch = entries if by == "batch" else agreement_by(s, set_name, "batch", None, actor)
    if plot:
        plot_agreement(per_batch, rule, plot)
    if as_json:
        emit_json(entries)
        return
    for e in entries:
        label = (f"batch {e['batch']} ({' + '.join(e['pair'])}): " if by == "batch" else
                 f"pair {' + '.join(e['pair'])}: " if by == "pair" else
                 f"{e['screener']} (with partners): " if by == "screener" else f"set {e['set']}: ")
        echo(format_agreement(e, label))
        if by == "screener":
            echo(format_agreement(e["with_final"], f"{e['screener']} (with final decisions): "))
    if plot:
        echo(f"plot written to {plot}")


@command()
@click.argument("set_name")
@json_option
@pass_app
def gate(app: AppContext, set_name: str, as_json: bool) -> None:
    """Is agreement good enough to move the set to single screening?

    \b
    Example:
        screening gate access --json
    """
    with app.db.read() as s:
        res = evaluate_set_gate(s, get_set(s, set_name))
    if as_json:
        emit_json(res.as_dict())
        return
    echo(f"gate of {set_name}: {'MET' if res.met else 'not met'}")
    for r in res.reasons:
        echo(f"  {r}")


@command()
@click.argument("set_name")
@click.option("--batch", type=int, required=True, help="The batch to debrief.")
@as_option(help="Who is looking (a PI outside the pair may look before the batch is reconciled).")
@format_option(DEBRIEF_FORMATS, default="md", help="Markdown for the meeting, CSV or JSON.")
@pass_app
def debrief(app: AppContext, set_name: str, batch: int, actor: str | None, fmt: str) -> None:
    """A batch's disagreements with both decisions, reasons, notes and the PI's final (for the meeting).

    \b
    Example:
        screening debrief access --batch 1 --format md > batch1.md
    """
    with app.db.read() as s:
        items = get_debrief(s, set_name, batch, actor)
    echo(render_debrief(items, fmt, set_name=set_name, batch=batch), nl=False)


COMMANDS = [queue, decide, undo, decisions, conflicts, resolve, history, phase, status, agreement_cmd, gate, debrief]
