"""Structured logs: JSON for machines, a readable line for a terminal, secrets never.

``configure_logging`` is called once by the ``prwatch`` command at start. The log calls
across prwatch bind their ids (delivery, installation, repository, PR) in ``extra``; both
formats show them. ``RedactingFilter`` runs on the handler, so every record — prwatch's,
a library's, an exception's traceback — is scrubbed before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "json", "text"]

REDACTED = "[redacted]"
# Attribute names whose values are secret whatever they hold.
SECRET_NAME = re.compile(r"token|secret|password|private_key|authorization|jwt|signature", re.I)
# Shapes of secrets inside free text.
SECRET_PATTERNS = (
    re.compile(r"gh[pousr]_[A-Za-z0-9_]{16,}"),  # GitHub tokens (installation: ghs_…)
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    # Authorization values: a word after "token" is one when it has a digit or is long (not
    # the "unreadable" of "token unreadable").
    re.compile(r"(?i)\b(bearer|token)\s+(?=[\w.\-]*\d|[\w.\-]{20})[A-Za-z0-9._\-]{8,}"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+"),  # JWTs
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"sha256=[0-9a-f]{64}"),  # webhook signatures
    re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+(?=@)"),  # user:password in URLs
)
# LogRecord's own attributes: everything else on a record came in through ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs the message, its arguments, the traceback and every ``extra`` value; `secrets`
    are literal values (webhook secrets, the private key) removed wherever they appear."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self._secrets)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact_text(formatter.formatException(record.exc_info), self._secrets)
            record.exc_info = None  # the scrubbed text stands in for it
        for name, value in list(vars(record).items()):
            if name in _STANDARD:
                continue
            if SECRET_NAME.search(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, str):
                setattr(record, name, redact_text(value, self._secrets))
            elif not isinstance(value, (int, float, bool, type(None))):
                setattr(record, name, redact_text(str(value), self._secrets))
        return True


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value …`` — the bound ids at the end of the line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(
            f"{name}={value}" for name, value in vars(record).items() if name not in _STANDARD
        )
        if not fields:
            return line
        head, newline, rest = line.partition("\n")
        return f"{head} {fields}{newline}{rest}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
    )


def use_json(log_format: LogFormat, stream: IO[str]) -> bool:
    if log_format == "auto":
        isatty: Any = getattr(stream, "isatty", None)
        return not (callable(isatty) and isatty())
    return log_format == "json"


def configure_logging(
    log_format: LogFormat = "auto",
    *,
    level: int = logging.INFO,
    stream: IO[str] | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send the root logger's records to `stream` (stderr), JSON unless a terminal reads it
    (``auto``), redacted; prwatch's own from `level` up, libraries' from WARNING.
    Replaces a handler an earlier call installed; returns the handler."""
    target = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(target)
    handler.set_name("prwatch")
    handler.setFormatter(json_formatter() if use_json(log_format, target) else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "prwatch":
            root.removeHandler(existing)
    root.addHandler(handler)
    # Libraries speak at WARNING and up (alembic, for one, logs INFO lines on import).
    root.setLevel(max(level, logging.WARNING))
    logging.getLogger("prwatch").setLevel(level)
    return handler
