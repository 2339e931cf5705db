"""Plots as PNG files: agreement per test batch with the gate, and the recall curve of priority screening.

matplotlib is imported when a plot is drawn, with the Agg backend: no display is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from screening.prioritise.stopping import StoppingEstimate, recall_curve
from screening.reports.output import atomic_write
from screening.review.gate import GateRule


def plot_agreement(entries: list[dict[str, Any]], rule: GateRule | None, path: str) -> None:
    """Kappa and AC1 per batch with their 95% intervals and the gate line, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    ax.legend(loc="lower right")
    ax.set_title("Agreement per test-screening batch (95% intervals)")
    fig.tight_layout()
    try:
        with atomic_write(path, binary=True) as fh:
            fig.savefig(fh, dpi=100, format="png")
    finally:
        plt.close(fig)


def plot_progress(labels: Sequence[int], total: int, est: StoppingEstimate, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = recall_curve(labels)
    fig, ax = plt.subplots(figsize=(8, 4.5))
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
    try:
        with atomic_write(path, binary=True) as fh:
            fig.savefig(fh, dpi=100, format="png")
    finally:
        plt.close(fig)
