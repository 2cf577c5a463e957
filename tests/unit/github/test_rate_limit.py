from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from prwatch.github.ratelimit import (
    LimitKind,
    LimitVerdict,
    RateLimit,
    backoff_seconds,
    classify_limit_response,
    graphql_limit_kind,
    parse_rate_limit,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
RESET = int((NOW + timedelta(minutes=10)).timestamp())


def headers(remaining: int = 4999, **extra: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Used": str(5000 - remaining),
        "X-RateLimit-Reset": str(RESET),
        "X-RateLimit-Resource": "core",
        **extra,
    }


def test_parse_rate_limit_reads_every_header_case_insensitively() -> None:
    assert parse_rate_limit(headers(remaining=4990)) == RateLimit(
        limit=5000,
        remaining=4990,
        used=10,
        reset=NOW + timedelta(minutes=10),
        resource="core",
    )
    lower = {name.lower(): value for name, value in headers().items()}
    assert parse_rate_limit(lower) == parse_rate_limit(headers())


def test_parse_rate_limit_defaults_used_and_resource() -> None:
    partial = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4000",
        "x-ratelimit-reset": str(RESET),
    }
    rate = parse_rate_limit(partial)
    assert rate is not None
    assert (rate.used, rate.resource) == (1000, "core")


def test_parse_rate_limit_without_headers_is_none() -> None:
    assert parse_rate_limit({}) is None
    assert parse_rate_limit({"x-ratelimit-limit": "5000"}) is None


def test_parse_rate_limit_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="x-ratelimit-remaining"):
        parse_rate_limit(headers() | {"X-RateLimit-Remaining": "lots"})


def test_a_success_is_not_a_limit() -> None:
    verdict = classify_limit_response(200, headers(), b'{"id": 1}')
    assert verdict.kind is LimitKind.NOT_LIMITED
    assert not verdict.is_limited
    assert verdict.rate_limit is not None and verdict.rate_limit.remaining == 4999


