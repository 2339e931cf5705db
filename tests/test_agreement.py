"""Agreement statistics: known answers from published sources, edge cases, and the workflow.

Sources (each test names its own):
* SAS PROC FREQ output reproduced in statsmodels' tests (statsmodels/stats/tests/test_inter_rater.py).
* irrCAC (Gwet), README of kgwet/irrCAC: cont3x3abstractors, distrib.6raters, cac.raw4raters.
* Krippendorff (2011) "Computing Krippendorff's alpha-reliability": the 4 observers x 12 units
  example with missing values, nominal alpha = 0.743 (the same data as irrCAC's cac.raw4raters).
* Fleiss (1971) via statsmodels' tests: a 2-subject table with Fleiss' kappa 0.708333.
* Feinstein & Cicchetti (1990) "High agreement but low kappa": two tables with 85% agreement
  and kappa 0.70 vs 0.32 (the kappa paradox).
"""

from __future__ import annotations

import json

import pytest

from conftest import small_review
from screening.agreement import agreement, agreement_from_csv
from screening.errors import InputFileError


def from_table(table: list[list[int]], cats: str | list[str] = "ABCDEFG") -> list[tuple[int, str, str]]:
    """Two raters' ratings from a contingency table (rows rater 1, columns rater 2)."""
    out, k = [], 0
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            for _ in range(n):
                out += [(k, "r1", cats[i]), (k, "r2", cats[j])]
                k += 1
    return out


def from_raw(rows: list[list[object]]) -> list[tuple[int, int, object]]:
    return [(i, j, v) for i, row in enumerate(rows) for j, v in enumerate(row) if v is not None]


def from_distribution(rows: list[list[int]]) -> list[tuple[int, int, int]]:
    out = []
    for i, row in enumerate(rows):
        k = 0
        for c, n in enumerate(row):
            for _ in range(n):
                out.append((i, k, c))
                k += 1
    return out


SAS_TABLE10 = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]
RAW4 = [[1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4], [4, 4, 4, 4],
        [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, None, 3, None]]
SIX_RATERS = [[0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0], [2, 0, 4, 0, 0],
              [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6], [1, 0, 0, 5, 0], [1, 1, 0, 4, 0],
              [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1]]


# 1-4: SAS PROC FREQ (via statsmodels' tests): Kappa 0.4842, ASE 0.1380, 95% CI 0.2137-0.7547
def test_sas_kappa_value() -> None:
    assert agreement(from_table(SAS_TABLE10))["cohen_kappa"]["value"] == pytest.approx(0.4842, abs=1e-4)


def test_sas_kappa_ase() -> None:
    assert agreement(from_table(SAS_TABLE10))["cohen_kappa"]["se"] == pytest.approx(0.1380, abs=1e-4)


def test_sas_kappa_lower_limit() -> None:
    assert agreement(from_table(SAS_TABLE10))["cohen_kappa"]["ci95"][0] == pytest.approx(0.2137, abs=1e-4)


def test_sas_kappa_upper_limit() -> None:
    assert agreement(from_table(SAS_TABLE10))["cohen_kappa"]["ci95"][1] == pytest.approx(0.7547, abs=1e-4)


# 5-9: irrCAC README, cont3x3abstractors (two raters, three categories)
def test_irrcac_abstractors_cohen() -> None:
    k = agreement(from_table(ABSTRACTORS))["cohen_kappa"]
    assert k["value"] == pytest.approx(0.7964094, abs=1e-6) and k["se"] == pytest.approx(0.05891072, abs=1e-6)


def test_irrcac_abstractors_ac1() -> None:
    assert agreement(from_table(ABSTRACTORS))["gwet_ac1"]["value"] == pytest.approx(0.8493305, abs=1e-6)


def test_irrcac_abstractors_brennan_prediger() -> None:
    assert agreement(from_table(ABSTRACTORS))["pabak"] == pytest.approx(0.835, abs=1e-9)


def test_irrcac_abstractors_percent_agreement() -> None:
    assert agreement(from_table(ABSTRACTORS))["percent_agreement"] == pytest.approx(0.89, abs=1e-9)


def test_irrcac_abstractors_krippendorff() -> None:
    assert agreement(from_table(ABSTRACTORS))["krippendorff_alpha"] == pytest.approx(0.7972585, abs=1e-6)


# 10-14: irrCAC README, cac.raw4raters = Krippendorff's 4 x 12 reliability data with missing values
def test_irrcac_raw4raters_ac1_with_se_and_interval() -> None:
    ac1 = agreement(from_raw(RAW4))["gwet_ac1"]
    assert ac1["value"] == pytest.approx(0.77544, abs=1e-5)
    assert ac1["se"] == pytest.approx(0.14295, abs=1e-5)
    assert ac1["ci95"][0] == pytest.approx(0.461, abs=1e-3) and ac1["ci95"][1] == 1.0


