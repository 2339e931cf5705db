"""One exception hierarchy for every user error, carrying what went wrong as data.

The library speaks the domain: an error names the set, record, user or value concerned and
says what is wrong in the review's own words. The layers on top turn the same errors into
answers for their users at one boundary each: the CLI (``screening.cli.errors``) into a
one-line message that names the command-line flag or command to use, a web layer into an
HTTP status and a JSON body. Anything that is not a :class:`ScreeningError` is a bug and
keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class ScreeningError(Exception):
    """Base class: a user error whose message says what went wrong."""


class InputFileError(ScreeningError):
    """A file that cannot be read as what it claims to be.

    The message always names the file, and the line or record when one is known, so a
    person can open the file and look; ``hint`` says what to do about it.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None, hint: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.problem = message
        self.hint = hint
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}" + (f" {hint}" if hint else ""))


class OutputFileError(ScreeningError):
    """A file cannot be written where the user asked (a missing folder, no permission, a full disk)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}.")


class InvalidValue(ScreeningError):
    """A value given by the user is not acceptable (a share of 1.5, an empty user name).

    ``field`` is the parameter's name in the library call (``batch_size``); the CLI names the
    matching flag (``--batch-size``), a web form its input.
    """

    def __init__(self, field: str, message: str, *, value: object = None) -> None:
        self.field = field
        self.value = value
        super().__init__(message)


class MissingActor(InvalidValue):
    """The action must say who is acting (every change to a review is recorded with its author)."""

    def __init__(self) -> None:
        super().__init__("actor", "say who is acting: every change to a review is recorded with its author.")


class Ambiguous(InvalidValue):
    """A record belongs to several sets and the call did not say which one is meant."""

    def __init__(self, record_id: int, sets: Sequence[str]) -> None:
        self.record_id = record_id
        self.sets = list(sets)
        super().__init__("set_name", f"record {record_id} is in several sets ({', '.join(sets)}); say which set.")


class NotFound(ScreeningError):
    """A named search, set, batch, record or user does not exist.

    ``kind`` is what was looked for (``"set"``), ``key`` its name or id, ``known`` the names
    that do exist when they are few enough to list.
    """

    def __init__(self, kind: str, key: object, message: str | None = None, *, known: Sequence[str] = ()) -> None:
        self.kind = kind
        self.key = key
        self.known = list(known)
        if message is None:
            message = f"no {kind} named {key!r}" if isinstance(key, str) else f"no {kind} {key}"
            if known:
                message += f" (known: {', '.join(known)})"
            message += "."
        super().__init__(message)


class NotAllowed(ScreeningError):
    """The acting user's role does not allow this (for example a screener resolving a conflict)."""

    def __init__(self, message: str, *, actor: str | None = None, role: str | None = None,
                 action: str | None = None) -> None:
        self.actor = actor
        self.role = role
        self.action = action
        super().__init__(message)


class Conflict(ScreeningError):
    """The request contradicts what is stored (a duplicate name, a sample that already exists).

    ``reason`` is a short machine-readable tag (``"sample_exists"``) the CLI and the web layer
    use to say what to do next.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        self.reason = reason
        super().__init__(message)


class GateNotMet(Conflict):
    """A set's agreement gate is not met, so it may not move to single screening (unless forced)."""

    def __init__(self, set_name: str, reasons: Sequence[str]) -> None:
        self.set_name = set_name
        self.reasons = list(reasons)
        super().__init__(f"the agreement gate of set {set_name} is not met: {'; '.join(reasons)}.",
                         reason="gate_not_met")


class DatabaseError(ScreeningError):
    """The database cannot be used: a bad URL, a missing driver, no schema yet, unreachable."""

    def __init__(self, url: str, message: str, *, reason: str = "") -> None:
        self.url = url
        self.reason = reason
        super().__init__(message)
