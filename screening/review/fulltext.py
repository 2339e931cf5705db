"""The full-text stage: the title/abstract includes of a set, screened again on their full reports.

A full-text set is a screening set of its own (``stage="full_text"``, ``parent_id`` its
title/abstract set), so pairs, blinding, frozen batches, conflicts, the PI's resolution and the
agreement statistics are the same code as at title/abstract. What differs: its records are the
parent's includes (``sync_full_text`` adds those decided since); each report is sought,
retrieved (with its file, kept in the review's content-addressed store) or not retrieved (with
why); and every exclusion needs its reason, from the set's list (PRISMA counts reports excluded
per reason). A team screens full texts in pairs (``pairs``: every report in batches) or singly
(``screeners``: each report to one of them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue, NotAllowed, NotFound
from screening.review.assignment import assign_single
from screening.review.conflicts import final_decisions
from screening.review.events import adjudications, current
from screening.review.sampling import draw_sample
from screening.review.sets import SetSettings, get_set, kept_members
from screening.storage.limits import check_int64, check_text
from screening.storage.models import Assignment, Record, ReportEvent, ScreeningSet, SetEvent, SetMember, User
from screening.team.users import get_user, manager

DEFAULT_REASONS = ["wrong population", "wrong intervention", "wrong comparator", "wrong outcome",
                   "wrong study design", "not an empirical study", "duplicate publication"]
STATUSES = ("sought", "retrieved", "not_retrieved")


@dataclass
class FullTextStart:
    set: str
    parent: str
    reports: int
    mode: str  # "pairs" / "single"
    assigned: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def full_text_set(session: Session, parent: ScreeningSet) -> ScreeningSet | None:
    """The full-text set of a title/abstract set, if the team has started it."""
    return session.scalar(select(ScreeningSet).where(ScreeningSet.parent_id == parent.id,
                                                     ScreeningSet.stage == "full_text"))


def start_full_text(session: Session, set_name: str, *, actor: str | None, seed: int,
                    pairs: list[tuple[str, str]] | None = None, screeners: list[str] | None = None,
                    batch_size: int = 20, name: str | None = None, reasons: list[str] | None = None
                    ) -> FullTextStart:
    """Open the full-text stage of ``set_name``: a set of its includes, screened in pairs or singly."""
    who = manager(session, actor, action="start the full-text stage")
    parent = get_set(session, set_name)
    if parent.stage != "title_abstract":
        raise InvalidValue("set_name", f"set {set_name} is a full-text set already.", value=set_name)
    if full_text_set(session, parent) is not None:
        raise Conflict(f"set {set_name} has its full-text stage already; add new includes with "
                       "`fulltext sync`.", reason="full_text_exists")
    if bool(pairs) == bool(screeners):
        raise InvalidValue("pairs", "screen the full texts either in pairs or singly: give pairs or screeners.")
    check_int64(seed, "seed", what="the seed")
    name = name or f"{parent.name} (full text)"
    check_text(ScreeningSet.name, name, "name", what="the full-text set's name")
    if session.scalar(select(ScreeningSet.id).where(ScreeningSet.name == name)) is not None:
        raise Conflict(f"a set named {name!r} exists already.", reason="set_exists")
    for person in screeners or []:
        get_user(session, person)
    settings = {**SetSettings.of(parent).as_dict(), "reasons": list(reasons or DEFAULT_REASONS)}
    if screeners:
        settings.update(screeners=sorted(set(screeners)), seed=seed)
    ft = ScreeningSet(name=name, criteria=parent.criteria, phase="single" if screeners else "test",
                      settings=settings, stage="full_text", parent_id=parent.id)
    session.add(ft)
    session.flush()
    added = _add_includes(session, parent, ft)
    if not added:
        raise Conflict(f"set {set_name} has no title/abstract includes yet.", reason="no_includes")
    session.add(SetEvent(set_id=ft.id, kind="create", actor=who.name, payload={
        "via": f"full text of {parent.name}", "records": added, "pairs": [list(p) for p in pairs or []],
        "screeners": settings.get("screeners", []), "seed": seed}))
    if pairs:
        res = draw_sample(session, name, pairs=pairs, seed=seed, batch_size=batch_size, share=1.0, actor=who.name)
        loads: Counter[str] = Counter()
        for _, a, b, n in res.batches:
            loads[a] += n
            loads[b] += n
        return FullTextStart(name, parent.name, added, "pairs", dict(loads))
    return FullTextStart(name, parent.name, added, "single", assign_single(session, ft))


def _add_includes(session: Session, parent: ScreeningSet, ft: ScreeningSet) -> int:
    """Make every title/abstract include of ``parent`` a member of ``ft``; returns how many were added."""
    have = set(session.scalars(select(SetMember.record_id).where(SetMember.set_id == ft.id)))
    kept = set(kept_members(session, parent.id))
    new = sorted(rid for rid, d in final_decisions(session, parent.id).items()
                 if d == "include" and rid in kept and rid not in have)
    if new:
        session.execute(insert(SetMember), [{"set_id": ft.id, "record_id": rid,
                                             "added_via": f"included at title/abstract in {parent.name}"}
                                            for rid in new])
    return len(new)


def sync_full_text(session: Session, set_name: str, *, actor: str | None, seed: int | None = None,
                   pairs: list[tuple[str, str]] | None = None, batch_size: int = 20) -> int:
    """Bring the includes decided since the stage began into it (assigned as the stage screens)."""
    who = manager(session, actor, action="add reports to the full-text stage")
    parent = get_set(session, set_name)
    ft = full_text_set(session, parent)
    if ft is None:
        raise NotFound("full-text set", set_name, f"set {set_name} has no full-text stage yet; start it with "
                       "`fulltext start`.")
    added = _add_includes(session, parent, ft)
    if added and ft.phase == "single":
        assign_single(session, ft)
    elif added:
        if pairs is None or seed is None:
            raise InvalidValue("pairs", "the full texts are screened in pairs: say which pairs and a seed for the "
                               "new reports.")
        draw_sample(session, ft.name, pairs=pairs, seed=seed, batch_size=batch_size, share=None, size=added,
                    extend=True, actor=who.name)
    if added:
        session.add(SetEvent(set_id=ft.id, kind="add", actor=who.name, payload={"records": added}))
    return added


@dataclass
class ReportState:
    """Where a report stands: the latest retrieval event of the record (or its removed duplicates)."""

    record_id: int
    status: str
    reason: str | None
    file_sha256: str | None
    file_name: str | None
    by: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_report(session: Session, set_name: str, record_id: int, status: str, *, actor: str | None,
                  reason: str | None = None, file_sha256: str | None = None, file_name: str | None = None
                  ) -> ReportEvent:
    """Record that a report was sought, retrieved (with its file) or not retrieved (with why).

    A PI, an admin, or a screener of the full-text set records it (whoever went to the library).
    """
    who, ft = may_record_report(session, set_name, record_id, actor)
    if status not in STATUSES:
        raise InvalidValue("status", f"a report is {', '.join(STATUSES)}, not {status!r}.", value=status)
    if status == "not_retrieved" and not (reason and reason.strip()):
        raise InvalidValue("reason", "a report not retrieved needs why (e.g. 'not held by any library').")
    check_text(ReportEvent.file_name, file_name, "file_name", what="the file name")
    event = ReportEvent(set_id=ft.id, record_id=record_id, status=status, reason=reason, file_sha256=file_sha256,
                        file_name=file_name, actor=who.name)
    session.add(event)
    session.flush()
    return event


def may_record_report(session: Session, set_name: str, record_id: int, actor: str | None
                      ) -> tuple[User, ScreeningSet]:
    """The actor and the full-text set, if the actor may record ``record_id``'s report there (else the
    error). The web app asks before it stores an uploaded file, so no one else can fill the store."""
    who = get_user(session, actor)
    ft = get_set(session, set_name)
    if ft.stage != "full_text":
        raise InvalidValue("set_name", f"set {set_name} is not a full-text set.", value=set_name)
    check_int64(record_id, "record_id", what="a record id")
    if session.scalar(select(SetMember.id).where(SetMember.set_id == ft.id, SetMember.record_id == record_id)) \
            is None:
        raise NotFound("record", record_id, f"record {record_id} is not a report of set {set_name}.")
    if who.role not in ("pi", "admin") and session.scalar(select(Assignment.id).where(
            Assignment.set_id == ft.id, Assignment.user_id == who.id).limit(1)) is None:
        raise NotAllowed(f"{who.name} does not screen set {set_name}; a PI, an admin or its screeners record "
                         "its reports.", actor=who.name, role=who.role, action="record reports")
    return who, ft


def report_states(session: Session, set_id: int) -> dict[int, ReportState]:
    """The state of every report of a full-text set: its latest event, else "sought"."""
    members = set(session.scalars(select(SetMember.record_id).where(SetMember.set_id == set_id)))
    parent = dict(session.execute(select(Record.id, Record.duplicate_of).where(
        Record.duplicate_of.in_(members))).all()) if members else {}
    out = {rid: ReportState(rid, "sought", None, None, None, None) for rid in members}
    for e in session.scalars(select(ReportEvent).where(ReportEvent.set_id == set_id).order_by(ReportEvent.id)):
        rid = e.record_id if e.record_id in out else parent.get(e.record_id)  # a file on a merged-away copy
        if rid is not None and rid in out:
            out[rid] = ReportState(rid, e.status, e.reason, e.file_sha256, e.file_name, e.actor)
    return out


def exclusion_reasons(session: Session, set_id: int) -> dict[int, str]:
    """The reason each report excluded at full text was excluded for: the PI's when the PI decided,
    else the reason most of its screeners gave (ties: the first in the set's list, then alphabetical)."""
    st = session.get_one(ScreeningSet, set_id)
    order = {r: i for i, r in enumerate(SetSettings.of(st).reasons)}
    finals = final_decisions(session, set_id)
    by_pi = {rid: d.reason for rid, d in adjudications(session, set_id).items() if d.reason}
    given: dict[int, list[str]] = defaultdict(list)
    for (rid, _), d in current(session, set_id).items():
        if d.decision == "exclude" and d.reason:
            given[rid].append(d.reason)
    out = {}
    for rid, decision in finals.items():
        if decision != "exclude":
            continue
        if rid in by_pi and not by_pi[rid].startswith("override:"):
            out[rid] = by_pi[rid]
        elif given[rid]:
            counts = Counter(given[rid])
            out[rid] = min(counts, key=lambda r: (-counts[r], order.get(r, len(order)), r))
        else:
            out[rid] = "reason not given"
    return out


def report_of(session: Session, set_name: str, record_id: int, viewer: str | None) -> ReportState:
    """One report's state, for someone who may see it: its screeners, a PI or an admin."""
    who = get_user(session, viewer)
    ft = get_set(session, set_name)
    if who.role not in ("pi", "admin") and session.scalar(select(Assignment.id).where(
            Assignment.set_id == ft.id, Assignment.user_id == who.id, Assignment.record_id == record_id)) is None:
        raise NotAllowed(f"record {record_id} of set {set_name} is not assigned to {who.name}.", actor=who.name,
                         role=who.role, action="see a report")
    state = report_states(session, ft.id).get(record_id)
    if state is None:
        raise NotFound("record", record_id, f"record {record_id} is not a report of set {set_name}.")
    return state
