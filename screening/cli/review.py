"""Commands for the review team: users, sets, samples, screening, conflicts, phases, agreement, status."""

from __future__ import annotations

import csv

import click

from screening.cli import AppContext, emit_json, pass_app
from screening.cli.stats import format_agreement

as_option = click.option("--as", "actor", help="Who is acting (a user name).")


@click.group()
def user() -> None:
    """The review team and their roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["screener", "pi", "admin"]), required=True)
@pass_app
def user_add(app: AppContext, name: str, role: str) -> None:
    """Add a screener, a PI or an admin (information specialist)."""
    from screening.users import add_user

    with app.db.transaction() as s:
        add_user(s, name, role)
    click.echo(f"user {name} added ({role})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def user_list(app: AppContext, as_json: bool) -> None:
    """The team."""
    from screening.users import list_users

    with app.db.transaction() as s:
        rows = [{"name": u.name, "role": u.role} for u in list_users(s)]
    if as_json:
        emit_json(rows)
    else:
        for r in rows:
            click.echo(f"{r['name']:20} {r['role']}")


@click.group("set")
def set_() -> None:
    """Screening sets (themes)."""


@set_.command("create")
@click.argument("name")
@click.option("--search", "searches", multiple=True, help="A search whose kept records join (repeatable).")
@click.option("--all", "all_records", is_flag=True, help="Every kept record.")
@click.option("--criteria", help="Eligibility criteria, shown while screening.")
@click.option("--criteria-file", type=click.Path(exists=True, dir_okay=False))
@as_option
@pass_app
def set_create(app: AppContext, name: str, searches: tuple[str, ...], all_records: bool, criteria: str | None,
               criteria_file: str | None, actor: str | None) -> None:
    """Create a set from searches (or --all kept records)."""
    from screening.sets import create_set

    if criteria_file:
        criteria = open(criteria_file, encoding="utf-8").read()
    with app.db.transaction() as s:
        _, n = create_set(s, name, searches=list(searches), all_records=all_records, criteria=criteria, actor=actor)
    click.echo(f"set {name} created with {n} records")


@set_.command("add")
@click.argument("name")
@click.option("--record", "records", type=int, multiple=True, required=True)
@click.option("--source", required=True, help='Where they came from: "grey literature", "citation chasing".')
@as_option
@pass_app
def set_add(app: AppContext, name: str, records: tuple[int, ...], source: str, actor: str | None) -> None:
    """Add existing records to a set by hand."""
    from screening.sets import add_records

    with app.db.transaction() as s:
        n = add_records(s, name, list(records), source=source, actor=actor)
    click.echo(f"{n} record(s) added to {name}")


@set_.command("add-record")
@click.argument("name")
@click.option("--title", required=True)
@click.option("--source", required=True, help='Where it came from: "grey literature", "citation chasing".')
@click.option("--author", "authors", multiple=True)
@click.option("--year", type=int)
@click.option("--journal")
@click.option("--doi")
@click.option("--abstract")
@as_option
@pass_app
def set_add_record(app: AppContext, name: str, title: str, source: str, authors: tuple[str, ...], year: int | None,
                   journal: str | None, doi: str | None, abstract: str | None, actor: str | None) -> None:
    """Create a record found outside the searches and add it to a set."""
    from screening.sets import add_hand_record

    with app.db.transaction() as s:
        rec = add_hand_record(s, name, title=title, source=source, authors=list(authors), year=year,
                              journal=journal, doi=doi, abstract=abstract, actor=actor)
        rid = rec.id
    click.echo(f"record {rid} added to {name} ({source})")


@set_.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def set_list(app: AppContext, as_json: bool) -> None:
    """Sets with their size, sample and phase."""
    from screening.sets import summarise_sets

    with app.db.transaction() as s:
        rows = [r.__dict__ for r in summarise_sets(s)]
    if as_json:
        emit_json(rows)
    else:
        for r in rows:
            click.echo(f"{r['name']:20} {r['records']:>7} records ({r['by_hand']} by hand), "
                       f"{r['sampled']} in the test sample, {r['phase']} phase")


@set_.command("criteria")
@click.argument("name")
@click.argument("text")
@as_option
@pass_app
def set_criteria_cmd(app: AppContext, name: str, text: str, actor: str | None) -> None:
    """Store a set's eligibility criteria (the change is recorded)."""
    from screening.sets import set_criteria

    with app.db.transaction() as s:
        set_criteria(s, name, text, actor=actor)
    click.echo(f"criteria of {name} updated")


