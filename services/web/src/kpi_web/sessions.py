"""Logins kept server-side: the browser holds only a random session id (an HttpOnly,
SameSite=Strict cookie); the viewer's key stays in this process and is never written into a
page. Bounded: the oldest login is dropped first, and a login expires after its time to live.
A restart forgets every login (the viewer signs in again), see docs/web.md.
"""

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "kpi_web_session"
Clock = Callable[[], float]


@dataclass(frozen=True)
class Login:
    key: str
    expires_at: float


class Sessions:
    def __init__(self, ttl_s: float, max_sessions: int, clock: Clock = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max = max_sessions
        self._clock = clock
        self._logins: OrderedDict[str, Login] = OrderedDict()

    def open(self, key: str) -> str:
        """A new session id for `key`."""
        session_id = secrets.token_urlsafe(32)
        self._logins[session_id] = Login(key, self._clock() + self._ttl_s)
        while len(self._logins) > self._max:
            self._logins.popitem(last=False)
        return session_id

    def key_of(self, session_id: str | None) -> str | None:
        """The key of a live session, or None (unknown, expired or dropped)."""
        login = self._logins.get(session_id) if session_id else None
        if login is None:
            return None
        if login.expires_at <= self._clock():
            self.close(session_id)
            return None
        return login.key

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._logins.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._logins)
