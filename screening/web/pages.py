"""The browser pages: sign-in, the screener's screening page, the PI's dashboard, conflicts and
debriefs, the information specialist's searches, uploads and dedup queue, the admin's team page.

Every route reads the request, makes one library call in one transaction and renders a template
(or an htmx fragment). Who may see or do what is the library's decision: a route passes the
signed-in user's name and renders what it gets back, or the error it raised.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from screening.dedup.service import last_run, pending_pairs
from screening.errors import InputFileError, InvalidValue
from screening.prioritise.service import progress
from screening.records.files import FileStore, store_root
from screening.records.ingest import import_files
from screening.records.searches import list_searches
from screening.reports.bundle import write_bundle
from screening.reports.dashboard import set_dashboard
from screening.reports.debrief import debrief
from screening.reports.plots import agreement_png, progress_png
from screening.reports.prisma import prisma_counts, render_prisma
from screening.review.conflicts import conflicts, resolve
from screening.review.decisions import record_decision, retract_last
from screening.review.fulltext import may_record_report, record_report, report_of
from screening.review.gate import gate_rule
from screening.review.merges import answer, deduplicate
from screening.review.phase import move_to_single
from screening.review.queue import next_record
from screening.review.ratings import agreement_by
from screening.review.sets import SetSettings, get_set, set_settings, summarise_sets
from screening.storage.models import Record
from screening.team.auth import FAILURE_DELAY, SignInFailed, set_password, sign_out
from screening.team.users import MANAGERS, add_user, list_users, manager
from screening.web.render import render
from screening.web.security import LOGIN_COOKIE, SESSION_COOKIE, attempt_sign_in, db_of, identify, new_login_secret
from screening.web.threads import grouped, write

MAX_UPLOAD_BYTES = 512 << 20  # a database export of half a gigabyte is already unusual


def me(request: Request, session: Any) -> str:
    """The signed-in user's name (401 when not signed in: pages then send the browser to /login)."""
    identity = identify(request, session)
    assert identity is not None
    return identity.name


async def read_form(request: Request) -> FormData:
    """The posted form; its CSRF field is checked with the session when the user is identified."""
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    request.state.form_csrf = form.get("csrf")
    return form


def field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def number(form: FormData, name: str) -> int:
    """An integer field of a form (a record id), or a 400 naming it."""
    value = field(form, name)
    if value is None or not value.lstrip("-").isdigit():
        raise InvalidValue(name, f"{name} must be a whole number, not {value!r}.")
    return int(value)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# --- signing in ----------------------------------------------------------------------------------

def login_page(request: Request) -> Response:
    secret = new_login_secret()
    response = render(request, "login.html", login_csrf=secret, next=request.query_params.get("next", "/"),
                      error=None)
    response.set_cookie(LOGIN_COOKIE, secret, httponly=True, samesite="strict", max_age=3600)
    return response


