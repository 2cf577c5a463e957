"""Expected changes count only what prwatch logs: a PR that moved only its updated_at (assigned,
locked, put on a milestone) or its base_sha is stored anew, but is no change to find."""

from __future__ import annotations

from typing import Any

from bench.correctness import PR_FIELDS, changed_keys, digest_view


def pr(**values: Any) -> tuple[Any, ...]:
    base = {name: f"{name}-1" for name in PR_FIELDS} | {"auto_merge": None}
    return tuple((base | values)[name] for name in PR_FIELDS)


def test_updated_at_alone_is_no_expected_change_but_still_differs() -> None:
    before = {("repo", 1): "o/r", ("pr", 1, 1): pr(), ("pr", 1, 2): pr()}
    after = dict(before)
    after[("pr", 1, 1)] = pr(updated_at="later", base_sha="other")  # assigned, base moved
    after[("pr", 1, 2)] = pr(updated_at="later", auto_merge={"merge_method": "squash"})
    for old, new in ((before, after), (digest_view(before), digest_view(after))):
        assert changed_keys(old, new) == {("pr", 1, 2)}
    assert digest_view(before)[("pr", 1, 1)] != digest_view(after)[("pr", 1, 1)]
