"""A real SMTP server for the tests (aiosmtpd): listens on 127.0.0.1 on a free port, prints
the port on its first line of output, and writes each message it accepts to DIR as
NNNN.json — envelope, headers (decoded) and the plain-text and HTML parts — so a test reads
exactly what a mail client would show. While DIR/refuse exists it answers every message with
a temporary failure (451), to test retries.

Usage: python3 sink.py DIR
"""

import asyncio
import email
import email.header
import email.policy
import json
import pathlib
import socket
import sys

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if (self.folder / "refuse").exists():
            return "451 4.3.0 Try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "envelope_from": envelope.mail_from,
            "envelope_to": list(envelope.rcpt_tos),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "reply_to": str(msg["Reply-To"]) if msg["Reply-To"] else None,
            "subject": str(msg["Subject"]),
            "content_type": msg.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        self.count += 1
        final = self.folder / f"{self.count:04}.json"
        tmp = self.folder / f".{self.count:04}.tmp"
        tmp.write_text(json.dumps(record, ensure_ascii=False))
        tmp.rename(final)
        return "250 2.0.0 Accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(Save(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        # Until the test closes our stdin (or kills us).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
