"""The shared page layout: one Jinja2 environment with autoescaping on for every template
(every user string is escaped; nothing is marked safe), and the filters the pages share."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.responses import HTMLResponse

from kpi_web.status import LOOKS, look


def number(value: float | None, digits: int = 2) -> str:
    """A figure as people read it: thousands separated, at most `digits` decimals."""
    if value is None:
        return "–"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def plain(value: Any) -> str:
    """A definition field as text: none as a dash, mappings and lists as compact JSON."""
    if value is None:
        return "–"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
    return str(value)


def when(stamp: str | None) -> str:
    """An ISO timestamp as `2026-12-04 23:17 UTC` (as given when it does not parse)."""
    if not stamp:
        return "–"
    try:
        moment = datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def percent(score: float | None) -> str:
    return "–" if score is None else f"{score * 100:.0f}%"


@dataclass(frozen=True)
class Frame:
    """What the shared layout shows around a page: the navigation, the organisation's name,
    and whether the viewer is signed in (the sign-out button)."""

    nav: str = ""
    organization: str | None = None
    signed_in: bool = False


class Pages:
    """Renders a page template inside the layout."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("kpi_web", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(number=number, percent=percent, look=look, plain=plain, when=when)
        self.env.globals["legend"] = list(LOOKS.values())

    def html(
        self, template: str, status: int = 200, frame: Frame | None = None, **context: Any
    ) -> HTMLResponse:
        page = self.env.get_template(template)
        body = page.render(frame=frame or Frame(), **context)
        return HTMLResponse(body, status_code=status)
