"""`screening serve`: the web app on the same database the CLI uses."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time

import click
import uvicorn

from screening.cli.base import AppContext, command, echo, pass_app
from screening.storage.db import database_url
from screening.web.app import create_app


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
    elif hasattr(socket, "SO_REUSEPORT"):
        serve_workers(url, host, port, workers)
    else:  # no SO_REUSEPORT (Windows): uvicorn's workers share one listening socket
        os.environ["SCREENING_DB"] = url
        uvicorn.run("screening.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


def default_workers() -> int:
    """One worker per core: a worker runs Python requests one at a time (the interpreter lock), so a
    second core serves a team only through a second worker (bench-web: 20 screeners on 2 cores, p95
    55-90 ms with one worker, under 50 ms with two). Where the kernel cannot spread connections over
    workers' own sockets (no SO_REUSEPORT: Windows), one."""
    if not hasattr(socket, "SO_REUSEPORT"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket on ``host:port`` that other processes may bind too (SO_REUSEPORT)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def worker(url: str, host: str, port: int) -> None:
    """One worker process: its own listening socket, the app on the database at ``url``."""
    os.setpgrp()  # a Ctrl+C in the terminal reaches the supervisor alone, which stops each worker once
    os.environ["SCREENING_DB"] = url
    config = uvicorn.Config("screening.web.app:app_from_environment", factory=True, log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[listening_socket(host, port)])
    except KeyboardInterrupt:  # uvicorn raises the signal it stopped for again once it has finished
        pass


def serve_workers(url: str, host: str, port: int, workers: int) -> None:
    """``workers`` processes, each listening on its own SO_REUSEPORT socket.

    The kernel spreads new connections over the sockets evenly. uvicorn's own workers share one
    socket, and whichever event loop wakes first accepts every connection waiting: 20 screeners who
    connect together could land 18 on one worker and 2 on the other (measured), so one core did
    all the work. A worker that dies is started again; Ctrl+C (or SIGTERM) stops them all.
    """
    try:  # the port is free: a clear error now, not in each worker. Bound without SO_REUSEPORT: a
        # second `screening serve` on the port must fail, not share its screeners with the first.
        with socket.socket(_family(host)) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # closed connections do not count
            probe.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}.") from None
    ctx = multiprocessing.get_context("spawn")
    # not daemonic: a daemonic process may not start children, and each worker retrains in one of its own
    procs = [ctx.Process(target=worker, args=(url, host, port)) for _ in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for p in procs:
        p.start()
    while not stopping:
        time.sleep(0.2)
        for i, p in enumerate(procs):
            if not p.is_alive() and not stopping:
                echo(f"worker {p.pid} stopped (exit {p.exitcode}); starting another", err=True)
                procs[i] = ctx.Process(target=worker, args=(url, host, port))
                procs[i].start()
    for p in procs:
        if p.pid is not None and p.is_alive():
            os.kill(p.pid, signal.SIGINT)  # uvicorn finishes the requests under way
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()


COMMANDS = [serve]
