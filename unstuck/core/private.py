"""Files and folders that hold customer data, created readable by their owner only.

Plain Python (no Django), so that settings can use it before Django starts: the data
directory, the SQLite database, the secret key and stored uploads all go through here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO


def private_dir(path: Path) -> Path:
    """Create a directory (and its parents) with mode 0700. An existing directory keeps the
    mode its owner gave it; a read-only location is left for the first write to report."""
    with contextlib.suppress(OSError):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file with mode 0600 unless it exists (SQLite then creates its -wal and
    -shm files with the database file's mode)."""
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path


def open_private(path: Path, mode: str = "wb") -> IO[bytes]:
    """Open a file for writing, creating it with mode 0600 (and its folder with 0700)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, mode)
