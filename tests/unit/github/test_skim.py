"""The skimmed PR listing page parses exactly like the fully decoded one, or says to decode it
in full; the listing then still reports each malformed item on its own."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prwatch.github.payloads import PayloadError, pull_request_from_json
from prwatch.github.responses import ApiResponse
from prwatch.github.skim import PageShapeError, skim_pull_request_page
from prwatch.sync.pull_listing import ListingOutcome, list_pull_requests
from tests.unit.github.test_payload_robustness import PR, PR_PATHS, cases, mutated

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"


def parsed(obj: Any) -> Any:
    """The snapshot, or the PayloadError's message: what the listing would record."""
    try:
        return pull_request_from_json(obj, 7)
    except PayloadError as error:
        return f"error: {error}"


def real_pull_requests() -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text())["pull_request"]
        for path in sorted((PAYLOADS / "pull_request").glob("*.payload.json"))
    ]


def test_every_real_pull_request_parses_the_same_skimmed() -> None:
    page = real_pull_requests()
    skimmed = skim_pull_request_page(json.dumps(page).encode())
    assert len(skimmed) == len(page) > 5
    assert [parsed(item) for item in skimmed] == [parsed(item) for item in page]
    assert all(not isinstance(parsed(item), str) for item in skimmed)


def test_skimmed_items_keep_only_what_is_read() -> None:
    (item,) = skim_pull_request_page(json.dumps([PR]).encode())
    assert set(item) < set(PR)
    assert set(item["head"]) == {"sha", "ref"}
    assert "repo" not in item["head"]


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(PR_PATHS), case=cases)
def test_a_mutated_item_parses_alike_or_asks_for_a_full_decode(
    path: tuple[str, ...], case: tuple[Any, bool]
) -> None:
    item = mutated(PR, path, *case)
    try:
        body = json.dumps([item], allow_nan=False).encode()
    except ValueError:
        assume(False)  # Infinity is not JSON: GitHub never sends it
    try:
        (skimmed,) = skim_pull_request_page(body)
    except PageShapeError:
        return  # the listing decodes this page with json.loads instead
    assert parsed(skimmed) == parsed(item)


def test_a_page_that_is_not_a_list_or_not_json() -> None:
    with pytest.raises(PageShapeError):
        skim_pull_request_page(b'{"message": "Not Found"}')
    with pytest.raises(ValueError, match="not JSON"):
        skim_pull_request_page(b"<html>")


class OnePage:
    """A RestReader that answers one page."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def get(self, path_or_url: str, **_: Any) -> ApiResponse:
        return ApiResponse(
            status=200, headers={}, body=self.body, etag='W/"1"', rate_limit=None, url=path_or_url
        )


async def test_the_listing_reports_a_malformed_item_and_keeps_the_others() -> None:
    good = real_pull_requests()[:3]
    bad = mutated(PR, ("head",), "not an object", False)
    bad["number"] = 999
    listing = await list_pull_requests(
        OnePage(json.dumps([*good, bad]).encode()),
        installation_id=1,
        repository_id=7,
        full_name="o/r",
        etag=None,
        watermark=None,
        overlap=timedelta(minutes=2),
        full=True,
    )
    assert listing.outcome is ListingOutcome.LISTED
    assert listing.complete
    assert [pr.number for pr in listing.pull_requests] == [item["number"] for item in good]
    (bad_item,) = listing.bad_items
    assert bad_item.note.startswith("#999:")
    assert (bad_item.kind.value, bad_item.reason.value) == ("pull_request", "invalid")
