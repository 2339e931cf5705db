"""Commands that set the review up: the team, the screening sets, the test-screening sample."""

from __future__ import annotations

import sys

import click

from screening.cli.base import AppContext, command, echo, emit_json, group, pass_app
from screening.cli.options import as_option, json_option
from screening.cli.params import PAIRS
from screening.review.gate import STATISTICS, set_gate
from screening.review.sampling import draw_sample
from screening.review.sets import (
    add_hand_record,
    add_records,
    create_set,
    set_criteria,
    set_settings,
    summarise_sets,
)
from screening.team.auth import set_password
from screening.team.users import ROLES, add_user, list_users


@group()
def user() -> None:
    """The review team and their roles (screener, pi, admin).

    \b
    Example:
        screening user add alice --role screener
        screening user list
    """


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="screener (screens), pi (resolves conflicts, runs the review) or admin (manages the team).")
@as_option(help="The admin adding them: needed once the team has an admin (the first admin needs none).")
@pass_app
def user_add(app: AppContext, name: str, role: str, actor: str | None) -> None:
    """Add a screener, a PI or an admin (information specialist).

    \b
    Example:
        screening user add ann --role admin
        screening user add pat --role pi --as ann
    """
    with app.db.transaction() as s:
        add_user(s, name, role, actor=actor)
    echo(f"user {name} added ({role})")


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", "from_stdin", is_flag=True,
              help="Read the new password from standard input (one line) instead of asking for it.")
@as_option(help="The admin setting another user's password (a user sets their own without it).")
@pass_app
def user_password(app: AppContext, name: str, from_stdin: bool, actor: str | None) -> None:
    """Set a user's password for the web app (stored as an argon2 hash, never in clear).

    \b
    Example:
        screening user password alice                      # asks twice, hides what you type
        echo "$PASSWORD" | screening user password alice --password-stdin --as ann
    """
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = str(click.prompt("new password", hide_input=True, confirmation_prompt=True))
    with app.db.transaction() as s:
        set_password(s, name, password, actor=actor)
    echo(f"password of {name} set; their earlier sessions are signed out")


@user.command("list")
@json_option
@pass_app
def user_list(app: AppContext, as_json: bool) -> None:
    """The team, with each member's role.

    \b
    Example:
        screening user list --json
    """
    with app.db.read() as s:
        rows = [{"name": u.name, "role": u.role} for u in list_users(s)]
    if as_json:
        emit_json(rows)
    else:
        for r in rows:
            echo(f"{r['name']:20} {r['role']}")


@group("set")
def set_() -> None:
    """Screening sets (themes): their records, criteria and agreement gate.

    \b
    Example:
        screening set create access --search medline_ovid_2016 --criteria "..." --as pat
        screening set list
    """


@set_.command("create")
@click.argument("name")
@click.option("--search", "searches", multiple=True, metavar="NAME",
              help="A search whose kept records join (repeatable).")
@click.option("--all", "all_records", is_flag=True, help="Every kept record joins.")
@click.option("--criteria", help="Eligibility criteria, shown while screening.")
@click.option("--criteria-file", type=click.Path(exists=True, dir_okay=False),
              help="A file holding the eligibility criteria.")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def set_create(app: AppContext, name: str, searches: tuple[str, ...], all_records: bool, criteria: str | None,
               criteria_file: str | None, actor: str) -> None:
    """Create a set from searches (or --all kept records).

    \b
    Example:
        screening set create access --search medline_ovid_2016 --search cinahl_2016 --as pat
        screening set create everything --all --criteria-file criteria.md --as pat
    """
    if criteria_file:
        with open(criteria_file, encoding="utf-8-sig") as fh:
            criteria = fh.read()
    with app.db.transaction() as s:
        _, n = create_set(s, name, searches=list(searches), all_records=all_records, criteria=criteria, actor=actor)
    echo(f"set {name} created with {n} records")


@set_.command("add")
@click.argument("name")
@click.option("--record", "records", type=int, multiple=True, required=True, metavar="ID",
              help="A record id to add (repeatable).")
@click.option("--source", required=True, help='Where they came from: "grey literature", "citation chasing".')
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def set_add(app: AppContext, name: str, records: tuple[int, ...], source: str, actor: str) -> None:
    """Add existing records to a set by hand.

    \b
    Example:
        screening set add access --record 812 --record 901 --source "citation chasing" --as pat
    """
    with app.db.transaction() as s:
        n = add_records(s, name, list(records), source=source, actor=actor)
    echo(f"{n} record(s) added to {name}")


@set_.command("add-record")
@click.argument("name")
@click.option("--title", required=True, help="The record's title.")
@click.option("--source", required=True, help='Where it came from: "grey literature", "citation chasing".')
@click.option("--author", "authors", multiple=True, help="An author, as 'Surname, Given' (repeatable).")
@click.option("--year", type=int, help="Year of publication.")
@click.option("--journal", help="Journal or other source.")
@click.option("--doi", help="DOI, if it has one.")
@click.option("--abstract", help="The abstract, if any.")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def set_add_record(app: AppContext, name: str, title: str, source: str, authors: tuple[str, ...], year: int | None,
                   journal: str | None, doi: str | None, abstract: str | None, actor: str) -> None:
    """Create a record found outside the searches and add it to a set.

    \b
    Example:
        screening set add-record access --title "Access to GP care" --source "grey literature" \\
            --author "Smith, J" --year 2015 --as pat
    """
    with app.db.transaction() as s:
        rec = add_hand_record(s, name, title=title, source=source, authors=list(authors), year=year,
                              journal=journal, doi=doi, abstract=abstract, actor=actor)
        rid = rec.id
    echo(f"record {rid} added to {name} ({source})")


