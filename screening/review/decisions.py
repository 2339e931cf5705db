"""Screening decisions: append-only events, made one at a time or imported from a file.

A change of mind is a new event and an undo a ``retract`` event; no row is ever changed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Row, Select, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from screening.errors import Ambiguous, Conflict, InputFileError, InvalidValue, NotAllowed, NotFound, ScreeningError
from screening.review.blinding import BatchState, batch_states, frozen_batch, visible
from screening.review.counts import COUNT_DONE, count_done
from screening.review.events import DECISIONS
from screening.review.sets import check_exclusion_reason, get_set
from screening.storage.limits import check_int64
from screening.storage.models import Assignment, Decision, Record, ScreeningSet, User, utcnow
from screening.team.users import get_user

# built once: every decision runs them (building a statement costs more than running it on SQLite),
# as plain column queries on the session's connection: a decision is the web app's busiest write, and
# it holds the database's one writer lock while it runs
_ASSIGNED = select(Assignment.id, Assignment.set_id, Assignment.batch_id, Assignment.phase, Assignment.done,
                   exists().where(Decision.set_id == Assignment.set_id, Decision.record_id == Assignment.record_id,
                                  Decision.kind == "adjudicate").label("adjudicated")).where(
    Assignment.user_id == bindparam("user_id"), Assignment.record_id == bindparam("record_id"))
_ASSIGNED_IN_SET = _ASSIGNED.where(Assignment.set_id == bindparam("set_id"))
_COLUMNS = ("set_id", "record_id", "user_id", "kind", "decision", "reason", "note", "phase", "at")
_ADD = insert(Decision)
_DONE = update(Assignment).where(Assignment.id == bindparam("assignment_id")).values(done=True)
# PostgreSQL: the decision and its assignment's done flag in one statement (a data-modifying WITH),
# a round trip fewer in the group of decisions every screener of a web worker waits for. SQLite has
# no INSERT or UPDATE in a WITH: there they are two statements of the same transaction.
_ADD_DONE = (insert(Decision).values({c: bindparam(f"new_{c}") for c in _COLUMNS}).add_cte(_DONE.cte("done"))
             .returning(Decision.id))
_ADD_DONE_COUNTED = _ADD_DONE.add_cte(COUNT_DONE.cte("counted"))  # the record's first standing decision


class Placed(Protocol):
    """Where an assigned record sits: its set, its batch (test phase) and its phase; whether its
    screener has a standing decision on it."""

    set_id: int
    batch_id: int | None
    phase: str
    done: bool


def _assignment(session: Session, user: User, record_id: int, set_name: str | None
                ) -> Row[int, int, int | None, str, bool, bool]:
    params = {"user_id": user.id, "record_id": record_id}
    if set_name:
        params["set_id"] = get_set(session, set_name).id
    found = session.connection().execute(_ASSIGNED_IN_SET if set_name else _ASSIGNED, params).all()
    if not found:
        if session.get(Record, record_id) is None:
            raise NotFound("record", record_id)
        raise NotAllowed(f"record {record_id} is not assigned to {user.name}"
                         + (f" in set {set_name}" if set_name else "") + ".",
                         actor=user.name, role=user.role, action="decide")
    if len({a.set_id for a in found}) > 1:
        names = session.scalars(select(ScreeningSet.name).where(ScreeningSet.id.in_({a.set_id for a in found})))
        raise Ambiguous(record_id, sorted(names))
    return found[0]


def check_open(session: Session, a: Placed, st: ScreeningSet, *, adjudicated: bool = True) -> None:
    """Refuse a change to a decision the review already rests on.

    A test batch that both members have finished is frozen: its agreement statistics, the gate
    and the PI's work rest on those decisions, and aggregates of them may already have been
    seen. Test-phase decisions close when the set moves to single screening. A PI changes a
    final decision instead (``resolve`` with an override and its reason).

    ``adjudicated``: whether the PI has decided the record. A first decision on a record the PI
    has not decided cannot meet a frozen batch (frozen means both screeners decided every record,
    or every record is final; this one is neither), so that common case needs no batch count.
    """
    if a.phase != "test":
        return
    if st.phase != "test":
        raise Conflict(f"set {st.name} has moved to single screening; its test-phase decisions are closed.",
                       reason="test_phase_closed")
    assert a.batch_id is not None  # a test-phase assignment is in a batch
    if not a.done and not adjudicated:
        return
    state = frozen_batch(session, a.set_id, a.batch_id)
    if state is not None:
        raise Conflict(f"batch {state.number} of set {st.name} is {state.state}: both screeners have finished "
                       "it, so its decisions are frozen (the agreement statistics and the PI rest on them); "
                       "a PI can change the final decision, with a reason.", reason="batch_frozen")


def record_decision(session: Session, user_name: str, record_id: int, decision: str, *,
                    reason: str | None = None, note: str | None = None, set_name: str | None = None) -> Decision:
    """A screener's decision on an assigned record (a new event; earlier ones stay).

    Returns the stored event, detached from the session (it is never changed)."""
    if decision not in DECISIONS:
        raise InvalidValue("decision", f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}.",
                           value=decision)
    check_int64(record_id, "record_id", what="a record id")
    user = get_user(session, user_name)
    session.flush()  # the statements below go to the connection: what the session holds goes first
    a = _assignment(session, user, record_id, set_name)
    st = session.get_one(ScreeningSet, a.set_id)
    check_open(session, a, st, adjudicated=a.adjudicated)
    check_exclusion_reason(st, decision, reason)
    d = Decision(set_id=a.set_id, record_id=record_id, user_id=user.id, kind="screen", decision=decision,
                 reason=reason, note=note, phase=a.phase, at=utcnow())
    conn = session.connection()
    counted = {"count_set_id": a.set_id, "count_user_id": user.id, "count_delta": 1}  # the progress shown
    if conn.dialect.name == "postgresql":
        params = {"assignment_id": a.id, **{f"new_{c}": getattr(d, c) for c in _COLUMNS}}
        d.id = conn.execute(_ADD_DONE if a.done else _ADD_DONE_COUNTED, params | ({} if a.done else counted)
                            ).scalar_one()
    else:
        key = conn.execute(_ADD, {c: getattr(d, c) for c in _COLUMNS}).inserted_primary_key
        assert key is not None  # an INSERT of one row has its key
        d.id = key[0]
        conn.execute(_DONE, {"assignment_id": a.id})
        if not a.done:
            conn.execute(COUNT_DONE, counted)
    loaded = session.identity_map.get(session.identity_key(Assignment, a.id))
    if loaded is not None:  # an Assignment this session read earlier must not keep done=False
        set_committed_value(loaded, "done", True)
    return d


def retract_last(session: Session, user_name: str, *, set_name: str | None = None) -> Decision | None:
    """Undo: withdraw the user's latest standing decision (a new ``retract`` event)."""
    user = get_user(session, user_name)
    stmt = select(Decision).where(Decision.user_id == user.id, Decision.kind == "screen").order_by(Decision.id.desc())
    if set_name:
        stmt = stmt.where(Decision.set_id == get_set(session, set_name).id)
    withdrawn: set[tuple[int, int]] = set()
    for d in _newest_first(session, stmt):
        key = (d.set_id, d.record_id)
        if d.decision == "retract":
            withdrawn.add(key)
            continue
        if key in withdrawn:
            continue
        assignment = session.scalar(select(Assignment).where(
            Assignment.set_id == d.set_id, Assignment.record_id == d.record_id, Assignment.user_id == user.id))
        if assignment is not None:
            check_open(session, assignment, session.get_one(ScreeningSet, assignment.set_id))
            if assignment.done:
                count_done(session, assignment.set_id, user.id, -1)
            assignment.done = False
        r = Decision(set_id=d.set_id, record_id=d.record_id, user_id=user.id, kind="screen", decision="retract",
                     reason=f"undo of decision {d.id}", phase=d.phase)
        session.add(r)
        session.flush()
        return d
    return None


