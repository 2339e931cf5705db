"""Interactive screening and adjudication in the terminal, one record at a time.

Single keys on a terminal; when standard input is not a terminal (scripts, tests), one key
per line. Every decision is its own transaction, so quitting at any point loses nothing.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence

import click

from screening.cli.base import AppContext, command, echo, pass_app, secho
from screening.cli.options import as_option, set_option
from screening.dedup.service import Related
from screening.prioritise.background import Retrainer
from screening.review.conflicts import conflicts, resolve
from screening.review.decisions import record_decision, retract_last
from screening.review.queue import batch_progress, next_record, sets_to_screen
from screening.review.sets import get_set
from screening.storage.models import Record

KEYS = "[i]nclude  [e]xclude  [m]aybe  [r]eason  [n]ote  [u]ndo last  [s]kip  [q]uit"
WIDTH = 100


def read_key(prompt: str) -> str:
    echo(prompt, nl=False)
    if sys.stdin.isatty():
        key = click.getchar()
        echo(key)
        return key.lower()
    line = sys.stdin.readline()
    if not line:
        return "q"
    echo(line.strip())
    return (line.strip()[:1] or " ").lower()


def read_text(prompt: str) -> str:
    return str(click.prompt(prompt, default="", show_default=False)).strip()


def show_record(title: str | None, authors: list[str], year: int | None, journal: str | None,
                abstract: str | None, keywords: list[str], criteria: str | None, progress: str,
                related: Sequence[Related] = ()) -> None:
    echo("\n" + "=" * WIDTH)
    echo(progress)
    echo("-" * WIDTH)
    secho(textwrap.fill(title or "(no title)", WIDTH), bold=True)
    names = "; ".join(authors[:8]) + (" et al." if len(authors) > 8 else "")
    echo(f"{names} ({year or 'n.d.'}) {journal or ''}")
    echo("")
    echo(textwrap.fill(abstract or "(no abstract)", WIDTH))
    if keywords:
        echo("\n" + textwrap.fill("Keywords: " + "; ".join(keywords[:20]), WIDTH))
    if any(r.relation == "retraction" for r in related):
        secho("\nRETRACTED: a retraction notice is linked to this record.", bold=True, fg="red")
    for r in related:
        echo(f"Related: {r.relation} #{r.record_id}: " + textwrap.shorten(r.title or "(no title)", WIDTH - 30))
    if criteria:
        echo("\nCriteria: " + textwrap.shorten(criteria, 400))
    echo("-" * WIDTH)


@command()
@as_option(required=True, help="The screener (a user name).")
@set_option(help="Only this set's records.")
@pass_app
def screen(app: AppContext, actor: str, set_name: str | None) -> None:
    """Screen your queue in the terminal: one record at a time, single keys.

    \b
    Example:
        screening screen --as alice --set access
    """
    retrainer = Retrainer(app.db)  # single-phase sets re-ranked beside the screener, never in their way
    try:
        _screen(app, actor, set_name, retrainer)
    finally:
        retrainer.close()


def _screen(app: AppContext, actor: str, set_name: str | None, retrainer: Retrainer) -> None:
    """Each set in turn (or only ``set_name``), a record at a time: each one an index seek
    (:func:`next_record`), so a screener with thousands of records waits for none of them."""
    with app.db.read() as s:
        names = [set_name] if set_name else sets_to_screen(s, actor)
    decided = 0
    skipped: set[int] = set()
    left = 0
    for name in names:
        retrainer.poke(name)  # a ranking due since the last session (single phase only)
        done, remaining, quit_ = _screen_set(app, actor, name, retrainer, skipped)
        decided += done
        if quit_:
            echo(f"{decided} decision(s) this session; the rest waits in your queue.")
            return
        left += remaining
    where = f" in {set_name}" if set_name else ""
    if left:
        echo(f"\nno more records this session: the {left} you skipped remain in your queue{where}; "
             f"{decided} decision(s) this session.")
    else:
        echo(f"\nnothing left to screen for {actor}{where}; {decided} decision(s) this session.")


def _screen_set(app: AppContext, actor: str, set_name: str, retrainer: Retrainer, skipped: set[int]
                ) -> tuple[int, int, bool]:
    """Screen one set until nothing is left but skipped records, or the screener quits: the decisions
    made, the records left, and whether they quit."""
    decided = 0
    reason = note = None
    with app.db.read() as s:
        criteria = get_set(s, set_name).criteria
    while True:
        with app.db.read() as s:
            nxt = next_record(s, actor, set_name, skip=skipped)
            item = nxt.item
            if item is None:
                return decided, nxt.total - nxt.done, False
            where = batch_progress(s, actor, set_name, item.batch).describe()
        show_record(item.title, item.authors, item.year, item.journal, item.abstract, item.keywords, criteria,
                    f"{set_name}: {where}", item.related)
        while True:
            key = read_key(KEYS + " > ")
            if key in ("i", "e", "m"):
                decision = {"i": "include", "e": "exclude", "m": "maybe"}[key]
                with app.db.transaction() as s:
                    d = record_decision(s, actor, item.record_id, decision, reason=reason, note=note,
                                        set_name=set_name)
                    single = d.phase == "single"
                if single:
                    retrainer.poke(set_name)
                decided += 1
                reason = note = None
                break
            if key == "r":
                reason = read_text("reason") or None
            elif key == "n":
                note = read_text("note") or None
            elif key == "u":
                with app.db.transaction() as s:
                    withdrawn = retract_last(s, actor, set_name=set_name)
                echo(f"withdrew your {withdrawn.decision} on record {withdrawn.record_id}" if withdrawn
                     else "nothing to undo")
                skipped.clear()
                reason = note = None  # typed for this record: never carried to another
                break
            elif key == "s":
                skipped.add(item.record_id)
                reason = note = None
                break
            elif key == "q":
                return decided, nxt.total - nxt.done, True
            else:
                echo("unknown key")


@command()
@as_option(required=True, help="The PI (a user name).")
@set_option(required=True, help="The set whose conflicts to resolve.")
@pass_app
def adjudicate(app: AppContext, actor: str, set_name: str) -> None:
    """Work through the conflicts of a set as PI: [i]nclude / [e]xclude (final), [r]eason, [n]ote, [s]kip, [q]uit.

    At full text an exclusion needs its reason (one of the set's): type it with [r] first.

    \b
    Example:
        screening adjudicate --as pat --set access
    """
    skipped: set[int] = set()
    resolved = 0
    note = reason = None
    while True:
        with app.db.transaction() as s:
            everything = conflicts(s, set_name, actor)
            items = [c for c in everything if c.record_id not in skipped]
            if not items:
                if everything:
                    echo(f"no more conflicts this session: the {len(everything)} you skipped remain in {set_name}; "
                         f"{resolved} resolved this session.")
                else:
                    echo(f"no conflicts left in {set_name}; {resolved} resolved this session.")
                return
            c = items[0]
            rec = s.get(Record, c.record_id)
            assert rec is not None  # a conflict is on a stored record
            shown = (rec.title, list(rec.authors or []), rec.year, rec.journal, rec.abstract, list(rec.keywords or []))
        show_record(*shown, None, f"{set_name}: conflict 1 of {len(items)} (batch {c.batch or '-'})")
        for d in c.decisions:
            echo(f"  {d.user}: {d.decision}" + (f" - {d.reason}" if d.reason else "")
                       + (f" [{d.note}]" if d.note else ""))
        while True:
            key = read_key("[i]nclude  [e]xclude  [r]eason  [n]ote  [s]kip  [q]uit > ")
            if key in ("i", "e"):
                with app.db.transaction() as s:
                    resolve(s, actor, c.record_id, "include" if key == "i" else "exclude", note=note,
                            reason=reason if key == "e" else None, set_name=set_name)
                resolved += 1
                note = reason = None
                break
            if key == "r":
                reason = read_text("reason") or None
            elif key == "n":
                note = read_text("note") or None
            elif key == "s":
                skipped.add(c.record_id)
                note = reason = None  # typed for this conflict: never carried to another
                break
            elif key == "q":
                echo(f"{resolved} resolved this session.")
                return


COMMANDS = [screen, adjudicate]
