"""`stats agreement` for ratings made anywhere, and the text block every agreement report prints."""

from __future__ import annotations

from typing import Any

import click

from screening.agreement import agreement_from_csv
from screening.cli.base import echo, emit_json, group
from screening.cli.options import json_option


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _ci(stat: dict[str, Any]) -> str:
    return f" [{_fmt(stat['ci95'][0])}, {_fmt(stat['ci95'][1])}]" if stat.get("ci95") else ""


def format_agreement(stats: dict[str, Any], label: str = "") -> str:
    """A short human-readable block for one agreement result (the JSON has every figure)."""
    k = stats.get("cohen_kappa") or {}
    a = stats.get("gwet_ac1") or {}
    lines = [
        f"{label}{stats['n_items']} items, {stats['n_raters']} raters, categories {', '.join(stats['categories'])}",
        f"  percent agreement {_fmt(stats['percent_agreement'])}   Cohen's kappa {_fmt(k.get('value'))}{_ci(k)}"
        f"   PABAK {_fmt(stats['pabak'])}   Gwet's AC1 {_fmt(a.get('value'))}{_ci(a)}",
        f"  Fleiss' kappa {_fmt(stats['fleiss_kappa'])}   Krippendorff's alpha {_fmt(stats['krippendorff_alpha'])}"
        f"   prevalence index {_fmt(stats['prevalence_index'])}   bias index {_fmt(stats['bias_index'])}",
    ]
    for name, reason in (stats.get("undefined") or {}).items():
        lines.append(f"  {name}: undefined ({reason})")
    return "\n".join(lines)


@group()
def stats() -> None:
    """Statistics on data from anywhere.

    \b
    Example:
        screening stats agreement ratings.csv --json
    """


@stats.command("agreement")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
def stats_agreement(file: str, as_json: bool) -> None:
    """Inter-rater agreement of FILE.csv (columns item, rater, rating).

    \b
    Example:
        screening stats agreement ratings.csv --json
    """
    result = agreement_from_csv(file)
    if as_json:
        emit_json(result)
    else:
        echo(format_agreement(result))


COMMANDS = [stats]
