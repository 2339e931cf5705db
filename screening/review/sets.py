"""Screening sets (themes): built from whole searches or by hand, each with its criteria.

Only kept records join a set (a removed duplicate is never screened). Records added by hand
(grey literature, citation chasing) keep where they came from in ``SetMember.added_via``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue, NotFound
from screening.records.searches import get_search
from screening.storage.limits import check_int64, check_text
from screening.storage.models import Assignment, Record, ScreeningSet, SetEvent, SetMember
from screening.team.users import manager

_SET_BY_NAME = select(ScreeningSet).where(ScreeningSet.name == bindparam("name"))  # built once


def get_set(session: Session, name: str) -> ScreeningSet:
    """The set called ``name`` (looked up once per session: a request names its set often)."""
    seen: dict[str, ScreeningSet] = session.info.setdefault("sets_by_name", {})
    if name in seen:
        return seen[name]
    s = session.scalar(_SET_BY_NAME, {"name": name})
    if s is not None:
        seen[name] = s
    if s is None:
        raise NotFound("set", name, known=list(session.scalars(select(ScreeningSet.name).order_by(ScreeningSet.name))))
    return s


def create_set(session: Session, name: str, *, searches: list[str] | None = None, all_records: bool = False,
               criteria: str | None = None, actor: str | None = None) -> tuple[ScreeningSet, int]:
    """A set from whole searches (or every kept record); returns the set and its size (a PI or admin)."""
    who = manager(session, actor, action="create sets")
    check_text(ScreeningSet.name, name, "name", what="a set name")
    if not name.strip():
        raise InvalidValue("name", "a set needs a name.")
    if session.scalar(select(ScreeningSet).where(ScreeningSet.name == name)) is not None:
        raise Conflict(f"a set named {name!r} exists already.", reason="set_exists")
    if not searches and not all_records:
        raise InvalidValue("searches", "say which records join the set: some searches, or every kept record.")
    st = ScreeningSet(name=name, criteria=criteria, phase="test")
    session.add(st)
    session.flush()
    stmt = select(Record.id, Record.search_id).where(Record.duplicate_of.is_(None)).order_by(Record.id)
    via = "all searches"
    if searches:
        ids = {get_search(session, s).id: s for s in searches}
        stmt = stmt.where(Record.search_id.in_(ids))
        via = "search " + ", ".join(searches)
    rows = [{"set_id": st.id, "record_id": rid, "added_via": via} for rid, _ in session.execute(stmt)]
    for i in range(0, len(rows), 5000):
        session.execute(insert(SetMember), rows[i:i + 5000])
    session.add(SetEvent(set_id=st.id, kind="create", actor=who.name, payload={"via": via, "records": len(rows)}))
    return st, len(rows)


def add_records(session: Session, set_name: str, record_ids: list[int], *, source: str,
                actor: str | None = None) -> int:
    """Add existing records to a set by hand, with where they came from (a PI or admin)."""
    who = manager(session, actor, action="add records to sets")
    st = get_set(session, set_name)
    check_text(SetMember.added_via, f"by hand: {source}", "source", what="the source (with 'by hand: ')")
    have = set(session.scalars(select(SetMember.record_id).where(SetMember.set_id == st.id)))
    added = 0
    for rid in record_ids:
        check_int64(rid, "record_ids", what="a record id")
        rec = session.get(Record, rid)
        if rec is None:
            raise NotFound("record", rid)
        if rec.duplicate_of is not None:
            raise InvalidValue("record_ids", f"record {rid} is a duplicate of {rec.duplicate_of}; "
                               "add that one instead.", value=rid)
        if rid not in have:
            session.add(SetMember(set_id=st.id, record_id=rid, added_via=f"by hand: {source}"))
            have.add(rid)
            added += 1
    session.add(SetEvent(set_id=st.id, kind="add", actor=who.name, payload={"records": record_ids, "source": source}))
    return added


def add_hand_record(session: Session, set_name: str, *, title: str, source: str, authors: list[str] | None = None,
                    year: int | None = None, journal: str | None = None, doi: str | None = None,
                    abstract: str | None = None, actor: str | None = None) -> Record:
    """A record found outside the searches (grey literature, citation chasing), added to a set."""
    manager(session, actor, action="add records to sets")
    if not title.strip():
        raise InvalidValue("title", "a record added by hand needs a title.")
    check_text(Record.doi, doi, "doi", what="the DOI")
    check_text(Record.source, source, "source", what="the source")
    if year is not None and not 0 < year < 10_000:
        raise InvalidValue("year", f"{year} is not a year.", value=year)
    rec = Record(source=source, format="hand", title=title, authors=authors or [], year=year, journal=journal,
                 doi=(doi or "").lower() or None, abstract=abstract, ris_type="JOUR",
                 raw=[["TI", title], *[["AU", a] for a in authors or []]])
    session.add(rec)
    session.flush()
    add_records(session, set_name, [rec.id], source=source, actor=actor)
    return rec


def set_criteria(session: Session, set_name: str, criteria: str, *, actor: str | None = None) -> None:
    """Replace a set's eligibility criteria (a PI or admin; the old text stays in the set's events)."""
    who = manager(session, actor, action="set eligibility criteria")
    st = get_set(session, set_name)
    session.add(SetEvent(set_id=st.id, kind="criteria", actor=who.name, payload={"old": st.criteria, "new": criteria}))
    st.criteria = criteria


SETTING_KEYS = ("include_terms", "exclude_terms", "reasons")
MAX_SETTING_ITEMS = 200


@dataclass
class SetSettings:
    """What the screeners of a set work with: terms highlighted (green: suggests include, red: suggests
    exclude) and the exclusion reasons they choose from."""

    include_terms: list[str]
    exclude_terms: list[str]
    reasons: list[str]

    @classmethod
    def of(cls, st: ScreeningSet) -> SetSettings:
        stored = st.settings or {}
        return cls(*(list(stored.get(k) or []) for k in SETTING_KEYS))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def set_settings(session: Session, set_name: str, *, include_terms: list[str] | None = None,
                 exclude_terms: list[str] | None = None, reasons: list[str] | None = None,
                 actor: str | None = None) -> SetSettings:
    """Replace some of a set's settings (a PI or admin; the change is recorded with the old values)."""
    who = manager(session, actor, action="change a set's terms and reasons")
    st = get_set(session, set_name)
    old = SetSettings.of(st)
    new = SetSettings(*(old_v if given is None else _clean_list(given, key)
                        for key, given, old_v in zip(SETTING_KEYS, (include_terms, exclude_terms, reasons),
                                                     (old.include_terms, old.exclude_terms, old.reasons),
                                                     strict=True)))
    session.add(SetEvent(set_id=st.id, kind="settings", actor=who.name, payload={"old": old.as_dict(),
                                                                                  "new": new.as_dict()}))
    st.settings = new.as_dict()
    return new


