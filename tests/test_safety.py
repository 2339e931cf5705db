"""A dual review that cannot leak, be gamed or drop a decision: blinding of everything derived from a
decision, frozen batches, roles for every action, validation before storage, safe outputs, the
terminal UI, queues that follow dedup merges."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import Cli, small_review
from screening.errors import Conflict, InvalidValue, MissingActor, NotAllowed, NotFound
from screening.review.blinding import batch_states
from screening.review.conflicts import final_decisions, resolve
from screening.review.decisions import record_decision
from screening.review.gate import set_gate
from screening.review.phase import move_to_single
from screening.review.sampling import draw_sample
from screening.review.sets import create_set, set_criteria
from screening.storage.db import Database
from screening.storage.models import Assignment, Batch, Record, Sample, ScreeningSet, User
from screening.team.users import add_user, get_user


def batch_records(db: Database, number: int) -> tuple[list[int], str, str]:
    """The records of test batch ``number`` of set access, and its two screeners."""
    with db.read() as s:
        names = {u.id: u.name for u in s.scalars(select(User))}
        b = s.scalar(select(Batch).where(Batch.number == number))
        rids = sorted(set(s.scalars(select(Assignment.record_id).where(Assignment.batch_id == b.id))))
        return rids, names[b.user_a], names[b.user_b]


def decide_all(db: Database, rids: list[int], user: str, decision: str = "exclude") -> None:
    with db.transaction() as s:
        for rid in rids:
            record_decision(s, user, rid, decision)


# --- 1. blinding covers everything derived from a decision --------------------------------------

def test_nothing_derived_from_a_partner_leaks_before_the_batch_is_finished(db, run) -> None:
    small_review(db)
    rids, first, second = batch_records(db, 1)
    with db.transaction() as s:  # both include the first record, disagree on the second: batch 1 still open
        record_decision(s, first, rids[0], "include")
        record_decision(s, second, rids[0], "include")
        record_decision(s, first, rids[1], "include", reason="zq-reason")
        record_decision(s, second, rids[1], "exclude")
    status = json.loads(run("status", "access", "--as", second, "--json").stdout)
    b1 = next(b for b in status["batches"] if b["batch"] == 1)
    assert b1["state"] == "open" and b1["conflicts_open"] is None and b1["conflicts_resolved"] is None
    assert "conflict" not in run("status", "access").stdout
    # a PI outside the pair sees the counts at once
    pi_view = json.loads(run("status", "access", "--as", "pat", "--json").stdout)
    assert next(b for b in pi_view["batches"] if b["batch"] == 1)["conflicts_open"] == 1
    assert json.loads(run("agreement", "access", "--batch", "1", "--json").stdout) == []
    assert json.loads(run("agreement", "access", "--batch", "1", "--as", second, "--json").stdout) == []
    assert json.loads(run("agreement", "access", "--batch", "1", "--as", "pat", "--json").stdout)[0]["n_items"] == 2
    exported = run("export", "--format", "csv", "--set", "access", "--included").stdout
    assert str(rids[0]) not in [line.split(",")[0] for line in exported.splitlines()[1:]]
    assert json.loads(run("progress", "access", "--json").stdout)["screened"] == 0
    shown = json.loads(run("history", rids[1], "--as", second, "--json").stdout)
    assert [e["user"] for e in shown] == [second]  # the partner's event is not even listed
    assert json.loads(run("history", rids[1], "--json").stdout) == []
    assert [e["user"] for e in json.loads(run("history", rids[1], "--as", "pat", "--json").stdout)] == [first, second]
    # the PI (outside the pair) resolves the conflict at once: still final for no one else before the batch is
    run("resolve", "--as", "pat", rids[1], "include", "--set", "access")
    exported = run("export", "--format", "csv", "--set", "access", "--included").stdout
    assert str(rids[1]) not in [line.split(",")[0] for line in exported.splitlines()[1:]]
    assert json.loads(run("progress", "access", "--json").stdout)["screened"] == 0
    decide_all(db, [r for r in rids[2:]], first, "exclude")
    decide_all(db, [r for r in rids[2:]], second, "exclude")  # the batch finished and agreed: reconciled
    exported = run("export", "--format", "csv", "--set", "access", "--included").stdout
    assert {str(rids[0]), str(rids[1])} <= {line.split(",")[0] for line in exported.splitlines()[1:]}


def test_a_finished_batch_shows_statistics_and_a_reconciled_one_its_decisions(db, run) -> None:
    small_review(db)
    rids, first, second = batch_records(db, 1)
    decide_all(db, rids, first)
    decide_all(db, rids[1:], second)
    with db.transaction() as s:
        record_decision(s, second, rids[0], "include", note="zq-note")
    entry = json.loads(run("agreement", "access", "--batch", "1", "--json").stdout)[0]
    assert entry["n_items"] == 5 and entry["percent_agreement"] == pytest.approx(0.8)
    assert json.loads(run("history", rids[0], "--as", first, "--json").stdout)[0]["user"] == first
    assert len(json.loads(run("history", rids[0], "--as", first, "--json").stdout)) == 1  # not reconciled yet
    with db.read() as s:
        assert final_decisions(s) == {}
    run("resolve", "--as", "pat", rids[0], "exclude")
    events = json.loads(run("history", rids[0], "--as", first, "--json").stdout)
    assert [e["user"] for e in events] == [first, second, "pat"] and events[1]["note"] == "zq-note"
    with db.read() as s:
        assert final_decisions(s) == dict.fromkeys(rids, "exclude")


# --- 2. reconciled (finished) means frozen -------------------------------------------------------

def test_a_finished_batch_is_frozen_for_its_screeners(db, run) -> None:
    small_review(db)
    rids, first, second = batch_records(db, 1)
    decide_all(db, rids, first, "include")
    decide_all(db, rids, second, "exclude")
    kappa = json.loads(run("agreement", "access", "--batch", "1", "--json").stdout)[0]["percent_agreement"]
    r = run("decide", "--as", second, rids[0], "include", ok=False)
    assert r.exit_code == 1 and "frozen" in r.output and "Traceback" not in r.output
    r = run("undo", "--as", second, ok=False)
    assert r.exit_code == 1 and "frozen" in r.output
    assert json.loads(run("agreement", "access", "--batch", "1", "--json").stdout)[0]["percent_agreement"] == kappa
    # the PI corrects a final decision after the debrief with an override, recorded with its reason
    for rid in rids:
        run("resolve", "--as", "pat", rid, "include")
    r = run("resolve", "--as", "pat", rids[0], "exclude", "--override", "debrief: a review", ok=False)
    assert r.exit_code == 0
    with db.read() as s:
        assert final_decisions(s)[rids[0]] == "exclude"
    events = json.loads(run("history", rids[0], "--as", "pat", "--json").stdout)
    assert events[-1]["reason"] == "override: debrief: a review"
    assert json.loads(run("agreement", "access", "--batch", "1", "--json").stdout)[0]["percent_agreement"] == kappa


def test_resolve_acts_on_what_waits_for_the_pi_and_anything_else_needs_an_override(db) -> None:
    small_review(db)
    rids, first, second = batch_records(db, 1)
    decide_all(db, rids, first)
    decide_all(db, rids, second)
    with db.transaction() as s, pytest.raises(Conflict, match="override"):
        resolve(s, "pat", rids[0], "include")  # both excluded: nothing to resolve
    with db.transaction() as s, pytest.raises(InvalidValue):
        resolve(s, "pat", rids[0], "include", override="  ")
    with db.transaction() as s:
        d = resolve(s, "pat", rids[0], "include", override="the pair missed the population")
        assert d.reason == "override: the pair missed the population"


def test_test_phase_decisions_close_with_the_move_to_single(db) -> None:
    small_review(db)
    with db.read() as s:
        numbers = [b.number for b in batch_states(s, s.scalar(select(ScreeningSet.id)))]
    with db.transaction() as s, pytest.raises(Conflict, match="still being screened"):
        move_to_single(s, "access", "pat", force=True, reason="deadline")
    for number in numbers:
        rids, first, second = batch_records(db, number)
        decide_all(db, rids[1:], first)
        decide_all(db, rids, second)
        with db.transaction() as s:  # the first screener left: the PI decides what they left
            resolve(s, "pat", rids[0], "exclude", override="screener left the team")
    with db.transaction() as s:
        move_to_single(s, "access", "pat", force=True, reason="deadline")
    rids, first, _ = batch_records(db, numbers[0])
    with db.transaction() as s, pytest.raises(Conflict, match="single screening"):
        record_decision(s, first, rids[0], "include")


# --- 3. roles are checked for every action -------------------------------------------------------

@pytest.mark.parametrize("action", ["create", "criteria", "gate", "sample", "phase", "resolve"])
def test_a_screener_may_not_run_the_review(db, action: str) -> None:
    small_review(db)
    calls = {
        "create": lambda s: create_set(s, "other", all_records=True, actor="alice"),
        "criteria": lambda s: set_criteria(s, "access", "anything", actor="alice"),
        "gate": lambda s: set_gate(s, "access", {"threshold": 0.1}, actor="alice"),
        "sample": lambda s: draw_sample(s, "access", pairs=[("alice", "bob")], seed=1, batch_size=5, size=5,
                                        extend=True, actor="alice"),
        "phase": lambda s: move_to_single(s, "access", "alice", force=True, reason="x"),
        "resolve": lambda s: resolve(s, "alice", 1, "include", override="x"),
    }
    with db.transaction() as s, pytest.raises(NotAllowed, match="alice is a screener"):
        calls[action](s)


def test_unknown_or_unnamed_actors_are_refused_and_names_are_suggested(db, run) -> None:
    small_review(db)
    with db.transaction() as s, pytest.raises(MissingActor):
        create_set(s, "other", all_records=True)
    with db.transaction() as s, pytest.raises(NotFound, match="did you mean 'alice'"):
        get_user(s, "alcie")
    r = run("queue", "--as", "alcie", ok=False)
    assert r.exit_code == 1 and "did you mean 'alice'?" in r.output


def test_only_an_admin_adds_users_once_one_exists(db, run) -> None:
    run("user", "add", "ann", "--role", "admin")  # the first admin starts the team
    r = run("user", "add", "zed", "--role", "pi", ok=False)
    assert r.exit_code == 1 and "--as" in r.output
    r = run("user", "add", "zed", "--role", "pi", "--as", "zed", ok=False)
    assert r.exit_code == 1 and "no user named 'zed'" in r.output
    run("user", "add", "pat", "--role", "pi", "--as", "ann")
    r = run("user", "add", "zed", "--role", "pi", "--as", "pat", ok=False)
    assert r.exit_code == 1 and "only a admin may add users" in r.output


# --- 4. validation before storage ----------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"threshold": math.nan}, "threshold"), ({"threshold": math.inf}, "threshold"), ({"threshold": 1.5}, "threshold"),
    ({"threshold": -2.0}, "threshold"), ({"min_items": 0}, "min_items"), ({"last_k": 0}, "last_k"),
    ({"statistic": "f1"}, "statistic"), ({"colour": "red"}, "colour"),
])
def test_gate_values_are_checked(db, change: dict[str, object], field: str) -> None:
    small_review(db)
    with db.transaction() as s, pytest.raises(InvalidValue) as err:
        set_gate(s, "access", change, actor="pat")
    assert err.value.field == field


def test_cli_gate_threshold_names_the_flag(db, run) -> None:
    small_review(db)
    r = run("set", "gate", "access", "--threshold", "nan", "--as", "pat", ok=False)
    assert r.exit_code == 1 and r.output.startswith("Error: --threshold:")


@pytest.mark.parametrize("weights", ["alice=0", "alice=-1", "alice=nan", "alice=inf", "alice", "=2"])
def test_weights_are_finite_and_positive(db, run, weights: str) -> None:
    small_review(db)
    r = run("phase", "access", "single", "--as", "pat", "--force", "--reason", "x", "--weights", weights, ok=False)
    assert r.exit_code == 2 and "--weights" in r.output


def test_seeds_and_ids_stay_within_64_bits(db, run) -> None:
    with db.transaction() as s:
        add_user(s, "pat", "pi")
        add_user(s, "alice", "screener")
        add_user(s, "bob", "screener")
    from conftest import make_records

    with db.transaction() as s:
        make_records(s, "m", 20)
        create_set(s, "access", all_records=True, actor="pat")
        with pytest.raises(InvalidValue):
            draw_sample(s, "access", pairs=[("alice", "bob")], seed=2**63, batch_size=5, size=5, actor="pat")
    with db.transaction() as s:
        draw_sample(s, "access", pairs=[("alice", "bob")], seed=2**62 + 1, batch_size=5, size=5, actor="pat")
    with db.read() as s:
        assert s.scalar(select(Sample.seed)) == 2**62 + 1
    r = run("decide", "--as", "alice", str(2**70), "include", ok=False)
    assert r.exit_code == 1 and "record id" in r.output


@pytest.mark.parametrize(("name", "problem"), [
    ("", "empty"), ("a\x1b[31mb", "control"), ("x" * 201, "characters long"), ("a+b", r"'\+'"),
])
def test_user_names_are_checked(db, name: str, problem: str) -> None:
    with db.transaction() as s, pytest.raises(InvalidValue, match=problem):
        add_user(s, name, "screener")


def test_user_names_are_unique_regardless_of_case(db) -> None:
    with db.transaction() as s:
        add_user(s, "Alice", "screener")
        with pytest.raises(Conflict, match="exists already"):
            add_user(s, "alice", "screener")


def test_terminal_escapes_in_titles_and_notes_are_shown_not_obeyed(db, run) -> None:
    small_review(db)
    rids, first, _ = batch_records(db, 1)
    with db.transaction() as s:
        s.get(Record, rids[0]).title = "Evil \x1b[2J\x1b]0;owned\x07 title"
        record_decision(s, first, rids[0], "include", note="see \x1b[31mred\x1b[0m")
    for out in (run("queue", "--as", first, "--set", "access", "--all").stdout,
                run("history", rids[0], "--as", first).stdout):
        assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in run("queue", "--as", first, "--set", "access", "--all").stdout
    assert "see \\x1b[31mred" in run("history", rids[0], "--as", first).stdout


def test_no_nan_in_any_json(db, run) -> None:
    small_review(db)
    rids, first, second = batch_records(db, 1)
    decide_all(db, rids, first)
    decide_all(db, rids, second)  # every rating "exclude": kappa undefined
    text = run("agreement", "access", "--json").stdout
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)[0]["cohen_kappa"]["value"] is None


# --- 7. outputs are safe -------------------------------------------------------------------------

def test_outputs_to_missing_or_unwritable_places_are_clear_errors(db, run, tmp_path: Path) -> None:
    small_review(db)
    for args in (("export", "--format", "csv", "--out", tmp_path / "no" / "x.csv"),
                 ("agreement", "access", "--plot", tmp_path / "no" / "k.png")):
        r = run(*args, ok=False)
        assert r.exit_code == 1 and "cannot write" in r.output and "Traceback" not in r.output
    r = run("export", "--format", "ris", "--out", tmp_path, ok=False)  # a folder: click names the option
    assert r.exit_code == 2 and "is a directory" in r.output


def test_a_failed_export_leaves_the_existing_file_as_it_was(db, run, tmp_path: Path, monkeypatch) -> None:
    small_review(db)
    out = tmp_path / "kept.csv"
    out.write_text("the previous export\n")
    import screening.reports.export as export

    def broken(*_args: object) -> dict[str, object]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "csv_row", broken)
    r = run("export", "--format", "csv", "--out", out, ok=False)
    assert r.exit_code == 1 and "No space left" in r.output.replace("no space", "No space")
    assert out.read_text() == "the previous export\n"
    assert [p for p in tmp_path.iterdir() if not p.name.startswith("screening.db")] == [out]  # no temporary left


def test_a_mistyped_sqlite_path_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    r = Cli(f"sqlite:///{tmp_path}/reveiw.db")("search", "list", ok=False)
    assert r.exit_code == 1 and "no database at" in r.output and "screening init" in r.output
    assert not (tmp_path / "reveiw.db").exists()
    Cli(f"sqlite:///{tmp_path}/review.db")("init")
    assert (tmp_path / "review.db").exists()


# --- 8. the workflow -----------------------------------------------------------------------------

def test_a_reason_typed_then_skipped_stays_with_its_record(db, run) -> None:
    small_review(db)
    _, first, _ = batch_records(db, 1)
    with db.read() as s:
        from screening.review.queue import queue

        order = [q.record_id for q in queue(s, first, set_name="access")]
    out = run("screen", "--as", first, "--set", "access", input="r\nnot primary care\ns\ni\nq\n").stdout
    assert "decision(s) this session" in out
    events = json.loads(run("history", order[1], "--as", first, "--json").stdout)
    assert events[0]["decision"] == "include" and events[0]["reason"] is None


def test_after_a_skip_the_screen_says_what_is_left(db, run) -> None:
    small_review(db, n=20)
    with db.read() as s:
        from screening.review.queue import queue

        n = len(queue(s, "alice", set_name="access"))
    out = run("screen", "--as", "alice", "--set", "access", input="s\n" * n).stdout
    assert f"the {n} you skipped remain in your queue" in out and "nothing left" not in out


def test_a_dedup_merge_after_a_split_keeps_the_whole_group(db, run, tmp_path: Path) -> None:
    ris = tmp_path / "g.ris"
    rec = "TY  - JOUR\nTI  - Effects of exercise on knee pain in older adults\nAU  - Smith, J\nPY  - 2019\n" \
          "JO  - Knee\nVL  - 12\nSP  - 100\nEP  - 110\nDO  - 10.1000/knee.1\nER  - \n"
    ris.write_text(rec * 3)
    run("user", "add", "ann", "--role", "admin")
    run("search", "add", "s", "--database", "MEDLINE")
    run("import", ris, "--search", "s")
    run("dedup")
    rows = list(csv_rows(run("export", "--format", "csv", "--all").stdout))
    ids = sorted(int(r["record_id"]) for r in rows)
    assert len({r["duplicate_of"] or r["record_id"] for r in rows}) == 1
    run("dedup", "split", ids[2], "--as", "ann")
    run("dedup", "merge", ids[2], ids[0], "--as", "ann")
    rows = list(csv_rows(run("export", "--format", "csv", "--all").stdout))
    assert len({r["duplicate_of"] or r["record_id"] for r in rows}) == 1, rows


def csv_rows(text: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def twin_review(db: Database) -> tuple[int, int]:
    """Twenty records, two of them the same article that no dedup pass has seen, all in a test sample."""
    from sqlalchemy import insert

    from screening.records.searches import add_search

    with db.transaction() as s:
        for name, role in (("alice", "screener"), ("bob", "screener"), ("pat", "pi")):
            add_user(s, name, role)
        sid = add_search(s, "medline", "MEDLINE").id
        rows = [{"search_id": sid, "format": "ris", "raw": [], "title": f"Primary care model number {i} in cities",
                 "authors": [f"Author{i}, A"], "year": 2000 + i} for i in range(18)]
        twin = {"search_id": sid, "format": "ris", "raw": [], "title": "Effects of exercise on knee pain in adults",
                "authors": ["Smith, J", "Jones, K"], "year": 2019, "journal": "Knee", "volume": "3", "pages": "1-9",
                "doi": "10.1000/knee.3"}
        s.execute(insert(Record), [*rows, twin, twin])
        create_set(s, "access", all_records=True, actor="pat")
        draw_sample(s, "access", pairs=[("alice", "bob")], seed=1, batch_size=10, size=20, actor="pat")
        a, b = sorted(s.scalars(select(Record.id).where(Record.doi == "10.1000/knee.3")))
    return a, b


def test_a_sampled_record_merged_later_leaves_the_queues(db, run) -> None:
    a, b = twin_review(db)
    out = json.loads(run("dedup", "--json").stdout)
    with db.read() as s:
        removed = b if s.get_one(Record, b).duplicate_of == a else a
        kept = a + b - removed
    assert out["queues"]["dropped"] and not out["queues"]["moved"]
    for user in ("alice", "bob"):
        queue = [q["record_id"] for q in json.loads(run("queue", "--as", user, "--set", "access", "--json").stdout)]
        assert kept in queue and removed not in queue and len(queue) == 19
    from screening.storage.models import SetEvent

    with db.read() as s:
        event = s.scalar(select(SetEvent).where(SetEvent.kind == "dedup"))
        assert sorted(x[0] for x in event.payload["dropped"]) == [removed, removed]


def test_a_merged_record_already_decided_keeps_its_decisions_and_is_reported(db, run) -> None:
    a, b = twin_review(db)
    decide_all(db, [a, b], "alice", "include")
    out = json.loads(run("dedup", "--json").stdout)
    with db.read() as s:
        removed = b if s.get_one(Record, b).duplicate_of == a else a
    assert out["flagged"] == 1 and list(out["queues"]["decided"].values()) == [[removed]]
    assert [e["decision"] for e in json.loads(run("history", removed, "--as", "alice", "--json").stdout)] == ["include"]


def test_a_batch_the_pi_made_final_before_its_screeners_finished_is_frozen(db) -> None:
    """A first decision is checked against the batch cheaply (has the PI decided this record?); the
    cheap answer must not let a screener change a batch whose records are all final."""
    small_review(db)
    rids, first, second = batch_records(db, 1)
    with db.transaction() as s:
        resolve(s, "pat", rids[0], "include", override="early: a known trial")
    with db.transaction() as s:  # one record final: the batch is still open for both screeners
        record_decision(s, first, rids[1], "exclude")
        record_decision(s, first, rids[0], "exclude")
    with db.transaction() as s:
        for rid in rids[1:]:
            resolve(s, "pat", rid, "exclude", override="early: out of scope")
    for rid in rids:  # every record final: frozen, even for a record the screener never decided
        with db.transaction() as s, pytest.raises(Conflict, match="frozen"):
            record_decision(s, second, rid, "include")
    with db.read() as s:
        assert not s.scalars(select(Assignment).where(Assignment.user_id == get_user(s, second).id,
                                                      Assignment.done)).all()


def test_a_decision_marks_an_assignment_the_session_already_holds_as_done(db) -> None:
    small_review(db)
    rids, first, _ = batch_records(db, 1)
    with db.transaction() as s:
        held = s.scalars(select(Assignment).where(Assignment.record_id == rids[0],
                                                  Assignment.user_id == get_user(s, first).id)).one()
        assert held.done is False
        record_decision(s, first, rids[0], "include")
        assert held.done is True  # the same object, not a stale copy
    with db.read() as s:
        assert s.get_one(Assignment, held.id).done is True
