"""Deduplication against the database: load records, run the core, store groups and queue.

Every automatic pass recomputes the groups over all records, so a search imported later is
deduplicated against everything already there. What people decided (``DedupDecision``:
merges, splits, answers to the queue) is fed to the core as must-link / cannot-link
constraints, so later passes respect it. Records that already carry screening decisions are
"locked": the core prefers them as the kept record, and when two screened records turn out to
be duplicates the removed one is flagged and keeps its decisions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from screening.dedup.core import RELATIONS, DedupRecord, Link, find_duplicates
from screening.errors import Conflict, InvalidValue, NotFound
from screening.storage.limits import check_int64
from screening.storage.models import (
    Assignment,
    Decision,
    DedupDecision,
    DedupPair,
    DedupRun,
    Record,
    RecordLink,
    Search,
)
from screening.team.users import manager

FLAG_AFTER_SCREENING = "duplicate found after screening; its decisions are kept"


@dataclass
class DedupSummary:
    records: int
    groups: int
    removed: int
    queued: int
    flagged: int
    comparisons: int
    linked: int  # related records linked (errata, retractions, updates...), not merged
    seconds: float
    by_rule: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _load(session: Session) -> tuple[list[DedupRecord], set[int]]:
    locked = set(session.scalars(select(Decision.record_id).distinct()))
    locked |= set(session.scalars(select(Assignment.record_id).distinct()))
    searches = dict(session.execute(select(Search.id, Search.name)).all())
    cols = (Record.id, Record.title, Record.authors, Record.year, Record.journal, Record.journal_abbrev,
            Record.volume, Record.issue, Record.pages, Record.doi, Record.pmid, Record.accessions,
            Record.issn, Record.abstract, Record.pub_type, Record.search_id, Record.ris_type)
    out = []
    for row in session.execute(select(*cols).order_by(Record.id).execution_options(yield_per=5000)):
        out.append(DedupRecord(
            id=row.id, title=row.title or "", authors=list(row.authors or []), year=row.year,
            journal=row.journal or "", journal_abbrev=row.journal_abbrev or "", volume=row.volume or "",
            issue=row.issue or "", pages=row.pages or "", doi=row.doi or "", pmid=row.pmid or "",
            accessions=dict(row.accessions or {}), issn=list(row.issn or []), abstract=row.abstract or "",
            pub_type=row.pub_type or row.ris_type or "", source=searches.get(row.search_id, "") or "",
            locked=row.id in locked,
        ))
    return out, locked


@dataclass
class PeoplesDecisions:
    """What people decided, the latest decision per pair winning (decisions are append-only)."""

    must: list[tuple[int, int]]  # merged
    cannot: list[tuple[int, int]]  # split
    links: dict[tuple[int, int], str]  # (notice, article) -> relation, linked by a person
    unlinked: set[tuple[int, int]]  # pairs (either order, smaller id first) a person said are not related


def _decisions(session: Session) -> PeoplesDecisions:
    grouping: dict[tuple[int, int], str] = {}
    relating: dict[tuple[int, int], tuple[str, int, int]] = {}
    for d in session.scalars(select(DedupDecision).order_by(DedupDecision.id)):
        key = (min(d.record_a, d.record_b), max(d.record_a, d.record_b))
        if d.decision in ("merge", "split"):
            grouping[key] = d.decision
        else:
            relating[key] = (d.decision, d.record_a, d.record_b)
    return PeoplesDecisions(
        must=[p for p, d in grouping.items() if d == "merge"],
        cannot=[p for p, d in grouping.items() if d == "split"],
        links={(a, b): d.removeprefix("link:") for d, a, b in relating.values() if d.startswith("link:")},
        unlinked={p for p, (d, _, _) in relating.items() if d == "unlink"})


def _store_links(session: Session, found: list[Link], people: PeoplesDecisions, parent: dict[int, int],
                 run_id: int) -> int:
    """Replace the stored links: the engine's (but those a person unlinked) and the people's,
    each between the kept records of the two groups."""
    session.execute(delete(RecordLink))
    rows: dict[tuple[int, int, str], dict[str, Any]] = {}
    candidates = [(lk.a, lk.b, lk.rule, "auto", dict(lk.scores)) for lk in found]
    candidates += [(a, b, rel, "manual", {}) for (a, b), rel in people.links.items()]
    for a, b, relation, source, scores in candidates:
        if source == "auto" and (min(a, b), max(a, b)) in people.unlinked:
            continue
        ka, kb = parent.get(a, a), parent.get(b, b)
        if ka == kb:
            continue  # merged after all: one record, no link
        rows[(ka, kb, relation)] = {"record_a": ka, "record_b": kb, "relation": relation, "source": source,
                                    "scores": scores, "run_id": run_id}
    if rows:
        session.execute(insert(RecordLink), list(rows.values()))
    return len(rows)


def run_dedup(session: Session, *, progress: Callable[[int], None] | None = None) -> DedupSummary:
    """One automatic pass over all records; stores groups, explanations and the queue."""
    t0 = time.perf_counter()
    records, locked = _load(session)
    people = _decisions(session)
    must, cannot = people.must, people.cannot
    result = find_duplicates(records, must_link=must, cannot_link=cannot, progress=progress)

    new_parent: dict[int, int] = {}
    explain: dict[int, tuple[str, dict[str, Any]]] = {}
    for group, kept in zip(result.groups, result.kept, strict=True):
        for rid in group:
            if rid != kept:
                new_parent[rid] = kept
    for link in result.links:
        for rid in (link.a, link.b):
            if rid in new_parent and rid not in explain:
                explain[rid] = (link.rule, dict(link.scores))

    # what each duplicate holds now: only the rows whose parent, rule, scores or flag change are written
    # (a pass over 100,000 records would otherwise rewrite every duplicate each time)
    current = {r.id: {"parent": r.duplicate_of, "rule": r.dedup_rule, "scores": r.dedup_scores, "flag": r.dedup_flag}
               for r in session.execute(select(Record.id, Record.duplicate_of, Record.dedup_rule, Record.dedup_scores,
                                               Record.dedup_flag).where(Record.duplicate_of.is_not(None)))}
    changes = []
    flagged = 0
    for rid in set(current) | set(new_parent):
        parent = new_parent.get(rid)
        rule, scores = explain.get(rid, ("manual" if parent else None, {}))
        flag = FLAG_AFTER_SCREENING if parent is not None and rid in locked else None
        flagged += flag is not None
        row = {"parent": parent, "rule": rule if parent else None, "scores": scores if parent else None, "flag": flag}
        if current.get(rid) != row:
            changes.append({"rid": rid, **row})
    if changes:
        stmt = (update(Record).where(Record.id == bindparam("rid"))
                .values(duplicate_of=bindparam("parent"), dedup_rule=bindparam("rule"),
                        dedup_scores=bindparam("scores"), dedup_flag=bindparam("flag")))
        session.connection().execute(stmt, changes)

    by_rule: dict[str, int] = defaultdict(int)
    for rid in new_parent:
        by_rule[explain.get(rid, ("manual", {}))[0]] += 1
    run = DedupRun(params=dict(getattr(result, "params", {}) or {}), counts={})
    session.add(run)
    session.flush()
    decided = set(must) | set(cannot)
    session.execute(delete(DedupPair).where(DedupPair.status == "pending"))
    queue_rows = []
    for pair in result.queue:
        key = (min(pair.a, pair.b), max(pair.a, pair.b))
        if key in decided:
            continue
        queue_rows.append({"record_a": key[0], "record_b": key[1], "scores": dict(pair.scores),
                           "status": "pending", "run_id": run.id})
    existing = set(session.execute(select(DedupPair.record_a, DedupPair.record_b)).all())
    queue_rows = [q for q in queue_rows if (q["record_a"], q["record_b"]) not in existing]
    if queue_rows:
        session.execute(insert(DedupPair), queue_rows)
    linked = _store_links(session, result.related, people, new_parent, run.id)
    summary = DedupSummary(
        records=len(records), groups=len(result.groups), removed=len(new_parent), queued=len(queue_rows),
        linked=linked,
        flagged=flagged, comparisons=int(getattr(result, "comparisons", 0)),
        seconds=round(time.perf_counter() - t0, 2), by_rule=dict(by_rule), run_id=run.id,
    )
    run.counts = summary.as_dict()
    return summary


def group_of(session: Session, record_id: int) -> list[Record]:
    """The kept record of ``record_id``'s group first, then its removed duplicates."""
    check_int64(record_id, "record_id", what="a record id")
    rec = session.get(Record, record_id)
    if rec is None:
        raise NotFound("record", record_id)
    root = rec.duplicate_of or rec.id
    members = session.scalars(select(Record).where(
        (Record.id == root) | (Record.duplicate_of == root)).order_by(Record.id)).all()
    return sorted(members, key=lambda r: (r.id != root, r.id))


