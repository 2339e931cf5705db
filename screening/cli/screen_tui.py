"""Interactive screening and adjudication in the terminal, one record at a time.

Single keys on a terminal; when standard input is not a terminal (scripts, tests), one key
per line. Every decision is its own transaction, so quitting at any point loses nothing.
"""

from __future__ import annotations

import sys
import textwrap

import click

from screening.cli import AppContext, pass_app

KEYS = "[i]nclude  [e]xclude  [m]aybe  [r]eason  [n]ote  [u]ndo last  [s]kip  [q]uit"


def read_key(prompt: str) -> str:
    click.echo(prompt, nl=False)
    if sys.stdin.isatty():
        key = click.getchar()
        click.echo(key)
        return key.lower()
    line = sys.stdin.readline()
    if not line:
        return "q"
    click.echo(line.strip())
    return (line.strip()[:1] or " ").lower()


def read_text(prompt: str) -> str:
    return click.prompt(prompt, default="", show_default=False).strip()


def show_record(item: dict, criteria: str | None, progress: str) -> None:  # type: ignore[type-arg]
    width = 100
    click.echo("\n" + "=" * width)
    click.echo(progress)
    click.echo("-" * width)
    click.secho(textwrap.fill(item["title"] or "(no title)", width), bold=True)
    authors = "; ".join(item["authors"][:8]) + (" et al." if len(item["authors"]) > 8 else "")
    click.echo(f"{authors} ({item['year'] or 'n.d.'}) {item['journal'] or ''}")
    click.echo("")
    click.echo(textwrap.fill(item["abstract"] or "(no abstract)", width))
    if item["keywords"]:
        click.echo("\nKeywords: " + "; ".join(item["keywords"][:20]))
    if criteria:
        click.echo("\nCriteria: " + textwrap.shorten(criteria, 400))
    click.echo("-" * width)


@click.command()
@click.option("--as", "actor", required=True)
@click.option("--set", "set_name")
@pass_app
def screen(app: AppContext, actor: str, set_name: str | None) -> None:
    """Screen your queue in the terminal: one record at a time, single keys."""
    from screening.decisions import queue, record_decision, retract_last
    from screening.sets import get_set

    decided = 0
    reason = note = None
    skipped: set[int] = set()
    from screening.ranking import maybe_retrain

    while True:
        with app.db.transaction() as s:
            if set_name:
                maybe_retrain(s, get_set(s, set_name))
            everything = queue(s, actor, set_name=set_name, include_done=True)
            todo = [it for it in everything if it.get("my_decision") is None and it["record_id"] not in skipped]
            if not todo:
                click.echo(f"\nnothing left to screen for {actor}" + (f" in {set_name}" if set_name else "")
                           + f"; {decided} decision(s) this session.")
                return
            item = todo[0]
            criteria = get_set(s, item["set"]).criteria
        batches = sorted({it["batch"] for it in everything if it["batch"] is not None})
        sizes: dict[int | None, int] = {}
        done: dict[int | None, int] = {}
        for it in everything:
            if it["set"] != item["set"]:
                continue
            sizes[it["batch"]] = sizes.get(it["batch"], 0) + 1
            done[it["batch"]] = done.get(it["batch"], 0) + (it.get("my_decision") is not None)
        b = item["batch"]
        if b is None:
            progress = f"single screening, {done.get(None, 0)}/{sizes.get(None, 0)} done"
        else:
            progress = (f"batch {b} ({batches.index(b) + 1} of your {len(batches)} batches), "
                        f"{done.get(b, 0)}/{sizes.get(b, 0)} done")
        show_record(item, criteria, f"{item['set']}: {progress}")
        while True:
            key = read_key(KEYS + " > ")
            if key in "iem" and key.strip():
                decision = {"i": "include", "e": "exclude", "m": "maybe"}[key]
                with app.db.transaction() as s:
                    record_decision(s, actor, item["record_id"], decision, reason=reason, note=note,
                                    set_name=item["set"])
                decided += 1
                reason = note = None
                break
            if key == "r":
                reason = read_text("reason") or None
            elif key == "n":
                note = read_text("note") or None
            elif key == "u":
                with app.db.transaction() as s:
                    d = retract_last(s, actor, set_name=set_name)
                click.echo(f"withdrew your {d.decision} on record {d.record_id}" if d else "nothing to undo")
                skipped.clear()
                break
            elif key == "s":
                skipped.add(item["record_id"])
                break
            elif key == "q":
                click.echo(f"{decided} decision(s) this session; the rest waits in your queue.")
                return
            else:
                click.echo("unknown key")


@click.command()
@click.option("--as", "actor", required=True)
@click.option("--set", "set_name", required=True)
@pass_app
def adjudicate(app: AppContext, actor: str, set_name: str) -> None:
    """Work through the conflicts of a set as PI: [i]nclude / [e]xclude (final), [n]ote, [s]kip, [q]uit."""
    from screening.decisions import conflicts, resolve

    skipped: set[int] = set()
    resolved = 0
    note = None
    while True:
        with app.db.transaction() as s:
            items = [c for c in conflicts(s, set_name, actor) if c["record_id"] not in skipped]
            if not items:
                click.echo(f"no conflicts left in {set_name}; {resolved} resolved this session.")
                return
            c = items[0]
            from screening.storage.models import Record

            rec = s.get(Record, c["record_id"])
            item = {"title": rec.title, "authors": list(rec.authors or []), "year": rec.year,
                    "journal": rec.journal, "abstract": rec.abstract, "keywords": list(rec.keywords or [])}
        show_record(item, None, f"{set_name}: conflict 1 of {len(items)} (batch {c['batch'] or '-'})")
        for d in c["decisions"]:
            click.echo(f"  {d['user']}: {d['decision']}" + (f" - {d['reason']}" if d["reason"] else "")
                       + (f" [{d['note']}]" if d["note"] else ""))
        while True:
            key = read_key("[i]nclude  [e]xclude  [n]ote  [s]kip  [q]uit > ")
            if key in ("i", "e"):
                with app.db.transaction() as s:
                    resolve(s, actor, c["record_id"], "include" if key == "i" else "exclude", note=note,
                            set_name=set_name)
                resolved += 1
                note = None
                break
            if key == "n":
                note = read_text("note") or None
            elif key == "s":
                skipped.add(c["record_id"])
                break
            elif key == "q":
                click.echo(f"{resolved} resolved this session.")
                return


COMMANDS = [screen, adjudicate]
