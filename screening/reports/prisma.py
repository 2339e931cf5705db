"""The PRISMA 2020 flow diagram of a review (or of one title/abstract set and its full-text set).

Every number is counted from the database (:func:`prisma_counts`), under the ``data`` keys of the
template of the PRISMA2020 R package (Haddaway et al. 2022, ``inst/extdata/PRISMA.csv``), so the
JSON and the CSV can be read by that package and its Shiny app. Before anything is drawn or written,
:func:`check_flow` proves that the boxes add up and otherwise refuses, naming the box and the numbers
(:class:`PrismaMismatch`): a diagram that does not add up is never published.

What is counted, and how:

- *Identification.* ``database_results``: every record imported from a search, duplicates
  included, by ``Search.database`` as registered (``database_specific_results``); searches of a
  trial register (ClinicalTrials.gov, WHO ICTRP, EU CTR, ISRCTN, ...: :func:`is_register`) count as
  ``register_results``. Records added by hand (no search) are the other methods, bucketed by their
  ``Record.source`` (:func:`source_bucket`): citation searching, websites, and everything else
  (organisations, grey literature, experts) with organisations; ``other_specific_results`` lists
  the sources as written.
- *Removed before screening.* ``duplicates``: database records dedup merged into another;
  ``excluded_automatic`` is 0 (no automation tool excludes records here); ``excluded_other``:
  kept records in no screening set (with ``--set``: not in that set).
- *Screening.* ``records_screened``: kept records in a title/abstract set. A record's outcome,
  over the sets it is in: included (any final include) > awaiting (no final decision yet) >
  excluded by the screeners (a final exclude) > excluded by the stopping rule (never screened in
  a set the PI stopped on the stopping test: ``screening stop``). ``records_excluded`` is the
  last two (also given apart); records still awaiting a decision are said so in the diagram.
- *Reports.* ``dbr_sought_reports``: the title/abstract includes, whether or not the full-text
  stage has started. Each one's full-text outcome: included (final include) > awaiting retrieval
  or assessment > excluded (final exclude, with the reason :func:`exclusion_reasons` gives) >
  not retrieved (latest report state). ``dbr_assessed`` are the reports with a final full-text
  decision; ``new_reports`` the included ones and ``new_studies`` the same with the reports linked
  as a conference abstract, update, reprint or translation of one another counted as one study.
  Records added by hand go through the same steps in their own column (``other_*``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from screening.errors import Conflict
from screening.reports.svg import Arrow, Box, Diagram, Line, place_text, render_svg, text_width
from screening.review.conflicts import final_decisions
from screening.review.events import current
from screening.review.fulltext import exclusion_reasons, report_states
from screening.review.sets import get_set
from screening.storage.models import Record, RecordLink, ScreeningSet, Search, SetEvent, SetMember

FORMATS = ("json", "csv", "svg", "png", "md")

# The template of the PRISMA2020 R package (inst/extdata/PRISMA.csv, also the Shiny app's www/PRISMA.csv):
# data, node, box, description, boxtext, tooltips, url, n
TEMPLATE_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")
TEMPLATE: tuple[tuple[str, ...], ...] = (
    ("NA", "node4", "prevstud", "Grey title box; Previous studies", "Previous studies",
     "Grey title box; Previous studies", "prevstud.html", "0"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review",
     "Studies included in previous version of review", "Studies included in previous version of review",
     "previous_studies.html", "0"),
    ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review",
     "Reports of studies included in previous version of review", "NA", "previous_reports.html", "0"),
    ("NA", "node6", "newstud", "Yellow title box; Identification of new studies via databases and registers",
     "Identification of new studies via databases and registers",
     "Yellow title box; Identification of new studies via databases and registers", "newstud.html", "0"),
    ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
     "Records identified from: Databases and Registers", "database_results.html", "0"),
    ("database_specific_results", "NA", "box2", "Records identified from: specific databases", "Specific Databases",
     "NA", "database_results.html", "Database 1, xxx; Database 2, xxx; Database 3, xxx"),
    ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", "NA", "NA", "0"),
    ("register_specific_results", "NA", "box2", "Records identified from: specific registers", "Specific Registers",
     "NA", "database_results.html", "Register 1, xxx; Register 2, xxx; Register 3, xxx"),
    ("NA", "node16", "othstud", "Grey title box; Identification of new studies via other methods",
     "Identification of new studies via other methods",
     "Grey title box; Identification of new studies via other methods", "othstud.html", "0"),
    ("website_results", "node17", "box11", "Records identified from: Websites", "Websites",
     "Records identified from: Websites, Organisations and Citation Searching", "website_results.html", "0"),
    ("organisation_results", "", "box11", "Records identified from: Organisations", "Organisations", "NA", "NA", "0"),
    ("citations_results", "NA", "box11", "Records identified from: Citation searching", "Citation searching", "NA",
     "NA", "0"),
    ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records", "Duplicate records",
     "duplicates.html", "0"),
    ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
     "Records marked as ineligible by automation tools", "NA", "NA", "0"),
    ("excluded_other", "NA", "box3", "Records removed for other reasons", "Records removed for other reasons", "NA",
     "NA", "0"),
    ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened",
     "Records screened (databases and registers)", "records_screened.html", "0"),
    ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded",
     "Records excluded (databases and registers)", "records_excluded.html", "0"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval (databases and registers)",
     "Reports sought for retrieval", "Reports sought for retrieval (databases and registers)",
     "dbr_sought_reports.html", "0"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved (databases and registers)",
     "Reports not retrieved", "Reports not retrieved (databases and registers)", "dbr_notretrieved_reports.html",
     "0"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval (other)", "Reports sought for retrieval",
     "Reports sought for retrieval (other)", "other_sought_reports.html", "0"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved (other)", "Reports not retrieved",
     "Reports not retrieved (other)", "other_notretrieved_reports.html", "0"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility (databases and registers)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (databases and registers)",
     "dbr_assessed.html", "0"),
    ("dbr_excluded", "node14", "box9", "Reports excluded (databases and registers): [separate reasons and numbers "
     "using ; e.g. Reason1, xxx; Reason2, xxx; Reason3, xxx]", "Reports excluded",
     "Reports excluded (databases and registers)", "dbrexcludedrecords.html",
     "Reason1, xxx; Reason2, xxx; Reason3, xxx"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility (other)",
     "Reports assessed for eligibility", "Reports assessed for eligibility (other)", "other_assessed.html", "0"),
    ("other_excluded", "node21", "box15", "Reports excluded (other): [separate reasons and numbers using ; e.g. "
     "Reason1, xxx; Reason2, xxx; Reason3, xxx]", "Reports excluded", "Reports excluded (other)",
     "other_excluded.html", "Reason1, xxx; Reason2, xxx; Reason3, xxx"),
    ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review",
     "New studies included in review", "new_studies.html", "0"),
    ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies", "NA", "NA",
     "0"),
    ("total_studies", "node22", "box16", "Total studies included in review", "Total studies included in review",
     "Total studies included in review", "total_studies.html", "0"),
    ("total_reports", "NA", "box16", "Reports of total included studies", "Reports of total included studies", "NA",
     "NA", "0"),
    ("identification", "node1", "identification", "Blue identification box", "Identification",
     "Blue identification box", "identification.html", "0"),
    ("screening", "node2", "screening", "Blue screening box", "Screening", "Blue screening box", "screening.html",
     "0"),
    ("included", "node3", "included", "Blue included box", "Included", "Blue included box", "included.html", "0"),
    ("total_studies_ma", "node23", "box17", "Total studies included in meta-analysis",
     "Total studies included in meta-analysis", "Total studies included in meta-analysis",
     "total_studies_meta_analysis.html", "0"),
    ("total_reports_ma", "NA", "box17", "Reports of total included studies in meta-analysis",
     "Reports of total included studies in meta-analysis", "NA", "NA", "0"),
)
# the template's keys that hold counts (not the phase labels, nor the meta-analysis, which screening does not know)
TEMPLATE_KEYS = tuple(r[0] for r in TEMPLATE if r[0] != "NA" and r[0] not in (
    "identification", "screening", "included", "total_studies_ma", "total_reports_ma"))
LIST_KEYS = ("database_specific_results", "register_specific_results", "dbr_excluded", "other_excluded")

# relations between kept records that make two included reports one study (RecordLink.relation)
STUDY_RELATIONS = ("abstract", "update", "reprint", "translation")

_REGISTER_RE = re.compile(
    r"clinical ?trials(\.gov| ?gov)|ictrp|trials? regist|\beu ?ctr\b|\bctis\b|isrctn|anzctr|chictr|\bdrks\b|"
    r"\bctri\b|pactr|\bjrct\b|\bregist(er|ry)\b", re.IGNORECASE)
_CITATION_RE = re.compile(r"citation|cited|reference|snowball|backward|forward|bibliograph", re.IGNORECASE)
_WEBSITE_RE = re.compile(r"web|site|internet|online|google|url", re.IGNORECASE)


def is_register(database: str) -> bool:
    """A trial register (ClinicalTrials.gov, WHO ICTRP, EU CTR, ISRCTN, ...) rather than a bibliographic
    database; the Cochrane Central Register of Controlled Trials is a database."""
    return bool(_REGISTER_RE.search(database)) and not re.search(r"central|cochrane", database, re.IGNORECASE)


def source_bucket(source: str | None) -> str:
    """The other-methods box a record added by hand counts in, from where it came from: citation
    searching, websites, else organisations (grey literature, experts, anything else)."""
    text = source or ""
    if _CITATION_RE.search(text):
        return "citations_results"
    if _WEBSITE_RE.search(text):
        return "website_results"
    return "organisation_results"


class PrismaMismatch(Conflict):
    """The boxes of a PRISMA diagram do not add up: ``box`` shows ``shown``, its parts give ``expected``."""

    def __init__(self, box: str, shown: object, expected: object, working: str) -> None:
        self.box = box
        self.shown = shown
        self.expected = expected
        self.working = working
        super().__init__(f"the PRISMA boxes do not add up, so the diagram is not drawn: {box} shows {shown}, but "
                         f"{working} gives {expected}. The counts come from the database and should always agree: "
                         "please report this.", reason="prisma_mismatch")


# --- counting ---------------------------------------------------------------------------------------------

TA_ORDER = ("include", "awaiting", "people", "stopped")  # a record's outcome over its sets: the first wins
FT_ORDER = ("included", "awaiting", "excluded", "not_retrieved")


@dataclass
class _SetData:
    st: ScreeningSet
    members: set[int]
    finals: dict[int, str]
    stopped_at: datetime | None = None
    screened: frozenset[int] = frozenset()  # records someone has a current decision on
    added_at: dict[int, datetime] | None = None
    states: dict[int, str] | None = None  # full text: the latest report state
    reasons: dict[int, str] | None = None  # full text: the exclusion reason


def _first(outcomes: Iterable[str], order: tuple[str, ...]) -> str:
    found = set(outcomes)
    return next(o for o in order if o in found)


def prisma_counts(session: Session, set_name: str | None = None) -> dict[str, Any]:
    """Every box of the PRISMA 2020 flow diagram, under the template's ``data`` keys (then ours).

    With ``set_name`` (a title/abstract set, or its full-text set): that set and its full-text
    set; the records identified are those of the searches its records come from.
    """
    searches = {s.id: s for s in session.scalars(select(Search))}
    recs = {rid: (sid, source, dup) for rid, sid, source, dup in session.execute(
        select(Record.id, Record.search_id, Record.source, Record.duplicate_of))}
    sets = list(session.scalars(select(ScreeningSet).order_by(ScreeningSet.id)))
    scope_name: str | None = None
    if set_name is not None:
        st = get_set(session, set_name)
        if st.stage == "full_text" and st.parent_id is not None:
            st = session.get_one(ScreeningSet, st.parent_id)
        scope_name = st.name
        sets = [s for s in sets if s.id == st.id or (s.stage == "full_text" and s.parent_id == st.id)]
    members: dict[int, set[int]] = defaultdict(set)
    added: dict[int, dict[int, datetime]] = defaultdict(dict)
    set_ids = {s.id for s in sets}
    for sid, rid, at in session.execute(select(SetMember.set_id, SetMember.record_id, SetMember.added_at)):
        if sid in set_ids and recs.get(rid, (None, None, 0))[2] is None:  # kept records only
            members[sid].add(rid)
            added[sid][rid] = at
    stops: dict[int, SetEvent] = {}
    for ev in session.scalars(select(SetEvent).where(SetEvent.kind == "stop").order_by(SetEvent.id)):
        if ev.set_id in set_ids:
            stops[ev.set_id] = ev  # the latest stop of each set
    ta: list[_SetData] = []
    ft: dict[int, _SetData] = {}  # by id
    for s in sets:
        data = _SetData(s, members[s.id], final_decisions(session, s.id))
        if s.stage == "full_text":
            data.states = {rid: x.status for rid, x in report_states(session, s.id).items()}
            data.reasons = exclusion_reasons(session, s.id)
            ft[s.id] = data
        else:
            data.stopped_at = stops[s.id].at if s.id in stops else None
            data.screened = frozenset(rid for rid, _ in current(session, s.id))
            data.added_at = added[s.id]
            ta.append(data)
    ft_of = {d.st.parent_id: d for d in ft.values()}
    in_ta = set().union(*(d.members for d in ta)) if ta else set()
    in_any = in_ta.union(*(d.members for d in ft.values()))

    # the records of the diagram: all of them, or those of the set (and their duplicates, and the searches'
    # other records, removed for other reasons)
    if scope_name is None:
        db_recs = {rid for rid, (sid, _, _) in recs.items() if sid is not None}
        hand_recs = {rid for rid, (sid, _, _) in recs.items() if sid is None}
    else:
        related = in_any | {rid for rid, (_, _, dup) in recs.items() if dup in in_any}
        feeding = {recs[rid][0] for rid in related if recs[rid][0] is not None}
        db_recs = {rid for rid, (sid, _, _) in recs.items() if sid in feeding}
        hand_recs = {rid for rid in related if recs[rid][0] is None}

    def ta_outcome(rid: int) -> str:
        outcomes = []
        for d in ta:
            if rid not in d.members:
                continue
            final = d.finals.get(rid)
            if final == "include":
                outcomes.append("include")
            elif final == "exclude":
                outcomes.append("people")
            elif (d.stopped_at is not None and rid not in d.screened and d.added_at is not None
                  and d.added_at.get(rid, d.stopped_at) <= d.stopped_at):
                outcomes.append("stopped")
            else:
                outcomes.append("awaiting")
        return _first(outcomes, TA_ORDER) if outcomes else "include"  # only in a full-text set: sent there

    def ft_outcome(d: _SetData, rid: int) -> tuple[str, str | None]:
        final = d.finals.get(rid)
        if final == "include":
            return "included", None
        if final == "exclude":
            return "excluded", (d.reasons or {}).get(rid, "reason not given")
        if (d.states or {}).get(rid) == "not_retrieved":
            return "not_retrieved", None
        return "awaiting", None

    def report_outcome(rid: int) -> tuple[str, str | None]:
        found: list[tuple[str, str | None]] = []
        for d in ta:
            if rid in d.members and d.finals.get(rid) == "include":
                child = ft_of.get(d.st.id)
                found.append(ft_outcome(child, rid) if child is not None and rid in child.members
                             else ("awaiting", None))
        if rid not in in_ta:
            found += [ft_outcome(d, rid) for d in ft.values() if rid in d.members]
        best = _first((o for o, _ in found), FT_ORDER)
        return best, next(r for o, r in found if o == best)

    def column(records: set[int]) -> dict[str, Any]:
        """One column of the diagram: the kept records screened, their outcomes, the reports'."""
        kept = {rid for rid in records if recs[rid][2] is None}
        screened = kept & in_any
        outcome = {rid: ta_outcome(rid) for rid in screened}
        ta_out = Counter(outcome.values())
        sought = sorted(rid for rid, o in outcome.items() if o == "include")
        reports = {rid: report_outcome(rid) for rid in sought}
        ft_out = Counter(o for o, _ in reports.values())
        reasons = Counter(r or "reason not given" for o, r in reports.values() if o == "excluded")
        return {
            "duplicates": len(records) - len(kept), "excluded_other": len(kept - in_any),
            "screened": len(screened), "excluded_people": ta_out["people"], "excluded_stopped": ta_out["stopped"],
            "awaiting": ta_out["awaiting"], "sought": len(sought), "not_retrieved": ft_out["not_retrieved"],
            "assessed": ft_out["included"] + ft_out["excluded"], "reasons": dict(sorted(
                reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "reports_awaiting": ft_out["awaiting"],
            "included": [rid for rid, (o, _) in reports.items() if o == "included"],
        }

    dbr, oth = column(db_recs), column(hand_recs)
    by_db: Counter[str] = Counter()
    by_register: Counter[str] = Counter()
    for rid in db_recs:
        database = searches[recs[rid][0] or 0].database
        (by_register if is_register(database) else by_db)[database] += 1
    by_source: Counter[str] = Counter((recs[rid][1] or "not said") for rid in hand_recs)
    buckets: Counter[str] = Counter()
    for source, n in by_source.items():
        buckets[source_bucket(source)] += n
    included = set(dbr["included"]) | set(oth["included"])
    studies = _studies(session, included)

    def ordered(c: Counter[str]) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    counts: dict[str, Any] = {
        "previous_studies": 0, "previous_reports": 0,
        "database_results": sum(by_db.values()), "database_specific_results": ordered(by_db),
        "register_results": sum(by_register.values()), "register_specific_results": ordered(by_register),
        "website_results": buckets["website_results"], "organisation_results": buckets["organisation_results"],
        "citations_results": buckets["citations_results"],
        "duplicates": dbr["duplicates"], "excluded_automatic": 0, "excluded_other": dbr["excluded_other"],
        "records_screened": dbr["screened"], "records_excluded": dbr["excluded_people"] + dbr["excluded_stopped"],
        "dbr_sought_reports": dbr["sought"], "dbr_notretrieved_reports": dbr["not_retrieved"],
        "other_sought_reports": oth["sought"], "other_notretrieved_reports": oth["not_retrieved"],
        "dbr_assessed": dbr["assessed"], "dbr_excluded": dbr["reasons"],
        "other_assessed": oth["assessed"], "other_excluded": oth["reasons"],
        "new_studies": studies, "new_reports": len(included),
        "total_studies": studies, "total_reports": len(included),
        # ours, outside the template
        "set": scope_name,
        "records_excluded_by_screeners": dbr["excluded_people"],
        "records_excluded_by_stopping_rule": dbr["excluded_stopped"],
        "records_awaiting_screening": dbr["awaiting"],
        "dbr_reports_awaiting": dbr["reports_awaiting"],
        "dbr_included_reports": len(dbr["included"]),
        "other_specific_results": ordered(by_source),
        "other_duplicates": oth["duplicates"],
        "other_excluded_other": oth["excluded_other"],
        "other_records_screened": oth["screened"],
        "other_records_excluded": oth["excluded_people"] + oth["excluded_stopped"],
        "other_records_excluded_by_screeners": oth["excluded_people"],
        "other_records_excluded_by_stopping_rule": oth["excluded_stopped"],
        "other_records_awaiting_screening": oth["awaiting"],
        "other_reports_awaiting": oth["reports_awaiting"],
        "other_included_reports": len(oth["included"]),
        "stopped_sets": [{"set": d.st.name, "at": stops[d.st.id].at.isoformat(timespec="seconds"),
                          "forced": bool(stops[d.st.id].payload.get("forced")),
                          "reason": stops[d.st.id].payload.get("reason")}
                         for d in ta if d.st.id in stops],
    }
    assert set(TEMPLATE_KEYS) <= set(counts)
    return counts


def _studies(session: Session, included: set[int]) -> int:
    """Included reports grouped into studies: reports linked as abstract, update, reprint or translation
    of one another are one study."""
    parent = {rid: rid for rid in included}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in session.execute(select(RecordLink.record_a, RecordLink.record_b).where(
            RecordLink.relation.in_(STUDY_RELATIONS))):
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    return len({find(x) for x in included})


# --- the check ------------------------------------------------------------------------------------------

LABELS = {
    "database_results": "records identified from databases", "register_results": "from registers",
    "duplicates": "duplicates", "excluded_automatic": "marked ineligible by automation tools",
    "excluded_other": "removed for other reasons", "records_screened": "Records screened",
    "records_excluded": "Records excluded", "records_excluded_by_screeners": "excluded by the screeners",
    "records_excluded_by_stopping_rule": "excluded by the stopping rule",
    "records_awaiting_screening": "awaiting screening", "dbr_sought_reports": "Reports sought for retrieval",
    "dbr_notretrieved_reports": "Reports not retrieved", "dbr_assessed": "Reports assessed for eligibility",
    "dbr_reports_awaiting": "awaiting retrieval or assessment", "dbr_excluded": "Reports excluded",
    "dbr_included_reports": "reports included", "database_specific_results": "the databases' records",
    "register_specific_results": "the registers' records",
    "website_results": "records from websites", "organisation_results": "from organisations",
    "citations_results": "from citation searching", "other_duplicates": "duplicates",
    "other_excluded_other": "removed for other reasons", "other_records_screened": "Records screened (other methods)",
    "other_records_excluded": "Records excluded (other methods)",
    "other_records_excluded_by_screeners": "excluded by the screeners",
    "other_records_excluded_by_stopping_rule": "excluded by the stopping rule",
    "other_records_awaiting_screening": "awaiting screening",
    "other_sought_reports": "Reports sought for retrieval (other methods)",
    "other_notretrieved_reports": "Reports not retrieved (other methods)",
    "other_assessed": "Reports assessed for eligibility (other methods)",
    "other_reports_awaiting": "awaiting retrieval or assessment", "other_excluded": "Reports excluded (other methods)",
    "other_included_reports": "reports included (other methods)", "new_reports": "Reports of included studies",
    "new_studies": "Studies included in review", "total_studies": "Total studies included",
    "total_reports": "Reports of total included studies", "previous_studies": "studies of the previous version",
    "previous_reports": "reports of the previous version",
}
# box = sum(sign * part): every equality the diagram must satisfy
RULES: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = (
    ("database_results", ((1, "database_specific_results"),)),
    ("register_results", ((1, "register_specific_results"),)),
    ("records_screened", ((1, "database_results"), (1, "register_results"), (-1, "duplicates"),
                          (-1, "excluded_automatic"), (-1, "excluded_other"))),
    ("records_excluded", ((1, "records_excluded_by_screeners"), (1, "records_excluded_by_stopping_rule"))),
    ("records_screened", ((1, "records_excluded"), (1, "dbr_sought_reports"), (1, "records_awaiting_screening"))),
    ("dbr_sought_reports", ((1, "dbr_notretrieved_reports"), (1, "dbr_assessed"), (1, "dbr_reports_awaiting"))),
    ("dbr_assessed", ((1, "dbr_excluded"), (1, "dbr_included_reports"))),
    ("other_records_screened", ((1, "website_results"), (1, "organisation_results"), (1, "citations_results"),
                                (-1, "other_duplicates"), (-1, "other_excluded_other"))),
    ("other_records_excluded", ((1, "other_records_excluded_by_screeners"),
                                (1, "other_records_excluded_by_stopping_rule"))),
    ("other_records_screened", ((1, "other_records_excluded"), (1, "other_sought_reports"),
                                (1, "other_records_awaiting_screening"))),
    ("other_sought_reports", ((1, "other_notretrieved_reports"), (1, "other_assessed"),
                              (1, "other_reports_awaiting"))),
    ("other_assessed", ((1, "other_excluded"), (1, "other_included_reports"))),
    ("new_reports", ((1, "dbr_included_reports"), (1, "other_included_reports"))),
    ("total_studies", ((1, "previous_studies"), (1, "new_studies"))),
    ("total_reports", ((1, "previous_reports"), (1, "new_reports"))),
)


def _value(counts: dict[str, Any], key: str) -> int:
    v = counts.get(key, 0)
    return int(sum(v.values())) if isinstance(v, dict) else int(v or 0)


def check_flow(counts: dict[str, Any]) -> None:
    """Refuse (:class:`PrismaMismatch`) a diagram whose boxes do not add up."""
    for key in TEMPLATE_KEYS:
        v = counts.get(key)
        values = list(v.values()) if isinstance(v, dict) else [v]
        for x in values:
            if not isinstance(x, int) or isinstance(x, bool) or x < 0:
                raise PrismaMismatch(LABELS.get(key, key), repr(v), "a whole number of records", f"a count ({key})")
    for key, parts in RULES:
        expected = sum(sign * _value(counts, k) for sign, k in parts)
        shown = _value(counts, key)
        if shown != expected:
            working = " ".join(f"{'-' if sign < 0 else '+' if i else ''} {LABELS.get(k, k)} ({_value(counts, k)})"
                               .strip() for i, (sign, k) in enumerate(parts))
            raise PrismaMismatch(LABELS.get(key, key), shown, expected, working)
    reports, studies = _value(counts, "new_reports"), _value(counts, "new_studies")
    if studies > reports or (reports > 0 and studies == 0):
        raise PrismaMismatch(LABELS["new_studies"], studies, f"at least 1 and at most {reports}",
                             f"{LABELS['new_reports']} ({reports})")


# --- rendering --------------------------------------------------------------------------------------------

def render_prisma(counts: dict[str, Any], fmt: str) -> str | bytes:
    """The diagram in one format (PNG as bytes, the others as text); refused if the boxes do not add up."""
    check_flow(counts)
    if fmt == "json":
        return json.dumps(counts, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return prisma_csv(counts)
    if fmt == "md":
        return prisma_md(counts)
    if fmt == "svg":
        return render_svg(prisma_diagram(counts))
    if fmt == "png":
        return diagram_png(prisma_diagram(counts))
    raise ValueError(f"unknown format {fmt!r}")


def _template_name(name: str) -> str:
    """A name as the template's lists can hold it: "Name, n; Name, n" leaves no room for , or ;."""
    return re.sub(r"\s*[,;]\s*", " / ", name).strip() or "not named"


def _template_list(items: dict[str, int]) -> str:
    return "; ".join(f"{_template_name(k)}, {v}" for k, v in items.items())


def prisma_csv(counts: dict[str, Any]) -> str:
    """The PRISMA2020 template's CSV with our numbers in ``n``, for its R package and Shiny app.

    The template's rows only (the app finds each by its ``data`` key); what the template has no key
    for is said in the box texts. An empty per-database list keeps the template's placeholder, which
    the app reads as "no detail"; an empty list of reasons is 0.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TEMPLATE_COLUMNS)
    notes = _notes(counts)
    for row in TEMPLATE:
        data, node, box, description, boxtext, tooltips, url, n = row
        if data in counts and data in TEMPLATE_KEYS:
            v = counts[data]
            if isinstance(v, dict):
                n = _template_list(v) if v else (n if data.endswith("specific_results") else "0")
            else:
                n = str(v)
        if data in notes:
            boxtext = f"{boxtext} ({notes[data]})"
            tooltips = f"{tooltips if tooltips != 'NA' else description} ({notes[data]})"
        w.writerow((data, node, box, description, boxtext, tooltips, url, n))
    return buf.getvalue()


def _notes(counts: dict[str, Any]) -> dict[str, str]:
    """What a box of the template holds that its words do not say (the stopping rule, work still to do)."""
    out = {}
    if counts.get("records_excluded_by_stopping_rule"):
        out["records_excluded"] = (f"{counts['records_excluded_by_screeners']} by the screeners, "
                                   f"{counts['records_excluded_by_stopping_rule']} not screened: stopping rule")
    if counts.get("records_awaiting_screening"):
        out["records_screened"] = f"{counts['records_awaiting_screening']} still awaiting a decision"
    if counts.get("dbr_reports_awaiting"):
        out["dbr_sought_reports"] = f"{counts['dbr_reports_awaiting']} not yet retrieved or assessed"
    other = []
    if counts.get("other_records_screened", 0) != counts.get("other_sought_reports", 0):
        other.append(f"after title and abstract screening of {counts['other_records_screened']} records, "
                     f"{counts.get('other_records_excluded', 0)} excluded")
    if counts.get("other_reports_awaiting"):
        other.append(f"{counts['other_reports_awaiting']} not yet retrieved or assessed")
    if other:
        out["other_sought_reports"] = "; ".join(other)
    return out


def _fmt(n: int) -> str:
    return f"{n:,}"


def _scope(counts: dict[str, Any]) -> str:
    return f'set "{counts["set"]}" and its full-text stage' if counts.get("set") else "the whole review"


def prisma_md(counts: dict[str, Any]) -> str:
    """A readable Markdown table of the boxes, phase by phase."""
    c = counts
    other = bool(c["website_results"] + c["organisation_results"] + c["citations_results"])
    rows: list[tuple[str, str, int | str]] = []

    def add(phase: str, box: str, n: int | str) -> None:
        rows.append((phase, box, n))

    def screened(phase: str, records: str, reports: str, *, split_always: bool) -> None:
        """The screening and retrieval boxes of one column: ``records``/``reports`` prefix its keys."""
        add(phase, "Records screened", c[f"{records}records_screened"])
        if c[f"{records}records_awaiting_screening"]:
            add("", "- still awaiting a decision", c[f"{records}records_awaiting_screening"])
        add("", "Records excluded", c[f"{records}records_excluded"])
        if split_always or c[f"{records}records_excluded_by_stopping_rule"]:
            add("", "- by the screeners", c[f"{records}records_excluded_by_screeners"])
            add("", "- not screened: excluded by the stopping rule", c[f"{records}records_excluded_by_stopping_rule"])
        add("", "Reports sought for retrieval", c[f"{reports}sought_reports"])
        if c[f"{reports}reports_awaiting"]:
            add("", "- not yet retrieved or assessed", c[f"{reports}reports_awaiting"])
        add("", "Reports not retrieved", c[f"{reports}notretrieved_reports"])
        add("", "Reports assessed for eligibility", c[f"{reports}assessed"])
        add("", "Reports excluded", sum(c[f"{reports}excluded"].values()))
        for k, v in c[f"{reports}excluded"].items():
            add("", f"- {k}", v)

    add("Identification", "Records identified from databases", c["database_results"])
    for k, v in c["database_specific_results"].items():
        add("", f"- {k}", v)
    add("", "Records identified from registers", c["register_results"])
    for k, v in c["register_specific_results"].items():
        add("", f"- {k}", v)
    add("", "Duplicate records removed", c["duplicates"])
    add("", "Records marked as ineligible by automation tools", c["excluded_automatic"])
    add("", "Records removed for other reasons (not in a screening set)", c["excluded_other"])
    screened("Screening", "", "dbr_", split_always=True)
    if other:
        add("Other methods", "Records identified from websites", c["website_results"])
        add("", "Records identified from organisations", c["organisation_results"])
        add("", "Records identified from citation searching", c["citations_results"])
        for k, v in c["other_specific_results"].items():
            add("", f"- {k}", v)
        if c["other_duplicates"] or c["other_excluded_other"]:
            add("", "Duplicates of other records", c["other_duplicates"])
            add("", "Records removed for other reasons", c["other_excluded_other"])
        screened("", "other_", "other_", split_always=False)
    add("Included", "Studies included in review", c["new_studies"])
    add("", "Reports of included studies", c["new_reports"])

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["# PRISMA 2020 flow diagram", "", f"Scope: {_scope(c)}.", "", "| phase | box | n |", "|---|---|---:|"]
    lines += [f"| {cell(p)} | {cell(b)} | {n} |" for p, b, n in rows]
    notes = _footnotes(c)
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def _footnotes(c: dict[str, Any]) -> list[str]:
    out = []
    for s in c.get("stopped_sets") or []:
        how = f"forced: {s['reason']}" if s.get("forced") else "the stopping test allowed it"
        out.append(f"Screening of set {s['set']} stopped on {s['at'][:10]} ({how}); the records nobody had screened "
                   "are counted as excluded by the stopping rule.")
    if c.get("records_awaiting_screening") or c.get("other_records_awaiting_screening"):
        out.append("Screening is not finished: records awaiting a decision are counted among those screened.")
    if c.get("dbr_reports_awaiting") or c.get("other_reports_awaiting"):
        out.append("The full-text stage is not finished: reports not yet retrieved or assessed are counted among "
                   "those sought.")
    return out


# --- the diagram ------------------------------------------------------------------------------------------

YELLOW, GREY, BLUE = "#ffc125", "#dcdcdc", "#bcd2ee"  # the R package's title, other-methods and phase colours
COL_W, GAP, ROW_GAP, PHASE_W = 250.0, 40.0, 30.0, 26.0


def _n(text: str, n: int) -> str:
    return f"{text} (n = {_fmt(n)})"


def prisma_diagram(counts: dict[str, Any]) -> Diagram:
    """The PRISMA 2020 flow diagram laid out as the template: phases on the left, the databases and
    registers column, the other-methods column when records were added by hand, excluded on the right."""
    c = counts
    other = bool(c["website_results"] + c["organisation_results"] + c["citations_results"])
    x_phase = 10.0
    x1 = x_phase + PHASE_W + 14
    x2 = x1 + COL_W + GAP
    x3 = x2 + COL_W + 36
    x4 = x3 + COL_W + GAP
    width = (x4 if other else x2) + COL_W + 10
    d = Diagram(width=width, height=0, title="PRISMA 2020 flow diagram",
                description=f"PRISMA 2020 flow diagram of {_scope(c)}: {_fmt(c['database_results'])} records "
                            f"identified from databases, {_fmt(c['records_screened'])} screened, "
                            f"{_fmt(c['new_studies'])} studies included.")
    ind = 12.0

    def box_lines(lines: list[Line]) -> list[Line]:
        return d.wrap_lines(lines, COL_W)

    # the title boxes
    y = 10.0
    head_w = x2 + COL_W - x1
    heads = [("newstud", x1, head_w, "Identification of new studies via databases and registers", YELLOW)]
    if other:
        heads.append(("othstud", x3, x4 + COL_W - x3, "Identification of new studies via other methods", GREY))
    head_lines = {k: d.wrap_lines([Line(t, bold=True)], w) for k, _, w, t, _ in heads}
    head_h = max(d.height_for(len(v)) for v in head_lines.values())
    for k, x, w, _, colour in heads:
        d.boxes.append(Box(k, x, y, w, head_h, head_lines[k], fill=colour, align="middle", radius=6))
    y += head_h + 20

    # the rows: (column 1, column 2, column 3, column 4) boxes' lines, None where there is no box
    removed = [Line("Records removed before screening:"),
               Line(_n("Duplicate records removed", c["duplicates"]), indent=ind),
               Line(_n("Records marked as ineligible by automation tools", c["excluded_automatic"]), indent=ind),
               Line(_n("Records removed for other reasons", c["excluded_other"]), indent=ind)]
    if c["excluded_other"]:
        removed.append(Line("(not in this set)" if c.get("set") else "(kept records in no screening set)",
                            indent=ind * 2))
    identified = [Line("Records identified from:"), Line(_n("Databases", c["database_results"]), indent=ind)]
    identified += [Line(_n(k, v), indent=ind * 2) for k, v in c["database_specific_results"].items()]
    identified.append(Line(_n("Registers", c["register_results"]), indent=ind))
    identified += [Line(_n(k, v), indent=ind * 2) for k, v in c["register_specific_results"].items()]

    def screened_lines(n: int, awaiting: int) -> list[Line]:
        out = [Line(_n("Records screened", n))]
        return out + ([Line(_n("still awaiting a decision", awaiting), indent=ind)] if awaiting else [])

    def excluded_lines(n: int, people: int, stopped: int) -> list[Line]:
        out = [Line(_n("Records excluded", n))]
        if stopped:
            out += [Line(_n("by the screeners", people), indent=ind),
                    Line(_n("not screened: excluded by the stopping rule", stopped), indent=ind)]
        return out

    def sought_lines(n: int, awaiting: int) -> list[Line]:
        out = [Line(_n("Reports sought for retrieval", n))]
        return out + ([Line(_n("not yet retrieved or assessed", awaiting), indent=ind)] if awaiting else [])

    def reasons_lines(reasons: dict[str, int]) -> list[Line]:
        total = sum(reasons.values())
        if not reasons:
            return [Line(_n("Reports excluded", total))]
        return [Line(_n("Reports excluded", total) + ":")] + [Line(_n(k, v), indent=ind) for k, v in reasons.items()]

    rows: list[tuple[str, list[tuple[str, float, list[Line]]]]] = []
    row1 = [("database_results", x1, identified), ("duplicates", x2, removed)]
    row2 = [("records_screened", x1, screened_lines(c["records_screened"], c["records_awaiting_screening"])),
            ("records_excluded", x2, excluded_lines(c["records_excluded"], c["records_excluded_by_screeners"],
                                                    c["records_excluded_by_stopping_rule"]))]
    row3 = [("dbr_sought_reports", x1, sought_lines(c["dbr_sought_reports"], c["dbr_reports_awaiting"])),
            ("dbr_notretrieved_reports", x2, [Line(_n("Reports not retrieved", c["dbr_notretrieved_reports"]))])]
    row4 = [("dbr_assessed", x1, [Line(_n("Reports assessed for eligibility", c["dbr_assessed"]))]),
            ("dbr_excluded", x2, reasons_lines(c["dbr_excluded"]))]
    other_removed = bool(c["other_duplicates"] or c["other_excluded_other"])
    if other:
        row1.append(("website_results", x3, [
            Line("Records identified from:"), Line(_n("Websites", c["website_results"]), indent=ind),
            Line(_n("Organisations", c["organisation_results"]), indent=ind),
            Line(_n("Citation searching", c["citations_results"]), indent=ind)]))
        if other_removed:
            row1.append(("other_duplicates", x4, [
                Line("Records removed before screening:"),
                Line(_n("Duplicates of other records", c["other_duplicates"]), indent=ind),
                Line(_n("Records removed for other reasons", c["other_excluded_other"]), indent=ind)]))
        row2 += [("other_records_screened", x3, screened_lines(c["other_records_screened"],
                                                               c["other_records_awaiting_screening"])),
                 ("other_records_excluded", x4, excluded_lines(
                     c["other_records_excluded"], c["other_records_excluded_by_screeners"],
                     c["other_records_excluded_by_stopping_rule"]))]
        row3 += [("other_sought_reports", x3, sought_lines(c["other_sought_reports"], c["other_reports_awaiting"])),
                 ("other_notretrieved_reports", x4,
                  [Line(_n("Reports not retrieved", c["other_notretrieved_reports"]))])]
        row4 += [("other_assessed", x3, [Line(_n("Reports assessed for eligibility", c["other_assessed"]))]),
                 ("other_excluded", x4, reasons_lines(c["other_excluded"]))]
    row5 = [("new_studies", x1, [Line(_n("Studies included in review", c["new_studies"])),
                                 Line(_n("Reports of included studies", c["new_reports"]))])]
    rows = [("identification", row1), ("screening", row2), ("screening", row3), ("screening", row4),
            ("included", row5)]
    placed: dict[str, Box] = {}
    tops: dict[str, list[float]] = defaultdict(list)
    labels = {"identification": "Identification", "screening": "Screening", "included": "Included"}
    for phase, row in rows:
        wrapped = [(k, x, box_lines(lines)) for k, x, lines in row]
        h = max(d.height_for(len(lines)) for _, _, lines in wrapped)
        if phase != "screening":  # a phase of one row is at least as tall as its label is long
            h = max(h, text_width(labels[phase], d.font_size, bold=True) + 2 * d.padding)
        for k, x, lines in wrapped:
            placed[k] = Box(k, x, y, COL_W, h, lines)
            d.boxes.append(placed[k])
        tops[phase] += [y, y + h]
        y += h + ROW_GAP
    for phase, label in labels.items():
        top, bottom = min(tops[phase]), max(tops[phase])
        d.boxes.append(Box(phase, x_phase, top, PHASE_W, bottom - top, [Line(label, bold=True)], fill=BLUE,
                           align="middle", vertical=True, radius=6))

    def right(a: str, b: str) -> None:
        if a in placed and b in placed:
            d.arrows.append(Arrow([(placed[a].right, placed[a].cy), (placed[b].x, placed[a].cy)]))

    def down(a: str, b: str) -> None:
        if a in placed and b in placed:
            d.arrows.append(Arrow([(placed[a].cx, placed[a].bottom), (placed[a].cx, placed[b].y)]))

    for a, b in (("database_results", "duplicates"), ("records_screened", "records_excluded"),
                 ("dbr_sought_reports", "dbr_notretrieved_reports"), ("dbr_assessed", "dbr_excluded"),
                 ("website_results", "other_duplicates"), ("other_records_screened", "other_records_excluded"),
                 ("other_sought_reports", "other_notretrieved_reports"), ("other_assessed", "other_excluded")):
        right(a, b)
    for a, b in (("database_results", "records_screened"), ("records_screened", "dbr_sought_reports"),
                 ("dbr_sought_reports", "dbr_assessed"), ("dbr_assessed", "new_studies"),
                 ("website_results", "other_records_screened"), ("other_records_screened", "other_sought_reports"),
                 ("other_sought_reports", "other_assessed")):
        down(a, b)
    if other:
        last, inc = placed["other_assessed"], placed["new_studies"]
        d.arrows.append(Arrow([(last.cx, last.bottom), (last.cx, inc.cy), (inc.right, inc.cy)]))

    notes = _footnotes(c)
    if c.get("set"):
        notes.insert(0, f"Scope: {_scope(c)}.")
    y -= ROW_GAP - 16
    if notes:
        lines = d.wrap_lines([Line(n) for n in notes], width - 20)
        note_h = d.height_for(len(lines))
        d.boxes.append(Box("notes", 10, y, width - 20, note_h, lines, fill="none", stroke="none"))
        y += note_h
    d.height = y + 10
    return d


def diagram_png(d: Diagram, dpi: int = 150) -> bytes:
    """The same diagram drawn with matplotlib (patches and texts, not a rasterised SVG), as PNG bytes.

    One unit of the layout is one point, so the font sizes and positions are those of the SVG.
    matplotlib is imported here, not with the module: only the PNG needs it (half a second to load)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    fig = Figure(figsize=(d.width / 72, d.height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, d.width)
    ax.set_ylim(d.height, 0)
    ax.set_axis_off()
    for box in d.boxes:
        if box.stroke != "none" or box.fill != "none":
            edge = "none" if box.stroke == "none" else box.stroke
            face = "none" if box.fill == "none" else box.fill
            if box.radius:
                ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle=f"round,pad=0,"
                                            f"rounding_size={box.radius}", facecolor=face, edgecolor=edge,
                                            linewidth=0.75))
            else:
                ax.add_patch(Rectangle((box.x, box.y), box.w, box.h, facecolor=face, edgecolor=edge, linewidth=0.75))
        for t in place_text(d, box):
            ax.text(t.x, t.y, t.text, fontsize=d.font_size, family="sans-serif",
                    fontweight="bold" if t.bold else "normal", ha="center" if t.anchor == "middle" else "left",
                    va="baseline", rotation=-t.rotate, rotation_mode="anchor")
    for arrow in d.arrows:
        pts = arrow.points
        if len(pts) > 2:
            ax.plot([p[0] for p in pts[:-1]], [p[1] for p in pts[:-1]], color="black", linewidth=0.9,
                    solid_capstyle="butt")
        ax.add_patch(FancyArrowPatch(pts[-2], pts[-1], arrowstyle="-|>", mutation_scale=9, linewidth=0.9,
                                     color="black", shrinkA=0, shrinkB=0))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
