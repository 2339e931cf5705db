"""Priority ranking, progress and stopping, and the simulation of a labelled review."""

from __future__ import annotations

import click

from screening.cli import AppContext, emit_json, pass_app

# screening.prioritise.models.MODELS, spelt out so the CLI starts without numpy (a test checks)
MODEL_NAMES = ["ensemble", "svm", "logistic", "nb"]


@click.command()
@click.argument("set_name")
@click.option("--model", type=click.Choice(MODEL_NAMES), help="Classifier (default: ensemble).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def rank(app: AppContext, set_name: str, model: str | None, seed: int, as_json: bool) -> None:
    """Retrain the classifier on the set's decisions and re-rank what is left."""
    from screening.ranking import rank_set

    with app.db.transaction() as s:
        res = rank_set(s, set_name, model=model, seed=seed)
    if as_json:
        emit_json(res.__dict__)
    else:
        click.echo(f"{res.set}: trained {res.model} on {res.labelled} decisions ({res.included} included), "
                   f"scored {res.scored} records in {res.seconds} s")


@click.command()
@click.argument("set_name")
@click.option("--recall", "recall_target", type=float, default=0.95, show_default=True)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the recall curve as a PNG.")
@pass_app
def progress(app: AppContext, set_name: str, recall_target: float, alpha: float, as_json: bool,
             plot: str | None) -> None:
    """Decisions so far, includes found, estimated recall, and whether the team may stop."""
    from screening.prioritise.stopping import plot_progress
    from screening.ranking import progress as get_progress

    with app.db.transaction() as s:
        est, ordered = get_progress(s, set_name, recall_target=recall_target, alpha=alpha)
    if plot:
        plot_progress(ordered, est.total, est, plot)
    if as_json:
        emit_json(est.__dict__)
        return
    click.echo(f"{set_name}: {est.screened} of {est.total} records decided, {est.relevant_found} included")
    if est.estimated_recall is not None and est.recall_interval is not None:
        lo, hi = est.recall_interval
        click.echo(f"  estimated recall {est.estimated_recall:.1%} (95% interval {lo:.1%} to {hi:.1%}); "
                   f"estimated relevant records in all {est.estimated_relevant:.0f}")
    p = "n/a" if est.p_value is None else f"{est.p_value:.4f}"
    verdict = "you may stop" if est.can_stop else "keep screening"
    click.echo(f"  stopping test (Callaghan & Mueller-Hansen 2020), H0 recall < {recall_target:.0%}: p = {p}: "
               f"{verdict} (confidence {est.confidence:.0%})")
    click.echo(f"  heuristic: {est.excludes_in_a_row} excludes in a row (threshold {est.heuristic_n}): "
               + ("reached" if est.heuristic_stop else "not reached") + " - no guarantee on recall")
    if plot:
        click.echo(f"  recall curve written to {plot}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--label-column", required=True)
@click.option("--seed", type=int, required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--model", type=click.Choice(MODEL_NAMES), help="Classifier (default: ensemble).")
def simulate(file: str, label_column: str, seed: int, out: str, model: str | None) -> None:
    """Replay a labelled review (labels as oracle) and write the order screened."""
    from screening.prioritise.simulate import simulate_file

    res = simulate_file(file, label_column, seed, out, model=model)
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
    click.echo(f"{len(res.order)} records, {sum(res.labels)} relevant, {res.retrains} retrains, {res.seconds:.2f} s: "
               f"WSS@95 {fmt(res.wss95)}%, recall at 10% {fmt(res.recall10)}%, at 20% {fmt(res.recall20)}%, "
               f"ATD {fmt(res.atd)}%")


COMMANDS = [rank, progress, simulate]
