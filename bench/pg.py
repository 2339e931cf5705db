"""A throwaway PostgreSQL server for the benchmarks, started the way .ci/run starts the tests' one.

Set ``SCREENING_BENCH_PG_URL`` to use a server of your own; otherwise, where Debian's PostgreSQL
is installed (``apt install postgresql``) and we run as root, a cluster is created in a temporary
folder, started on a free port and removed afterwards. Without either, the PostgreSQL half of a
benchmark is skipped, saying why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """Yield a base URL (``postgresql+psycopg://postgres@127.0.0.1:PORT``) or None with a note printed."""
    given = os.environ.get("SCREENING_BENCH_PG_URL")
    if given:
        yield given.rsplit("/", 1)[0]
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or os.geteuid() != 0 or shutil.which("su") is None:
        print("PostgreSQL: skipped (no server: install Debian's postgresql and run as root, "
              "or set SCREENING_BENCH_PG_URL)")
        yield None
        return
    pgbin = bins[-1]
    data = tempfile.mkdtemp(prefix="bench-pg-")
    shutil.chown(data, "postgres", "postgres")
    port = _free_port()

    def su(cmd: str) -> None:
        subprocess.run(["su", "postgres", "-c", cmd], check=True, capture_output=True)

    su(f"{pgbin}/initdb -D {data} -A trust -U postgres")
    su(f"{pgbin}/pg_ctl -D {data} -o '-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200' "
       f"-l {data}/log -w start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        su(f"{pgbin}/pg_ctl -D {data} -m fast stop")
        shutil.rmtree(data, ignore_errors=True)


def create_database(base: str, name: str) -> str:
    """A fresh database on the server; returns its URL."""
    import psycopg

    host_url = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{host_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
