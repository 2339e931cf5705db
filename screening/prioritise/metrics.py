"""Ranking quality of a screening order (labels in the order screened)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def wss(labels: Sequence[int], recall: float = 0.95) -> float | None:
    """Work saved over sampling at a recall, in %: (N - n_r)/N - (1 - recall)."""
    n, r = len(labels), sum(labels)
    if r == 0:
        return None
    need, found = math.ceil(recall * r), 0
    for i, label in enumerate(labels, 1):
        found += label
        if found >= need:
            return 100 * ((n - i) / n - (1 - recall))
    return None


def recall_at(labels: Sequence[int], share: float) -> float | None:
    """Share of relevant records found after screening ``share`` of all records, in %."""
    r = sum(labels)
    if r == 0:
        return None
    k = math.ceil(share * len(labels))
    return 100 * sum(labels[:k]) / r


def atd(labels: Sequence[int]) -> float | None:
    """Average time to discovery: mean position of the relevant records, as % of N."""
    pos = [i for i, label in enumerate(labels, 1) if label]
    return 100 * sum(pos) / len(pos) / len(labels) if pos else None
