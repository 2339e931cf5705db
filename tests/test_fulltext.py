"""The full-text stage: the title/abstract includes move on, are retrieved (or not), and are screened with
reasons required, in pairs or singly, with the same blinding and PI resolution; stopping on the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import Cli, small_review
from screening.errors import Conflict, InvalidValue, NotAllowed
from screening.review.conflicts import conflicts, final_decisions, resolve
from screening.review.decisions import record_decision
from screening.review.fulltext import exclusion_reasons, record_report, report_states, start_full_text, sync_full_text
from screening.storage.db import Database
from screening.storage.models import Assignment, Batch, ScreeningSet, User


def finish_title_abstract(db: Database) -> list[int]:
    """Both screeners of every batch decide (record ids divisible by 3 are included, the rest excluded)
    and the PI resolves any conflict; returns the includes."""
    with db.transaction() as s:
        names = {u.id: u.name for u in s.scalars(select(User))}
        for rid, uid in s.execute(select(Assignment.record_id, Assignment.user_id).join(
                Batch, Batch.id == Assignment.batch_id)).all():
            record_decision(s, names[uid], rid, "include" if rid % 3 == 0 else "exclude")
    with db.transaction() as s:
        return sorted(r for r, d in final_decisions(s).items() if d == "include")


def test_the_includes_move_to_a_full_text_stage_screened_in_pairs(db: Database, run: Cli, tmp_path: Path) -> None:
    small_review(db)
    includes = finish_title_abstract(db)
    assert includes
    r = run("fulltext", "start", "access", "--pairs", "alice+bob", "--seed", "3", "--as", "pat", "--json")
    started = json.loads(r.stdout)
    ft = started["set"]
    assert ft == "access (full text)" and started["reports"] == len(includes) and started["mode"] == "pairs"
    with db.read() as s:
        st = s.scalar(select(ScreeningSet).where(ScreeningSet.name == ft))
        assert st.stage == "full_text" and st.parent_id is not None
        states = report_states(s, st.id)
        assert sorted(states) == includes and {x.status for x in states.values()} == {"sought"}
    # retrieval: a PDF stored by content, a report not retrieved needs why
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4 a full text")
    notes = tmp_path / "notes.docx"
    notes.write_bytes(b"PK\x03\x04 a word file")
    r = run("fulltext", "report", ft, includes[0], "retrieved", "--file", notes, "--as", "alice", ok=False)
    assert r.exit_code == 1 and "notes.docx" in r.output and "is not a PDF" in r.output
    run("fulltext", "report", ft, includes[0], "retrieved", "--file", pdf, "--as", "alice")
    r = run("fulltext", "report", ft, includes[1], "not-retrieved", "--as", "alice", ok=False)
    assert r.exit_code == 1 and "--reason" in r.output
    run("fulltext", "report", ft, includes[1], "not-retrieved", "--reason", "no library holds it", "--as", "pat")
    listed = {x["record_id"]: x for x in json.loads(run("fulltext", "list", ft, "--json").stdout)}
    assert listed[includes[0]]["status"] == "retrieved" and listed[includes[0]]["file_name"] == "paper.pdf"
    stored = Path(f"{run.url.removeprefix('sqlite:///')}.files") / listed[includes[0]]["file_sha256"][:2]
    assert (stored / listed[includes[0]]["file_sha256"]).read_bytes() == pdf.read_bytes()
    assert listed[includes[1]]["status"] == "not_retrieved" and listed[includes[1]]["reason"] == "no library holds it"
    # screening at full text: an exclusion needs a reason from the set's list
    rid = includes[0]
    r = run("decide", "--as", "alice", rid, "exclude", "--set", ft, ok=False)
    assert r.exit_code == 1 and "--reason" in r.output and "wrong population" in r.output
    r = run("decide", "--as", "alice", rid, "exclude", "--reason", "boring", "--set", ft, ok=False)
    assert r.exit_code == 1 and "not one of" in r.output
    run("decide", "--as", "alice", rid, "exclude", "--reason", "wrong study design", "--set", ft)
    run("decide", "--as", "bob", rid, "include", "--set", ft)
    # blinding and the PI work as at title/abstract
    with db.read() as s, pytest.raises(NotAllowed):
        conflicts(s, ft, "alice")
    for other in includes[1:]:
        for u in ("alice", "bob"):
            run("decide", "--as", u, other, "include", "--set", ft)
    with db.read() as s:
        assert [c.record_id for c in conflicts(s, ft, "pat")] == [rid]
    with db.transaction() as s, pytest.raises(InvalidValue, match="reason"):
        resolve(s, "pat", rid, "exclude", set_name=ft)
    r = run("resolve", "--as", "pat", rid, "exclude", "--set", ft, ok=False)
    assert r.exit_code == 1 and "--reason" in r.output
    run("resolve", "--as", "pat", rid, "exclude", "--set", ft, "--reason", "wrong population")
    with db.read() as s:
        st = s.scalar(select(ScreeningSet).where(ScreeningSet.name == ft))
        assert exclusion_reasons(s, st.id) == {rid: "wrong population"}
        assert sorted(r for r, d in final_decisions(s, st.id).items() if d == "include") == includes[1:]


def test_a_full_text_stage_screened_singly_and_new_includes_join(db: Database, run: Cli) -> None:
    small_review(db)
    finish_title_abstract(db)
    with db.transaction() as s, pytest.raises(NotAllowed):
        start_full_text(s, "access", actor="alice", seed=1, screeners=["alice"])
    with db.transaction() as s, pytest.raises(InvalidValue):
        start_full_text(s, "access", actor="pat", seed=1)  # neither pairs nor screeners
    with db.transaction() as s:
        res = start_full_text(s, "access", actor="pat", seed=1, screeners=["alice", "bob"])
    assert res.mode == "single" and sum(res.assigned.values()) == res.reports
    with db.transaction() as s, pytest.raises(Conflict):
        start_full_text(s, "access", actor="pat", seed=1, screeners=["alice"])
    with db.transaction() as s:  # nothing new since: nothing added
        assert sync_full_text(s, "access", actor="pat") == 0
    queue = json.loads(run("queue", "--as", "alice", "--set", res.set, "--json").stdout)
    assert queue and all(q["batch"] is None and q["phase"] == "single" for q in queue)


def test_reports_are_recorded_by_the_team_only(db: Database) -> None:
    small_review(db)
    includes = finish_title_abstract(db)
    with db.transaction() as s:
        res = start_full_text(s, "access", actor="pat", seed=1, screeners=["alice"])
    with db.transaction() as s, pytest.raises(NotAllowed):
        record_report(s, res.set, includes[0], "retrieved", actor="carol")  # not a screener of the stage
    with db.transaction() as s, pytest.raises(InvalidValue):
        record_report(s, res.set, includes[0], "lost", actor="pat")
    with db.transaction() as s:
        record_report(s, res.set, includes[0], "sought", actor="alice")


def test_stopping_on_the_stopping_test_is_recorded_with_its_figures(db: Database, run: Cli) -> None:
    small_review(db)
    finish_title_abstract(db)
    run("phase", "access", "single", "--as", "pat", "--force", "--reason", "small set")
    r = run("stop", "access", "--as", "pat", ok=False)
    assert r.exit_code == 1 and "does not allow" in r.output
    r = run("stop", "access", "--as", "alice", "--force", "--reason", "x", ok=False)
    assert r.exit_code == 1 and "only a pi or admin" in r.output
    out = json.loads(run("stop", "access", "--as", "pat", "--force", "--reason", "deadline", "--json").stdout)
    assert out["forced"] is True and out["undecided"] == 30 and out["reason"] == "deadline"
