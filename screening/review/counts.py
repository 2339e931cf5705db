"""Each screener's progress per set (records held, records done), kept as counts beside the queue.

``assignment`` is the truth; ``queue_count`` follows it. Writes that add, remove or move
assignments (a sample, the move to single screening, dedup merges) count their set again from
``assignment`` (:func:`recount`); a decision that makes a record done adds one, an undo takes one
away (:func:`count_done`). A next record reads the one row instead of counting thousands.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from screening.storage.models import Assignment, QueueCount

# a decision that makes its record done, or an undo of one: the screener's count moves by ``delta``
COUNT_DONE = (update(QueueCount).where(QueueCount.set_id == bindparam("count_set_id"),
                                       QueueCount.user_id == bindparam("count_user_id"))
              .values(done=QueueCount.done + bindparam("count_delta")))


def recount(session: Session, set_id: int) -> None:
    """Count the set's assignments again, per screener (after a bulk change to them)."""
    session.flush()
    session.execute(delete(QueueCount).where(QueueCount.set_id == set_id))
    session.execute(insert(QueueCount).from_select(
        ["set_id", "user_id", "total", "done"],
        select(Assignment.set_id, Assignment.user_id, func.count(),
               func.coalesce(func.sum(case((Assignment.done, 1), else_=0)), 0))
        .where(Assignment.set_id == set_id).group_by(Assignment.set_id, Assignment.user_id)))


def count_done(session: Session, set_id: int, user_id: int, delta: int) -> None:
    """One more (``delta`` 1) or one fewer (-1) of the screener's records done in the set."""
    session.connection().execute(COUNT_DONE, {"count_set_id": set_id, "count_user_id": user_id, "count_delta": delta})