async def login(request: Request) -> Response:
    form = await request.form()
    sent, expected = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
    if not expected or sent != expected:
        raise HTTPException(403, "the sign-in form is out of date; reload the page and try again.")
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # only our own pages: never an open redirect

    def work() -> Any:
        return attempt_sign_in(db_of(request), str(form.get("username") or ""), str(form.get("password") or ""),
                               kind="session")

    try:
        signed = await write(request, work)
    except SignInFailed as exc:
        await asyncio.sleep(FAILURE_DELAY)
        secret = new_login_secret()
        page = render(request, "login.html", status=401, login_csrf=secret, next=target, error=str(exc))
        page.set_cookie(LOGIN_COOKIE, secret, httponly=True, samesite="strict", max_age=3600)
        return page
    response = redirect(target)
    response.set_cookie(SESSION_COOKIE, signed.token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    response.delete_cookie(LOGIN_COOKIE)
    return response


async def logout(request: Request) -> Response:
    await read_form(request)

    def work() -> None:
        with db_of(request).transaction() as s:
            identify(request, s)
            sign_out(s, request.cookies.get(SESSION_COOKIE))

    await write(request, work)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def home(request: Request) -> Response:
    with db_of(request).read() as s:
        name = me(request, s)
        sets = summarise_sets(s)
        role = request.state.identity.role
    return render(request, "home.html", sets=sets, manager=role in MANAGERS, admin=role == "admin", user=name)


# --- the screener's page -------------------------------------------------------------------------

def _screening(request: Request, set_name: str) -> dict[str, Any]:
    """What the screening page shows: the set's settings, the next record and, at full text, its report."""
    with db_of(request).read() as s:
        name = me(request, s)
        st = get_set(s, set_name)
        nxt = next_record(s, name, set_name)
        report = report_of(s, set_name, nxt.item.record_id, name) if nxt.item and st.stage == "full_text" else None
        return {"set_name": set_name, "settings": SetSettings.of(st), "criteria": st.criteria, "nxt": nxt,
                "full_text": st.stage == "full_text", "report": report}


def screen_page(request: Request) -> Response:
    return render(request, "screen.html", **_screening(request, request.path_params["name"]))


def _record_fragment(request: Request, set_name: str, message: str | None = None) -> Response:
    return render(request, "_record.html", message=message, **_screening(request, set_name))


def report_file(request: Request) -> Response:
    """The full text of a report, for its screeners, a PI or an admin."""
    set_name, rid = request.path_params["name"], int(request.path_params["rid"])
    with db_of(request).read() as s:
        state = report_of(s, set_name, rid, me(request, s))
    if not state.file_sha256:
        raise HTTPException(404, f"no file is attached to report {rid}.")
    path = FileStore(store_root(db_of(request).url)).get(state.file_sha256)
    return FileResponse(path, media_type="application/pdf", filename=state.file_name or f"{rid}.pdf")


async def report_post(request: Request) -> Response:
    """Record a report's retrieval (and store its file) from the screening page."""
    set_name, rid = request.path_params["name"], int(request.path_params["rid"])
    form = await read_form(request)
    upload = form.get("file")
    sha = name = None

    def allowed() -> None:  # before the file is stored: no one else may fill the store
        with db_of(request).read() as s:
            may_record_report(s, set_name, rid, me(request, s))

    await run_in_threadpool(allowed)
    if isinstance(upload, UploadFile) and upload.filename:
        with tempfile.TemporaryDirectory(prefix="screening-upload-") as folder:
            path = Path(folder) / (Path(upload.filename).name or "report")  # an error names the user's file
            path.write_bytes(await upload.read())
            sha = FileStore(store_root(db_of(request).url)).put(path)
        name = Path(upload.filename).name

    def work() -> None:
        with db_of(request).transaction() as s:
            record_report(s, set_name, rid, field(form, "status") or ("retrieved" if sha else ""),
                          actor=me(request, s), reason=field(form, "reason"), file_sha256=sha, file_name=name)

    await write(request, work)
    return redirect(f"/sets/{quote(set_name)}/screen")


async def decide(request: Request) -> Response:
    set_name = request.path_params["name"]
    form = await read_form(request)

    def work(s: Session) -> bool:
        d = record_decision(s, me(request, s), number(form, "record_id"), field(form, "decision") or "",
                            reason=field(form, "reason"), note=field(form, "note"), set_name=set_name)
        return d.phase == "single"

    if await grouped(request, work):
        request.app.state.retrainer.poke(set_name)
    message = f"record {number(form, 'record_id')}: {field(form, 'decision')}"
    if not htmx(request):
        return redirect(f"/sets/{quote(set_name)}/screen")
    return await run_in_threadpool(_record_fragment, request, set_name, message)


async def undo(request: Request) -> Response:
    set_name = request.path_params["name"]
    await read_form(request)

    def work() -> str:
        with db_of(request).transaction() as s:
            d = retract_last(s, me(request, s), set_name=set_name)
            return f"withdrew your {d.decision} on record {d.record_id}" if d else "nothing to undo"

    message = await write(request, work)
    if not htmx(request):
        return redirect(f"/sets/{quote(set_name)}/screen")
    return await run_in_threadpool(_record_fragment, request, set_name, message)


# --- the PI's pages ------------------------------------------------------------------------------

def dashboard(request: Request) -> Response:
    set_name = request.path_params["name"]
    with db_of(request).read() as s:
        board = set_dashboard(s, set_name, me(request, s))
    return render(request, "dashboard.html", board=board, set_name=set_name)


def agreement_plot(request: Request) -> Response:
    set_name = request.path_params["name"]
    with db_of(request).read() as s:
        entries = agreement_by(s, set_name, "batch", None, me(request, s))
        rule = gate_rule(get_set(s, set_name))
    return Response(agreement_png(entries, rule), media_type="image/png")


def recall_plot(request: Request) -> Response:
    set_name = request.path_params["name"]
    with db_of(request).read() as s:
        manager(s, me(request, s), action="see a set's dashboard")  # the dashboard's right to look
        est, ordered = progress(s, set_name)
    return Response(progress_png(ordered, est.total, est), media_type="image/png")


def prisma_svg(request: Request) -> Response:
    """The PRISMA 2020 diagram of the review (or of one set), for a PI or admin."""
    set_name = request.path_params.get("name")
    with db_of(request).snapshot() as s:
        manager(s, me(request, s), action="see the PRISMA diagram")
        svg = render_prisma(prisma_counts(s, set_name), "svg")
    return Response(svg, media_type="image/svg+xml")


def bundle_zip(request: Request) -> Response:
    """The report bundle a PI sends to co-authors, as one zip file."""
    with tempfile.TemporaryDirectory(prefix="screening-bundle-") as folder:
        with db_of(request).snapshot() as s:
            manager(s, me(request, s), action="download the report bundle")
            write_bundle(s, folder)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    z.write(path, f"screening-report/{path.relative_to(folder)}")
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"content-disposition": 'attachment; filename="screening-report.zip"'})


