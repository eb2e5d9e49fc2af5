"""A lean HTTP/1.1 keep-alive load generator: the bench shares the 2 cores with the services,
so its client must cost little (httpx spends about 1 ms of CPU per request, as much as the
server). Bodies are encoded once with orjson before the clock starts."""

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson


class Connection:
    """One keep-alive connection; `post` returns (status, body)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._head = f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n{lines}".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            return await self._exchange(body)
        except (asyncio.IncompleteReadError, ConnectionError):
            # the server closed an idle keep-alive connection: nothing was read, send again
            await self.close()
            return await self._exchange(body)

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class Result:
    """Answered requests, their latencies (s) and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    elapsed: float = 0.0

    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


async def closed_loop(
    url: str, headers: dict[str, str], bodies: Iterator[bytes], concurrency: int, seconds: float
) -> Result:
    """`concurrency` connections send back to back for `seconds`; any non-202 fails the run."""
    result = Result()
    start = time.perf_counter()
    deadline = start + seconds
    conns = [Connection(url, headers) for _ in range(concurrency)]
    await asyncio.gather(*(_sender(c, bodies, deadline, result) for c in conns))
    result.elapsed = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in conns))
    return result


async def _sender(conn: Connection, bodies: Iterator[bytes], deadline: float, out: Result) -> None:
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        status, answer = await conn.post(next(bodies))
        out.latencies.append(time.perf_counter() - t0)
        out.accepted += accepted(status, answer)


def accepted(status: int, answer: bytes) -> int:
    if status != 202:
        raise RuntimeError(f"ingest answered {status}: {answer[:300]!r}")
    return int(orjson.loads(answer)["accepted"])


def bodies(make: Callable[[int], list[dict[str, object]]]) -> Iterator[bytes]:
    """Endless request bodies: request n carries `make(n)`, encoded with orjson."""
    n = 0
    while True:
        yield orjson.dumps(make(n))
        n += 1