def _newest_first(session: Session, stmt: Select[Any], page: int = 100) -> Iterator[Decision]:
    """``stmt``'s decisions (ordered by id, newest first) a page at a time: undo needs the latest few,
    not the thousands a screener made before them."""
    before: int | None = None
    while True:
        rows = list(session.scalars((stmt if before is None else stmt.where(Decision.id < before)).limit(page)))
        yield from rows
        if len(rows) < page:
            return
        before = rows[-1].id


DECISION_COLUMNS = ("record_id", "user", "decision")  # required; reason, note and set are optional


def import_decisions(session: Session, path: str | Path, *, set_name: str | None = None) -> int:
    """Decisions made elsewhere, from a CSV (``record_id, user, decision[, reason, note, set]``).

    All or nothing inside the caller's transaction: the first bad row raises an error naming
    the file and its line. Returns how many decisions were recorded.
    """
    path = str(path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(path, f"cannot open ({exc.strerror}).") from None
    n = 0
    with fh:
        reader = csv.DictReader(fh)
        if not set(DECISION_COLUMNS) <= set(reader.fieldnames or []):
            raise InputFileError(path, f"the header needs the columns {', '.join(DECISION_COLUMNS)}.", line=1)
        for row in reader:
            try:
                record_id = int(row["record_id"])
            except (TypeError, ValueError):
                raise InputFileError(path, f"record_id {row['record_id']!r} is not a number.", line=reader.line_num,
                                     hint="Nothing from this file was stored; fix that row and import again.") from None
            try:
                record_decision(session, row["user"], record_id, (row["decision"] or "").strip().lower(),
                                reason=row.get("reason") or None, note=row.get("note") or None,
                                set_name=row.get("set") or set_name)
            except ScreeningError as exc:
                raise InputFileError(path, str(exc), line=reader.line_num,
                                     hint="Nothing from this file was stored; fix that row and import again.") from None
            n += 1
    return n


@dataclass
class HistoryEvent:
    """One event on a record, as shown to a viewer allowed to see it."""

    at: str
    set: str
    user: str
    kind: str
    phase: str
    decision: str
    reason: str | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def history(session: Session, record_id: int, viewer_name: str | None = None) -> list[HistoryEvent]:
    """Every event on a record the viewer may see, oldest first (others' blinded events are left out)."""
    check_int64(record_id, "record_id", what="a record id")
    if session.get(Record, record_id) is None:
        raise NotFound("record", record_id)
    viewer = get_user(session, viewer_name) if viewer_name else None
    users = {u.id: u.name for u in session.scalars(select(User))}
    sets = {s.id: s.name for s in session.scalars(select(ScreeningSet))}
    cache: dict[int, dict[int, BatchState]] = {}
    out = []
    for d in session.scalars(select(Decision).where(Decision.record_id == record_id).order_by(Decision.id)):
        if d.set_id not in cache:
            cache[d.set_id] = {s.batch_id: s for s in batch_states(session, d.set_id)}
        if visible(session, viewer, d, states=cache[d.set_id]):  # not even that it exists, otherwise
            out.append(HistoryEvent(d.at.isoformat(timespec="seconds"), sets[d.set_id], users[d.user_id], d.kind,
                                    d.phase, d.decision, d.reason, d.note))
    return out
