"""The JSON API under ``/api`` (CONTRACT.md, section Web): token login, my next record, a decision,
conflicts, resolve, status. Each route is one library call; errors are ``{"error": message}``."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from screening.errors import InvalidValue
from screening.review.conflicts import conflicts, resolve
from screening.review.decisions import record_decision
from screening.review.queue import next_record
from screening.review.status import set_status
from screening.storage.models import ScreeningSet
from screening.team.auth import FAILURE_DELAY, SignInFailed
from screening.web.security import attempt_sign_in, db_of, identify
from screening.web.threads import grouped, write, yield_to_writes


async def body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise InvalidValue("body", "the request body is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidValue("body", "the request body must be a JSON object.")
    return data


def text(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidValue(key, f"{key!r} is required.")
        return None
    if not isinstance(value, str):
        raise InvalidValue(key, f"{key!r} must be a string.")
    return value


def number(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(key, f"{key!r} must be an integer record id.")
    return value


def clean(data: Any) -> Any:
    """JSON without NaN: undefined statistics are null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: clean(v) for k, v in data.items()}
    if isinstance(data, list):
        return [clean(v) for v in data]
    return data


async def login(request: Request) -> Response:
    data = await body(request)

    def work() -> Response:
        signed = attempt_sign_in(db_of(request), text(data, "username") or "", text(data, "password") or "",
                                 kind="api")
        return JSONResponse({"token": signed.token, "user": signed.user, "role": signed.role})

    try:
        return await write(request, work)
    except SignInFailed:
        await asyncio.sleep(FAILURE_DELAY)  # a wrong password costs time: guessing is slow
        raise


def queue(request: Request) -> Response:
    yield_to_writes(request)
    with db_of(request).read() as s:
        me = identify(request, s)
        assert me is not None
        nxt = next_record(s, me.name, request.query_params.get("set") or "")
        out = nxt.as_dict()
    record = out["record"]
    if record is not None:  # the contract's keys first; nothing about other users' decisions
        out["record"] = {k: record[k] for k in ("record_id", "title", "abstract", "batch", "authors", "year",
                                                 "journal", "keywords", "phase", "score", "related", "retracted")}
    return JSONResponse(clean(out))


async def decide(request: Request) -> Response:
    data = await body(request)

    def work(s: Session) -> tuple[int, bool, str]:
        me = identify(request, s)
        assert me is not None
        d = record_decision(s, me.name, number(data, "record_id"), text(data, "decision") or "",
                            reason=text(data, "reason", required=False), note=text(data, "note", required=False),
                            set_name=text(data, "set", required=False))
        return d.id, d.phase == "single", s.get_one(ScreeningSet, d.set_id).name

    decision_id, single, set_name = await grouped(request, work)
    if single:
        request.app.state.retrainer.poke(set_name)
    return JSONResponse({"decision_id": decision_id}, status_code=201)


def list_conflicts(request: Request) -> Response:
    with db_of(request).read() as s:
        me = identify(request, s)
        assert me is not None
        cases = [c.as_dict() for c in conflicts(s, request.query_params.get("set") or "", me.name)]
    return JSONResponse(clean(cases))


async def resolve_conflict(request: Request) -> Response:
    data = await body(request)

    def work() -> Response:
        with db_of(request).transaction() as s:
            me = identify(request, s)
            assert me is not None
            d = resolve(s, me.name, number(data, "record_id"), text(data, "decision") or "",
                        note=text(data, "note", required=False), reason=text(data, "reason", required=False),
                        set_name=text(data, "set", required=False), override=text(data, "override", required=False))
            out = {"decision_id": d.id, "record_id": d.record_id, "decision": d.decision}
        return JSONResponse(out)

    return await write(request, work)


def status(request: Request) -> Response:
    with db_of(request).read() as s:
        me = identify(request, s)
        assert me is not None
        out = set_status(s, request.query_params.get("set") or "", me.name)
    return JSONResponse(clean(out))


ROUTES = [
    Route("/api/login", login, methods=["POST"]),
    Route("/api/queue", queue, methods=["GET"]),
    Route("/api/decisions", decide, methods=["POST"]),
    Route("/api/conflicts", list_conflicts, methods=["GET"]),
    Route("/api/resolve", resolve_conflict, methods=["POST"]),
    Route("/api/status", status, methods=["GET"]),
]
