from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prwatch.ledger.decisions import (
    DeliveryAttempt,
    LedgerFormatError,
    decide_redeliveries,
    latest_attempts,
    parse_attempt,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def attempt(id: int, guid: str, status: int, minutes: int = 0) -> DeliveryAttempt:
    return DeliveryAttempt(id, guid, T0 + timedelta(minutes=minutes), status)


def test_failed_and_unstored_is_redelivered_once_from_its_latest_attempt() -> None:
    attempts = [attempt(1, "a", 0), attempt(2, "a", 502, minutes=1), attempt(3, "b", 200)]
    decision = decide_redeliveries(attempts, stored=set(), redelivered_before=set())
    assert decision.failed == {"a"}
    assert [a.id for a in decision.redeliver] == [2]
    assert decision.recovered == frozenset()


def test_a_later_success_means_nothing_to_redeliver() -> None:
    attempts = [attempt(1, "a", 0), attempt(2, "a", 200, minutes=1)]
    decision = decide_redeliveries(attempts, stored=set(), redelivered_before=set())
    assert decision.failed == frozenset() and decision.redeliver == ()


def test_failed_but_stored_is_not_redelivered() -> None:
    # prwatch stored it but answered too late: GitHub counts it failed, nothing is lost.
    decision = decide_redeliveries([attempt(1, "a", 0)], stored={"a"}, redelivered_before=set())
    assert decision.failed == {"a"} and decision.redeliver == ()


def test_redelivered_before_is_not_redelivered_again_and_counts_recovered_once_stored() -> None:
    attempts = [attempt(1, "a", 0), attempt(2, "a", 0, minutes=1), attempt(3, "b", 0)]
    decision = decide_redeliveries(attempts, stored={"b"}, redelivered_before={"a", "b"})
    assert decision.redeliver == ()
    assert decision.recovered == {"b"}


def test_redeliveries_come_oldest_first() -> None:
    attempts = [attempt(5, "late", 0, minutes=5), attempt(1, "early", 0, minutes=1)]
    decision = decide_redeliveries(attempts, stored=set(), redelivered_before=set())
    assert [a.guid for a in decision.redeliver] == ["early", "late"]


def test_equal_times_are_ordered_by_attempt_id() -> None:
    latest = latest_attempts([attempt(9, "a", 200), attempt(4, "a", 0)])
    assert latest["a"].id == 9


@given(
    st.lists(
        st.tuples(
            st.integers(1, 10_000),
            st.sampled_from(["g1", "g2", "g3", "g4"]),
            st.sampled_from([0, 200, 202, 404, 500]),
            st.integers(0, 100),
        ),
        max_size=30,
    ),
    st.sets(st.sampled_from(["g1", "g2", "g3", "g4"])),
    st.sets(st.sampled_from(["g1", "g2", "g3", "g4"])),
)
def test_decision_invariants(
    rows: list[tuple[int, str, int, int]], stored: set[str], before: set[str]
) -> None:
    attempts = [attempt(i, g, s, m) for i, g, s, m in rows]
    decision = decide_redeliveries(attempts, stored=stored, redelivered_before=before)
    chosen = [a.guid for a in decision.redeliver]
    assert len(chosen) == len(set(chosen))  # at most once per GUID
    latest = latest_attempts(attempts)
    for redelivery in decision.redeliver:
        assert redelivery.guid not in stored and redelivery.guid not in before
        assert latest[redelivery.guid] == redelivery and not redelivery.succeeded
    for guid, last in latest.items():
        if not last.succeeded and guid not in stored and guid not in before:
            assert guid in chosen
    assert decision.recovered == before & stored


def test_parse_attempt_reads_githubs_row() -> None:
    parsed = parse_attempt(
        {
            "id": 12,
            "guid": "0b989ba4-242f-11e5-81e1-c7b6966d2516",
            "delivered_at": "2019-06-03T00:57:16Z",
            "redelivery": False,
            "duration": 0.27,
            "status": "OK",
            "status_code": 200,
            "event": "issues",
            "action": "opened",
        }
    )
    assert parsed.id == 12 and parsed.succeeded and parsed.event == "issues"
    assert parsed.delivered_at == datetime(2019, 6, 3, 0, 57, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "must be an object"),
        ({"guid": "g", "delivered_at": "2019-06-03T00:57:16Z", "status_code": 0}, "'id'"),
        ({"id": "1", "guid": "g", "delivered_at": "x", "status_code": 0}, "integer"),
        ({"id": 1, "guid": "", "delivered_at": "x", "status_code": 0}, "guid"),
        ({"id": 1, "guid": "g", "delivered_at": "yesterday", "status_code": 0}, "ISO"),
        ({"id": 1, "guid": "g", "delivered_at": "2019-06-03T00:57:16", "status_code": 0}, "zone"),
        (
            {"id": 1, "guid": "g", "delivered_at": "2019-06-03T00:57:16Z", "status_code": None},
            "status_code",
        ),
    ],
)
def test_parse_attempt_rejects_malformed_rows(item: object, message: str) -> None:
    with pytest.raises(LedgerFormatError, match=message):
        parse_attempt(item)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": 0, "guid": "g", "delivered_at": "2019-06-03T00:57:16Z", "status_code": 0}, "id"),
        (
            {"id": 2**70, "guid": "g", "delivered_at": "2019-06-03T00:57:16Z", "status_code": 0},
            "id",
        ),
        (
            {"id": 1, "guid": "g\x00", "delivered_at": "2019-06-03T00:57:16Z", "status_code": 0},
            "guid",
        ),
        (
            {"id": 1, "guid": "g" * 65, "delivered_at": "2019-06-03T00:57:16Z", "status_code": 0},
            "guid",
        ),
        (
            {"id": 1, "guid": "g", "delivered_at": "2999-01-01T00:00:00Z", "status_code": 0},
            "future",
        ),
        (
            {"id": 1, "guid": "g", "delivered_at": "2019-06-03T00:57:16Z", "status_code": 10**6},
            "status_code",
        ),
    ],
)
def test_parse_attempt_holds_rows_to_the_boundary_rules(item: object, message: str) -> None:
    # The GUID is stored (the ledger's state, the deliveries table's key), the id sent back.
    with pytest.raises(LedgerFormatError, match=message):
        parse_attempt(item)
