"""Templates: Jinja2 with autoescaping on, so every title, abstract, note and name is escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).with_name("templates")
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def highlight(text: str | None, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Markup:
    """``text`` HTML-escaped first, then each include term wrapped in a green mark and each exclude
    term in a red one (whole words, any case). Terms are escaped too, so neither can inject markup."""
    escaped = html.escape(text or "")
    marks = [(t, "inc") for t in include if t.strip()] + [(t, "exc") for t in exclude if t.strip()]
    if not marks:
        return Markup(escaped)
    kinds = {html.escape(t.strip()).lower(): kind for t, kind in marks}
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(kinds, key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f'<mark class="{kinds[m.group(0).lower()]}">{m.group(0)}</mark>', escaped))


env.filters["highlight"] = highlight


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    identity = getattr(request.state, "identity", None)
    body = env.get_template(template).render(request=request, me=identity,
                                             csrf=identity.csrf if identity else "", **context)
    return HTMLResponse(body, status_code=status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<p class="error" role="alert">{html.escape(message)}</p>', status_code=status)
    return render(request, "error.html", status=status, status_code=status, message=message)
