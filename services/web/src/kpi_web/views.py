"""The page routes: read the bundle a page needs with the viewer's key, build its view,
render it. No rules here (thin entry points)."""

from importlib.resources import files

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from kpi_web.models import Strategy
from kpi_web.pages import kpi, scorecard, strategy_map
from kpi_web.render import Frame
from kpi_web.web import Key, WebArg

router = APIRouter(include_in_schema=False)
CSS = (files("kpi_web") / "static" / "web.css").read_bytes()


def frame(nav: str, strategy: Strategy) -> Frame:
    """The shared layout of a signed-in page."""
    organization = strategy.organization.name if strategy.organization else None
    return Frame(nav, organization, signed_in=True)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/map", status_code=303)


@router.get("/static/web.css")
async def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/map")
async def strategy_map_page(w: WebArg, key: Key) -> Response:
    data = await w.gather.map(key)
    view = strategy_map.build(data)
    return w.pages.html(
        "map.html", frame=frame("map", data.strategy), view=view, kinds=strategy_map.KINDS
    )


@router.get("/units")
async def units_page(w: WebArg, key: Key) -> Response:
    data = await w.gather.map(key)
    lines = scorecard.units(data.strategy, data.scorecard.units)
    return w.pages.html("units.html", lines=lines, frame=frame("units", data.strategy))


@router.get("/units/{unit_id}")
async def scorecard_page(w: WebArg, key: Key, unit_id: str) -> Response:
    data = await w.gather.unit(key, unit_id)
    view = scorecard.build(data)
    return w.pages.html("scorecard.html", view=view, frame=frame("units", data.strategy))


@router.get("/kpis/{kpi_id}")
async def kpi_page(w: WebArg, key: Key, kpi_id: str) -> Response:
    data = await w.gather.kpi(key, kpi_id)
    view = kpi.build(data)
    return w.pages.html("kpi.html", frame=Frame("map", signed_in=True), view=view)
