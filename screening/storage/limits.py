"""Checks that a value fits the schema before the database sees it, the same on every backend.

SQLite stores a 300-character name in a ``String(200)`` column and a 2**70 seed in an
``Integer`` one; PostgreSQL refuses both with a driver error. The library checks values a
person typed against the column itself (its declared length, a 64-bit range), so both
backends answer with the same clear error before anything is written.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from screening.errors import InvalidValue

INT64_MAX = 2**63 - 1


def max_length(column: InstrumentedAttribute[Any]) -> int | None:
    """The declared length of a string column (None for unbounded text)."""
    col_type = column.property.columns[0].type
    return col_type.length if isinstance(col_type, String) else None


def check_text(column: InstrumentedAttribute[Any], value: str | None, field: str, *, what: str) -> None:
    """``value`` fits ``column`` (its length) and holds no control characters but newlines and tabs."""
    if value is None:
        return
    limit = max_length(column)
    if limit is not None and len(value) > limit:
        raise InvalidValue(field, f"{what} is {len(value)} characters long; at most {limit} fit.", value=value[:40])
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise InvalidValue(field, f"{what} holds control characters; type it again without them.", value=value[:40])


def check_int64(value: int, field: str, *, what: str, minimum: int = 0) -> None:
    """An id or seed within the 64-bit range both backends store."""
    if not minimum <= value <= INT64_MAX:
        raise InvalidValue(field, f"{what} must be between {minimum} and {INT64_MAX}, not {value}.", value=value)
