"""The schema: SQLAlchemy 2.x typed models.

The schema itself is managed by Alembic (``migrations/``); ``tests/test_migrations.py``
proves the two agree. Constraint names come from one naming convention so that migrations
can alter them on SQLite (batch mode) and PostgreSQL alike.

Decisions, adjudications, dedup decisions and set events are append-only: a change of mind
is a new row, never an UPDATE, so the history of a review can always be replayed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timestamps are stored in UTC; the naive-vs-aware difference between backends is avoided."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 (read by SQLAlchemy)


class Search(Base):
    """One search as run in one database interface: the provenance of every imported record."""

    __tablename__ = "search"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    database: Mapped[str] = mapped_column(String(200))
    interface: Mapped[str | None] = mapped_column(String(200))
    searched: Mapped[str | None] = mapped_column(String(10))  # ISO date YYYY-MM-DD
    date_limits: Mapped[str | None] = mapped_column(String(200))
    strategy: Mapped[str | None] = mapped_column(Text)
    strategy_file: Mapped[str | None] = mapped_column(String(500))
    hits_reported: Mapped[int | None] = mapped_column(Integer)
    export_files: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ImportFile(Base):
    """A file imported into a search. The content hash makes re-imports no-ops."""

    __tablename__ = "import_file"
    __table_args__ = (UniqueConstraint("search_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("search.id"))
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    encoding: Mapped[str] = mapped_column(String(20))
    n_records: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Record(Base):
    """A bibliographic record exactly as imported (``raw``) plus the fields derived from it.

    ``duplicate_of`` points at the kept record of its duplicate group; a kept record has
    none. Records added by hand (grey literature, citation chasing) have no search and a
    ``source`` saying where they came from.
    """

    __tablename__ = "record"
    __table_args__ = (
        CheckConstraint("duplicate_of IS NULL OR duplicate_of <> id", name="no_self_duplicate"),
        Index("ix_record_search_position", "search_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int | None] = mapped_column(ForeignKey("search.id"))
    import_file_id: Mapped[int | None] = mapped_column(ForeignKey("import_file.id"))
    position: Mapped[int | None] = mapped_column(Integer)  # 1-based position in its file
    line: Mapped[int | None] = mapped_column(Integer)  # line of the file where it starts
    source: Mapped[str | None] = mapped_column(String(200))  # for hand-added records
    format: Mapped[str] = mapped_column(String(20), default="ris")
    raw: Mapped[list[Any]] = mapped_column(default=list)  # [[tag, value], ...] in file order
    ris_type: Mapped[str | None] = mapped_column(String(20))
    ris_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    copyright: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[Any]] = mapped_column(default=list)
    year: Mapped[int | None] = mapped_column(Integer)
    journal: Mapped[str | None] = mapped_column(Text)
    journal_abbrev: Mapped[str | None] = mapped_column(Text)
    volume: Mapped[str | None] = mapped_column(String(100))
    issue: Mapped[str | None] = mapped_column(String(100))
    pages: Mapped[str | None] = mapped_column(String(100))
    doi: Mapped[str | None] = mapped_column(String(300), index=True)
    pmid: Mapped[str | None] = mapped_column(String(50), index=True)
    accessions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issn: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(100))
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    pub_type: Mapped[str | None] = mapped_column(String(200))
    database: Mapped[str | None] = mapped_column(String(200))
    urls: Mapped[list[Any]] = mapped_column(default=list)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    dedup_rule: Mapped[str | None] = mapped_column(String(50))
    dedup_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedup_flag: Mapped[str | None] = mapped_column(String(200))  # e.g. found after screening
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DedupRun(Base):
    """One automatic deduplication pass, with its counts."""

    __tablename__ = "dedup_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DedupPair(Base):
    """A doubtful pair queued for a person, with the scores that put it there."""

    __tablename__ = "dedup_pair"
    __table_args__ = (UniqueConstraint("record_a", "record_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[int] = mapped_column(ForeignKey("record.id"))
    record_b: Mapped[int] = mapped_column(ForeignKey("record.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / decided
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dedup_run.id"))


class DedupDecision(Base):
    """A person's merge, split, link or unlink, append-only; every automatic pass respects the latest.

    ``decision`` is "merge" or "split" (the pair, either order), or "link:RELATION" (``record_a``
    is the erratum, comment, update... of ``record_b``) or "unlink" (no relation between them).
    """

    __tablename__ = "dedup_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[int] = mapped_column(ForeignKey("record.id"))
    record_b: Mapped[int] = mapped_column(ForeignKey("record.id"))
    decision: Mapped[str] = mapped_column(String(20))  # "merge" / "split" / "link:erratum" / "unlink"
    by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecordLink(Base):
    """Two kept records that are related but not duplicates: an erratum, retraction, comment or reply
    and its article, an updated review and the earlier version, a conference abstract and the paper.

    Derived data, like ``Record.duplicate_of``: every dedup pass replaces the automatic links
    (with the people's links and unlinks applied); ``record_a`` is the notice or derived item,
    ``record_b`` the article it concerns.
    """

    __tablename__ = "record_link"
    __table_args__ = (
        UniqueConstraint("record_a", "record_b", "relation"),
        CheckConstraint("record_a <> record_b", name="no_self_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    record_b: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # "auto" (a dedup pass) / "manual" (a person)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dedup_run.id"))


class User(Base):
    """A member of the review team; the role decides what the library lets them do."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("role IN ('screener', 'pi', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2; None: cannot sign in to the web app
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last successful sign-in
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)  # sign-in refused until then


class Token(Base):
    """A signed-in session (browser cookie or API bearer token); only the token's SHA-256 is stored."""

    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "session" (browser) / "api"
    csrf: Mapped[str] = mapped_column(String(64))  # the session's CSRF secret, sent with every form
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ScreeningSet(Base):
    """A theme screened as a unit, with its criteria, phase and agreement gate."""

    __tablename__ = "screening_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    criteria: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(20), default="test")  # test / single
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # what screeners work with: {"include_terms": [...], "exclude_terms": [...], "reasons": [...]}
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # "title_abstract", or "full_text": the reports of the title/abstract includes of ``parent_id``
    stage: Mapped[str] = mapped_column(String(20), default="title_abstract")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("screening_set.id"))