def test_irrcac_raw4raters_percent_agreement() -> None:
    assert agreement(from_raw(RAW4))["percent_agreement"] == pytest.approx(0.8181818, abs=1e-7)


def test_irrcac_raw4raters_brennan_prediger() -> None:
    assert agreement(from_raw(RAW4))["pabak"] == pytest.approx(0.77273, abs=1e-5)


def test_irrcac_raw4raters_fleiss_with_missing_ratings() -> None:
    assert agreement(from_raw(RAW4))["fleiss_kappa"] == pytest.approx(0.76117, abs=1e-5)


def test_krippendorff_2011_nominal_alpha_with_missing_values() -> None:
    assert agreement(from_raw(RAW4))["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)


# 15-17: irrCAC README, distrib.6raters (6 psychiatrists, 15 patients, 5 categories)
def test_irrcac_six_raters_fleiss() -> None:
    assert agreement(from_distribution(SIX_RATERS))["fleiss_kappa"] == pytest.approx(0.4139265, abs=1e-6)


def test_irrcac_six_raters_ac1_with_se() -> None:
    ac1 = agreement(from_distribution(SIX_RATERS))["gwet_ac1"]
    assert ac1["value"] == pytest.approx(0.4448007, abs=1e-6) and ac1["se"] == pytest.approx(0.08418757, abs=1e-6)


def test_irrcac_six_raters_krippendorff_and_bp() -> None:
    a = agreement(from_distribution(SIX_RATERS))
    assert a["krippendorff_alpha"] == pytest.approx(0.4204384, abs=1e-6)
    assert a["pabak"] == pytest.approx(0.4388889, abs=1e-6)


# 18: Fleiss (1971) small table as in statsmodels' tests
def test_fleiss_small_table() -> None:
    assert agreement(from_distribution([[6, 1, 0], [0, 7, 0]]))["fleiss_kappa"] == pytest.approx(0.708333, abs=6e-6)


# 19-20: Feinstein & Cicchetti (1990): same 85% agreement, kappa 0.70 vs 0.32 (the kappa paradox)
def test_kappa_paradox_balanced_table() -> None:
    a = agreement(from_table([[40, 9], [6, 45]], cats="ie"))
    assert a["percent_agreement"] == pytest.approx(0.85) and a["cohen_kappa"]["value"] == pytest.approx(0.70, abs=5e-3)


def test_kappa_paradox_skewed_table_pabak_and_ac1_stay_high() -> None:
    a = agreement(from_table([[80, 10], [5, 5]], cats=["include", "exclude"]))
    assert a["percent_agreement"] == pytest.approx(0.85) and a["cohen_kappa"]["value"] == pytest.approx(0.32, abs=5e-3)
    assert a["pabak"] == pytest.approx(0.70) and a["gwet_ac1"]["value"] > 0.75
    assert a["prevalence_index"] == pytest.approx(0.75) and a["bias_index"] == pytest.approx(0.05)


# --- edge cases ---------------------------------------------------------------------------------

def test_all_raters_agree() -> None:
    a = agreement(from_table([[10, 0], [0, 5]], cats="ie"))
    assert a["cohen_kappa"]["value"] == pytest.approx(1.0) and a["percent_agreement"] == 1.0
    assert a["gwet_ac1"]["value"] == pytest.approx(1.0) and a["krippendorff_alpha"] == pytest.approx(1.0)


def test_one_category_only_is_null_with_a_reason_not_nan() -> None:
    a = agreement([(i, r, "exclude") for i in range(20) for r in ("a", "b")])
    assert a["percent_agreement"] == 1.0
    assert a["cohen_kappa"]["value"] is None and "one and the same category" in a["undefined"]["cohen_kappa"]
    assert a["pabak"] is None and a["krippendorff_alpha"] is None and a["gwet_ac1"]["value"] is None
    json.dumps(a, allow_nan=False)


def test_no_pairable_items() -> None:
    a = agreement([(1, "a", "include"), (2, "b", "exclude")])
    assert a["n_items"] == 0 and a["cohen_kappa"] is None and a["percent_agreement"] is None
    assert "no item" in a["undefined"]["cohen_kappa"]
    json.dumps(a, allow_nan=False)


def test_a_rater_who_rated_nothing_in_a_batch() -> None:
    ratings = [(i, "a", "include" if i % 3 else "exclude") for i in range(10)]
    a = agreement(ratings)
    assert a["n_items"] == 0 and a["n_raters"] == 1
    json.dumps(a, allow_nan=False)


def test_more_than_two_raters_on_an_item() -> None:
    a = agreement([(1, "a", "i"), (1, "b", "i"), (1, "c", "e"), (2, "a", "e"), (2, "b", "e"), (2, "c", "e"),
                   (3, "a", "i"), (3, "b", "i")])
    assert a["n_raters"] == 3 and a["cohen_kappa"] is None and a["fleiss_kappa"] is not None
    assert a["krippendorff_alpha"] is not None
    json.dumps(a, allow_nan=False)


def test_stats_agreement_csv_command(run, tmp_path) -> None:
    f = tmp_path / "r.csv"
    rows = ["Item,Rater,Rating"] + [f"{k},{r},{c}" for k, r, c in from_table(SAS_TABLE10)]
    f.write_text("\n".join(rows) + "\n")
    out = json.loads(run("stats", "agreement", f, "--json").stdout)
    assert out["cohen_kappa"]["value"] == pytest.approx(0.4842, abs=1e-4)
    bad = tmp_path / "bad.csv"
    bad.write_text("item,who,rating\n1,a,x\n")
    r = run("stats", "agreement", bad, ok=False)
    assert r.exit_code != 0 and "rater" in r.output and str(bad) in r.output
    with pytest.raises(InputFileError):
        agreement_from_csv(tmp_path / "missing.csv")


# --- in the workflow: per batch, gate, debrief, plot ----------------------------------------------

# review_with_decisions: 20 test batches of 5 records (400 records, 25% sample). In every batch both
# members include the batch's first record (lowest id) and exclude the other four, except that in
# batch 1 the second member also includes the 2nd and 3rd records: 2 disagreements, all in batch 1.
# Whole sample, with each batch's first and second member as the two rater slots (100 items):
#   both include 20, first excludes / second includes 2, both exclude 78
#   p_o = 98/100; p_e = 0.20 * 0.22 + 0.80 * 0.78 = 0.668; kappa = (p_o - p_e) / (1 - p_e)
#   PABAK = 2 * p_o - 1
# Batch 1 (5 items): both include 1, second only 2, both exclude 2
#   p_o = 3/5; p_e = 0.2 * 0.6 + 0.8 * 0.4 = 0.44; kappa = (0.6 - 0.44) / (1 - 0.44)
# Every other batch, the last one (20) too: perfect agreement on both categories, kappa 1.
N_BATCHES, BATCH_SIZE = 20, 5
DISAGREEMENTS_IN_BATCH_1 = 2
KAPPA_WHOLE = (0.98 - 0.668) / (1 - 0.668)  # 0.93976
PABAK_WHOLE = 2 * 0.98 - 1  # 0.96
KAPPA_BATCH_1 = (0.6 - 0.44) / (1 - 0.44)  # 0.28571


def review_with_decisions(db) -> None:
    """Three screeners in three pairs screen 20 batches of 5 with the decisions above; a PI resolves
    every conflict (as include)."""
    from sqlalchemy import select

    from screening.review.conflicts import conflicts, resolve
    from screening.review.decisions import record_decision
    from screening.storage.models import Assignment, Batch, User

    small_review(db, n=400)
    with db.transaction() as s:
        names = {u.id: u.name for u in s.scalars(select(User))}
        batches = {b.id: b for b in s.scalars(select(Batch))}
        members: dict[int, set[int]] = {}
        for bid, rid in s.execute(select(Assignment.batch_id, Assignment.record_id)
                                  .where(Assignment.phase == "test")):
            members.setdefault(bid, set()).add(rid)
        assert len(batches) == N_BATCHES and all(len(m) == BATCH_SIZE for m in members.values())
        for bid, rids in members.items():
            b = batches[bid]
            for rank, rid in enumerate(sorted(rids)):
                for uid in (b.user_a, b.user_b):
                    include = rank == 0 or (b.number == 1 and uid == b.user_b and rank in (1, 2))
                    record_decision(s, names[uid], rid, "include" if include else "exclude",
                                    reason=None if include else "not primary care")
    with db.transaction() as s:
        found = conflicts(s, "access", "pat")
        assert len(found) == DISAGREEMENTS_IN_BATCH_1
        for c in found:
            resolve(s, "pat", c.record_id, "include", note="meets criteria")


def test_agreement_per_batch_pair_screener_set_gate_and_debrief(db, run, tmp_path) -> None:
    review_with_decisions(db)
    by_batch = json.loads(run("agreement", "access", "--by", "batch", "--json").stdout)
    assert [e["batch"] for e in by_batch] == list(range(1, N_BATCHES + 1))
    assert all(e["n_items"] == BATCH_SIZE for e in by_batch)
    assert {len(e["pair"]) for e in by_batch} == {2}
    assert by_batch[0]["cohen_kappa"]["value"] == pytest.approx(KAPPA_BATCH_1)
    assert [e["cohen_kappa"]["value"] for e in by_batch[1:]] == [pytest.approx(1.0)] * (N_BATCHES - 1)
    by_pair = json.loads(run("agreement", "access", "--by", "pair", "--json").stdout)
    assert len(by_pair) == 3 and sum(e["n_items"] for e in by_pair) == 100
    assert sorted(e["n_items"] for e in by_pair) == [30, 35, 35]  # 20 batches in turn: 7, 7 and 6 per pair
    by_screener = json.loads(run("agreement", "access", "--by", "screener", "--json").stdout)
    assert {e["screener"] for e in by_screener} == {"alice", "bob", "carol"}
    assert all("with_final" in e for e in by_screener)
    whole = json.loads(run("agreement", "access", "--by", "set", "--json").stdout)[0]
    assert whole["n_items"] == 100 and whole["cohen_kappa"]["value"] is not None
    assert whole["cohen_kappa"]["value"] == pytest.approx(KAPPA_WHOLE)
    assert whole["percent_agreement"] == pytest.approx(0.98) and whole["pabak"] == pytest.approx(PABAK_WHOLE)
    # the default gate: kappa >= 0.6 on the whole sample and on the last batch, at least 100 items
    gate = json.loads(run("gate", "access", "--json").stdout)
    assert gate["rule"] == {"statistic": "kappa", "threshold": 0.6, "min_items": 100, "last_k": 1}
    assert gate["figures"]["whole_sample_items"] == 100
    assert gate["figures"]["whole_sample"] == pytest.approx(KAPPA_WHOLE)
    assert gate["figures"]["last_batches"] == [N_BATCHES] and gate["figures"]["last"] == pytest.approx(1.0)
    assert gate["met"] is True
    # batch 1 holds every disagreement: its debrief lists them with both decisions and the PI's final
    debrief = run("debrief", "access", "--batch", "1", "--format", "json").stdout
    items = json.loads(debrief)
    assert len(items) == DISAGREEMENTS_IN_BATCH_1
    for it in items:
        assert {d["decision"] for d in it["decisions"]} == {"include", "exclude"}
        assert it["final"] == "include" and it["final_by"] == "pat"
        assert any(d["reason"] == "not primary care" for d in it["decisions"])
    md = run("debrief", "access", "--batch", "1").stdout
    assert md.startswith("# Debrief: set access, batch 1")
    assert json.loads(run("debrief", "access", "--batch", "2", "--format", "json").stdout) == []
    png = tmp_path / "kappa.png"
    run("agreement", "access", "--plot", png)
    import matplotlib.image

    img = matplotlib.image.imread(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and img.shape[0] > 200 and img.shape[1] > 400


def test_gate_decides_the_move_to_single_and_records_its_figures(db, run) -> None:
    review_with_decisions(db)
    run("set", "gate", "access", "--statistic", "pabak", "--threshold", "0.5", "--min-items", "50", "--as", "pat")
    gate = json.loads(run("gate", "access", "--json").stdout)
    assert gate["met"] is True and gate["rule"]["statistic"] == "pabak"
    run("phase", "access", "single", "--as", "pat")
    from sqlalchemy import select

    from screening.storage.models import SetEvent

    with db.transaction() as s:
        event = s.scalar(select(SetEvent).where(SetEvent.kind == "phase"))
        gate_events = list(s.scalars(select(SetEvent).where(SetEvent.kind == "gate")))
    assert event.payload["forced"] is False and event.payload["gate"]["met"] is True
    assert event.payload["gate"]["figures"]["whole_sample"] >= 0.5
    assert event.payload["gate"]["figures"]["whole_sample"] == pytest.approx(PABAK_WHOLE)
    assert gate_events[0].payload["new"]["statistic"] == "pabak" and gate_events[0].actor == "pat"


def test_gate_not_met_blocks_the_move(db, run) -> None:
    review_with_decisions(db)
    run("set", "gate", "access", "--threshold", "0.99", "--as", "pat")
    r = run("phase", "access", "single", "--as", "pat", ok=False)
    assert r.exit_code != 0 and "not met" in r.output and "--force" in r.output
    assert f"kappa on the whole sample is {KAPPA_WHOLE:.3f} < 0.99" in r.output  # the last batch's 1.0 passes
