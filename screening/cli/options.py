"""Options shared by many commands, defined once (sqlite-utils' ``output_options`` pattern)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print exactly one JSON document on standard output (undefined values are null).")


def as_option(*, required: bool = False, help: str | None = None) -> Callable[[F], F]:
    """``--as NAME``: the acting user, recorded with every change; the library checks their role."""
    return click.option("--as", "actor", required=required, metavar="NAME",
                        help=help or "Who is acting: a user name (see `screening user list`).")


def set_option(*, required: bool = False, help: str | None = None) -> Callable[[F], F]:
    """``--set NAME``: the screening set meant, when a record or user has several."""
    return click.option("--set", "set_name", required=required, metavar="NAME",
                        help=help or "The screening set (needed when the record or user is in several).")


def format_option(choices: tuple[str, ...] | list[str], *, default: str | None = None,
                  help: str = "Output format.") -> Callable[[F], F]:
    """``--format``: how a report is written."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        required=default is None, show_default=default is not None, help=help)
