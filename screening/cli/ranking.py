"""Priority ranking, progress and stopping, and the simulation of a labelled review."""

from __future__ import annotations

import click

from screening.cli.base import AppContext, command, echo, emit_json, pass_app
from screening.cli.options import as_option, json_option
from screening.prioritise.models import MODELS
from screening.prioritise.simulate import simulate_file
from screening.prioritise.stopping import StoppingCosts

# The commands on a review's database import the service (and with it SQLAlchemy and the schema)
# when they run: `screening simulate` needs neither, and on a review of 300 records their import
# (with the CLI's own SQLAlchemy import) was 0.6 s of its 2.0 s, which the benchmark compares with
# ASReview's.

model_option = click.option("--model", type=click.Choice(list(MODELS)),
                            help=f"Classifier (default: {next(iter(MODELS))}).")


@command()
@click.argument("set_name")
@model_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the model (stored with the run).")
@json_option
@pass_app
def rank(app: AppContext, set_name: str, model: str | None, seed: int, as_json: bool) -> None:
    """Retrain the classifier on the set's decisions and re-rank what is left.

    \b
    Example:
        screening rank access --json
    """
    from screening.prioritise.service import rank_set

    with app.db.transaction() as s:
        res = rank_set(s, set_name, model=model, seed=seed)
    if as_json:
        emit_json(res.as_dict())
    else:
        echo(f"{res.set}: trained {res.model} on {res.labelled} decisions ({res.included} included), "
                   f"scored {res.scored} records in {res.seconds} s")


@command()
@click.argument("set_name")
@click.option("--recall", "recall_target", type=float, default=0.95, show_default=True,
              help="The recall the stopping test asks for.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="The stopping test's significance level (1 - confidence).")
@json_option
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the recall curve as a PNG.")
@pass_app
def progress(app: AppContext, set_name: str, recall_target: float, alpha: float, as_json: bool,
             plot: str | None) -> None:
    """Decisions so far, includes found, estimated recall, and whether the team may stop.

    \b
    Example:
        screening progress access --recall 0.95 --plot recall.png
    """
    from screening.prioritise.service import progress as get_progress
    from screening.reports.plots import plot_progress

    with app.db.read() as s:
        est, ordered = get_progress(s, set_name, recall_target=recall_target, alpha=alpha, costs=True)
    if plot:
        plot_progress(ordered, est.total, est, plot)
    if as_json:
        emit_json(est.as_dict())
        return
    echo(f"{set_name}: {est.screened} of {est.total} records decided, {est.relevant_found} included")
    if est.estimated_recall is not None and est.recall_interval is not None:
        lo, hi = est.recall_interval
        echo(f"  estimated recall {est.estimated_recall:.1%} (95% interval {lo:.1%} to {hi:.1%}); "
                   f"estimated relevant records in all {est.estimated_relevant:.0f}")
    p = "n/a" if est.p_value is None else f"{est.p_value:.4f}"
    verdict = "you may stop" if est.can_stop else "keep screening"
    echo(f"  stopping test (Callaghan & Mueller-Hansen 2020), H0 recall < {recall_target:.0%}: p = {p}: "
               f"{verdict} (confidence {est.confidence:.0%})")
    echo(f"  heuristic: {est.excludes_in_a_row} excludes in a row (threshold {est.heuristic_n}): "
               + ("reached" if est.heuristic_stop else "not reached") + " - no guarantee on recall")
    if est.costs is not None and est.costs.includes:
        _echo_costs(est.costs)
    if plot:
        echo(f"  recall curve written to {plot}")


def _echo_costs(c: StoppingCosts) -> None:
    """What stopping at each recall costs: records screened to reach it and records saved, in the team's
    order and in the simulation, with what each is based on."""
    echo(f"  what stopping costs, with the {c.includes} includes found so far as 100% recall "
         f"({c.decided} records decided):")
    echo(f"    {'recall':>6} {'includes':>8}   {'your order: screened':>20} {'saved':>13}" + (
        f"   {'simulation: screened':>20} {'saved':>13}" if c.simulated else ""))
    for k, own in enumerate(c.own):
        line = (f"    {own.recall:>6.0%} {own.includes:>8}   {own.screened:>20.0f} "
                f"{own.saved:>5.0f} ({own.saved_share:>5.1%})")
        if c.simulated:
            sim = c.simulated[k]
            line += f"   {sim.screened:>20.0f} {sim.saved:>5.0f} ({sim.saved_share:>5.1%})"
        echo(line)
    echo("  your order: the records in the order your team decided them (stopping there would have "
         "skipped the rest of them)")
    echo(f"  simulation: {c.basis.removeprefix('simulation: ')}")


@command()
@click.argument("set_name")
@as_option(required=True, help="The PI or admin acting (recorded).")
@click.option("--force", is_flag=True, help="Stop although the stopping test does not allow it yet (needs --reason).")
@click.option("--reason", help="Why the team stops (recorded).")
@click.option("--recall", "recall_target", type=float, default=0.95, show_default=True,
              help="The recall the stopping test asks for.")
@json_option
@pass_app
def stop(app: AppContext, set_name: str, actor: str, force: bool, reason: str | None, recall_target: float,
         as_json: bool) -> None:
    """Stop single screening of a set once the stopping test allows it (recorded; the rest is reported
    as not screened, excluded by the stopping rule).

    \b
    Example:
        screening stop access --as pat
        screening stop access --as pat --force --reason "funder's deadline"
    """
    from screening.prioritise.service import stop_screening

    with app.db.transaction() as s:
        res = stop_screening(s, set_name, actor=actor, force=force, reason=reason, recall_target=recall_target)
    if as_json:
        emit_json(res.as_dict())
        return
    p = "n/a" if res.estimate.p_value is None else f"{res.estimate.p_value:.4f}"
    echo(f"{set_name} stopped" + (" (forced)" if res.forced else "") + f": {res.undecided} record(s) not screened; "
         f"stopping test p = {p}")


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


@command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--label-column", required=True, help="The column holding 1 (included) or 0 (excluded).")
@click.option("--seed", type=int, required=True, help="Chooses the two starting records, as ASReview's --prior-seed.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="CSV of every record in the order screened (position, record_id, label).")
@model_option
def simulate(file: str, label_column: str, seed: int, out: str, model: str | None) -> None:
    """Replay a labelled review (labels as oracle) and write the order screened.

    \b
    Example:
        screening simulate labelled.csv --label-column label_included --seed 1 --out order.csv
    """
    res = simulate_file(file, label_column, seed, out, model=model)
    echo(f"{len(res.order)} records, {sum(res.labels)} relevant, {res.retrains} retrains, {res.seconds:.2f} s: "
               f"WSS@95 {_fmt(res.wss95)}%, recall at 10% {_fmt(res.recall10)}%, at 20% {_fmt(res.recall20)}%, "
               f"ATD {_fmt(res.atd)}%")


COMMANDS = [rank, progress, stop, simulate]
