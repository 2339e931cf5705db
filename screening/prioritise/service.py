"""Priority ranking in the workflow: train on a set's decisions, score what is left, store it.

Test-phase batches are never reordered (agreement statistics need their random order); only
single-phase queues are served by score. A session retrains when :func:`retrain_due` says so
(after every decision while few are labelled, then after every 10% more), the same cadence the
simulation uses.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Float, Integer, Text, bindparam, cast, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue
from screening.prioritise.cadence import retrain_due
from screening.prioritise.features import cached_tfidf, record_text
from screening.prioritise.simulate import stopping_costs
from screening.prioritise.stopping import StoppingEstimate, estimate
from screening.prioritise.training import train_and_score
from screening.review.conflicts import final_decisions
from screening.review.events import current
from screening.review.sets import get_set, kept_members
from screening.storage.limits import check_int64
from screening.storage.models import (
    Assignment,
    Decision,
    ModelRun,
    Record,
    RecordScore,
    ScreeningSet,
    SetEvent,
    SetMember,
)
from screening.team.users import manager


def labels_of(session: Session, st: ScreeningSet) -> dict[int, int]:
    """1/0 per decided record: final decisions, plus single-phase screeners' includes and excludes."""
    out = {rid: int(d == "include") for rid, d in final_decisions(session, st.id).items()}
    for (rid, _uid), d in current(session, st.id).items():
        if d.phase == "single" and d.decision in ("include", "exclude"):
            out.setdefault(rid, int(d.decision == "include"))
    return out


@dataclass
class RankSummary:
    set: str
    labelled: int
    included: int
    scored: int
    seconds: float
    model: str
    run_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RankingInputs:
    """What a ranking is computed from, read in one transaction: the set's records and decisions so far."""

    set_id: int
    set_name: str
    members: list[int]
    labels: dict[int, int]  # record -> 1 (include) / 0 (exclude)
    texts: list[str]  # title, abstract and keywords of each member, in ``members`` order


@dataclass
class Ranking:
    """A trained model's verdict on the undecided records, before it is stored."""

    scored: list[tuple[int, float]]  # (record, share in (0, 1]): 1 the likeliest include
    model: str
    params: dict[str, Any]
    seed: int
    labelled: int
    included: int
    seconds: float


def ranking_inputs(session: Session, set_name: str) -> RankingInputs:
    """The records and labels of a set; a ranking needs at least one include and one exclude."""
    st = get_set(session, set_name)
    labels = labels_of(session, st)
    members: list[int] = []
    texts: list[str] = []
    # the kept members (as kept_members) with their text in one statement: by ids in IN lists it took
    # five statements of 10,000 parameters for 50,000 records, in the driver's time and the server's.
    # Keywords come as the JSON text stored, parsed by orjson: the driver's json.loads was 0.47 s of 1.2
    for row in session.execute(select(*_TEXT_COLUMNS).join(SetMember, SetMember.record_id == Record.id)
                               .where(SetMember.set_id == st.id, Record.duplicate_of.is_(None))
                               .order_by(SetMember.record_id)):
        members.append(row.id)
        texts.append(_text_of(row))
    y = {labels[r] for r in members if r in labels}
    if y != {0, 1}:
        raise Conflict(f"set {set_name} needs at least one include and one exclude decided before ranking.",
                       reason="too_few_labels")
    return RankingInputs(st.id, st.name, members, labels, texts)


# what a ranking reads of a record, the keywords as their stored JSON text (see _words)
_TEXT_COLUMNS = (Record.id, Record.title, Record.abstract, cast(Record.keywords, Text).label("keywords"))


def _text_of(row: Any) -> str:
    return record_text(row.title, row.abstract, _words(row.keywords))


def _words(stored: str | None) -> list[str]:
    """A record's keywords from their stored JSON (a list of strings; anything else is ignored)."""
    try:
        value = orjson.loads(stored) if stored else None
    except orjson.JSONDecodeError:
        return []
    return [str(x) for x in value if isinstance(x, str)] if isinstance(value, list) else []


def compute_ranking(inputs: RankingInputs, *, model: str | None = None, seed: int = 0) -> Ranking:
    """Train on the labelled records and rank the rest: no database, so no lock is held meanwhile."""
    t0 = time.perf_counter()
    check_int64(seed, "seed", what="the seed")
    members, labels = inputs.members, inputs.labels
    X = cached_tfidf(inputs.texts)
    idx = np.asarray([i for i, r in enumerate(members) if r in labels])
    y = np.asarray([labels[members[i]] for i in idx])
    res = train_and_score(X, idx, y, model=model, seed=seed)
    undecided = [i for i, r in enumerate(members) if r not in labels]
    # the score stored is the record's rank among the undecided as a share in (0, 1]: 1 is the likeliest
    # include, the same scale whatever the model, and 0 is left for records not ranked yet
    shares = np.empty(len(undecided))
    shares[np.argsort(res.scores[undecided], kind="stable")] = np.arange(1, len(undecided) + 1) / len(undecided)
    return Ranking([(members[i], float(x)) for i, x in zip(undecided, shares, strict=True)], res.model,
                   _jsonable(res.params), seed, len(idx), int(y.sum()), time.perf_counter() - t0)


