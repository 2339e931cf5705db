"""Inter-rater agreement over (item, rater, rating) triples, missing ratings allowed.

Libraries compute what they can: Cohen's kappa with its large-sample SE (Fleiss, Cohen &
Everitt 1969, SAS PROC FREQ's "ASE") and Wald interval come from ``statsmodels``; Fleiss' kappa
on complete data from ``statsmodels``; Krippendorff's alpha (nominal, missing data) from the
``krippendorff`` package. Written here, because none of them offers it: percent agreement,
Brennan-Prediger (PABAK), the prevalence and bias indices (Byrt, Bishop & Carlin 1993), Gwet's
AC1 with its variance as irrCAC's ``gwet.ac1.raw`` computes it (Gwet 2008), and Fleiss' kappa
when raters per item vary (irrCAC's ``fleiss.kappa.raw`` generalisation).

Undefined values are ``None`` with the reason in ``undefined``; never NaN, never an exception.

scipy, statsmodels and krippendorff are imported in the functions that use them: together they
take over a second to load, and every command that shows a status imports this module.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from screening.errors import InputFileError

Rating = tuple[Hashable, Hashable, Hashable]  # (item, rater, rating)
ByItem = dict[Hashable, dict[Hashable, Hashable]]  # item -> rater -> rating


def _matrix(ratings: Iterable[Rating]) -> tuple[list[Hashable], list[Hashable], list[Hashable], ByItem]:
    by_item: dict[Hashable, dict[Hashable, Hashable]] = defaultdict(dict)
    raters: dict[Hashable, None] = {}
    cats: dict[Hashable, None] = {}
    for item, rater, rating in ratings:
        if rating is None or rating == "":
            continue
        by_item[item][rater] = rating
        raters[rater] = None
        cats[rating] = None
    return list(by_item), list(raters), sorted(cats, key=str), by_item


def _counts(by_item: ByItem, cats: list[Hashable]) -> np.ndarray:
    """Items x categories: how many raters put each item in each category."""
    index = {c: k for k, c in enumerate(cats)}
    m = np.zeros((len(by_item), len(cats)))
    for i, ratings in enumerate(by_item.values()):
        for r in ratings.values():
            m[i, index[r]] += 1
    return m


def _interval(value: float, se: float, z: float = 1.959963984540054) -> list[float]:
    """The 95% Wald interval, kept within kappa's range [-1, 1] (a bound past 1 would claim the
    impossible: SAS and statsmodels print it unclipped; inside the range the figures are theirs)."""
    return [max(-1.0, value - z * se), min(1.0, value + z * se)]


def _clean(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def gwet_ac1(counts: np.ndarray) -> tuple[float | None, float | None, list[float] | None, str | None]:
    """Gwet's AC1, its standard error and 95% interval, as irrCAC's ``gwet.ac1.raw`` (unweighted).

    ``counts`` is items x categories (items with no rating removed). The interval uses
    Student's t with n - 1 degrees of freedom and is capped at 1, as irrCAC does.
    """
    from scipy.stats import t as student_t

    ri = counts.sum(1)
    counts = counts[ri > 0]
    ri = ri[ri > 0]
    n, q = counts.shape
    n2 = int((ri >= 2).sum())
    if n2 == 0:
        return None, None, None, "no item has two ratings"
    if q < 2:
        return None, None, None, "only one category was used"
    sum_q = (counts * (counts - 1)).sum(1)
    den = ri * (ri - 1)
    pa = float((sum_q[ri >= 2] / den[ri >= 2]).sum() / n2)
    pi = (counts / ri[:, None]).mean(0)
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    if pe >= 1:
        return None, None, None, "chance agreement is 1"
    ac1 = (pa - pe) / (1 - pe)
    den = np.where(den == 0, -1, den)
    pa_i = sum_q / den
    ac1_i = (n / n2) * (pa_i - pe * (ri >= 2)) / (1 - pe)
    pe_i = (counts @ (1 - pi)) / (q - 1) / ri
    ac1_ix = ac1_i - 2 * (1 - ac1) * (pe_i - pe) / (1 - pe)
    if n < 2:
        return ac1, None, None, "one item: no standard error"
    se = float(math.sqrt(((ac1_ix - ac1) ** 2).sum() / (n * (n - 1))))
    tq = float(student_t.ppf(0.975, n - 1))
    return ac1, se, [ac1 - tq * se, min(1.0, ac1 + tq * se)], None


def _fleiss(all_counts: np.ndarray) -> tuple[float | None, str | None]:
    ri_all = all_counts.sum(1)
    all_counts, ri_all = all_counts[ri_all > 0], ri_all[ri_all > 0]
    counts, ri = all_counts[ri_all >= 2], ri_all[ri_all >= 2]
    if len(counts) == 0:
        return None, "no item has two ratings"
    if counts.shape[1] < 2 or (counts.sum(0) > 0).sum() < 2:
        return None, "only one category was used"
    if len(counts) == len(all_counts) and (ri == ri[0]).all():
        from statsmodels.stats.inter_rater import fleiss_kappa

        return _clean(fleiss_kappa(counts)), None
    # raters per item vary: irrCAC's fleiss.kappa.raw generalisation (statsmodels needs equal counts)
    pa = float(((counts * (counts - 1)).sum(1) / (ri * (ri - 1))).mean())
    pi = (all_counts / ri_all[:, None]).mean(0)  # over every rated item, as irrCAC
    pe = float((pi**2).sum())
    return (_clean((pa - pe) / (1 - pe)) if pe < 1 else None), (None if pe < 1 else "chance agreement is 1")


def agreement(ratings: Iterable[Rating]) -> dict[str, Any]:
    """Every agreement statistic of the contract (``../shared/CONTRACT.md``) for one set of ratings."""
    items, raters, cats, by_item = _matrix(ratings)
    undefined: dict[str, str] = {}
    counts = _counts(by_item, cats) if items else np.zeros((0, 0))
    ri = counts.sum(1) if items else np.zeros(0)
    pairable = counts[ri >= 2] if items else counts
    out: dict[str, Any] = {
        "n_items": len(pairable), "n_raters": len(raters), "categories": [str(c) for c in cats],
        "percent_agreement": None, "cohen_kappa": None, "pabak": None, "prevalence_index": None,
        "bias_index": None, "gwet_ac1": None, "fleiss_kappa": None, "krippendorff_alpha": None,
    }
    if len(pairable) == 0:
        reason = "no item was rated by two raters"
        for k in ("percent_agreement", "cohen_kappa", "pabak", "gwet_ac1", "fleiss_kappa", "krippendorff_alpha"):
            undefined[k] = reason
        out["undefined"] = undefined
        return out
    r2 = pairable.sum(1)
    pa = float(((pairable * (pairable - 1)).sum(1) / (r2 * (r2 - 1))).mean())
    out["percent_agreement"] = pa
    q = int((pairable.sum(0) > 0).sum())
    if q >= 2:
        out["pabak"] = (pa - 1 / q) / (1 - 1 / q)
    else:
        undefined["pabak"] = "only one category was used"
    value, se, ci, why = gwet_ac1(counts)
    out["gwet_ac1"] = {"value": _clean(value), "se": _clean(se), "ci95": ci}
    if why:
        undefined["gwet_ac1"] = why
    out["fleiss_kappa"], why = _fleiss(counts)
    if why:
        undefined["fleiss_kappa"] = why
    out["krippendorff_alpha"], why = _krippendorff(by_item, raters, cats)
    if why:
        undefined["krippendorff_alpha"] = why
    if len(raters) == 2:
        _two_raters(out, undefined, by_item, raters, cats)
    else:
        undefined["cohen_kappa"] = f"{len(raters)} raters; Cohen's kappa is for two (see Fleiss' kappa, AC1, alpha)"
    out["undefined"] = undefined
    return out


def _two_raters(out: dict[str, Any], undefined: dict[str, str], by_item: ByItem, raters: list[Hashable],
                cats: list[Hashable]) -> None:
    a, b = raters
    index = {c: k for k, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for ratings in by_item.values():
        if a in ratings and b in ratings:
            table[index[ratings[a]], index[ratings[b]]] += 1
    n = table.sum()
    pe = float((table.sum(0) / n) @ (table.sum(1) / n))
    if pe >= 1:
        undefined["cohen_kappa"] = "both raters used one and the same category only"
        out["cohen_kappa"] = {"value": None, "se": None, "ci95": None}
    else:
        from statsmodels.stats.inter_rater import cohens_kappa

        with np.errstate(invalid="ignore", divide="ignore"):  # degenerate margins: SE undefined, reported as null
            res = cohens_kappa(table)
        se = _clean(res.std_kappa)
        out["cohen_kappa"] = {"value": _clean(res.kappa), "se": se,
                              "ci95": None if se is None else _interval(float(res.kappa), se)}
    if len(cats) == 2:
        pos = 0 if "include" not in cats else cats.index("include")
        neg = 1 - pos
        out["prevalence_index"] = float((table[pos, pos] - table[neg, neg]) / n)
        out["bias_index"] = float((table[pos, neg] - table[neg, pos]) / n)
    else:
        why = "prevalence and bias indices are for two categories"
        undefined["prevalence_index"] = undefined["bias_index"] = why


def _krippendorff(by_item: ByItem, raters: list[Hashable], cats: list[Hashable]) -> tuple[float | None, str | None]:
    if len(cats) < 2:
        return None, "only one category was used"
    import krippendorff

    index = {c: k for k, c in enumerate(cats)}
    data = np.full((len(raters), len(by_item)), np.nan)
    rindex = {r: k for k, r in enumerate(raters)}
    for j, ratings in enumerate(by_item.values()):
        for r, v in ratings.items():
            data[rindex[r], j] = index[v]
    try:
        alpha = _clean(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError) as exc:
        return None, str(exc)
    return alpha, None if alpha is not None else "no variation to measure"


def agreement_from_csv(path: str | Path) -> dict[str, Any]:
    """Agreement of a CSV of decisions made anywhere (columns item, rater, rating; any case)."""
    path = str(path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(path, f"cannot open ({exc.strerror}).") from None
    with fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in ("item", "rater", "rating") if c not in header]
        if missing:
            raise InputFileError(path, f"missing column(s) {', '.join(missing)}.", line=1,
                                 hint="The header must name the columns item, rater and rating.")
        ix = [header.index(c) for c in ("item", "rater", "rating")]
        ratings = []
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if len(row) < len(header):
                raise InputFileError(path, f"{len(row)} cells where the header has {len(header)}.",
                                     line=reader.line_num, hint="Fix that row.")
            item, rater, rating = (row[i].strip() for i in ix)
            if not item or not rater:
                raise InputFileError(path, "empty item or rater.", line=reader.line_num, hint="Fix that row.")
            ratings.append((item, rater, rating))
    if not ratings:
        raise InputFileError(path, "no ratings.", hint="Each row is one rating: item, rater, rating.")
    return agreement(ratings)
