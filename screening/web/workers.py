"""A worker process of ``screening serve --workers N``: uvicorn serving the connections the
supervisor accepted and handed over (:func:`screening.cli.web.serve_workers` says why)."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
from types import FrameType

import uvicorn


class HandedConnections(uvicorn.Server):
    """uvicorn without a listening socket of its own: each connection arrives as a descriptor on
    ``channel`` (``SCM_RIGHTS``) and is served like one it accepted itself."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's lifespan; no socket to listen on
        if self.should_exit:
            return
        loop = asyncio.get_running_loop()
        protocol = functools.partial(self.config.http_protocol_class, config=self.config,  # type: ignore[call-arg]
                                     server_state=self.server_state, app_state=self.lifespan.state)
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._adopt, loop, protocol)

    def _adopt(self, loop: asyncio.AbstractEventLoop, protocol: functools.partial[asyncio.Protocol]) -> None:
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(self.channel, 1, 16)  # one connection a byte
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message:  # the supervisor is gone: finish the requests under way and stop
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                loop.create_task(loop.connect_accepted_socket(protocol, socket.socket(fileno=fd)))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Stop gracefully, whatever the signal and however often. The supervisor both closes the
        channel and signals, and uvicorn took a SIGINT after the channel's end for a second Ctrl+C:
        it forced the exit, skipped the app's shutdown, and the worker, its retraining process left
        running, waited for that process for ever. A worker has its own process group: only the
        supervisor signals it."""
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets)


def handed_worker(url: str, channel: socket.socket) -> None:
    """One worker process: the app on the database at ``url``, serving what arrives on ``channel``."""
    os.setpgrp()  # a Ctrl+C in the terminal reaches the supervisor alone, which stops each worker once
    os.environ["SCREENING_DB"] = url
    config = uvicorn.Config("screening.web.app:app_from_environment", factory=True, log_level="warning")
    try:
        HandedConnections(config, channel).run()
    except KeyboardInterrupt:  # a signal before uvicorn took over its handling
        pass
