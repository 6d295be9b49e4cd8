"""A real SMTP server for tests (aiosmtpd): every message it accepts is written to a folder as
one JSON file (to, from, subject, body, attachments), which the tests read. Usage:
    python smtp_sink.py --port 2525 --dir target/mail
"""

import argparse
import email
import email.policy
import json
import pathlib
import signal
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        with self.lock:
            self.count += 1
            n = self.count
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "body": body.get_content() if body else "",
            "attachments": [
                {
                    "name": part.get_filename(),
                    "type": part.get_content_type(),
                    "content": part.get_payload(decode=True).decode("utf-8", "replace"),
                }
                for part in message.iter_attachments()
            ],
        }
        path = self.folder / f"{time.time_ns()}-{n}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(path)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    folder = pathlib.Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"SMTP sink listening on 127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