@pytest.mark.parametrize("status", [403, 429])
def test_exhausted_budget_is_the_primary_limit(status: int) -> None:
    body = b'{"message": "API rate limit exceeded for installation ID 1."}'
    verdict = classify_limit_response(status, headers(remaining=0), body)
    assert verdict.kind is LimitKind.PRIMARY


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_message(status: int) -> None:
    body = json.dumps(
        {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    ).encode()
    verdict = classify_limit_response(status, headers(remaining=4000), body)
    assert verdict.kind is LimitKind.SECONDARY
    assert verdict.retry_after_seconds is None


def test_old_abuse_detection_message_is_a_secondary_limit() -> None:
    body = b'{"message": "You have triggered an abuse detection mechanism."}'
    assert classify_limit_response(403, headers(), body).kind is LimitKind.SECONDARY


def test_retry_after_marks_a_secondary_limit() -> None:
    verdict = classify_limit_response(403, headers() | {"Retry-After": "30"}, b"{}")
    assert verdict.kind is LimitKind.SECONDARY
    assert verdict.retry_after_seconds == 30.0


def test_bare_429_is_a_secondary_limit_but_bare_403_is_a_refusal() -> None:
    assert classify_limit_response(429, {}, b"").kind is LimitKind.SECONDARY
    body = b'{"message": "Resource not accessible by integration"}'
    assert classify_limit_response(403, headers(), body).kind is LimitKind.NOT_LIMITED


@pytest.mark.parametrize("status", [401, 404, 422, 500, 502])
def test_other_statuses_are_not_limits(status: int) -> None:
    verdict = classify_limit_response(status, headers(remaining=0), b"secondary rate limit")
    assert verdict.kind is LimitKind.NOT_LIMITED


@pytest.mark.parametrize("error_type", ["RATE_LIMITED", "RATE_LIMIT"])
def test_graphql_rate_limited_error_is_the_primary_limit(error_type: str) -> None:
    body = json.dumps(
        {
            "data": None,
            "errors": [{"type": error_type, "message": "API rate limit exceeded"}],
        }
    ).encode()
    verdict = classify_limit_response(200, headers(remaining=0), body)
    assert verdict.kind is LimitKind.PRIMARY


def test_graphql_secondary_limit_in_a_200() -> None:
    message = "You have exceeded a secondary rate limit. Please wait a few minutes."
    body = json.dumps({"errors": [{"message": message}]}).encode()
    assert classify_limit_response(200, {"retry-after": "30"}, body).kind is LimitKind.SECONDARY
    assert graphql_limit_kind([{"type": "NOT_FOUND", "message": "no"}]) is LimitKind.NOT_LIMITED


def test_graphql_data_mentioning_rate_limited_is_not_a_limit() -> None:
    body = json.dumps({"data": {"title": "Handle RATE_LIMITED"}}).encode()
    assert classify_limit_response(200, {}, body).kind is LimitKind.NOT_LIMITED
    assert classify_limit_response(200, {}, b"RATE_LIMITED but not json").kind is (
        LimitKind.NOT_LIMITED
    )


def test_backoff_honours_retry_after_first() -> None:
    verdict = classify_limit_response(429, headers(remaining=0) | {"retry-after": "7"}, b"")
    assert backoff_seconds(verdict, NOW, attempt=3) == 7.0


def test_backoff_honours_retry_after_as_http_date() -> None:
    verdict = classify_limit_response(429, {"Retry-After": "Wed, 01 May 2024 12:00:42 GMT"}, b"")
    assert verdict.retry_at == NOW + timedelta(seconds=42)
    assert backoff_seconds(verdict, NOW, attempt=0) == 42.0
    assert backoff_seconds(verdict, NOW + timedelta(minutes=1), attempt=0) == 0.0


def test_backoff_waits_for_the_reset_when_the_budget_is_spent() -> None:
    verdict = classify_limit_response(403, headers(remaining=0), b"")
    assert backoff_seconds(verdict, NOW, attempt=0) == 601.0
    assert backoff_seconds(verdict, NOW + timedelta(hours=1), attempt=0) == 0.0


def test_backoff_is_at_least_a_minute_and_exponential_otherwise() -> None:
    verdict = classify_limit_response(403, headers(), b"secondary rate limit")
    assert [backoff_seconds(verdict, NOW, attempt=n) for n in range(4)] == [60, 120, 240, 480]


def test_backoff_refuses_nonsense() -> None:
    not_limited = LimitVerdict(LimitKind.NOT_LIMITED)
    with pytest.raises(ValueError, match="nothing to back off"):
        backoff_seconds(not_limited, NOW, attempt=0)
    limited = LimitVerdict(LimitKind.SECONDARY)
    with pytest.raises(ValueError, match="negative"):
        backoff_seconds(limited, NOW, attempt=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        backoff_seconds(limited, NOW.replace(tzinfo=None), attempt=0)


@pytest.mark.parametrize("value", ["soon", "-5", "inf", "nan"])
def test_malformed_retry_after_is_an_error(value: str) -> None:
    with pytest.raises(ValueError, match="retry-after"):
        classify_limit_response(429, {"retry-after": value}, b"")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-RateLimit-Remaining", str(2**31)),  # past the sweep record's column
        ("X-RateLimit-Remaining", "-1"),
        ("X-RateLimit-Limit", "9" * 5000),  # int() itself refuses so many digits
        ("X-RateLimit-Reset", str(10**20)),  # fromtimestamp: OverflowError, not ValueError
    ],
)
def test_parse_rate_limit_refuses_numbers_out_of_bounds(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name.lower()):
        parse_rate_limit(headers() | {name: value})


def test_parse_rate_limit_refuses_a_resource_that_is_no_name() -> None:
    # The resource is a metric label: free text there would grow series without end.
    with pytest.raises(ValueError, match="x-ratelimit-resource"):
        parse_rate_limit(headers() | {"X-RateLimit-Resource": "core; drop table"})
