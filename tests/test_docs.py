"""Meta-tests: every command and option is documented, every command has an example and is in the README."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import click
import pytest

from conftest import REPO
from screening.cli import cli
from screening.cli.base import ScreeningCommand, ScreeningGroup


def walk(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from walk(command, path + " ")


COMMANDS = list(walk(cli))
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_tree_is_walked() -> None:
    assert len(COMMANDS) >= 30 and "search add" in dict(COMMANDS)


def test_every_command_module_is_listed_once() -> None:
    """The top-level group imports commands lazily from COMMAND_MODULES: a command added to a
    module's COMMANDS but not to the table would be unreachable."""
    from screening.cli import COMMAND_MODULES

    listed = {}
    for module in sorted(set(COMMAND_MODULES.values())):
        for command in importlib.import_module(f"screening.cli.{module}").COMMANDS:
            assert command.name not in listed, command.name
            listed[command.name] = module
    assert listed == COMMAND_MODULES


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help_an_example_and_the_error_boundary(path: str, command: click.Command) -> None:
    text = inspect.cleandoc(command.help or "")
    assert len(text.split("\n")[0]) > 20, f"`screening {path}` has no help text"
    assert "\b\nExample:\n" in text, f"`screening {path}` has no \\b example block"
    assert path in text.split("Example:")[1], f"the example of {path} does not run it"
    cls = ScreeningGroup if isinstance(command, click.Group) else ScreeningCommand
    assert isinstance(command, cls), f"`screening {path}` is not made with screening.cli.base.command/group"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_option_has_help(path: str, command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"`screening {path}` option {param.opts[0]} has no help"


@pytest.mark.parametrize("path", [p for p, c in COMMANDS if not isinstance(c, click.Group) or not c.commands])
def test_every_command_is_in_the_readme(path: str) -> None:
    assert f"screening {path}" in README, f"`screening {path}` is not shown in README.md"
