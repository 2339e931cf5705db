"""The web app end to end in a real browser (Chromium driven by Playwright).

The real server (`screening serve`) runs as a subprocess on a migrated SQLite copy. Two
screeners screen the same test batch at the same time, keyboard only, their key presses
interleaved; at every step neither page shows anything of the partner's decisions. The PI then
resolves exactly the disagreements on the conflicts page, and the dashboard's kappa matches
`screening agreement --json`. Screenshots of the screening page and the dashboard are written
to docs/screenshots/ for the documentation.

Skipped where Chromium or Playwright is absent (Playwright's own browser download is not used:
the system's `chromium` is launched).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import DEMO, REPO, Cli
from screening.review.sets import set_settings
from screening.storage.db import Database
from screening.storage.models import Decision, User

CHROMIUM = shutil.which("chromium")
try:
    from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

pytestmark = [
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="playwright (Python package) is not installed"),
    pytest.mark.skipif(CHROMIUM is None, reason="no `chromium` executable on PATH"),
]

SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SET = "dino"
PASSWORDS = {u: f"correct-horse-{u}" for u in ("alice", "bob", "pat")}
INCLUDE_TERMS = ["dinosaur", "dinosaurs", "feathers", "evolution"]
EXCLUDE_TERMS = ["surgery", "amphibian", "review"]
REASONS = ["not primary research", "not about dinosaurs", "wrong outcome"]

# What each screener decides, by the record's position among the batch's record ids (sorted):
# they disagree on positions 1 and 5, and both say maybe on 6 (a maybe always goes to the PI).
PLAN = {
    "alice": ["include", "include", "exclude", "exclude", "include", "exclude", "maybe", "include"],
    "bob": ["include", "exclude", "exclude", "exclude", "include", "include", "maybe", "include"],
}
BATCH = len(PLAN["alice"])


def marker(user: str, record_id: int) -> str:
    """The note a screener types on a record: unique, so it can be looked for in any page."""
    return f"zq-{user}-{record_id}-note"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the review and the server -------------------------------------------------------------------

@pytest.fixture
def review(db_url: str) -> str:
    """Screeners alice and bob, PI pat (with passwords); the 50 PubMed demo records in set dino, a
    test batch of 8 for alice+bob; highlighted terms and exclusion reasons. Returns the URL."""
    run = Cli(db_url)
    run("search", "add", "demo_pubmed", "--database", "PubMed", "--interface", "PubMed")
    run("import", DEMO / "pubmed_dinosaur.nbib", "--search", "demo_pubmed")
    for name, role in (("alice", "screener"), ("bob", "screener"), ("pat", "pi")):
        run("user", "add", name, "--role", role)
        run("user", "password", name, "--password-stdin", input=PASSWORDS[name] + "\n")
    run("set", "create", SET, "--all", "--as", "pat",
        "--criteria", "Include: primary studies of dinosaur biology or evolution.\n"
                      "Exclude: reviews, commentaries, studies of living animals only.")
    run("sample", SET, "--size", BATCH, "--batch-size", BATCH, "--pairs", "alice+bob", "--seed", 3, "--as", "pat")
    db = Database(db_url)
    try:
        with db.transaction() as s:
            set_settings(s, SET, include_terms=INCLUDE_TERMS, exclude_terms=EXCLUDE_TERMS, reasons=REASONS,
                         actor="pat")
    finally:
        db.dispose()
    return db_url


@pytest.fixture
def server(review: str, tmp_path: Path) -> Iterator[str]:
    """`screening serve` on a free loopback port, until the test ends; yields its base URL."""
    port = free_port()
    log = open(tmp_path / "server.log", "w+b")  # closed below, read on failure
    proc = subprocess.Popen([sys.executable, "-m", "screening", "--db", review, "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"screening serve exited {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("screening serve did not answer /login within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
        if "Traceback" in output:
            pytest.fail(f"the server logged a traceback:\n{output}")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic"])
        try:
            yield b
        finally:
            b.close()


# --- helpers -------------------------------------------------------------------------------------

class Watched:
    """A signed-in page that collects the browser's script errors and console errors (CSP included)."""

    def __init__(self, browser: Browser, base: str, user: str) -> None:
        self.user = user
        self.context = browser.new_context(viewport=VIEWPORT, base_url=base)
        self.context.set_default_timeout(15_000)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"{user}: {exc}"))
        self.page.on("console", lambda m: self.errors.append(f"{user}: {m.text} {m.location['url']}")
                     if m.type == "error" else None)
        self.page.goto("/login?next=" + f"/sets/{SET}/" + ("conflicts" if user == "pat" else "screen"))
        self.page.fill("input[name=username]", user)
        self.page.fill("input[name=password]", PASSWORDS[user])
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        assert "/login" not in self.page.url, self.page.content()

    def record_id(self) -> int | None:
        value = self.page.evaluate("() => document.querySelector('[data-record-id]')?.dataset.recordId ?? null")
        return None if value is None else int(value)

    def wait_for_change(self, old: int) -> None:
        """The decision was posted and the next record (or the end of the queue) swapped in."""
        self.page.wait_for_function(
            "old => (document.querySelector('[data-record-id]')?.dataset.recordId ?? null) !== old", arg=str(old))

    def focused(self) -> str | None:
        """The id of the element with the keyboard focus (None: the page itself)."""
        value = self.page.evaluate("() => document.activeElement === document.body ? null : document.activeElement.id")
        return None if value is None else str(value)

    def progress(self) -> str:
        return self.page.inner_text("#record .progress span")


