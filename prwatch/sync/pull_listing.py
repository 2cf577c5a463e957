"""PR discovery for one repository: the conditional, watermarked listing of its pull requests.

`GET /repos/{o}/{r}/pulls` has no `since` parameter, so prwatch sorts by `updated` descending
and pages back until it reaches what it already knows (its watermark less an overlap for clock
skew). Page 1 carries `If-None-Match`: a 304 says the list did not change, for no primary-limit
point. https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from prwatch.domain.models import PullRequestSnapshot
from prwatch.github import validation
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.payloads import PayloadError, pull_request_from_json
from prwatch.github.port import RestReader
from prwatch.github.responses import ApiResponse
from prwatch.github.skim import PageShapeError, skim_pull_request_page
from prwatch.sync.skipped import SkippedItem, SkippedKind

log = logging.getLogger(__name__)

PULLS_ROUTE = "GET /repos/{owner}/{repo}/pulls"
REPOSITORY_ROUTE = "GET /repositories/{id}"
PULLS_PARAMS: dict[str, str | int] = {
    "state": "all",
    "sort": "updated",
    "direction": "desc",
    "per_page": 100,
}


class ListingOutcome(StrEnum):
    UNCHANGED = "unchanged"  # 304 on page 1
    LISTED = "listed"
    GONE = "gone"  # 404: deleted or no longer accessible


@dataclass(slots=True)
class PullListing:
    outcome: ListingOutcome
    pull_requests: list[PullRequestSnapshot] = field(default_factory=list)
    etag: str | None = None  # page 1's, to send next time
    token_fingerprint: str | None = None  # ETags are token-specific
    new_full_name: str | None = None  # set when GitHub redirected: renamed or transferred
    complete: bool = False  # every PR was listed (first or full listing)
    pages: int = 0
    bad_items: list[SkippedItem] = field(default_factory=list)  # each fails alone
    # Page 1's conditional request missed, and its ETag came from another token: GitHub's
    # ETags vary by token, so the miss says nothing about whether the list changed.
    missed_for_token: bool = False


def pulls_etag_key(repository_id: int) -> str:
    """The ETag store's key for page 1 of a repository's PR listing."""
    return f"pulls:{repository_id}"


async def list_pull_requests(
    api: RestReader,
    *,
    installation_id: int,
    repository_id: int,
    full_name: str,
    etag: str | None,
    watermark: datetime | None,
    overlap: timedelta,
    full: bool,
    etag_fingerprint: str | None = None,
) -> PullListing:
    """List what changed since `watermark` (everything when `full` or without a watermark).

    `etag_fingerprint` is the fingerprint of the token `etag` was stored with."""
    stop_at = None if full or watermark is None else watermark - overlap
    sent_etag = None if full else etag
    response = await api.get(
        f"/repos/{full_name}/pulls",
        installation_id=installation_id,
        route=PULLS_ROUTE,
        params=PULLS_PARAMS,
        etag=sent_etag,
    )
    if response.status == 404:
        return PullListing(ListingOutcome.GONE)
    if response.not_modified:
        return PullListing(
            ListingOutcome.UNCHANGED,
            etag=etag,
            token_fingerprint=response.token_fingerprint,
        )
    listing = PullListing(
        ListingOutcome.LISTED,
        etag=response.etag,
        token_fingerprint=response.token_fingerprint,
        missed_for_token=sent_etag is not None
        and response.status == 200
        and response.token_fingerprint != etag_fingerprint,
    )
    if response.redirected_from is not None:
        listing.new_full_name = await _current_full_name(api, installation_id, repository_id)
    while True:
        next_url, reached_watermark = _take_page(response, repository_id, stop_at, listing)
        # Let go of this page (about 1.5 MB) before the next one arrives: with many repositories
        # in flight, holding two pages each is most of the sweep's memory.
        del response
        if reached_watermark or next_url is None:
            listing.complete = next_url is None and stop_at is None
            return listing
        response = await api.get(next_url, installation_id=installation_id, route=PULLS_ROUTE)


def _take_page(
    response: ApiResponse,
    repository_id: int,
    stop_at: datetime | None,
    listing: PullListing,
) -> tuple[str | None, bool]:
    """Read one page into `listing`: the next page's URL, and whether `stop_at` was reached."""
    _require_ok(response)
    listing.pages += 1
    reached_watermark = _read_page(response, repository_id, stop_at, listing)
    return response.links.get("next"), reached_watermark


def _read_page(
    response: ApiResponse,
    repository_id: int,
    stop_at: datetime | None,
    listing: PullListing,
) -> bool:
    """Add the page's PRs to `listing`; True once the page reached `stop_at`."""
    items = _decode_page(response, repository_id)
    reached = False
    for item in items:
        try:
            pr = pull_request_from_json(item, repository_id)
        except PayloadError as error:
            number = _number_shown(item)
            listing.bad_items.append(
                SkippedItem.refused(SkippedKind.PULL_REQUEST, error, f"#{number}")
            )
            log.warning(
                "unreadable PR in listing",
                extra={"repository_id": repository_id, "pr_number": number, "error": str(error)},
            )
            continue
        listing.pull_requests.append(pr)
        if stop_at is not None and pr.updated_at <= stop_at:
            reached = True
    return reached


def _number_shown(item: Any) -> str:
    """An unreadable item's PR number for a report: itself when it is one, else described
    (a hostile value is not repeated whole)."""
    number = item.get("number") if isinstance(item, dict) else None
    try:
        return str(validation.pr_number(number, "number"))
    except validation.InvalidValue:
        return validation.shown(number)


def _decode_page(response: ApiResponse, repository_id: int) -> list[Any]:
    try:
        return skim_pull_request_page(response.body)
    except PageShapeError:
        pass  # decode it all, so that each malformed item is reported on its own
    except ValueError:
        raise UnexpectedResponse(
            f"PR listing of repository {repository_id} is not JSON ({len(response.body)} bytes)"
        ) from None
    items = response.json()
    if not isinstance(items, list):
        raise UnexpectedResponse(f"PR listing of repository {repository_id} is not a list")
    return items


async def _current_full_name(api: RestReader, installation_id: int, repository_id: int) -> str:
    # A 301 means renamed or transferred; the id never changes, so ask by id for the new name.
    response = await api.get(
        f"/repositories/{repository_id}", installation_id=installation_id, route=REPOSITORY_ROUTE
    )
    _require_ok(response)
    body = response.json()
    try:
        # The name is stored, and split into owner and name for every later request.
        return validation.full_name(
            body.get("full_name") if isinstance(body, dict) else None, "repository.full_name"
        )
    except validation.InvalidValue as error:  # this repository fails, reported; no other
        raise UnexpectedResponse(f"repository {repository_id}: {error}") from None


def _require_ok(response: ApiResponse) -> None:
    if response.status != 200:
        raise UnexpectedResponse(
            f"{response.url} answered {response.status}: {response.message() or 'no message'}"
        )
