"""The review pack as a document: HTML with its stylesheet inlined (nothing external, so
the file stands alone when saved or attached), and the same HTML rendered to PDF by
WeasyPrint, which is refused every URL (the pack has none to fetch)."""

import asyncio
import base64
import hashlib
from importlib.resources import files
from typing import Any, NoReturn

from markupsafe import Markup

from kpi_web.pages.pack import PackView
from kpi_web.render import Pages

_STATIC = files("kpi_web") / "static"
CSS = (_STATIC / "web.css").read_text() + (_STATIC / "pack.css").read_text()
_STYLE = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# The pack's own policy: its one inline stylesheet by hash, images only as data: URLs.
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE}'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# WeasyPrint applies no document stylesheet inside an SVG, so the pack's charts carry their
# paint as attributes: the colours of web.css's :root and its chart rules, written again.
_COLOURS = {"ink": "#1d2433", "muted": "#5a6273", "achieved": "#1b6e3a",
            "on_track": "#2e8540", "at_risk": "#b36b00", "off_track": "#c0262d",
            "stale": "#6b4fa0", "no_data": "#79808c"}  # fmt: skip
_LINES = {
    "actual": ("ink", "2.5", None),
    "target": ("achieved", "2", "8 4"),
    "expected": ("at_risk", "2", "2 3"),
    "forecast": ("stale", "2", "10 3 2 3"),
    "grid": ("#e3e6ec", "1", None),
    "axis": ("muted", "1", None),
}


def _stroke(colour: str, width: str, dashes: str | None) -> Markup:
    dash = f' stroke-dasharray="{dashes}"' if dashes else ""
    hex_ = _COLOURS.get(colour, colour)
    return Markup(f' fill="none" stroke="{hex_}" stroke-width="{width}"{dash}')


PAINT = {name: _stroke(*style) for name, style in _LINES.items()} | {
    status: Markup(f' fill="{hex_}" fill-rule="evenodd"')
    for status, hex_ in _COLOURS.items()
    if status not in ("ink", "muted")
}
# WeasyPrint holds a whole document in memory: one rendering at a time per process.
_RENDERING = asyncio.Semaphore(1)


class ExternalFetchRefused(Exception):
    pass


def html(pages: Pages, view: PackView) -> str:
    return pages.env.get_template("pack.html").render(view=view, css=Markup(CSS), paint=PAINT)


async def pdf(document: str) -> bytes:
    async with _RENDERING:
        return await asyncio.to_thread(_render_pdf, document)


def _render_pdf(document: str) -> bytes:
    from weasyprint import HTML  # imported on first use: it loads Pango (about 0.5 s)

    rendered: bytes = HTML(string=document, url_fetcher=_refuse).write_pdf()
    return rendered


def _refuse(url: str, *_: Any, **__: Any) -> NoReturn:
    raise ExternalFetchRefused(f"the review pack fetches nothing; refused {url[:80]}")


def filename(view: PackView, suffix: str) -> str:
    """`quarterly-business-review-2026-03-31.pdf`: the review id and its date, ASCII only."""
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in view.review.review_id)
    return f"{stem}-{view.due.isoformat()}.{suffix}"
