"""Files written for the user (exports, plots, reports): all or nothing, with a clear error.

A file is written next to its destination under a temporary name and renamed over it only
once complete, so a failed or interrupted export leaves the file that was there as it was.
A destination that cannot be written (a missing folder, no permission, a full disk) is an
:class:`OutputFileError` naming it, never a traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from screening.errors import OutputFileError


@contextmanager
def atomic_write(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Yield a file to write; it replaces ``path`` only if the block completes."""
    target = Path(path)
    if target.is_dir():
        raise OutputFileError(str(target), "it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would make it (mkstemp's 0600 is for secrets)
    except OSError as exc:
        raise OutputFileError(str(target), _reason(exc)) from None
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
            yield fh
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputFileError(str(target), _reason(exc)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _reason(exc: OSError) -> str:
    text = (exc.strerror or str(exc)).lower()
    return f"{text}; check that the folder exists and that you may write there"
