"""The debrief of a batch: its disagreements with both decisions, reasons, notes and the PI's final,
for the team's meeting after each test batch (markdown), a spreadsheet (CSV) or a script (JSON)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import NotAllowed, NotFound
from screening.review.blinding import Disclosure, batch_states, disclosure
from screening.review.conflicts import ShownDecision
from screening.review.events import adjudications, current
from screening.review.sets import get_set
from screening.storage.models import Record, User
from screening.team.users import get_user

FORMATS = ("md", "csv", "json")


@dataclass
class DebriefItem:
    """One disagreement of the batch."""

    record_id: int
    title: str | None
    decisions: list[ShownDecision]
    final: str | None
    final_by: str | None
    final_note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def debrief(session: Session, set_name: str, batch: int, viewer_name: str | None = None) -> list[DebriefItem]:
    """The disagreements of a batch, once the viewer may see them (blinding decides)."""
    st = get_set(session, set_name)
    viewer = get_user(session, viewer_name) if viewer_name else None
    states = {s.batch_id: s for s in batch_states(session, st.id)}
    target = next((s for s in states.values() if s.number == batch), None)
    if target is None:
        raise NotFound("batch", batch, f"set {set_name} has no batch {batch}.")
    if disclosure(viewer, target) is not Disclosure.FULL:
        raise NotAllowed(f"batch {batch} is not reconciled yet; its decisions stay blind until the PI has "
                         "resolved every conflict (a PI who is not in the pair may look now).",
                         actor=viewer.name if viewer else None, action="see the debrief")
    cur = current(session, st.id)
    finals = adjudications(session, st.id)
    names = {u.id: u.name for u in session.scalars(select(User))}
    titles = dict(session.execute(select(Record.id, Record.title).where(
        Record.id.in_(target.records))).all())
    out = []
    for rid in target.conflicts + target.resolved:
        ds = [cur[(rid, u)] for u in target.users]
        fin = finals.get(rid)
        out.append(DebriefItem(rid, titles.get(rid), [ShownDecision.of(d, names) for d in ds],
                               fin.decision if fin else None, names[fin.user_id] if fin else None,
                               fin.note if fin else None))
    return sorted(out, key=lambda x: x.record_id)


CSV_HEADER = ["record_id", "title", "screener_1", "decision_1", "reason_1", "note_1", "screener_2", "decision_2",
              "reason_2", "note_2", "final", "final_by", "final_note"]


def render_debrief(items: list[DebriefItem], fmt: str, *, set_name: str, batch: int) -> str:
    """The debrief as markdown (for the meeting), CSV (one row per disagreement) or JSON."""
    if fmt == "json":
        return json.dumps([it.as_dict() for it in items], indent=2, allow_nan=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_HEADER)
        for it in items:
            d1, d2 = it.decisions
            w.writerow([it.record_id, it.title, d1.user, d1.decision, d1.reason, d1.note, d2.user, d2.decision,
                        d2.reason, d2.note, it.final, it.final_by, it.final_note])
        return buf.getvalue()
    lines = [f"# Debrief: set {set_name}, batch {batch} ({len(items)} disagreement(s))", ""]
    for it in items:
        lines.append(f"## {it.record_id}: {it.title}")
        for d in it.decisions:
            lines.append(f"- {d.user}: **{d.decision}**" + (f", reason: {d.reason}" if d.reason else "")
                         + (f", note: {d.note}" if d.note else ""))
        by = f" ({it.final_by})" if it.final_by else ""
        lines.append(f"- final: **{it.final or 'not yet resolved'}**{by}" + (f", {it.final_note}" if it.final_note
                                                                              else ""))
        lines.append("")
    return "\n".join(lines) + "\n"