def store_ranking(session: Session, inputs: RankingInputs, ranking: Ranking) -> RankSummary:
    """Replace the set's scores with ``ranking`` and reorder every screener's single-phase queue, in
    the caller's transaction (the background retrainer stores in steps instead: :func:`store_scores`,
    then :func:`~screening.prioritise.background.reorder_queues`)."""
    summary = store_scores(session, inputs, ranking)
    write_priorities(session, queue_priorities(session, inputs.set_id, summary.run_id, dict(ranking.scored)))
    return summary


def store_scores(session: Session, inputs: RankingInputs, ranking: Ranking) -> RankSummary:
    """The model run and the set's scores (``record_score``), replaced whole; queues are not touched."""
    t0 = time.perf_counter()
    # one ranking at a time per set: each web worker retrains in the background, and on PostgreSQL two
    # stores of one set's scores side by side collided on its unique key (the set's row lock orders
    # them; SQLite's one writer already does). FOR NO KEY UPDATE, not FOR UPDATE: a decision's foreign
    # key check takes a KEY SHARE lock on the same row, which FOR UPDATE would have made wait.
    session.execute(select(ScreeningSet.id).where(ScreeningSet.id == inputs.set_id).with_for_update(key_share=True))
    run = ModelRun(set_id=inputs.set_id, model=ranking.model, params=ranking.params, seed=ranking.seed,
                   n_labelled=ranking.labelled, n_included=ranking.included, seconds=0.0)
    session.add(run)
    session.flush()
    session.execute(delete(RecordScore).where(RecordScore.set_id == inputs.set_id))
    if session.get_bind().dialect.name == "postgresql":  # one statement, the scores as two arrays
        session.connection().execute(_SCORES_FROM_ARRAYS, {
            "set_id": inputs.set_id, "run_id": run.id, "record_ids": [rid for rid, _ in ranking.scored],
            "scores": [share for _, share in ranking.scored]})
    else:  # SQLite runs in this process: one prepared statement for every row
        session.execute(insert(RecordScore), [{"set_id": inputs.set_id, "record_id": rid, "score": share,
                                               "run_id": run.id} for rid, share in ranking.scored])
    run.seconds = round(ranking.seconds + time.perf_counter() - t0, 3)
    return RankSummary(inputs.set_name, ranking.labelled, ranking.included, len(ranking.scored), run.seconds,
                       ranking.model, run.id)


# PostgreSQL: a set's scores in one INSERT ... SELECT unnest(...). psycopg runs an executemany as one
# statement per row (pipelined): 50,000 of them took the server 1.6 s, while the decisions of the
# screeners waited for the CPU beside it.
_SCORES_FROM_ARRAYS = insert(RecordScore).from_select(
    ["set_id", "record_id", "score", "run_id"],
    select(bindparam("set_id", type_=Integer), func.unnest(bindparam("record_ids", type_=ARRAY(Integer))),
           func.unnest(bindparam("scores", type_=ARRAY(Float))), bindparam("run_id", type_=Integer)))


def queue_owners(session: Session, set_id: int) -> list[int]:
    """The users holding single-phase records of a set."""
    return list(session.scalars(select(Assignment.user_id).where(
        Assignment.set_id == set_id, Assignment.phase == "single").distinct().order_by(Assignment.user_id)))


def queue_priorities(session: Session, set_id: int, run_id: int, scores: Mapping[int, float],
                     user_id: int | None = None) -> list[tuple[int, float]]:
    """(assignment, new priority) for the records still to screen in the set's single-phase queues
    (every screener's, or one's), likeliest include first.

    A priority is the run's id plus the record's score: a later run's priorities are all above an
    earlier one's, so a queue rewritten top first, a step at a time, serves the new ranking's best
    record from the first step on (the records not rewritten yet sort below it, as if last). Records
    already decided keep the priority they were served at (rewriting them cost a row version in every
    index, for nothing); a record the run did not score goes last (0)."""
    mine = [Assignment.set_id == set_id, Assignment.phase == "single", Assignment.done.is_(False)]
    if user_id is not None:
        mine.append(Assignment.user_id == user_id)
    rows = [(aid, run_id + scores[rid] if rid in scores else 0.0)
            for aid, rid in session.execute(select(Assignment.id, Assignment.record_id).where(*mine))]
    rows.sort(key=lambda row: (-row[1], row[0]))
    return rows


def write_priorities(session: Session, priorities: Sequence[tuple[int, float]]) -> None:
    """Give assignments their new priorities in one statement; one decided meanwhile is left as it was."""
    if not priorities:
        return
    if session.get_bind().dialect.name == "postgresql":  # the pairs as two arrays (an executemany is a statement a row)
        session.connection().execute(_PRIORITIES_FROM_ARRAYS, {"ids": [aid for aid, _ in priorities],
                                                               "priorities": [p for _, p in priorities]})
    else:
        session.connection().execute(_PRIORITY_OF_ONE, [{"aid": aid, "p": p} for aid, p in priorities])