class SetMember(Base):
    """A record in a set, with how it got there (a search, or by hand with its source)."""

    __tablename__ = "set_member"
    __table_args__ = (UniqueConstraint("set_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    added_via: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Sample(Base):
    """A test-screening sample draw (the first, or an extension) with every parameter."""

    __tablename__ = "sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    seed: Mapped[int] = mapped_column(BigInteger)
    share: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[list[Any]] = mapped_column(default=list)  # [["a", "b"], ...]
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Batch(Base):
    """A batch of the test sample, screened blind by both members of one pair."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("set_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based within the set
    user_a: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    user_b: Mapped[int] = mapped_column(ForeignKey("app_user.id"))


class Assignment(Base):
    """Who screens which record of a set; two rows per test-sample record, one in single phase."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("set_id", "record_id", "user_id"),
        # a screener's next record is one index seek: undone, test batches in order, then by priority
        Index("ix_assignment_next_test", "user_id", "set_id", "done", "batch_id", "position"),
        Index("ix_assignment_next_single", "user_id", "set_id", "done", "priority"),
        Index("ix_assignment_record_user", "record_id", "user_id"),  # a decision finds its assignment
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the batch or the user's queue
    phase: Mapped[str] = mapped_column(String(20))  # test / single
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Derived from the decision log (kept in step by every decision and undo, never the truth):
    done: Mapped[bool] = mapped_column(default=False)  # the screener has a current decision on it
    # single phase, the queue's order: the id of the model run that ranked the record plus its score
    # there (a share in (0, 1], 1 the likeliest include), so a newer ranking sorts above an older one
    # while a queue is rewritten; 0 until ranked (so unranked records come last on every backend).
    # The score shown is record_score's.
    priority: Mapped[float] = mapped_column(Float, default=0.0)


class QueueCount(Base):
    """How many records a screener holds in a set and how many of them are done (derived from
    ``assignment``, kept in step by every write that changes it: see ``review.counts``).

    A screener's progress is shown with every next record; counted over their assignments it read
    thousands of index entries and row versions per request (1 ms of PostgreSQL's time, the larger
    part of a next record), here it is one row."""

    __tablename__ = "queue_count"

    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)


class Decision(Base):
    """One screening or adjudication event. Append-only: the latest per (set, record, user, kind) counts;
    "retract" (undo) withdraws the previous one, so the record returns to the queue without any row changing.
    """

    __tablename__ = "decision"
    __table_args__ = (
        CheckConstraint("decision IN ('include', 'exclude', 'maybe', 'retract')", name="decision"),
        CheckConstraint("kind IN ('screen', 'adjudicate')", name="kind"),
        Index("ix_decision_set_record", "set_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(20), default="screen")
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SetEvent(Base):
    """A recorded change to a set: phase moves (with the figures that justified them), gate changes."""

    __tablename__ = "set_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportEvent(Base):
    """The full text of a record at the full-text stage: sought, retrieved (with its file) or not
    retrieved (with why). Append-only: the latest event per (set, record) is the report's state.
    A file is stored once, by its SHA-256, in the review's file store (``screening.records.files``)."""

    __tablename__ = "report_event"
    __table_args__ = (
        CheckConstraint("status IN ('sought', 'retrieved', 'not_retrieved')", name="status"),
        Index("ix_report_event_set_record", "set_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)  # why not retrieved
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelRun(Base):
    """A classifier training run, with its parameters and seed."""

    __tablename__ = "model_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"))
    model: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(BigInteger)
    n_labelled: Mapped[int] = mapped_column(Integer)
    n_included: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecordScore(Base):
    """The latest priority score of a record in a set (derived data: replaced whole on each run, from
    the set's own records). No per-row foreign key to the record or the run: on PostgreSQL their
    checks were three quarters of the time of writing a set's 50,000 scores."""

    __tablename__ = "record_score"

    set_id: Mapped[int] = mapped_column(ForeignKey("screening_set.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    score: Mapped[float] = mapped_column(Float)
    run_id: Mapped[int] = mapped_column(Integer)  # the ModelRun it came from
