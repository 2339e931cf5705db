"""Plots as PNG: agreement per test batch with the gate, and the recall curve of priority screening.

Figures are built with matplotlib's object interface (no pyplot state), so the web app can draw
them for several requests at once; no display is needed. matplotlib is imported when a plot is
drawn: it takes a while to load and most commands never draw.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from screening.prioritise.stopping import StoppingEstimate, recall_curve
from screening.reports.output import atomic_write
from screening.review.gate import GateRule

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 4.5))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    return buf.getvalue()


def _write(data: bytes, path: str) -> None:
    with atomic_write(path, binary=True) as fh:
        fh.write(data)


def plot_agreement(entries: list[dict[str, Any]], rule: GateRule | None, path: str) -> None:
    """Kappa and AC1 per batch with their 95% intervals and the gate line, written as a PNG file."""
    _write(agreement_png(entries, rule), path)


def agreement_png(entries: list[dict[str, Any]], rule: GateRule | None) -> bytes:
    """Kappa and AC1 per batch with their 95% intervals and the gate line, as PNG bytes."""
    fig = _figure()
    ax = fig.subplots()
    xs = [e["batch"] for e in entries]
    for key, label, shift, colour in (("cohen_kappa", "Cohen's kappa", -0.08, "tab:blue"),
                                      ("gwet_ac1", "Gwet's AC1", 0.08, "tab:orange")):
        px: list[float] = []
        py: list[float] = []
        below: list[float] = []
        above: list[float] = []
        for x, e in zip(xs, entries, strict=True):
            stat = e.get(key) or {}
            value, ci = stat.get("value"), stat.get("ci95")
            if value is None:
                continue  # undefined for this batch (e.g. everyone agreed on one category)
            px.append(x + shift)
            py.append(value)
            below.append(value - ci[0] if ci else 0.0)
            above.append(ci[1] - value if ci else 0.0)
        if px:
            ax.errorbar(px, py, yerr=[below, above], fmt="o-", capsize=3, label=label, color=colour)
    if rule is not None:
        ax.axhline(rule.threshold, linestyle="--", color="grey", label=f"gate: {rule.statistic} >= {rule.threshold}")
    ax.set_xlabel("batch")
    ax.set_ylabel("agreement")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(xs)
    if xs:
        ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)  # a single batch in the middle, not on the edges
    ax.legend(loc="lower right")
    ax.set_title("Agreement per test-screening batch (95% intervals)")
    fig.tight_layout()
    return _png(fig)


def plot_progress(labels: Sequence[int], total: int, est: StoppingEstimate, path: str) -> None:
    """The recall curve with the estimated total of relevant records, written as a PNG file."""
    _write(progress_png(labels, total, est), path)


def progress_png(labels: Sequence[int], total: int, est: StoppingEstimate) -> bytes:
    """The recall curve with the estimated total of relevant records, as PNG bytes."""
    xs, ys = recall_curve(labels)
    fig = _figure()
    ax = fig.subplots()
    ax.plot(xs, ys, label="relevant found")
    ax.plot([0, total], [0, est.estimated_relevant or (ys[-1] if ys else 0)], linestyle=":", color="grey",
            label="random order (expected)")
    if est.estimated_relevant:
        ax.axhline(est.estimated_relevant, linestyle="--", color="tab:red", label="estimated total relevant")
    ax.set_xlim(0, total)
    ax.set_xlabel("records screened")
    ax.set_ylabel("relevant records found")
    p = "n/a" if est.p_value is None else f"{est.p_value:.3f}"
    ax.set_title(f"Recall curve; H0 recall < {est.recall_target:.0%}: p = {p}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return _png(fig)
