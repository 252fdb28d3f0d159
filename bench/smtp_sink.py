"""A local SMTP server for the benches, in a process of its own (so it does not compete with
the sender for the interpreter): it accepts every message and appends one line per message
to a file: "1" when the message carries a List-Unsubscribe header, "0" otherwise.

    python bench/smtp_sink.py PORT FILE
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Count:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 — open for the server's life

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.out.write("1\n" if b"\nList-Unsubscribe:" in envelope.content else "0\n")
        return "250 Message accepted"


if __name__ == "__main__":
    controller = Controller(Count(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()