def record_decision(session: Session, a: int, b: int, decision: str, *, by: str | None = None,
                    note: str | None = None) -> None:
    """Store a person's merge/split of two records (a PI or admin); the next pass applies and keeps it."""
    who = manager(session, by, action="merge or split duplicates")
    if a == b:
        raise InvalidValue("b", "a record cannot be merged with or split from itself.", value=b)
    for rid in (a, b):
        if session.get(Record, rid) is None:
            raise NotFound("record", rid)
    session.add(DedupDecision(record_a=min(a, b), record_b=max(a, b), decision=decision, by=who.name, note=note))
    session.execute(update(DedupPair).where(DedupPair.record_a == min(a, b), DedupPair.record_b == max(a, b))
                    .values(status="decided"))


def link_records(session: Session, notice: int, article: int, relation: str, *, by: str | None = None,
                 note: str | None = None) -> None:
    """A person says ``notice`` is the ``relation`` (erratum, retraction, ...) of ``article``; kept by every pass."""
    if relation not in RELATIONS:
        raise InvalidValue("relation", f"a relation is one of {', '.join(RELATIONS)}, not {relation!r}.",
                           value=relation)
    who = manager(session, by, action="link related records")
    _check_pair(session, notice, article, "linked to")
    session.add(DedupDecision(record_a=notice, record_b=article, decision=f"link:{relation}", by=who.name, note=note))
    run_dedup(session)