def keys_for(user: str, decision: str, record_id: int, position: int) -> tuple[list[str], str | None]:
    """The keys that decide ``record_id`` with a note (and, for an exclusion, a reason); and that reason.

    A key is a Playwright key name, or ``"type:TEXT"`` for text typed into the focused field."""
    keys = ["n", f"type:{marker(user, record_id)}", "Escape"]
    reason = None
    if decision == "exclude":
        pick = 1 + position % len(REASONS)  # the first option is "(none)"
        reason = REASONS[pick - 1]
        keys += ["r", *["ArrowDown"] * pick, "Escape"]
    keys.append(decision[0])
    return keys, reason


def press(w: Watched, key: str, record_id: int, reason: str | None) -> None:
    """One key on the screening page, and what it must have done (or must find) on that page."""
    if key.startswith("type:"):
        w.page.keyboard.type(key[5:])
        return
    if key in ("i", "e", "m"):  # the decision: the note and reason are set, no field has the focus
        assert w.page.eval_on_selector("#note", "e => e.value") == marker(w.user, record_id)
        assert w.page.eval_on_selector("#reason", "e => e.value") == (reason or "")
        assert w.focused() is None, f"{w.user}: {w.focused()} kept the focus"
    w.page.keyboard.press(key)
    if key in ("n", "r", "Escape"):
        assert w.focused() == {"n": "note", "r": "reason", "Escape": None}[key], (w.user, key, w.focused())


def assert_blind(viewer: Watched, partner: str, own_done: int) -> None:
    """Nothing of the partner's work on the viewer's page: no note, no name, no count but their own."""
    html = viewer.page.content()
    assert f"zq-{partner}-" not in html, f"{viewer.user} sees a note of {partner}"
    assert not re.search(rf"\b{partner}\b", html, re.IGNORECASE), f"{viewer.user}'s page names {partner}"
    assert viewer.progress() == f"{SET}: {own_done} of {BATCH} done", viewer.progress()


def access_key(w: Watched, letter: str) -> None:
    """Alt+letter as the OS sends it (key down, then the character): Chromium then activates the
    element with that access key. Playwright's ``keyboard.press("Alt+e")`` sends no character event,
    so Chromium never sees an access key; the DevTools protocol's input events do what a keyboard does."""
    cdp = w.context.new_cdp_session(w.page)
    code = {"key": letter, "code": f"Key{letter.upper()}", "windowsVirtualKeyCode": ord(letter.upper()),
            "modifiers": 1}  # 1: Alt
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **code})
    cdp.send("Input.dispatchKeyEvent", {"type": "char", "text": letter, "unmodifiedText": letter, **code})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **code})
    cdp.detach()


def stored(url: str) -> list[tuple[str, str, int, str, str | None, str | None]]:
    """Every decision in the database: kind, user, record, decision, reason, note (sorted)."""
    db = Database(url)
    try:
        with db.read() as s:
            rows = s.execute(select(Decision.kind, User.name, Decision.record_id, Decision.decision, Decision.reason,
                                    Decision.note).join(User, User.id == Decision.user_id))
            return sorted((kind, user, rid, d, why, note) for kind, user, rid, d, why, note in rows)
    finally:
        db.dispose()


def has_marks(page: Page) -> tuple[bool, bool]:
    inc = page.locator("[data-record-id] mark.inc").count() > 0
    exc = page.locator("[data-record-id] mark.exc").count() > 0
    return inc, exc


# --- the test ------------------------------------------------------------------------------------