def _clean_list(values: list[str], field: str) -> list[str]:
    out = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(out) > MAX_SETTING_ITEMS:
        raise InvalidValue(field, f"at most {MAX_SETTING_ITEMS} entries, not {len(out)}.")
    for v in out:
        if len(v) > 200 or any(ord(c) < 32 for c in v):
            raise InvalidValue(field, f"{v[:40]!r} is too long or holds control characters.", value=v[:40])
    return out


def check_exclusion_reason(st: ScreeningSet, decision: str, reason: str | None) -> None:
    """At full text an exclusion needs its reason, one of the set's (PRISMA counts reports per reason)."""
    if st.stage != "full_text" or decision != "exclude":
        return
    allowed = SetSettings.of(st).reasons
    if not reason:
        raise InvalidValue("reason", f"at full text an exclusion needs its reason: one of {'; '.join(allowed)}.")
    if allowed and reason not in allowed:
        raise InvalidValue("reason", f"{reason!r} is not one of set {st.name}'s exclusion reasons: "
                           f"{'; '.join(allowed)}.", value=reason)


@dataclass
class SetSummary:
    name: str
    records: int
    by_hand: int
    sampled: int
    phase: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def kept_members(session: Session, set_id: int) -> list[int]:
    """The set's records that are screened: members that are not removed duplicates, by id."""
    return list(session.scalars(
        select(SetMember.record_id).join(Record, Record.id == SetMember.record_id)
        .where(SetMember.set_id == set_id, Record.duplicate_of.is_(None)).order_by(SetMember.record_id)))


def summarise_sets(session: Session) -> list[SetSummary]:
    out = []
    for st in session.scalars(select(ScreeningSet).order_by(ScreeningSet.id)):
        members = kept_members(session, st.id)
        by_hand = session.scalar(select(func.count()).select_from(SetMember).where(
            SetMember.set_id == st.id, SetMember.added_via.like("by hand:%"))) or 0
        sampled = session.scalar(select(func.count(func.distinct(Assignment.record_id))).where(
            Assignment.set_id == st.id, Assignment.phase == "test")) or 0
        out.append(SetSummary(st.name, len(members), by_hand, sampled, st.phase))
    return out
