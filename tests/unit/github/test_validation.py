"""The boundary rules: what passes (normalised) and what is refused, with the field named."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prwatch.github import validation
from prwatch.github.validation import InvalidValue

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_ids_and_numbers_are_positive_and_within_their_columns() -> None:
    assert validation.github_id(2**63 - 1, "id") == 2**63 - 1
    assert validation.pr_number(2**31 - 1, "number") == 2**31 - 1
    for bad in (0, -1, 2**63, True, "1", 1.0, None):
        with pytest.raises(InvalidValue, match=r"^id: "):
            validation.github_id(bad, "id")
    with pytest.raises(InvalidValue, match="number"):
        validation.pr_number(2**31, "number")
    with pytest.raises(InvalidValue, match="int of 1001 bits"):  # no 4,300-digit repr
        validation.github_id(2**1000, "id")


def test_shas_are_40_hex_characters_and_come_out_lower_case() -> None:
    assert validation.commit_sha("ABCDEF" + "0" * 34, "sha") == "abcdef" + "0" * 34
    for bad in ("", "a" * 39, "a" * 41, "g" * 40, "a" * 39 + "\n", 40):
        with pytest.raises(InvalidValue, match=r"^sha: "):
            validation.commit_sha(bad, "sha")


def test_text_is_cut_names_are_refused_and_neither_holds_nul_or_a_lone_surrogate() -> None:
    assert validation.text("t" * 2000, "title", 1024) == "t" * 1024
    with pytest.raises(InvalidValue, match="longer than 39"):
        validation.name("u" * 40, "login", 39)
    with pytest.raises(InvalidValue, match="empty"):
        validation.name("", "login", 39)
    for bad in ("a\x00b", "a\ud800b"):
        with pytest.raises(InvalidValue, match=r"^title: "):
            validation.text(bad, "title", 1024)
    assert validation.text("déjà vu 🎉", "title", 1024) == "déjà vu 🎉"


def test_timestamps_need_a_zone_a_range_and_at_most_a_day_ahead() -> None:
    assert validation.timestamp("2026-01-01T12:00:00+02:00", "t", now=NOW) == datetime(
        2026, 1, 1, 10, tzinfo=UTC
    )
    assert validation.timestamp("2026-01-01T23:00:00Z", "t", now=NOW)  # within the day
    for bad in ("2026-01-03T00:00:00Z", "2026-01-01T00:00:00", "0001-01-01T00:00:00+01:00", 0):
        with pytest.raises(InvalidValue, match=r"^t: "):
            validation.timestamp(bad, "t", now=NOW)


def test_event_names_and_guids_are_bounded_words() -> None:
    assert validation.event_name("ready_for_review", "action") == "ready_for_review"
    for bad in ("", "Opened", "pull request", "a" * 65, "x\x00"):
        with pytest.raises(InvalidValue):
            validation.event_name(bad, "action")
    assert validation.delivery_guid("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    for bad in ("", "a b", "g" * 65):
        with pytest.raises(InvalidValue):
            validation.delivery_guid(bad)


def test_depth_ignores_brackets_inside_strings() -> None:
    assert validation.json_depth(b'{"a": "[[[[{{{{\\"]]]", "b": [[1]]}') == 3
    assert validation.json_depth(b"42") == 0
    with pytest.raises(InvalidValue, match="65 levels"):
        validation.check_json_depth(b"[" * 65 + b"]" * 65)


def test_depth_reads_escapes_and_quotes_as_a_decoder_does() -> None:
    assert validation.json_depth(b'["\\\\", [[]]]') == 3  # an escaped backslash ends no string
    assert validation.json_depth(b'["\\\\\\"[[", []]') == 2  # \\ then \": one string
    assert validation.json_depth(b'[[ "unterminated [[[[[[') == 2  # a decoder reads one string


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


@given(json_documents)
def test_depth_without_decoding_is_the_decoded_depth(document: object) -> None:
    assert validation.json_depth(json.dumps(document).encode()) == _depth(document)
