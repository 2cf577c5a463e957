"""``GET /repos/{owner}/{repo}``: one repository — its pull requests (filtered, paged by
number) and its latest changes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from prwatch.store import RetryableStoreError
from prwatch.store.listings import PullFilter
from prwatch.web.access import visibility
from prwatch.web.page_render import not_found_page, render_page, unavailable_page
from prwatch.web.pull_page import pull_number, timeline
from prwatch.web.webhooks import request_context

PAGE_SIZE = 50
RECENT_CHANGES = 30
STATES = ("open", "closed", "all")
MAX_SEARCH = 200


async def repository_page(request: Request) -> HTMLResponse:
    """A repository: its pull requests (searchable, by state) and its latest changes."""
    owner, repo = request.path_params["owner"], request.path_params["repo"]
    query = request.query_params
    state = query.get("state", "open")
    state = state if state in STATES else "open"
    text = query.get("q", "").strip()[:MAX_SEARCH]
    after = pull_number(query.get("after", "")) or 0
    pull_filter = PullFilter(state=state, text=text or None)
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            repository = await tx.visible_repository(f"{owner}/{repo}", visibility(request))
            if repository is None:
                return not_found_page(request, "repository")
            found = await tx.page_pull_requests(
                repository.id, pull_filter, after_number=after, limit=PAGE_SIZE + 1
            )
            counts = {
                name: await tx.count_pull_requests(repository.id, PullFilter(state=name))
                for name in ("open", "closed")
            }
            matching = await tx.count_pull_requests(repository.id, pull_filter)
            changes = await tx.latest_changes(RECENT_CHANGES, repository_id=repository.id)
    except RetryableStoreError:
        return unavailable_page(request)
    pulls = found[:PAGE_SIZE]
    return render_page(
        request,
        "repository.html",
        {
            "repository": repository,
            "pulls": pulls,
            "counts": counts,
            "matching": matching,
            "state": state,
            "text": text,
            "next_after": pulls[-1].number if len(found) > PAGE_SIZE else None,
            "timeline": timeline(changes),
            "last_cursor": changes[-1].cursor if changes else 0,
        },
    )


REPOSITORY_PAGE_ROUTES = [Route("/repos/{owner}/{repo}", repository_page, methods=["GET"])]
