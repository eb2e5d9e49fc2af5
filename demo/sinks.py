"""The demo's stand-ins for the outside world: an SMTP sink (aiosmtpd) and a Slack incoming
webhook stand-in (HTTP). Every message received is written as a file under `--dir`, so the
demo (and a person) can read what was delivered.

    python -m demo.sinks --dir .local/demo/sinks --smtp-port 2525 --http-port 8025
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Request

_seq = itertools.count()


def _name(kind: str) -> str:
    return f"{time.time_ns()}-{next(_seq):05d}.{kind}"


class MailSink:
    """aiosmtpd handler: one `.json` file per message (from, to, subject, text)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "text": body.get_content() if body is not None else "",
        }
        (self.folder / _name("json")).write_text(json.dumps(record, indent=2))
        return "250 Message accepted for delivery"


def slack_app(folder: Path) -> FastAPI:
    app = FastAPI(title="Slack stand-in")

    @app.post("/hooks/{channel}")
    async def hook(channel: str, request: Request) -> Any:
        payload = await request.json()
        (folder / _name("json")).write_text(json.dumps({"channel": channel, "payload": payload}))
        return "ok"

    return app


async def run(folder: Path, smtp_port: int, http_port: int) -> None:
    mail, slack = folder / "mail", folder / "slack"
    mail.mkdir(parents=True, exist_ok=True)
    slack.mkdir(parents=True, exist_ok=True)
    controller = Controller(MailSink(mail), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    config = uvicorn.Config(slack_app(slack), host="127.0.0.1", port=http_port, log_level="warning")
    try:
        await uvicorn.Server(config).serve()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.sinks")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.dir, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
