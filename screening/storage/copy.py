"""Copy a whole review into another database (SQLite <-> PostgreSQL), then prove the copy.

Every table of the schema is copied in foreign-key order (``Base.metadata.sorted_tables``)
with its primary keys, so record ids, users, sets and the whole event log stay what they were;
``alembic_version`` is not copied: the target is migrated to head (``upgrade``) instead. Rows
are streamed from one consistent snapshot of the source in batches, never a table at a time.

The target must hold no rows in any table of the schema, and the copy is one transaction on
it: rows, PostgreSQL sequences and the check all commit together or not at all. The check
reads every table back from the target, still inside that transaction, and compares the row
count and a checksum over the rows in primary-key order with what was read from the source.
Values are normalised so that both backends give the same digest: JSON canonicalised with
sorted keys (and kept apart from SQL NULL), datetimes as ISO text, floats by ``repr``, NULL
distinct from the empty string.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.sql.dml import Insert

from screening.errors import Conflict, DatabaseError, InvalidValue
from screening.storage.db import Database, make_engine
from screening.storage.migrate import alembic_config, upgrade
from screening.storage.models import Base

BATCH_SIZE = 5_000

# ``progress(rows, total)``: ``rows`` more units of work done out of ``total``. Each row is one
# unit when copied and one more when read back for the check, so ``total`` is twice the rows.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TableSummary:
    """One table as the check sees it: its row count and the SHA-256 of its normalised rows."""

    rows: int
    checksum: str

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.checksum}


@dataclass
class CopyReport:
    """What was copied where, table by table (in the order copied), and how long it took."""

    source: str
    target: str
    tables: dict[str, TableSummary] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "rows": self.rows, "seconds": self.seconds,
                "verified": True, "tables": {name: t.as_dict() for name, t in self.tables.items()}}


class CopyMismatch(DatabaseError):
    """The copy did not read back as the source read (row count or checksum of one table).

    Raised inside the target's transaction, so nothing of the copy is kept.
    """

    def __init__(self, url: str, table: str, source: TableSummary, target: TableSummary) -> None:
        self.table = table
        self.source = source
        self.target = target
        what = (f"{source.rows} rows in the source, {target.rows} in the copy" if source.rows != target.rows
                else f"checksum {source.checksum[:12]} in the source, {target.checksum[:12]} in the copy")
        super().__init__(url, f"table {table}: the copy in {url} does not match the source ({what}); "
                              "nothing was copied.", reason="copy_mismatch")


def tables() -> list[Table]:
    """The schema's tables in foreign-key order (a table after every table it refers to)."""
    return list(Base.metadata.sorted_tables)


def copy_database(source: Database, target_url: str, *, progress: Progress | None = None,
                  batch_size: int = BATCH_SIZE) -> CopyReport:
    """Copy every table of ``source`` into the database at ``target_url``, then verify it.

    The target is created or migrated to head first and must be empty (``Conflict`` with
    ``reason="target_not_empty"`` otherwise, before anything is changed). A mismatch found by
    the check raises :class:`CopyMismatch` naming the table; any failure leaves the target's
    tables empty.
    """
    if batch_size < 1:
        raise InvalidValue("batch_size", "the batch size must be at least 1.", value=batch_size)
    started = time.perf_counter()
    target = _target_engine(target_url)
    shown_source = make_url(source.url).render_as_string(hide_password=True)
    shown_target = target.url.render_as_string(hide_password=True)
    try:
        _check_source_schema(source, shown_source)
        if _same_database(source.engine, target):
            raise InvalidValue("target_url", f"the target {shown_target} is the source database itself; "
                                             "give another database.", value=shown_target)
        try:
            with target.connect() as conn:  # refuse before migrating: a refused target is left as it was
                _refuse_rows(conn, shown_target, only_existing=True)
        except DBAPIError as exc:  # unreachable server, no such database, not a database file
            hint = " Create the empty database on the server first (createdb)." \
                if target.dialect.name == "postgresql" else ""
            raise DatabaseError(shown_target, f"cannot use the target database {shown_target} ({exc.orig}).{hint}",
                                reason="unreachable") from exc
        upgrade(target_url)
        report = CopyReport(shown_source, shown_target)
        # SQLite: BEGIN IMMEDIATE takes the write lock before the check that the target is empty
        with _snapshot(source.engine) as src, target.execution_options(sqlite_begin="IMMEDIATE").begin() as dst:
            _refuse_rows(dst, shown_target, only_existing=False)
            total = sum(src.scalar(select(func.count()).select_from(t)) or 0 for t in tables())
            tick = _ticker(progress, 2 * total)
            copied = {t.name: _copy_rows(src, dst, t, batch_size, tick, shown_target) for t in tables()}
            for t in tables():
                got = _summarise_table(dst, t, batch_size, tick)
                if got != copied[t.name]:
                    raise CopyMismatch(shown_target, t.name, copied[t.name], got)
                report.tables[t.name] = got
            if dst.dialect.name == "postgresql":  # last: setval is not undone by a rollback
                for t in tables():
                    _reset_sequence(dst, t)
    finally:
        target.dispose()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def summarise(db: Database, *, batch_size: int = BATCH_SIZE) -> dict[str, TableSummary]:
    """Row count and checksum of every table of the schema, as the copy's check computes them."""
    with _snapshot(db.engine) as conn:
        return {t.name: _summarise_table(conn, t, batch_size, None) for t in tables()}


