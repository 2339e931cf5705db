"""Shared fixtures.

The schema is built once per session by ``alembic upgrade head`` into a template SQLite
file, and each test gets its own copy: as fast as ``create_all`` but on the migrated schema.
Set ``SCREENING_TEST_PG_URL`` to also run the tests marked ``postgres`` on a real server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from screening.storage.db import Database, upgrade

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _feature_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking caches TF-IDF matrices on disk; tests keep theirs out of the home folder."""
    monkeypatch.setenv("SCREENING_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for one test."""
    path = tmp_path / "screening.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


class Cli:
    """Runs the real `screening` command (in process) against one database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: object, input: str | None = None, ok: bool = True):
        from screening.cli import cli

        result = self.runner.invoke(cli, [str(a) for a in args], input=input,
                                    env={"SCREENING_DB": self.url}, catch_exceptions=not ok)
        if ok and result.exit_code != 0:
            raise AssertionError(f"screening {' '.join(map(str, args))} exited {result.exit_code}:\n"
                                 f"{result.output}")
        return result


@pytest.fixture
def run(db_url: str) -> Cli:
    """Call the CLI: ``run("import", path, "--search", "s1")``; ``ok=False`` for expected failures."""
    return Cli(db_url)


def pg_url() -> str | None:
    return os.environ.get("SCREENING_TEST_PG_URL")
