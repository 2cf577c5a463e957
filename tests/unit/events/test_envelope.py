"""What the receiver reads of a body, and when a completed check suite needs no request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prwatch.domain.models import CheckRunSnapshot
from prwatch.events.activity import _suite_settled
from prwatch.events.envelope import MalformedDelivery, read_envelope


def test_the_envelope_reads_only_well_typed_routing_fields() -> None:
    envelope = read_envelope(
        b'{"action": "opened", "installation": {"id": 7}, "repository": {"id": 9}}'
    )
    assert (envelope.action, envelope.installation_id, envelope.repository_id) == ("opened", 7, 9)
    odd = read_envelope(b'{"action": 3, "installation": {"id": true}, "repository": [1]}')
    assert (odd.action, odd.installation_id, odd.repository_id) == (None, None, None)


@pytest.mark.parametrize("body", [b"", b"nope", b"[]", b'"text"', b"\xff"])
def test_anything_but_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        read_envelope(body)


def run(id: int, name: str, status: str, suite: int = 1) -> CheckRunSnapshot:
    done = datetime(2024, 1, 1, tzinfo=UTC) if status == "completed" else None
    return CheckRunSnapshot(
        id, 1, "sha", name, status, "success" if done else None, None, done, None, suite
    )


def test_a_suite_is_settled_when_its_latest_runs_are_stored_and_completed() -> None:
    assert _suite_settled([run(1, "lint", "completed"), run(2, "test", "completed")], 1, 2)
    assert not _suite_settled([run(1, "lint", "completed")], 1, 2)  # one run never seen
    assert not _suite_settled([run(1, "lint", "completed"), run(3, "lint", "queued")], 1, 1)
    assert not _suite_settled([run(1, "lint", "completed", suite=2)], 1, 1)
