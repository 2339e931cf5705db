"""Command-line strings parsed into the values the library takes (click ``ParamType``s)."""

from __future__ import annotations

import math
from typing import Any

import click


class PairsType(click.ParamType[list[tuple[str, str]], str]):
    """``a+b,a+c,b+c`` -> ``[("a", "b"), ("a", "c"), ("b", "c")]``."""

    name = "pairs"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[tuple[str, str]]:
        if isinstance(value, list):
            return value
        pairs = []
        for part in str(value).split(","):
            names = [n.strip() for n in part.split("+")]
            if len(names) != 2 or not all(names) or names[0] == names[1]:
                self.fail(f"{part!r} is not a pair of two different screeners (a+b).", param, ctx)
            pairs.append((names[0], names[1]))
        if len(set(map(frozenset, pairs))) != len(pairs):
            self.fail("a pair is listed twice.", param, ctx)
        return pairs


class WeightsType(click.ParamType[dict[str, float], str]):
    """``alice=2,bob=1`` -> ``{"alice": 2.0, "bob": 1.0}``."""

    name = "weights"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, float]:
        if isinstance(value, dict):
            return value
        out: dict[str, float] = {}
        for part in str(value).split(","):
            name, sep, w = part.partition("=")
            try:
                weight = float(w)
            except ValueError:
                weight = math.nan
            if not sep or not name.strip() or not math.isfinite(weight) or weight <= 0:
                self.fail(f"{part!r} is not NAME=NUMBER with a number above zero.", param, ctx)
            out[name.strip()] = weight
        return out


PAIRS = PairsType()
WEIGHTS = WeightsType()
