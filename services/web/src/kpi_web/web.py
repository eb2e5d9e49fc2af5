"""What the process holds (built once by the composition root, `main.build`), and how a
route reaches it."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kpi_web.config import Settings
from kpi_web.gather import Gather
from kpi_web.render import Pages
from kpi_web.sessions import COOKIE, Sessions
from kpi_web.upstream import NotSignedIn, Upstream


@dataclass
class Web:
    settings: Settings
    upstream: Upstream
    gather: Gather
    sessions: Sessions
    pages: Pages


def web(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def viewer_key(request: Request) -> str:
    """The signed-in viewer's key, else a key sent as `Authorization: Bearer` (the CLI
    downloading a review pack), or `NotSignedIn` (the page redirects to the login)."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    key = web(request).sessions.key_of(request.cookies.get(COOKIE))
    if key is None:
        raise NotSignedIn("sign in to see this page")
    return key


WebArg = Annotated[Web, Depends(web)]
Key = Annotated[str, Depends(viewer_key)]
