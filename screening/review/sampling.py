"""Test-screening samples: a seeded simple random sample, cut into batches, assigned to pairs.

The sample drawn is stored exactly (the published n's are not always share x total), with its
seed and every parameter, so it can be reproduced and audited. Batches go to the pairs in
turn, so pair loads differ by at most one batch.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InvalidValue
from screening.review.counts import recount
from screening.review.sets import get_set, kept_members
from screening.storage.limits import check_int64
from screening.storage.models import Assignment, Batch, Sample, SetEvent, User
from screening.team.users import get_user, manager, require_role


@dataclass
class SampleResult:
    sample_id: int
    size: int
    batches: list[tuple[int, str, str, int]]  # (number, user a, user b, records)
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_pairs(pairs: list[tuple[str, str]]) -> None:
    """Each pair is two different screeners, and no pair is listed twice (in either order)."""
    if not pairs:
        raise InvalidValue("pairs", "name at least one pair of screeners.")
    for a, b in pairs:
        if not a or not b or a == b:
            raise InvalidValue("pairs", f"{a}+{b} is not a pair of two different screeners.", value=(a, b))
    if len(set(map(frozenset, pairs))) != len(pairs):
        raise InvalidValue("pairs", "a pair is listed twice.", value=pairs)


def draw_sample(session: Session, set_name: str, *, pairs: list[tuple[str, str]], seed: int, batch_size: int,
                share: float | None = None, size: int | None = None, batches: int | None = None,
                extend: bool = False, actor: str | None = None) -> SampleResult:
    """Draw (or extend) the test-screening sample of a set.

    The first draw takes ``size`` records, or ceil(share x kept records). A later draw extends
    the sample from the records not yet sampled (for example one more batch when agreement is
    not reached yet); its share, batch size and pairs may differ from the first.
    """
    who = manager(session, actor, action="draw samples")
    st = get_set(session, set_name)
    check_int64(seed, "seed", what="the seed")
    if share is not None and not (math.isfinite(share) and 0 < share <= 1):
        raise InvalidValue("share", f"the share is between 0 and 1 (e.g. 0.25), not {share}.", value=share)
    if batches is not None and batches < 1:
        raise InvalidValue("batches", f"draw at least one batch, not {batches}.", value=batches)
    if st.phase != "test":
        raise Conflict(f"set {set_name} is in the {st.phase} phase; samples are for the test phase.",
                       reason="not_test_phase")
    if batch_size < 1:
        raise InvalidValue("batch_size", f"the batch size must be at least 1, not {batch_size}.", value=batch_size)
    check_pairs(pairs)
    users = {}
    for a, b in pairs:
        for name in (a, b):
            u = get_user(session, name)
            require_role(u, "screener", "pi", action="screen")
            users[name] = u
    members = kept_members(session, st.id)
    sampled = set(session.scalars(select(Assignment.record_id).where(
        Assignment.set_id == st.id, Assignment.phase == "test")))
    if sampled and not extend:
        raise Conflict(f"set {set_name} has a sample already; extend it to draw more.", reason="sample_exists")
    pool = [r for r in members if r not in sampled]
    if size is None and batches is not None:
        size = min(batches * batch_size, len(pool))
    if size is None:
        if share is None:
            raise InvalidValue("share", "give a share between 0 and 1 (e.g. 0.25), a size or a number of batches.",
                               value=share)
        size = math.ceil(share * len(members))
    if size < 1 or size > len(pool):
        raise InvalidValue("size", f"cannot draw {size} records: {len(pool)} of the set's {len(members)} records "
                           "are not in the sample yet.", value=size)
    chosen = random.Random(seed).sample(pool, size)
    sample = Sample(set_id=st.id, seed=seed, share=share, size=size, batch_size=batch_size,
                    pairs=[list(p) for p in pairs], created_by=who.name,
                    params={"pool": len(pool), "set_records": len(members), "extends": bool(sampled)})
    session.add(sample)
    session.flush()
    first_number = (session.scalar(select(Batch.number).where(Batch.set_id == st.id)
                                   .order_by(Batch.number.desc()).limit(1)) or 0) + 1
    n_batches = math.ceil(size / batch_size)
    # continue the rotation where the previous draw stopped, so loads stay balanced across draws
    previous = session.scalar(select(Batch).where(Batch.set_id == st.id).order_by(Batch.number.desc()).limit(1))
    offset = 0
    if previous is not None:
        names = dict(session.execute(select(User.id, User.name).where(
            User.id.in_((previous.user_a, previous.user_b)))).all())
        last = (names[previous.user_a], names[previous.user_b])
        offset = next((i + 1 for i, p in enumerate(pairs) if p == last), 0)
    out = []
    rows = []
    for k in range(n_batches):
        a, b = pairs[(k + offset) % len(pairs)]
        batch = Batch(set_id=st.id, sample_id=sample.id, number=first_number + k,
                      user_a=users[a].id, user_b=users[b].id)
        session.add(batch)
        session.flush()
        chunk = chosen[k * batch_size:(k + 1) * batch_size]
        for pos, rid in enumerate(chunk, 1):
            for u in (users[a], users[b]):
                rows.append({"set_id": st.id, "record_id": rid, "user_id": u.id, "batch_id": batch.id,
                             "position": pos, "phase": "test"})
        out.append((batch.number, a, b, len(chunk)))
    for i in range(0, len(rows), 5000):
        session.execute(insert(Assignment), rows[i:i + 5000])
    recount(session, st.id)
    session.add(SetEvent(set_id=st.id, kind="sample", actor=who.name, payload={
        "sample_id": sample.id, "seed": seed, "share": share, "size": size, "batch_size": batch_size,
        "pairs": [list(p) for p in pairs]}))
    return SampleResult(sample.id, size, out, seed)
