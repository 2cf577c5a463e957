from __future__ import annotations

import pytest

from prwatch.github.signature import sign, verify

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
EXPECTED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_test_vector() -> None:
    assert sign(SECRET, BODY) == EXPECTED
    assert sign(SECRET.encode(), BODY) == EXPECTED


def test_verify_accepts_the_right_signature() -> None:
    assert verify([SECRET], BODY, EXPECTED)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        EXPECTED.upper(),
        EXPECTED[:-1] + "0",
        EXPECTED.removeprefix("sha256="),
        "sha1=" + EXPECTED.removeprefix("sha256="),
        EXPECTED + "00",
        "sha256=é" + "0" * 63,
    ],
)
def test_verify_refuses_wrong_or_missing_signatures(header: str | None) -> None:
    assert not verify([SECRET], BODY, header)


def test_verify_refuses_a_changed_body() -> None:
    assert not verify([SECRET], BODY + b" ", EXPECTED)


def test_every_configured_secret_is_accepted_for_rotation() -> None:
    old, new = "old secret", "new secret"
    assert verify([old, new], BODY, sign(old, BODY))
    assert verify([old, new], BODY, sign(new, BODY))
    assert not verify([old, new], BODY, sign("someone else", BODY))
    assert not verify([new], BODY, sign(old, BODY))


def test_verify_needs_a_configured_secret() -> None:
    with pytest.raises(ValueError, match="no webhook secret"):
        verify([], BODY, EXPECTED)


def test_verify_refuses_a_lone_string_for_the_secrets() -> None:
    with pytest.raises(TypeError, match="sequence of secrets"):
        verify(SECRET, BODY, EXPECTED)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        sign("", BODY)
