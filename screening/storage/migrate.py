"""The schema's migrations: Alembic, configured in code.

Kept apart from :mod:`screening.storage.db` so that commands which only read or write a
database (and the web app's workers) do not import Alembic: it costs a fifth of a second of
start-up, which `screening simulate` and every short command would pay for nothing.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config

# The top-level migrations/ folder, installed as the package ``screening.migrations`` (see
# pyproject.toml), so a wheel carries it and `screening init` works from any directory.
MIGRATIONS = Path(str(files("screening.migrations")))


def alembic_config(url: str) -> Config:
    """Alembic's configuration built in code, so no alembic.ini has to be found at run time."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (``screening init``)."""
    command.upgrade(alembic_config(url), revision)
