"""`screening serve`: the web app on the same database the CLI uses."""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import select
import selectors
import signal
import socket
import time
from typing import Any

import click
import uvicorn

from screening.cli.base import AppContext, command, echo, pass_app
from screening.storage.db import database_url
from screening.web.app import create_app
from screening.web.workers import handed_worker

HAND_WAIT_S = 5.0  # how long a new connection waits for a worker with room in its channel


@command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: the network, behind HTTPS).")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes [default: one per core of this machine, at most 8].")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int | None) -> None:
    """Serve the web app (screening, conflicts, dashboards) on this review's database until stopped.

    \b
    Example:
        screening --db sqlite:///review.db serve --port 8000
        screening --db postgresql+psycopg://me@server/review serve --host 0.0.0.0 --workers 4
    """
    url = database_url(app.db_url)
    workers = workers or default_workers()
    database = app.db  # it must exist and have its schema: a clear error now, not at the first request
    echo(f"serving {url} on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    if workers == 1:
        uvicorn.run(create_app(database), host=host, port=port, log_level="warning")
    elif hasattr(socket, "send_fds"):
        serve_workers(url, host, port, workers)
    else:  # no descriptor passing (Windows): uvicorn's workers share one listening socket
        os.environ["SCREENING_DB"] = url
        uvicorn.run("screening.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


def default_workers() -> int:
    """One worker per core: a worker runs Python requests one at a time (the interpreter lock), so a
    second core serves a team only through a second worker (bench-web: 20 screeners on 2 cores, p95
    55-100 ms with one worker, under 50 ms with two on SQLite). Where connections cannot be handed
    to workers (Windows), one."""
    if not hasattr(socket, "send_fds"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


def serve_workers(url: str, host: str, port: int, workers: int) -> None:
    """``workers`` processes; this one accepts the connections and hands them out in turn.

    Screeners keep their connection open for the day, so how the first connections are spread
    decides each worker's load. uvicorn's workers share one socket, and whichever event loop wakes
    first accepts every connection waiting (18 of 20 screeners on one worker, measured); a socket
    per worker (SO_REUSEPORT) leaves it to a hash of the addresses, 13/7 or worse in a quarter of
    the runs. Here connection k goes to worker k mod N over a Unix socket (``SCM_RIGHTS``), and
    is then the worker's alone: requests do not pass through this process. A worker that dies is
    started again; Ctrl+C (or SIGTERM) stops them all.
    """
    try:  # a second `screening serve` on the port fails here, with a clear error
        listener = socket.socket(_family(host), socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # closed connections do not count
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}.") from None
    listener.setblocking(False)
    ctx = multiprocessing.get_context("spawn")

    def start() -> tuple[multiprocessing.process.BaseProcess, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # not daemonic: a daemonic process may not start children, and each worker retrains in one
        proc = ctx.Process(target=handed_worker, args=(url, theirs))
        proc.start()
        theirs.close()
        ours.setblocking(False)  # a worker that stops reading is passed over (see _hand)
        return proc, ours

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    pool = [start() for _ in range(workers)]
    turn = 0
    with selectors.DefaultSelector() as sel:
        sel.register(listener, selectors.EVENT_READ)
        while not stopping:
            if sel.select(timeout=0.2):
                while True:
                    try:
                        conn, _ = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    with conn:  # the worker has its own descriptor of it once sent
                        turn = _hand(conn, pool, turn)
            for i, (proc, channel) in enumerate(pool):
                if not proc.is_alive() and not stopping:
                    echo(f"worker {proc.pid} stopped (exit {proc.exitcode}); starting another", err=True)
                    channel.close()
                    pool[i] = start()
    listener.close()
    for proc, channel in pool:
        channel.close()  # the worker's end reads end-of-file: it stops (a signal too, to be sure)
        if proc.pid is not None and proc.is_alive():
            os.kill(proc.pid, signal.SIGINT)  # uvicorn finishes the requests under way
    for proc, _ in pool:
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def _hand(conn: socket.socket, pool: list[tuple[Any, socket.socket]], turn: int) -> int:
    """Send ``conn`` to the worker after ``turn`` that can take it; returns the one that did.

    A worker whose channel is full (it is busy, or hangs) is passed over; when every one is full
    this waits for one to have room (a burst of connections), for ``HAND_WAIT_S`` at most, then
    drops the connection (the browser retries)."""
    deadline = time.monotonic() + HAND_WAIT_S
    while True:
        full = []
        for _ in range(len(pool)):
            turn = (turn + 1) % len(pool)
            try:
                socket.send_fds(pool[turn][1], [b"c"], [conn.fileno()])
                return turn
            except BlockingIOError:
                full.append(pool[turn][1])
            except OSError:  # the worker is gone: the caller starts another
                continue
        left = deadline - time.monotonic()
        if not full or left <= 0:
            return turn
        select.select([], full, [], min(left, 0.1))  # until one of them has room


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


COMMANDS = [serve]
