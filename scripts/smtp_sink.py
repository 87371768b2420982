"""A real SMTP server on loopback that keeps what it receives.

Used by the tests and `make run` in place of a mail relay: every message
delivered is parsed and written to DIR as one JSON file (written whole,
then renamed), so a reader never sees half a message.

    smtp_sink.py --port 2525 --dir .data/mail [--defer REGEX] [--refuse REGEX]

--defer answers 451 (try later) to recipients matching REGEX; --refuse
answers 550 (never). Both let tests watch the api's retries and give-ups.
"""

import argparse
import email
import email.policy
import json
import os
import re
import signal
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, defer, refuse):
        self.directory = directory
        self.defer = re.compile(defer) if defer else None
        self.refuse = re.compile(refuse) if refuse else None
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and self.refuse.search(address):
            return "550 5.1.1 mailbox unavailable"
        if self.defer and self.defer.search(address):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {"text": None, "html": None}
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and parts["text"] is None:
                parts["text"] = part.get_content()
            elif kind == "text/html" and parts["html"] is None:
                parts["html"] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "content_type": message.get_content_type(),
            "text": parts["text"],
            "html": parts["html"],
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        with self.lock:
            self.count += 1
            name = f"{time.time_ns()}-{self.count:06d}"
        path = os.path.join(self.directory, name + ".json")
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--defer")
    parser.add_argument("--refuse")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(
        Sink(args.dir, args.defer, args.refuse), hostname=args.host, port=args.port
    )
    controller.start()
    print(f"smtp sink on {args.host}:{args.port}, mail in {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
