"""Decode a page of the PR listing keeping only the fields prwatch reads.

A list item of `GET /repos/{o}/{r}/pulls` is about 15 KB of JSON, most of it the head and base
repository objects; prwatch keeps a dozen fields of it. `json.loads` builds every nested object
(about 3 MB of Python objects per 100-item page) only for the sweep to drop them; msgspec skips
unknown fields while decoding, so a page costs a fraction of the CPU and almost no memory.

The result is the same plain dicts `json.loads` would give, minus the unread fields, so
`pull_request_from_json` reads both alike. Types are left to it (`Any` below): a malformed field
is reported for that item only. Only when the page's shape is not a list of objects, or a
nested object is not one, does msgspec refuse the page; the caller then falls back to
`json.loads` so that each item's own error is still reported.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec


class _Label(TypedDict, total=False):
    name: Any


class _User(TypedDict, total=False):
    login: Any


class _Ref(TypedDict, total=False):
    sha: Any
    ref: Any


class _AutoMerge(TypedDict, total=False):
    merge_method: Any
    enabled_by: _User | None


class PullRequestFields(TypedDict, total=False):
    """A PR as `prwatch.github.payloads.pull_request_from_json` reads it: a listing item,
    or a webhook's `pull_request` object."""

    number: Any
    id: Any
    node_id: Any
    state: Any
    draft: Any
    merged: Any
    merged_at: Any
    closed_at: Any
    title: Any
    user: _User | None
    labels: list[_Label] | None
    head: _Ref | None
    base: _Ref | None
    created_at: Any
    updated_at: Any
    auto_merge: _AutoMerge | None


_PAGE_DECODER = msgspec.json.Decoder(list[PullRequestFields])


class PageShapeError(ValueError):
    """The page is JSON but not a list of PR-shaped objects: decode it in full instead."""


def skim_pull_request_page(body: bytes) -> list[dict[str, Any]]:
    """The page's items with only the fields prwatch keeps.

    Raises PageShapeError when the shape is off (decode with `json.loads` to find which item),
    and ValueError when the body is not JSON at all.
    """
    try:
        items: list[dict[str, Any]] = _PAGE_DECODER.decode(body)  # type: ignore[assignment]
    except msgspec.ValidationError as error:
        raise PageShapeError(str(error)) from None
    except msgspec.DecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    return items
