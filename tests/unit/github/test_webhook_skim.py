"""The skimmed webhook body reads as the full one: same routing fields, same snapshots, for
every recorded payload; a body the skim does not fit is decoded in full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prwatch.events.envelope import MalformedDelivery, decode_payload, read_envelope
from prwatch.github.payloads import (
    check_run_from_json,
    pull_request_from_json,
    repository_from_json,
)
from prwatch.github.webhook_skim import skim_payload, skim_routing

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"
ALL = sorted(PAYLOADS.glob("*/*.json"))
SKIMMED = [path for path in ALL if path.parent.name in ("pull_request", "check_run", "check_suite")]


def _id(obj: Any) -> Any:
    return obj.get("id") if isinstance(obj, dict) else None


def test_every_activity_event_is_in_the_fixtures() -> None:
    assert {path.parent.name for path in SKIMMED} == {"pull_request", "check_run", "check_suite"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_routing_fields_are_those_of_the_full_decode(path: Path) -> None:
    body = path.read_bytes()
    full = json.loads(body)
    routing = skim_routing(body)
    assert routing is not None
    assert routing.get("action") == full.get("action")
    assert _id(routing.get("installation")) == _id(full.get("installation"))
    assert _id(routing.get("repository")) == _id(full.get("repository"))
    envelope = read_envelope(body)
    assert envelope.repository_id == _id(full.get("repository"))


@pytest.mark.parametrize("path", SKIMMED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_skimmed_payload_yields_the_snapshots_of_the_full_one(path: Path) -> None:
    body = path.read_bytes()
    event = path.parent.name
    full = json.loads(body)
    skimmed = skim_payload(event, body)
    assert skimmed is not None
    assert len(json.dumps(skimmed)) < len(json.dumps(full))  # it did leave fields out
    assert decode_payload(body, event) == skimmed
    repository_id = full["repository"]["id"]
    assert _id(skimmed.get("installation")) == _id(full.get("installation"))
    installation_id = 1
    assert repository_from_json(skimmed["repository"], installation_id) == repository_from_json(
        full["repository"], installation_id
    )
    assert skimmed["repository"]["owner"] == {
        key: full["repository"]["owner"][key] for key in ("login", "type")
    }
    if event == "pull_request":
        assert pull_request_from_json(
            skimmed["pull_request"], repository_id
        ) == pull_request_from_json(full["pull_request"], repository_id)
    elif event == "check_run":
        assert check_run_from_json(skimmed["check_run"], repository_id) == check_run_from_json(
            full["check_run"], repository_id
        )
    else:
        suite = full["check_suite"]
        assert skimmed["check_suite"] == {
            key: suite[key] for key in ("id", "head_sha", "latest_check_runs_count") if key in suite
        }


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("pull_request", b'{"pull_request": "not an object", "repository": {"id": 1}}'),
        ("pull_request", b'{"pull_request": {"labels": ["bug"]}}'),
        ("check_run", b'{"check_run": {"app": 3}}'),
        ("check_suite", b'{"check_suite": [1]}'),
        ("pull_request", b'{"pull_request": {"number": 1, "title": NaN}}'),
    ],
)
def test_a_body_the_skim_does_not_fit_is_decoded_in_full(event: str, body: bytes) -> None:
    assert skim_payload(event, body) is None
    assert decode_payload(body, event) == json.loads(body)


def test_inventory_events_are_decoded_in_full() -> None:
    body = (PAYLOADS / "installation" / "created.payload.json").read_bytes()
    assert skim_payload("installation", body) is None
    assert decode_payload(body, "installation") == json.loads(body)


def test_odd_routing_fields_fall_back_and_still_read_as_absent() -> None:
    assert skim_routing(b'{"repository": [1]}') is None
    odd = read_envelope(b'{"action": 3, "installation": {"id": true}, "repository": [1]}')
    assert (odd.action, odd.installation_id, odd.repository_id) == (None, None, None)
    with pytest.raises(MalformedDelivery):
        read_envelope(b"[]")
