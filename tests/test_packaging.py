"""The package as a user installs it: a built wheel carries the migrations and creates a database."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_a_wheel_carries_the_migrations_and_init_works_from_any_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # built from a copy of the sources: setuptools reuses the checkout's build/ folder, where a migration
    # renamed or removed since the last build stays and is packed beside its successor
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db", "*.db-*",
        "*.sqlite"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(source)], check=True, capture_output=True)
    wheel = next(dist.glob("screening-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {n for n in names if n.startswith("screening/migrations/")}
    assert {"screening/migrations/env.py", "screening/migrations/script.py.mako"} <= migrations
    assert any(n.startswith("screening/migrations/versions/0001_") for n in migrations)
    assert "screening/py.typed" in names and "screening/demo/pubmed_dinosaur.nbib" in names
    # the wheel's package, unpacked alone, with this environment's dependencies, run from elsewhere
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import sys, screening; assert screening.__file__.startswith(sys.argv[1]), screening.__file__; "
            "from screening.cli import cli; cli(sys.argv[2:])")
    out = subprocess.run([sys.executable, "-c", code, str(site), "--db", "sqlite:///x.db", "init"], cwd=elsewhere,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "database ready" in out.stdout and (elsewhere / "x.db").stat().st_size > 0