def unlink_records(session: Session, a: int, b: int, *, by: str | None = None, note: str | None = None) -> None:
    """A person says ``a`` and ``b`` are not related (the engine's link between them is dropped for good)."""
    who = manager(session, by, action="unlink related records")
    _check_pair(session, a, b, "unlinked from")
    session.add(DedupDecision(record_a=min(a, b), record_b=max(a, b), decision="unlink", by=who.name, note=note))
    run_dedup(session)


def _check_pair(session: Session, a: int, b: int, verb: str) -> None:
    if a == b:
        raise InvalidValue("b", f"a record cannot be {verb} itself.", value=b)
    for rid in (a, b):
        check_int64(rid, "record_id", what="a record id")
        if session.get(Record, rid) is None:
            raise NotFound("record", rid)


@dataclass
class Related:
    """A record related to another, seen from that other: ``relation`` is what this record is to it
    ("erratum": this one is its erratum; "erratum of": it is this one's erratum... read from the record)."""

    record_id: int
    relation: str  # "retraction" (this record is a retraction of the one looked at) / "retraction of"
    title: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_LINKS = select(RecordLink.record_a, RecordLink.record_b, RecordLink.relation).order_by(RecordLink.id)
_LINKS_OF = _LINKS.where(RecordLink.record_a.in_(bindparam("ids", expanding=True))
                         | RecordLink.record_b.in_(bindparam("ids", expanding=True)))  # built once: a screen shows it


def related_to(session: Session, record_ids: Iterable[int] | None = None) -> dict[int, list[Related]]:
    """For each record (every record when ``record_ids`` is None), the records linked to it.

    Seen from the article, an erratum is its "erratum"; seen from the erratum, the article is
    what it is the "erratum of". A retracted article therefore carries relation "retraction".
    """
    ids = None if record_ids is None else set(record_ids)
    if ids is not None and not ids:
        return {}
    links = list(session.execute(_LINKS if ids is None else _LINKS_OF, {} if ids is None else {"ids": list(ids)}).all())
    if not links:
        return {}
    other_ids = {x for a, b, _ in links for x in (a, b)}
    titles = dict(session.execute(select(Record.id, Record.title).where(Record.id.in_(other_ids))).all())
    out: dict[int, list[Related]] = defaultdict(list)
    for a, b, relation in links:
        out[b].append(Related(a, relation, titles.get(a)))  # a is b's erratum / retraction / ...
        out[a].append(Related(b, f"{relation} of", titles.get(b)))
    return {k: v for k, v in out.items() if ids is None or k in ids}


def split_record(session: Session, record_id: int, *, by: str | None = None, note: str | None = None) -> int:
    """Take ``record_id`` out of its group: a split against every other member, then re-run."""
    members = group_of(session, record_id)
    others = [m.id for m in members if m.id != record_id]
    if not others:
        raise Conflict(f"record {record_id} is not in a duplicate group; nothing to split.", reason="not_a_duplicate")
    for other in others:
        record_decision(session, record_id, other, "split", by=by, note=note)
    run_dedup(session)
    return len(others)


def merge_records(session: Session, a: int, b: int, *, by: str | None = None, note: str | None = None) -> None:
    """Declare ``a`` and ``b`` the same study; the next pass (run now) groups them.

    The merge joins the two whole groups: it is recorded between every member of one and every
    member of the other, so an earlier split of ``b`` from ``a``'s group is superseded for the
    whole group (a merge with one member after a split used to leave the others out).
    """
    if a == b:
        raise InvalidValue("b", "a record cannot be merged with itself.", value=b)
    group_a = [m.id for m in group_of(session, a)]
    group_b = [m.id for m in group_of(session, b)]
    for x in group_a:
        for y in group_b:
            if x != y:
                record_decision(session, x, y, "merge", by=by, note=note)
    run_dedup(session)


def pending_pairs(session: Session, viewer: str | None = None) -> list[DedupPair]:
    """The doubtful pairs waiting for a person (for a named viewer: a PI or admin only)."""
    if viewer is not None:
        manager(session, viewer, action="review doubtful duplicates")
    return list(session.scalars(select(DedupPair).where(DedupPair.status == "pending").order_by(DedupPair.id)))


def last_run(session: Session) -> DedupRun | None:
    """The latest automatic pass, with its counts."""
    return session.scalar(select(DedupRun).order_by(DedupRun.id.desc()).limit(1))
