"""A task for tests that run real worker processes: it notes each run in a file."""

from __future__ import annotations

import os
import time

from django_tasks import task


@task()
def note_run(path: str, marker: str, pause: float = 0.05) -> str:
    time.sleep(pause)  # long enough that two workers both find work
    # O_APPEND: each short line lands whole, whichever process writes it.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{marker} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return marker
