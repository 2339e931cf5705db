"""Reports: the columns of Table 3 of the method (set, records screened, test share (n), pairs/screeners)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.review.assignment import set_pairs
from screening.review.sets import get_set, summarise_sets
from screening.storage.models import Sample

FORMATS = ("md", "csv", "json")
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def words(n: int) -> str:
    return WORDS[n] if 0 <= n < len(WORDS) else str(n)


def table3(session: Session) -> list[dict[str, Any]]:
    """One row per set, worded as the published Table 3."""
    rows = []
    for summary in summarise_sets(session):
        st = get_set(session, summary.name)
        samples = list(session.scalars(select(Sample).where(Sample.set_id == st.id).order_by(Sample.id)))
        shares = [s.share for s in samples if s.share]
        share = shares[0] if shares else (summary.sampled / summary.records if summary.records else 0)
        pairs = set_pairs(session, st)
        people = {p for pair in pairs for p in pair}
        records = str(summary.records)
        if summary.by_hand:
            records += f" ({summary.records - summary.by_hand} from searches + {summary.by_hand} added by hand)"
        rows.append({
            "set": summary.name, "records_screened": summary.records, "records": records,
            "test_share": share, "test_n": summary.sampled,
            "test_screening": f"{round(100 * share)}% (n = {summary.sampled})",
            "pairs": len(pairs), "screeners": len(people),
            "pairs_screeners": f"{words(len(pairs))} pair{'s' if len(pairs) != 1 else ''} / "
                               f"{words(len(people))} screener{'s' if len(people) != 1 else ''}",
        })
    return rows


def render_table3(rows: list[dict[str, Any]], fmt: str = "md") -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    cols = [("set", "set"), ("records", "records screened"), ("test_screening", "test-screening share"),
            ("pairs_screeners", "screeners")]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([c[1] for c in cols])
        for r in rows:
            w.writerow([r[c[0]] for c in cols])
        return buf.getvalue()
    lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c[0]]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"
