"""The search log: every search as run in one database interface, with its strategy.

A search is first-class provenance: database, interface, date searched, date limits, the
strategy text, the hits the interface reported and the export files. ``list_searches``
compares the reported hits with what was imported, so a truncated export is seen at once.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from screening.errors import Conflict, InputFileError, InvalidValue, NotFound
from screening.storage.limits import check_int64, check_text
from screening.storage.models import ImportFile, Record, Search
from screening.team.users import manager

SEARCH_KEYS = {
    "name", "database", "interface", "searched", "date_limits", "strategy", "strategy_file",
    "hits", "export_files", "notes",
}


@dataclass
class SearchSummary:
    name: str
    database: str
    interface: str | None
    searched: str | None
    hits_reported: int | None
    imported: int
    kept: int
    files: int
    mismatch: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_date(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidValue("searched", f"{where}: date searched {value!r} is not YYYY-MM-DD.", value=value) from None


def read_search_file(path: str | Path) -> dict[str, Any]:
    """Read one TOML search description; the strategy may be inline or a file beside it."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputFileError(str(p), "no such file.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(str(p), f"not valid TOML ({exc}).", hint="Fix the file and try again.") from None
    unknown = set(data) - SEARCH_KEYS
    if unknown:
        raise InputFileError(str(p), f"unknown keys {sorted(unknown)}; allowed: {sorted(SEARCH_KEYS)}.")
    for key in ("name", "database"):
        if not data.get(key):
            raise InputFileError(str(p), f"`{key}` is required.")
    if data.get("strategy_file"):
        sfile = p.parent / data["strategy_file"]
        if not sfile.exists():
            raise InputFileError(str(p), f"strategy_file {sfile} does not exist.")
        data["strategy"] = sfile.read_text(encoding="utf-8-sig")
        data["strategy_file"] = str(sfile)
    data["searched"] = _check_date(data.get("searched"), str(p))
    return data


def add_search(
    session: Session,
    name: str,
    database: str,
    *,
    interface: str | None = None,
    searched: str | None = None,
    date_limits: str | None = None,
    strategy: str | None = None,
    strategy_file: str | None = None,
    hits: int | None = None,
    export_files: list[str] | None = None,
    notes: str | None = None,
) -> Search:
    """Register a search. Names are unique: they are how imports and sets refer to a search."""
    if not name or not name.strip():
        raise InvalidValue("name", "a search needs a name.")
    for column, value, field, what in ((Search.name, name, "name", "the search name"),
                                       (Search.database, database, "database", "the database"),
                                       (Search.interface, interface, "interface", "the interface"),
                                       (Search.date_limits, date_limits, "date_limits", "the date limits"),
                                       (Search.strategy_file, strategy_file, "strategy_file", "the strategy file")):
        check_text(column, value, field, what=what)
    if hits is not None:
        check_int64(hits, "hits", what="the hits reported")
    if session.scalar(select(Search).where(Search.name == name)) is not None:
        raise Conflict(f"a search named {name!r} exists already; choose another name.", reason="search_exists")
    if strategy is None and strategy_file:
        try:
            strategy = Path(strategy_file).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputFileError(strategy_file, f"cannot read the strategy ({exc.strerror}).") from None
    if hits is not None and hits < 0:
        raise InvalidValue("hits", f"the hits reported must be zero or more, not {hits}.", value=hits)
    search = Search(
        name=name, database=database, interface=interface,
        searched=_check_date(searched, "search " + name), date_limits=date_limits,
        strategy=strategy, strategy_file=strategy_file, hits_reported=hits,
        export_files=list(export_files or []), notes=notes,
    )
    session.add(search)
    session.flush()
    return search


def get_search(session: Session, name: str) -> Search:
    search = session.scalar(select(Search).where(Search.name == name))
    if search is None:
        names = session.scalars(select(Search.name).order_by(Search.name)).all()
        raise NotFound("search", name, known=names)
    return search


def list_searches(session: Session, viewer: str | None = None) -> list[SearchSummary]:
    """Every search with reported vs imported hits; a mismatch is flagged (a named viewer: PI or admin)."""
    if viewer is not None:
        manager(session, viewer, action="see the search log")
    imported = dict(session.execute(
        select(Record.search_id, func.count()).group_by(Record.search_id)).all())
    kept = dict(session.execute(
        select(Record.search_id, func.count()).where(Record.duplicate_of.is_(None))
        .group_by(Record.search_id)).all())
    files = dict(session.execute(
        select(ImportFile.search_id, func.count()).group_by(ImportFile.search_id)).all())
    out = []
    for s in session.scalars(select(Search).order_by(Search.id)):
        n = imported.get(s.id, 0)
        out.append(SearchSummary(
            name=s.name, database=s.database, interface=s.interface, searched=s.searched,
            hits_reported=s.hits_reported, imported=n, kept=kept.get(s.id, 0),
            files=files.get(s.id, 0),
            mismatch=s.hits_reported is not None and s.hits_reported != n,
        ))
    return out
