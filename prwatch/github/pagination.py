"""Paging through a listing by its ``Link: <…>; rel="next"`` header, over any ``RestReader``.

Callers that stop early (the sweep stops listing PRs sorted by ``updated`` at its watermark)
simply stop iterating: no further page is fetched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from prwatch.github.port import Params, RestReader
from prwatch.github.responses import ApiResponse


async def iterate_pages(
    api: RestReader,
    path_or_url: str,
    *,
    installation_id: int,
    route: str,
    params: Params = None,
    etag: str | None = None,
    spend_reserve: bool = False,
    max_pages: int | None = None,
) -> AsyncIterator[ApiResponse]:
    """Yield each page's response, first to last.

    ``etag`` applies to the first page only: a 304 there means the first page is unchanged and
    is yielded alone. Any answer other than 200 is yielded and ends the iteration, so the caller
    decides what a 404 or a redirect means. ``params`` apply to the first page; later pages'
    URLs carry them already.
    """
    if max_pages is not None and max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    url: str | None = path_or_url
    pages = 0
    while url is not None:
        response = await api.get(
            url,
            installation_id=installation_id,
            route=route,
            params=params if pages == 0 else None,
            etag=etag if pages == 0 else None,
            spend_reserve=spend_reserve,
        )
        pages += 1
        yield response
        if response.status != 200 or (max_pages is not None and pages >= max_pages):
            return
        url = response.links.get("next")