@set_.command("gate")
@click.argument("name")
@click.option("--statistic", type=click.Choice(["kappa", "ac1", "pabak", "alpha"]))
@click.option("--threshold", type=float)
@click.option("--min-items", type=int)
@click.option("--last", "last_k", type=int, help="Judge the last K batches (default 1).")
@as_option
@pass_app
def set_gate_cmd(app: AppContext, name: str, statistic: str | None, threshold: float | None, min_items: int | None,
                 last_k: int | None, actor: str | None) -> None:
    """Change the agreement gate of a set (recorded)."""
    from screening.agreement_gate import set_gate

    change = {k: v for k, v in (("statistic", statistic), ("threshold", threshold), ("min_items", min_items),
                                ("last_k", last_k)) if v is not None}
    with app.db.transaction() as s:
        rule = set_gate(s, name, change, actor=actor)
    click.echo(f"gate of {name}: {rule.statistic} >= {rule.threshold} on the last {rule.last_k} batch(es) and the "
               f"whole sample, at least {rule.min_items} items")


@click.command()
@click.argument("set_name")
@click.option("--share", type=float, help="Share of the set to sample, e.g. 0.25.")
@click.option("--size", type=int, help="Exact sample size (overrides --share).")
@click.option("--batches", type=int, help="With --extend: how many more batches.")
@click.option("--batch-size", type=int, default=100, show_default=True)
@click.option("--pairs", "pairs_text", required=True, help="Screener pairs, e.g. a+b,a+c,b+c.")
@click.option("--seed", type=int, required=True, help="Stored with the sample: same seed, same sample.")
@click.option("--extend", is_flag=True, help="Draw more records into the existing sample.")
@as_option
@pass_app
def sample(app: AppContext, set_name: str, share: float | None, size: int | None, batches: int | None,
           batch_size: int, pairs_text: str, seed: int, extend: bool, actor: str | None) -> None:
    """Draw the test-screening sample of a set, cut into batches for the pairs."""
    from screening.sampling import draw_sample, parse_pairs

    with app.db.transaction() as s:
        res = draw_sample(s, set_name, pairs=parse_pairs(pairs_text), seed=seed, batch_size=batch_size,
                          share=share, size=size, batches=batches, extend=extend, actor=actor)
    click.echo(f"sampled {res.size} records of {set_name} (seed {res.seed}) in {len(res.batches)} batches:")
    for number, a, b, n in res.batches:
        click.echo(f"  batch {number}: {a} + {b}, {n} records")


