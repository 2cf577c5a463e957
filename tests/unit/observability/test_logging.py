from __future__ import annotations

import io
import json
import logging

import pytest

from prwatch.observability.logging import REDACTED, configure_logging, redact_text


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("prwatch").setLevel(logging.NOTSET)


@pytest.mark.parametrize(
    "secret",
    [
        "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
        "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl",
        "sha256=" + "ab" * 32,
        "token 0123abcdef4567",
        "token abcdefghijklmnopqrstuvwxyz",  # long, if without a digit
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_secret_shapes_are_redacted(secret: str) -> None:
    text = redact_text(f"before {secret} after")
    assert secret not in text and REDACTED in text
    assert text.startswith("before") and text.endswith("after")


def test_words_after_token_stay_readable() -> None:
    """An operator reads "shared installation token unreadable, replacing it", not a gap."""
    message = "shared installation token unreadable, replacing it; token expired"
    assert redact_text(message) == message


def test_password_in_a_url_is_redacted() -> None:
    text = redact_text("postgresql+asyncpg://user:hunter2@db/prwatch")
    assert "hunter2" not in text and "db/prwatch" in text


def test_json_lines_carry_bound_ids_and_no_secrets(restore_root: object) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream, secrets=("s3cret-value",))
    logging.getLogger("prwatch.x").info(
        "applied with s3cret-value",
        extra={"delivery_id": "d-1", "repository_id": 7, "pr_number": 3, "webhook_secret": "zz"},
    )
    record = json.loads(stream.getvalue())
    assert record["level"] == "INFO" and record["logger"] == "prwatch.x"
    assert record["delivery_id"] == "d-1" and record["repository_id"] == 7
    assert record["pr_number"] == 3 and record["webhook_secret"] == REDACTED
    assert "s3cret-value" not in stream.getvalue()


def test_text_lines_are_readable_and_redacted(restore_root: object) -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    try:
        raise RuntimeError("token ghs_16C7e42F292c6912E7710c838347Ae178B4a refused")
    except RuntimeError:
        logging.getLogger("prwatch.y").exception("failed", extra={"installation_id": 5})
    output = stream.getvalue()
    assert "prwatch.y: failed installation_id=5" in output
    assert "RuntimeError" in output and "ghs_" not in output


def test_auto_is_json_off_a_terminal(restore_root: object) -> None:
    stream = io.StringIO()  # not a tty
    configure_logging("auto", stream=stream)
    logging.getLogger("prwatch.z").warning("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"
