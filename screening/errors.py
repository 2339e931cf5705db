"""One exception hierarchy for every user error.

The CLI turns any :class:`ScreeningError` into a one-line message and a non-zero exit at a
single boundary (``screening.cli``); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ScreeningError(Exception):
    """Base class: a user error with a message that says what went wrong and what to do."""


class InputFileError(ScreeningError):
    """A file that cannot be read as what it claims to be.

    The message always names the file, and the line or record when one is known, so a
    person can open the file and look.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None, hint: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.hint = hint
        where = f"{self.path}, line {line}" if line is not None else self.path
        text = f"{where}: {message}"
        if hint:
            text += f" {hint}"
        super().__init__(text)


class NotFound(ScreeningError):
    """A named search, set, record or user does not exist."""


class NotAllowed(ScreeningError):
    """The acting user's role does not allow this (for example a screener resolving a conflict)."""


class Conflict(ScreeningError):
    """The request contradicts what is stored (a duplicate name, a sample that already exists)."""