def test_pair_screens_blind_then_pi_resolves_in_a_browser(review: str, server: str, browser: Browser) -> None:
    batch = [r["record_id"] for r in json.loads(Cli(review)("queue", "--as", "alice", "--set", SET, "--json").output)]
    assert len(batch) == BATCH
    position = {rid: i for i, rid in enumerate(sorted(batch))}
    wanted = {u: {rid: PLAN[u][position[rid]] for rid in batch} for u in PLAN}
    reasons: dict[tuple[str, int], str | None] = {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # 1. alice and bob screen the same batch at the same time, keyboard only --------------------------
    screeners = {u: Watched(browser, server, u) for u in ("alice", "bob")}
    partner = {"alice": "bob", "bob": "alice"}
    done = dict.fromkeys(screeners, 0)
    seen: dict[str, list[int]] = {u: [] for u in screeners}
    shot: tuple[bool, bool] | None = None
    for w in screeners.values():
        assert_blind(w, partner[w.user], 0)
    for _ in range(BATCH):
        shown = {u: w.record_id() for u, w in screeners.items()}
        assert None not in shown.values(), shown
        now = {u: r for u, r in shown.items() if r is not None}
        for u, r in now.items():
            seen[u].append(r)
        # the screenshot: the first record whose text shows both kinds of highlighted terms
        page = screeners["alice"].page
        marks = has_marks(page)
        if any(marks) and (shot is None or (all(marks) and not all(shot))):
            page.screenshot(path=str(SCREENSHOTS / "screening.png"), full_page=True)
            shot = marks
        plans: dict[str, list[str]] = {}
        for u in screeners:
            plans[u], reasons[(u, now[u])] = keys_for(u, wanted[u][now[u]], now[u], position[now[u]])
        # interleaved: alice's first key, bob's first key, alice's second key, ...; both decisions
        # are posted before either page is waited for, so the server handles them together
        for step in range(max(len(keys) for keys in plans.values())):
            for u, w in screeners.items():
                if step < len(plans[u]):
                    press(w, plans[u][step], now[u], reasons[(u, now[u])])
        for u, w in screeners.items():
            w.wait_for_change(now[u])
            done[u] += 1
            assert f"record {now[u]}: {wanted[u][now[u]]}" in w.page.inner_text(".flash")
        for u, w in screeners.items():
            assert_blind(w, partner[u], done[u])
    assert shot is not None, "no record of the batch shows a highlighted term"
    assert all(sorted(records) == sorted(batch) for records in seen.values()), seen  # the same batch, once each
    for u, w in screeners.items():
        assert w.record_id() is None
        assert "Nothing left to screen" in w.page.inner_text("#record")
        w.page.reload()  # the server-rendered page too
        assert_blind(w, partner[u], BATCH)

    # what was stored is what was keyed
    keyed = [("screen", u, r, wanted[u][r], reasons[(u, r)], marker(u, r)) for u in screeners for r in batch]
    assert stored(review) == sorted(keyed)

    # 2. the PI resolves exactly the disagreements ---------------------------------------------------
    disagreements = {r for r in batch if wanted["alice"][r] != wanted["bob"][r] or "maybe" in
                     (wanted["alice"][r], wanted["bob"][r])}
    assert len(disagreements) == 3
    pi = Watched(browser, server, "pat")
    page = pi.page
    assert page.url.endswith(f"/sets/{SET}/conflicts")
    listed = {int(x) for x in page.locator("table.grid tbody tr td:first-child").all_inner_texts()}
    assert listed == disagreements
    resolved: dict[int, str] = {}
    while page.locator("section[data-record-id]").count():
        card = page.locator("section[data-record-id]")
        rid = int(card.get_attribute("data-record-id") or 0)
        assert rid in disagreements and rid not in resolved
        text = card.inner_text()
        for u in screeners:
            assert f"{u}: {wanted[u][rid]}" in text
            assert f"Note: {marker(u, rid)}" in text
            if reasons[(u, rid)]:
                assert f"Reason: {reasons[(u, rid)]}" in text
        assert page.inner_text("h1 small") == f"{len(disagreements) - len(resolved)} waiting"
        final = "exclude" if "exclude" in (wanted["alice"][rid], wanted["bob"][rid]) else "include"
        page.fill("input[name=note]", f"pi-note-{rid}")
        with page.expect_navigation():
            if len(resolved) % 2:
                page.click(f"section[data-record-id] button[value={final}]")
            else:
                access_key(pi, final[0])
        resolved[rid] = final
    assert set(resolved) == disagreements
    assert stored(review) == sorted(keyed + [("adjudicate", "pat", r, d, None, f"pi-note-{r}")
                                             for r, d in resolved.items()])
    assert "No conflict is waiting for you." in page.inner_text("main")

    # 3. the dashboard: kappa as the CLI computes it, the agreement plot --------------------------------
    page.goto(f"/sets/{SET}")
    cell = page.locator("td[data-kappa]")
    assert cell.count() == 1
    kappa = float(cell.get_attribute("data-kappa") or "nan")
    entries = json.loads(Cli(review)("agreement", SET, "--json").output)
    assert len(entries) == 1 and entries[0]["batch"] == 1
    expected = entries[0]["cohen_kappa"]["value"]
    assert round(kappa, 3) == round(expected, 3)
    assert cell.inner_text().startswith(f"{expected:.3f}")
    row = page.locator("table.grid tbody tr", has=page.locator("a[href$='/debrief/1']"))
    assert "reconciled" in row.inner_text()
    img = page.locator("img.figure[src$='agreement.png']")
    src = img.get_attribute("src") or ""
    response = pi.context.request.get(src)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # the debrief shows the PI's decisions and notes
    page.goto(f"/sets/{SET}/debrief/1")
    text = page.inner_text("main")
    for rid in resolved:
        assert f"#{rid}:" in text and f"pi-note-{rid}" in text

    errors = [e for w in (*screeners.values(), pi) for e in w.errors]
    assert not errors, errors
    for w in (*screeners.values(), pi):
        w.context.close()