def conflicts_page(request: Request) -> Response:
    set_name = request.path_params["name"]
    with db_of(request).read() as s:
        cases = conflicts(s, set_name, me(request, s))
        record = s.get(Record, cases[0].record_id) if cases else None
        st = get_set(s, set_name)
        reasons = SetSettings.of(st).reasons if st.stage == "full_text" else []
    return render(request, "conflicts.html", set_name=set_name, cases=cases, record=record, reasons=reasons)


async def resolve_page(request: Request) -> Response:
    set_name = request.path_params["name"]
    form = await read_form(request)

    def work() -> None:
        with db_of(request).transaction() as s:
            resolve(s, me(request, s), number(form, "record_id"), field(form, "decision") or "",
                    note=field(form, "note"), reason=field(form, "reason"), set_name=set_name,
                    override=field(form, "override"))

    await write(request, work)
    return redirect(f"/sets/{quote(set_name)}/conflicts")


def debrief_page(request: Request) -> Response:
    set_name, batch = request.path_params["name"], int(request.path_params["batch"])
    with db_of(request).read() as s:
        items = debrief(s, set_name, batch, me(request, s))
    return render(request, "debrief.html", set_name=set_name, batch=batch, items=items)


async def phase_page(request: Request) -> Response:
    set_name = request.path_params["name"]
    form = await read_form(request)

    def work() -> None:
        with db_of(request).transaction() as s:
            move_to_single(s, set_name, me(request, s), force=bool(field(form, "force")), reason=field(form, "reason"))

    await write(request, work)
    return redirect(f"/sets/{quote(set_name)}")


async def settings_page(request: Request) -> Response:
    set_name = request.path_params["name"]
    form = await read_form(request)

    def lines(key: str) -> list[str]:
        return [x for x in (field(form, key) or "").splitlines() if x.strip()]

    def work() -> None:
        with db_of(request).transaction() as s:
            set_settings(s, set_name, include_terms=lines("include_terms"), exclude_terms=lines("exclude_terms"),
                         reasons=lines("reasons"), actor=me(request, s))

    await write(request, work)
    return redirect(f"/sets/{quote(set_name)}")


# --- the information specialist's pages ----------------------------------------------------------

def searches_page(request: Request) -> Response:
    with db_of(request).read() as s:
        rows = list_searches(s, me(request, s))
    return render(request, "searches.html", searches=rows, result=None)


async def upload(request: Request) -> Response:
    search = request.path_params["name"]
    form = await read_form(request)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    with tempfile.TemporaryDirectory(prefix="screening-upload-") as folder:
        paths = []
        for i, f in enumerate(files):
            path = Path(folder) / f"{i}-{Path(f.filename or 'export').name}"
            path.write_bytes(await f.read())
            paths.append(str(path))

        def work() -> Any:
            with db_of(request).transaction() as s:
                list_searches(s, me(request, s))  # a PI or admin only
                report = import_files(s, search, paths)
            return report

        if not paths:
            raise HTTPException(400, "choose one or more export files to upload.")
        try:
            report = await write(request, work)
        except InputFileError as exc:  # name the file as the user knows it, not our temporary copy
            shown = next((f.filename for p, f in zip(paths, files, strict=True) if p == exc.path), exc.path)
            raise InputFileError(shown or exc.path, exc.problem, line=exc.line, hint=exc.hint) from None
    with db_of(request).read() as s:
        rows = list_searches(s, me(request, s))
    names = {p: f.filename for p, f in zip(paths, files, strict=True)}
    return render(request, "searches.html", searches=rows, result=report, names=names)


