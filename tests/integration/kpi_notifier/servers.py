"""Real local servers for the notifier's tests: an SMTP server (aiosmtpd) and an HTTP server
standing in for Slack's incoming webhooks, which answers 429 with Retry-After when told to."""

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


class SmtpServer:
    """aiosmtpd in its own thread; `messages` holds every email received, parsed."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._inbox = _Inbox()
        self._controller = Controller(self._inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self._inbox.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class HttpRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class SlackServer:
    """A plain HTTP/1.1 server on 127.0.0.1; the first `rate_limit_first` requests get 429."""

    rate_limit_first: int = 0
    retry_after: str = "1"
    port: int = field(default_factory=free_port)
    requests: list[HttpRequest] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self) -> list[HttpRequest]:
        return self.requests[self.rate_limit_first :]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await self._read(reader):
                self.requests.append(request)
                writer.write(self._answer(len(self.requests)))
                await writer.drain()
        finally:
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> HttpRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return HttpRequest(lines[0].split(" ")[1], headers, body)

    def _answer(self, n: int) -> bytes:
        if n <= self.rate_limit_first:
            return (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: " + self.retry_after.encode()
                    + b"\r\nContent-Length: 12\r\n\r\nrate_limited")  # fmt: skip
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