# --- the target -------------------------------------------------------------------------------


def _target_engine(url: str) -> Engine:
    try:
        return make_engine(url)
    except DatabaseError as exc:  # named as the target's flag (--to), not the source's --db
        raise InvalidValue("target_url", str(exc), value=exc.url) from exc


def _same_database(a: Engine, b: Engine) -> bool:
    if a.dialect.name != b.dialect.name:
        return False
    if a.dialect.name == "sqlite":
        da, db_ = a.url.database or "", b.url.database or ""
        if da in ("", ":memory:") or db_ in ("", ":memory:"):
            return False
        return Path(da).resolve() == Path(db_).resolve()
    fields = ("host", "port", "database")
    return all(getattr(a.url, f) == getattr(b.url, f) for f in fields)


def _refuse_rows(conn: Connection, shown: str, *, only_existing: bool) -> None:
    """``Conflict(reason="target_not_empty")`` when any table of the schema holds a row."""
    present = set(inspect(conn).get_table_names()) if only_existing else None
    full = [t.name for t in tables()
            if (present is None or t.name in present) and conn.execute(select(1).select_from(t).limit(1)).first()]
    if full:
        raise Conflict(f"the target database {shown} already holds data (tables {', '.join(full)}); "
                       "copy only into an empty database.", reason="target_not_empty")


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _check_source_schema(source: Database, shown: str) -> None:
    """The source must be at the schema this code knows (head): its tables are read by these models."""
    head = ScriptDirectory.from_config(alembic_config(source.url)).get_current_head()
    have = _revision(source.engine)
    if have != head:
        raise DatabaseError(shown, f"the source database {shown} is at schema revision {have or 'none'}, not {head}; "
                                   f"upgrade it first (`screening --db {shown} init`).", reason="schema_outdated")


def _reset_sequence(conn: Connection, table: Table) -> None:
    """PostgreSQL: move the id sequence past the copied ids, so new rows do not collide."""
    pk = _id(table)
    if pk is None:  # keyed by its columns (record_score): no sequence
        return
    top = conn.scalar(select(func.max(pk)))
    if top is not None:
        name = conn.dialect.identifier_preparer.format_table(table)
        conn.execute(select(func.setval(func.pg_get_serial_sequence(name, pk.name), top)))


# --- reading and writing rows -----------------------------------------------------------------


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection in one read transaction: every table is read from the same state."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as trans:
            yield conn
            trans.rollback()  # nothing was written; this ends the snapshot


def _key(table: Table) -> list[Column[Any]]:
    cols = list(table.primary_key.columns)
    if not cols:  # rows are read in key order, for the checksum: every table of the schema needs one
        raise TypeError(f"table {table.name} has no primary key")
    return cols


def _id(table: Table) -> Column[Any] | None:
    """The table's integer id from a sequence, or None when its key is made of its columns."""
    cols = _key(table)
    return cols[0] if len(cols) == 1 and cols[0].autoincrement in (True, "auto") else None


def _bind_name(column: Column[Any]) -> str:
    return f"v_{column.key}"


class _Table:
    """How one table is read (in primary-key order), written and checksummed.

    JSON travels as the text stored (``CAST(... AS TEXT)``), not decoded and encoded again:
    SQL NULL and JSON ``null`` stay apart, and it is several times faster. Everything else
    goes through the column's own type.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self.key = _key(table)
        self.pk = _id(table)
        self.columns = list(table.columns)
        self.json = [isinstance(c.type, JSON) for c in self.columns]
        self.select = select(*(cast(c, Text) if j else c for c, j in zip(self.columns, self.json, strict=True))) \
            .order_by(*self.key)
        self.normalise = [_normaliser(c) for c in self.columns]
        self.names = [_bind_name(c) for c in self.columns]

    def insert(self, dialect: str) -> Insert:
        values: dict[Column[Any], Any] = {}
        for c, j, name in zip(self.columns, self.json, self.names, strict=True):
            param = bindparam(name, type_=Text if j else c.type)
            values[c] = cast(param, JSON) if j and dialect == "postgresql" else param  # PG: text -> json
        return insert(self.table).values(values)

    def batches(self, conn: Connection, batch_size: int) -> Iterator[list[tuple[dict[str, Any], bytes]]]:
        """Batches of rows, each as (parameters for :meth:`insert`, its normalised line for the checksum)."""
        result = conn.execution_options(yield_per=batch_size).execute(self.select)
        names, normalise = self.names, self.normalise
        for part in result.partitions():
            out = []
            for row in part:
                cells = [None if v is None else f(v) for f, v in zip(normalise, row, strict=True)]
                out.append((dict(zip(names, row, strict=True)), orjson.dumps(cells) + b"\n"))
            yield out


def _normaliser(column: Column[Any]) -> Callable[[Any], Any]:
    """How one column's non-NULL value enters the checksum, the same whichever backend it came from."""
    if isinstance(column.type, JSON):
        return _canonical_json
    if isinstance(column.type, Float):
        return lambda v: repr(float(v))
    if isinstance(column.type, DateTime):
        return lambda v: v.isoformat() if isinstance(v, datetime) else str(v)
    if isinstance(column.type, Integer | String):  # Text is a String
        return _same
    return _plain