_PRIORITIES_FROM_ARRAYS = text(
    "UPDATE assignment SET priority = v.p FROM unnest(CAST(:ids AS integer[]), CAST(:priorities AS float8[]))"
    " AS v(id, p) WHERE assignment.id = v.id AND NOT assignment.done")
_PRIORITY_OF_ONE = (update(Assignment).where(Assignment.id == bindparam("aid"), Assignment.done.is_(False))
                    .values(priority=bindparam("p")).execution_options(synchronize_session=False))


def rank_set(session: Session, set_name: str, *, model: str | None = None, seed: int = 0) -> RankSummary:
    """Retrain on the set's decisions and store a score for every undecided record (one transaction)."""
    inputs = ranking_inputs(session, set_name)
    return store_ranking(session, inputs, compute_ranking(inputs, model=model, seed=seed))


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    def one(v: Any) -> Any:
        if isinstance(v, dict):
            return _jsonable(v)
        if isinstance(v, (list, tuple)):
            return [one(x) for x in v]
        return v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)

    return {k: one(v) for k, v in params.items()}


def retrain_is_due(session: Session, st: ScreeningSet) -> bool:
    """Have enough decisions arrived since the set's last ranking (single phase only)?"""
    if st.phase != "single":
        return False
    last = session.scalar(select(ModelRun).where(ModelRun.set_id == st.id).order_by(ModelRun.id.desc()).limit(1))
    if last is None:
        return True
    since = session.scalar(select(func.count()).select_from(Decision).where(
        Decision.set_id == st.id, Decision.at > last.at)) or 0
    return retrain_due(since, last.n_labelled)


def progress(session: Session, set_name: str, *, recall_target: float = 0.95, alpha: float = 0.05,
             costs: bool = False) -> tuple[StoppingEstimate, list[int]]:
    """Decisions so far in the order made, and the stopping estimate for the set.

    With ``costs``, the estimate carries what stopping at recall 80/90/95/99% would have cost and
    saved, in the team's order and in simulations of the decided records (seconds of computing:
    the command line asks for it, a page does not)."""
    st = get_set(session, set_name)
    labels = labels_of(session, st)
    first_at: dict[int, int] = {}
    for rid, did in session.execute(select(Decision.record_id, func.min(Decision.id)).where(
            Decision.set_id == st.id).group_by(Decision.record_id)):
        first_at[rid] = did
    decided = [r for r in sorted(first_at, key=first_at.__getitem__) if r in labels]
    ordered = [labels[r] for r in decided]
    total = len(kept_members(session, st.id))
    est = estimate(ordered, total, recall_target=recall_target, alpha=alpha)
    if costs:
        est.costs = stopping_costs(_texts_of(session, decided), ordered)
    return est, ordered


def _texts_of(session: Session, record_ids: list[int]) -> list[str]:
    """Title, abstract and keywords of each record, in the order given (as the ranking reads them)."""
    rows: dict[int, Any] = {}
    text_columns = select(*_TEXT_COLUMNS)
    for i in range(0, len(record_ids), 10_000):  # bounded IN lists: SQLite and PostgreSQL cap bound parameters
        rows.update((r.id, r) for r in session.execute(text_columns.where(Record.id.in_(record_ids[i:i + 10_000]))))
    return [_text_of(rows[r]) for r in record_ids]


@dataclass
class StopResult:
    set: str
    undecided: int  # records left unscreened: PRISMA counts them as excluded by the stopping rule
    estimate: StoppingEstimate
    forced: bool
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stop_screening(session: Session, set_name: str, *, actor: str | None, force: bool = False,
                   reason: str | None = None, recall_target: float = 0.95, alpha: float = 0.05) -> StopResult:
    """The PI stops single screening of a set: when the stopping test says recall is at least the
    target (or forced, with a reason). Recorded with the figures; the records left undecided are
    reported as not screened, excluded by the stopping rule (PRISMA's "records excluded")."""
    who = manager(session, actor, action="stop screening a set")
    st = get_set(session, set_name)
    if st.phase != "single":
        raise Conflict(f"set {set_name} is not in single screening; stopping applies to the ranked phase.",
                       reason="not_single_phase")
    est, _ = progress(session, set_name, recall_target=recall_target, alpha=alpha)
    if force and not (reason and reason.strip()):
        raise InvalidValue("reason", "stopping before the test allows it needs a reason (it is recorded).")
    if not est.can_stop and not force:
        p = "n/a" if est.p_value is None else f"{est.p_value:.4f}"
        raise Conflict(f"the stopping test does not allow set {set_name} to stop yet (p = {p} for recall < "
                       f"{recall_target:.0%}); keep screening, or force it with a reason.", reason="cannot_stop")
    undecided = est.total - est.screened
    session.add(SetEvent(set_id=st.id, kind="stop", actor=who.name, payload={
        "undecided": undecided, "forced": bool(force and not est.can_stop), "reason": reason,
        "estimate": _jsonable(est.as_dict())}))
    return StopResult(st.name, undecided, est, bool(force and not est.can_stop), reason)