@set_.command("list")
@json_option
@pass_app
def set_list(app: AppContext, as_json: bool) -> None:
    """Sets with their size, sample and phase.

    \b
    Example:
        screening set list --json
    """
    with app.db.read() as s:
        rows = [r.as_dict() for r in summarise_sets(s)]
    if as_json:
        emit_json(rows)
    else:
        for r in rows:
            echo(f"{r['name']:20} {r['records']:>7} records ({r['by_hand']} by hand), "
                       f"{r['sampled']} in the test sample, {r['phase']} phase")


@set_.command("criteria")
@click.argument("name")
@click.argument("text")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def set_criteria_cmd(app: AppContext, name: str, text: str, actor: str) -> None:
    """Store a set's eligibility criteria (the change is recorded).

    \b
    Example:
        screening set criteria access "Primary studies of access to primary care." --as pat
    """
    with app.db.transaction() as s:
        set_criteria(s, name, text, actor=actor)
    echo(f"criteria of {name} updated")


@set_.command("settings")
@click.argument("name")
@click.option("--include-term", "include_terms", multiple=True, metavar="TERM",
              help="A term to highlight in green while screening (repeatable; replaces the list).")
@click.option("--exclude-term", "exclude_terms", multiple=True, metavar="TERM",
              help="A term to highlight in red while screening (repeatable; replaces the list).")
@click.option("--reason", "reasons", multiple=True, metavar="TEXT",
              help="An exclusion reason screeners choose from (repeatable; replaces the list).")
@as_option(required=True, help="The PI or admin acting (recorded).")
@json_option
@pass_app
def set_settings_cmd(app: AppContext, name: str, include_terms: tuple[str, ...], exclude_terms: tuple[str, ...],
                     reasons: tuple[str, ...], actor: str, as_json: bool) -> None:
    """Set the terms highlighted for a set's screeners and the exclusion reasons they choose from (recorded).

    \b
    Example:
        screening set settings access --include-term "primary care" --exclude-term hospital \\
            --reason "wrong setting" --reason "not a model of care" --as pat
    """
    with app.db.transaction() as s:
        new = set_settings(s, name, include_terms=list(include_terms) or None,
                           exclude_terms=list(exclude_terms) or None, reasons=list(reasons) or None, actor=actor)
    if as_json:
        emit_json(new.as_dict())
        return
    echo(f"settings of {name}: include terms {', '.join(new.include_terms) or '-'}; exclude terms "
         f"{', '.join(new.exclude_terms) or '-'}; reasons {'; '.join(new.reasons) or '-'}")


@set_.command("gate")
@click.argument("name")
@click.option("--statistic", type=click.Choice(list(STATISTICS)), help="The agreement statistic judged.")
@click.option("--threshold", type=float, help="The value the statistic must reach.")
@click.option("--min-items", type=int, help="At least this many items screened in pairs.")
@click.option("--last", "last_k", type=int, help="Judge the last K batches as well as the whole sample (default 1).")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def set_gate_cmd(app: AppContext, name: str, statistic: str | None, threshold: float | None, min_items: int | None,
                 last_k: int | None, actor: str) -> None:
    """Change the agreement gate of a set (recorded).

    \b
    Example:
        screening set gate access --statistic ac1 --threshold 0.7 --last 2 --as pat
    """
    change = {k: v for k, v in (("statistic", statistic), ("threshold", threshold), ("min_items", min_items),
                                ("last_k", last_k)) if v is not None}
    with app.db.transaction() as s:
        rule = set_gate(s, name, change, actor=actor)
    echo(f"gate of {name}: {rule.statistic} >= {rule.threshold} on the last {rule.last_k} batch(es) and the "
               f"whole sample, at least {rule.min_items} items")


@command()
@click.argument("set_name")
@click.option("--share", type=float, help="Share of the set to sample, e.g. 0.25.")
@click.option("--size", type=int, help="Exact sample size (overrides --share).")
@click.option("--batches", type=int, help="With --extend: how many more batches.")
@click.option("--batch-size", type=int, default=100, show_default=True, help="Records per batch.")
@click.option("--pairs", type=PAIRS, required=True, help="Screener pairs, e.g. a+b,a+c,b+c.")
@click.option("--seed", type=int, required=True, help="Stored with the sample: same seed, same sample.")
@click.option("--extend", is_flag=True, help="Draw more records into the existing sample.")
@as_option(required=True, help="The PI or admin acting (recorded).")
@pass_app
def sample(app: AppContext, set_name: str, share: float | None, size: int | None, batches: int | None,
           batch_size: int, pairs: list[tuple[str, str]], seed: int, extend: bool, actor: str) -> None:
    """Draw the test-screening sample of a set, cut into batches for the pairs.

    \b
    Example:
        screening sample access --share 0.25 --batch-size 100 --pairs alice+bob,alice+carol,bob+carol \\
            --seed 2016 --as pat
        screening sample access --extend --batches 2 --pairs alice+bob --seed 2017 --as pat
    """
    with app.db.transaction() as s:
        res = draw_sample(s, set_name, pairs=pairs, seed=seed, batch_size=batch_size,
                          share=share, size=size, batches=batches, extend=extend, actor=actor)
    echo(f"sampled {res.size} records of {set_name} (seed {res.seed}) in {len(res.batches)} batches:")
    for number, a, b, n in res.batches:
        echo(f"  batch {number}: {a} + {b}, {n} records")


COMMANDS = [user, set_, sample]