def _same(v: Any) -> Any:
    return v if isinstance(v, int | str) else _plain(v)  # SQLite may hold another type in a column


def _canonical_json(raw: str) -> str:
    """The stored JSON text with sorted keys and no spaces (``null`` stays ``"null"``, not SQL NULL)."""
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS).decode()
    except (ValueError, TypeError):  # NaN/Infinity (Python's json writes them) or a 65-bit integer
        try:
            return json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except ValueError:  # not JSON at all (SQLite does not check): the text as stored
            return raw


def _plain(v: Any) -> Any:
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, date | datetime):
        return v.isoformat()
    return str(v)


def _ticker(progress: Progress | None, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None

    def tick(n: int) -> None:
        progress(n, total)

    return tick


def _insert(conn: Connection, statement: Insert, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(statement, list(rows))


def _copy_rows(src: Connection, dst: Connection, table: Table, batch_size: int,
               tick: Callable[[int], None] | None, shown: str) -> TableSummary:
    """:func:`_copy_table`, with a row the target refuses named as a user error (a SQLite value
    longer than its column, say, which PostgreSQL enforces)."""
    try:
        return _copy_table(src, dst, table, batch_size, tick)
    except (DataError, IntegrityError) as exc:
        problem = str(exc.orig).strip().splitlines()[0]
        raise DatabaseError(shown, f"table {table.name}: the target {shown} refused a row of the source ({problem}); "
                                   "nothing was copied. Correct the row in the source and copy again.",
                            reason="copy_refused") from exc


def _copy_table(src: Connection, dst: Connection, table: Table, batch_size: int,
                tick: Callable[[int], None] | None) -> TableSummary:
    """Copy one table batch by batch; returns the source's summary as read.

    A reference to a row of the same table not yet copied (``record.duplicate_of`` pointing at
    a later record) is inserted as NULL and filled in once that row is there, so foreign keys
    hold at every statement on both backends.
    """
    spec = _Table(table)
    statement = spec.insert(dst.dialect.name)
    pk = _bind_name(spec.pk) if spec.pk is not None else ""
    self_refs = [_bind_name(fk.parent) for fk in table.foreign_keys if spec.pk is not None and fk.column is spec.pk]
    pending: list[tuple[Any, Any, str]] = []  # (referenced id, row id, parameter): a heap on the id
    digest = hashlib.sha256()
    rows = 0
    for batch in spec.batches(src, batch_size):
        params = []
        for values, line in batch:
            digest.update(line)
            for name in self_refs:
                ref = values[name]
                if ref is not None and ref > values[pk]:
                    heapq.heappush(pending, (ref, values[pk], name))
                    values[name] = None
            params.append(values)
        _insert(dst, statement, params)
        rows += len(batch)
        if pending and batch:
            _fill_references(dst, spec, pending, batch[-1][0][pk])
        if tick:
            tick(len(batch))
    if pending:
        _fill_references(dst, spec, pending, None)
    return TableSummary(rows, digest.hexdigest())


def _fill_references(conn: Connection, spec: _Table, pending: list[tuple[Any, Any, str]], upto: Any) -> None:
    """Set the deferred self-references whose row is now copied (all of them when ``upto`` is None)."""
    ready: dict[str, list[dict[str, Any]]] = {}
    while pending and (upto is None or pending[0][0] <= upto):
        ref, row_id, name = heapq.heappop(pending)
        ready.setdefault(name, []).append({"b_id": row_id, "b_ref": ref})
    for name, params in ready.items():
        column = next(c for c in spec.columns if _bind_name(c) == name)
        assert spec.pk is not None  # only a table with an id refers to its own rows
        conn.execute(update(spec.table).where(spec.pk == bindparam("b_id")).values({column: bindparam("b_ref")}),
                     params)


def _summarise_table(conn: Connection, table: Table, batch_size: int,
                     tick: Callable[[int], None] | None) -> TableSummary:
    digest = hashlib.sha256()
    rows = 0
    for batch in _Table(table).batches(conn, batch_size):
        for _values, line in batch:
            digest.update(line)
        rows += len(batch)
        if tick:
            tick(len(batch))
    return TableSummary(rows, digest.hexdigest())
