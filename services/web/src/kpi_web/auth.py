"""Sign in and out. The key is checked by reading the strategy with it (the page it opens
needs that anyway); the browser gets only a session id (`kpi_web.sessions`)."""

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from kpi_web.sessions import COOKIE
from kpi_web.upstream import Forbidden, NotSignedIn, UpstreamError
from kpi_web.web import WebArg

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 4096
REFUSED = {
    NotSignedIn: "That key was not accepted: it is unknown or revoked.",
    Forbidden: "That key's role cannot read the strategy (an ingest key cannot); use a viewer key.",
}


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, else the map."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/map"


@router.get("/login")
async def login_page(w: WebArg, next: str | None = None) -> Response:
    return w.pages.html("login.html", next=local_path(next))


@router.post("/login")
async def login(request: Request, w: WebArg) -> Response:
    form = await _form(request)
    key, target = form.get("key", "").strip(), local_path(form.get("next"))
    if not key or len(key) > 200:
        return w.pages.html("login.html", 422, next=target, error="Enter an API key.")
    try:
        await w.gather.strategy(key)
    except (NotSignedIn, Forbidden) as exc:
        message = REFUSED[type(exc)]
        return w.pages.html("login.html", exc.status, next=target, error=message)
    except UpstreamError as exc:
        return w.pages.html("login.html", exc.status, next=target, error=exc.message)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        COOKIE,
        w.sessions.open(key),
        max_age=int(w.settings.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=w.settings.secure_cookie,
        path="/",
    )
    return answer


@router.post("/logout")
async def logout(request: Request, w: WebArg) -> Response:
    w.sessions.close(request.cookies.get(COOKIE))
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form, first value of each field (a body over 4 KiB is refused)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}