@click.command()
@click.option("--as", "actor", required=True)
@click.option("--set", "set_name")
@click.option("--all", "include_done", is_flag=True, help="Include records already decided.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def queue(app: AppContext, actor: str, set_name: str | None, include_done: bool, as_json: bool) -> None:
    """Your records to screen, in order."""
    from screening.decisions import queue as get_queue
    from screening.ranking import maybe_retrain
    from screening.sets import get_set

    with app.db.transaction() as s:
        if set_name:
            maybe_retrain(s, get_set(s, set_name))  # single phase: re-rank when enough decisions arrived
        items = get_queue(s, actor, set_name=set_name, include_done=include_done)
    if as_json:
        emit_json(items)
        return
    for it in items:
        where = f"batch {it['batch']}" if it["batch"] else "single"
        score = f" score {it['score']:.2f}" if it.get("score") is not None else ""
        click.echo(f"{it['record_id']:>7} [{it['set']}, {where}{score}] {(it['title'] or '')[:90]}")
    click.echo(f"{len(items)} record(s) to screen")


@click.command()
@click.option("--as", "actor", required=True)
@click.argument("record_id", type=int)
@click.argument("decision", type=click.Choice(["include", "exclude", "maybe"]))
@click.option("--reason")
@click.option("--note")
@click.option("--set", "set_name")
@pass_app
def decide(app: AppContext, actor: str, record_id: int, decision: str, reason: str | None, note: str | None,
           set_name: str | None) -> None:
    """Record a screening decision (a new event; history is kept)."""
    from screening.decisions import record_decision

    with app.db.transaction() as s:
        record_decision(s, actor, record_id, decision, reason=reason, note=note, set_name=set_name)
    click.echo(f"{actor}: record {record_id} {decision}")


@click.command()
@click.option("--as", "actor", required=True)
@click.option("--set", "set_name")
@pass_app
def undo(app: AppContext, actor: str, set_name: str | None) -> None:
    """Withdraw your last decision (recorded as a retract event)."""
    from screening.decisions import retract_last

    with app.db.transaction() as s:
        d = retract_last(s, actor, set_name=set_name)
        msg = f"withdrew your {d.decision} on record {d.record_id}" if d else "nothing to undo"
    click.echo(msg)


@click.group()
def decisions() -> None:
    """Decisions made elsewhere."""


@decisions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--set", "set_name")
@pass_app
def decisions_import(app: AppContext, file: str, set_name: str | None) -> None:
    """Import decisions from FILE.csv (columns record_id, user, decision[, reason, note, set]); all or nothing."""
    from screening.decisions import record_decision
    from screening.errors import InputFileError, ScreeningError

    n = 0
    with app.db.transaction() as s, open(file, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"record_id", "user", "decision"}
        if not need <= set(reader.fieldnames or []):
            raise InputFileError(file, f"the header needs the columns {', '.join(sorted(need))}.", line=1)
        for row in reader:
            try:
                record_decision(s, row["user"], int(row["record_id"]), row["decision"].strip().lower(),
                                reason=row.get("reason") or None, note=row.get("note") or None,
                                set_name=row.get("set") or set_name)
            except (ScreeningError, ValueError) as exc:
                raise InputFileError(file, str(exc), line=reader.line_num,
                                     hint="Nothing from this file was stored; fix that row and import again.") from None
            n += 1
    click.echo(f"imported {n} decisions")


@click.command()
@click.argument("set_name")
@click.option("--as", "actor", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def conflicts(app: AppContext, set_name: str, actor: str, as_json: bool) -> None:
    """Records waiting for a PI's decision (PI only)."""
    from screening.decisions import conflicts as list_conflicts

    with app.db.transaction() as s:
        items = list_conflicts(s, set_name, actor)
    if as_json:
        emit_json(items)
        return
    for c in items:
        ds = "; ".join(f"{d['user']}: {d['decision']}" + (f" ({d['reason']})" if d["reason"] else "")
                       for d in c["decisions"])
        click.echo(f"{c['record_id']:>7} batch {c['batch'] or '-'}: {(c['title'] or '')[:70]} | {ds}")
    click.echo(f"{len(items)} conflict(s)")


@click.command()
@click.option("--as", "actor", required=True)
@click.argument("record_id", type=int)
@click.argument("decision", type=click.Choice(["include", "exclude"]))
@click.option("--note")
@click.option("--set", "set_name")
@pass_app
def resolve(app: AppContext, actor: str, record_id: int, decision: str, note: str | None, set_name: str | None) -> None:
    """The PI's final decision on a record (PI only)."""
    from screening.decisions import resolve as do_resolve

    with app.db.transaction() as s:
        do_resolve(s, actor, record_id, decision, note=note, set_name=set_name)
    click.echo(f"record {record_id}: final decision {decision} by {actor}")


@click.command()
@click.argument("record_id", type=int)
@click.option("--as", "actor")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def history(app: AppContext, record_id: int, actor: str | None, as_json: bool) -> None:
    """Every decision on a record (blinded where it must be)."""
    from screening.decisions import history as get_history

    with app.db.transaction() as s:
        events = get_history(s, record_id, actor)
    if as_json:
        emit_json(events)
        return
    for e in events:
        extra = "".join(f"; {k} {e[k]}" for k in ("reason", "note") if e[k])
        click.echo(f"{e['at']} {e['set']} {e['user']} {e['kind']} ({e['phase']}): {e['decision']}{extra}")


@click.command()
@click.argument("set_name")
@click.argument("phase_name", type=click.Choice(["single"]))
@click.option("--as", "actor", required=True)
@click.option("--force", is_flag=True, help="Move even if the gate is not met (needs --reason; recorded).")
@click.option("--reason")
@click.option("--weights", help="Share of the rest per screener, e.g. a=2,b=1 (default: equal).")
@pass_app
def phase(app: AppContext, set_name: str, phase_name: str, actor: str, force: bool, reason: str | None,
          weights: str | None) -> None:
    """Move a set to single screening once agreement is acceptable (PI only)."""
    from screening.phase import move_to_single, parse_weights

    with app.db.transaction() as s:
        res = move_to_single(s, set_name, actor, force=force, reason=reason, weights=parse_weights(weights))
    loads = ", ".join(f"{k} {v}" for k, v in res.assigned.items())
    click.echo(f"set {set_name} is in single screening" + (" (forced)" if res.forced else "") + f": {loads}")
    for r in res.reasons:
        click.echo(f"  {r}")


@click.command()
@click.argument("set_name")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def status(app: AppContext, set_name: str, as_json: bool) -> None:
    """Progress per batch and screener (counts only: nobody's decisions are shown)."""
    from screening.status import set_status

    with app.db.transaction() as s:
        st = set_status(s, set_name)
    if as_json:
        emit_json(st)
        return
    click.echo(f"set {st['set']}: {st['records']} records, {st['phase']} phase")
    for b in st["batches"]:
        prog = ", ".join(f"{u} {n}/{b['records']}" for u, n in b["progress"].items())
        click.echo(f"  batch {b['batch']:>3} ({' + '.join(b['pair'])}): {prog} - {b['state']}"
                   + (f", {b['conflicts_open']} conflict(s) open" if b["conflicts_open"] else ""))
    for u, p in st["screeners"].items():
        click.echo(f"  {u}: test {p['test_done']}/{p['test_assigned']}, "
                   f"single {p['single_done']}/{p['single_assigned']}")


@click.group()
def report() -> None:
    """Reports."""


@report.command("sets")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@pass_app
def report_sets(app: AppContext, fmt: str) -> None:
    """The columns of Table 3: set, records screened, test-screening share (n), pairs / screeners."""
    from screening.reports import render_table3, table3

    with app.db.transaction() as s:
        click.echo(render_table3(table3(s), fmt), nl=False)


@click.command("agreement")
@click.argument("set_name")
@click.option("--batch", type=int)
@click.option("--by", type=click.Choice(["batch", "pair", "screener", "set"]), default="batch", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Write kappa and AC1 per batch as a PNG.")
@pass_app
def agreement_cmd(app: AppContext, set_name: str, batch: int | None, by: str, as_json: bool, plot: str | None) -> None:
    """Inter-rater agreement of the test sample, per batch, pair, screener or set."""
    from screening.agreement_gate import agreement_by, gate_rule, plot_agreement
    from screening.sets import get_set

    with app.db.transaction() as s:
        entries = agreement_by(s, set_name, by, batch)
        rule = gate_rule(get_set(s, set_name))
        if plot:
            per_batch = entries if by == "batch" else agreement_by(s, set_name, "batch")
            plot_agreement(per_batch, rule, plot)
    if as_json:
        emit_json(entries)
        return
    for e in entries:
        label = (f"batch {e['batch']} ({' + '.join(e['pair'])}): " if by == "batch" else
                 f"pair {' + '.join(e['pair'])}: " if by == "pair" else
                 f"{e['screener']} (with partners): " if by == "screener" else f"set {e['set']}: ")
        click.echo(format_agreement(e, label))
        if by == "screener":
            click.echo(format_agreement(e["with_final"], f"{e['screener']} (with final decisions): "))
    if plot:
        click.echo(f"plot written to {plot}")


@click.command()
@click.argument("set_name")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def gate(app: AppContext, set_name: str, as_json: bool) -> None:
    """Is agreement good enough to move the set to single screening?"""
    from screening.agreement_gate import evaluate_set_gate
    from screening.sets import get_set

    with app.db.transaction() as s:
        res = evaluate_set_gate(s, get_set(s, set_name))
    if as_json:
        emit_json(res.as_dict())
        return
    click.echo(f"gate of {set_name}: {'MET' if res.met else 'not met'}")
    for r in res.reasons:
        click.echo(f"  {r}")


@click.command()
@click.argument("set_name")
@click.option("--batch", type=int, required=True)
@click.option("--as", "actor")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@pass_app
def debrief(app: AppContext, set_name: str, batch: int, actor: str | None, fmt: str) -> None:
    """A batch's disagreements with both decisions, reasons, notes and the PI's final (for the meeting)."""
    from screening.agreement_gate import debrief as get_debrief

    with app.db.transaction() as s:
        items = get_debrief(s, set_name, batch, actor)
    if fmt == "json":
        emit_json(items)
        return
    if fmt == "csv":
        w = csv.writer(click.get_text_stream("stdout"))
        w.writerow(["record_id", "title", "screener_1", "decision_1", "reason_1", "note_1", "screener_2",
                    "decision_2", "reason_2", "note_2", "final", "final_by", "final_note"])
        for it in items:
            d1, d2 = it["decisions"]
            w.writerow([it["record_id"], it["title"], d1["user"], d1["decision"], d1["reason"], d1["note"],
                        d2["user"], d2["decision"], d2["reason"], d2["note"], it["final"], it["final_by"],
                        it["final_note"]])
        return
    click.echo(f"# Debrief: set {set_name}, batch {batch} ({len(items)} disagreement(s))\n")
    for it in items:
        click.echo(f"## {it['record_id']}: {it['title']}")
        for d in it["decisions"]:
            click.echo(f"- {d['user']}: **{d['decision']}**" + (f", reason: {d['reason']}" if d["reason"] else "")
                       + (f", note: {d['note']}" if d["note"] else ""))
        by = f" ({it['final_by']})" if it["final_by"] else ""
        click.echo(f"- final: **{it['final'] or 'not yet resolved'}**{by}"
                   + (f", {it['final_note']}" if it["final_note"] else "") + "\n")


COMMANDS = [user, set_, sample, queue, decide, undo, decisions, conflicts, resolve, history, phase, status, report,
            agreement_cmd, gate, debrief]

