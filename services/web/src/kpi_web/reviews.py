"""The review routes: the list of the tenant's reviews, and each review's pack as a page,
a downloadable HTML file, or a PDF. Thin: read the pack's data, build its view, render."""

from fastapi import APIRouter
from starlette.responses import Response

from kpi_web import documents
from kpi_web.packs import Packs
from kpi_web.pages import pack
from kpi_web.render import Frame
from kpi_web.web import Key, WebArg

router = APIRouter(include_in_schema=False)


@router.get("/reviews")
async def reviews_page(w: WebArg, key: Key) -> Response:
    packs = Packs(w.gather, w.upstream)
    listed, strategy = await packs.reviews(key), await w.gather.strategy(key)
    organization = strategy.organization.name if strategy.organization else None
    frame = Frame("reviews", organization, signed_in=True)
    return w.pages.html("reviews.html", frame=frame, reviews=listed)


@router.get("/reviews/{review_id}/pack")
async def pack_page(w: WebArg, key: Key, review_id: str, download: bool = False) -> Response:
    view = pack.build(await Packs(w.gather, w.upstream).pack(key, review_id))
    headers = {"Content-Security-Policy": documents.CSP}
    if download:
        headers["Content-Disposition"] = _attachment(documents.filename(view, "html"))
    body = documents.html(w.pages, view)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/reviews/{review_id}/pack.pdf")
async def pack_pdf(w: WebArg, key: Key, review_id: str) -> Response:
    view = pack.build(await Packs(w.gather, w.upstream).pack(key, review_id))
    body = await documents.pdf(documents.html(w.pages, view))
    headers = {"Content-Disposition": _attachment(documents.filename(view, "pdf"))}
    return Response(body, media_type="application/pdf", headers=headers)


def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'