def dedup_page(request: Request) -> Response:
    with db_of(request).read() as s:
        pairs = pending_pairs(s, me(request, s))
        run = last_run(s)
        shown = [s.get(Record, x) for p in pairs[:1] for x in (p.record_a, p.record_b)]
    return render(request, "dedup.html", pairs=pairs, run=run, shown=shown)


async def dedup_answer(request: Request) -> Response:
    form = await read_form(request)

    def work() -> None:
        with db_of(request).transaction() as s:
            name = me(request, s)
            choice = field(form, "answer")
            if choice in ("y", "n"):
                answer(s, number(form, "a"), number(form, "b"), choice == "y", by=name)
            if field(form, "rerun"):
                manager(s, name, action="run dedup")
                deduplicate(s)

    await write(request, work)
    return redirect("/dedup")


# --- the admin's page ----------------------------------------------------------------------------

def users_page(request: Request) -> Response:
    with db_of(request).read() as s:
        users = list_users(s, me(request, s))
    return render(request, "users.html", users=users)


async def users_post(request: Request) -> Response:
    form = await read_form(request)

    def work() -> None:
        with db_of(request).transaction() as s:
            name = me(request, s)
            if field(form, "action") == "add":
                add_user(s, field(form, "name") or "", field(form, "role") or "", actor=name)
            if field(form, "password"):
                set_password(s, field(form, "name") or "", field(form, "password") or "", actor=name)

    await write(request, work)
    return redirect("/users")


def page(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A page that sends a browser without a session to the sign-in form instead of a 401."""
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def wrapped_async(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except HTTPException as exc:
                if exc.status_code == 401:
                    return redirect(f"/login?next={quote(request.url.path)}")
                raise
        return wrapped_async

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await run_in_threadpool(handler, request)
            return response
        except HTTPException as exc:
            if exc.status_code == 401:
                return redirect(f"/login?next={quote(request.url.path)}")
            raise
    return wrapped


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", page(logout), methods=["POST"]),
    Route("/", page(home), methods=["GET"]),
    Route("/sets/{name}/screen", page(screen_page), methods=["GET"]),
    Route("/sets/{name}/decide", page(decide), methods=["POST"]),
    Route("/sets/{name}/undo", page(undo), methods=["POST"]),
    Route("/sets/{name}/reports/{rid:int}/file", page(report_file), methods=["GET"]),
    Route("/sets/{name}/reports/{rid:int}", page(report_post), methods=["POST"]),
    Route("/sets/{name}", page(dashboard), methods=["GET"]),
    Route("/sets/{name}/agreement.png", page(agreement_plot), methods=["GET"]),
    Route("/sets/{name}/recall.png", page(recall_plot), methods=["GET"]),
    Route("/sets/{name}/conflicts", page(conflicts_page), methods=["GET"]),
    Route("/sets/{name}/prisma.svg", page(prisma_svg), methods=["GET"]),
    Route("/prisma.svg", page(prisma_svg), methods=["GET"]),
    Route("/bundle.zip", page(bundle_zip), methods=["GET"]),
    Route("/sets/{name}/resolve", page(resolve_page), methods=["POST"]),
    Route("/sets/{name}/debrief/{batch:int}", page(debrief_page), methods=["GET"]),
    Route("/sets/{name}/phase", page(phase_page), methods=["POST"]),
    Route("/sets/{name}/settings", page(settings_page), methods=["POST"]),
    Route("/searches", page(searches_page), methods=["GET"]),
    Route("/searches/{name}/import", page(upload), methods=["POST"]),
    Route("/dedup", page(dedup_page), methods=["GET"]),
    Route("/dedup", page(dedup_answer), methods=["POST"]),
    Route("/users", page(users_page), methods=["GET"]),
    Route("/users", page(users_post), methods=["POST"]),
]
