"""The boundary rules for every value prwatch stores from GitHub: a delivery's headers and
payload, and GitHub's REST and GraphQL answers. Pure functions over decoded JSON values.

A value either passes (normalised: SHAs lower-cased, long text cut to its bound) or raises
``InvalidValue`` naming the field. The bounds are wider than GitHub's own limits, so a real
object always passes; they exist so that a hostile or broken value fails here, with a reason,
instead of deep in the database (PostgreSQL refuses NUL characters and integers past 64 bits,
SQLite surrogates) or in a later sweep (a head SHA that is not one breaks the check query).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import accumulate

MAX_ID = 2**63 - 1  # ids are 64-bit signed in the database (BIGINT)
MAX_PR_NUMBER = 2**31 - 1  # PR numbers are 32-bit (INTEGER)
# A clock may be off, GitHub's and ours, but not by a day.
MAX_FUTURE = timedelta(days=1)
# GitHub's payloads nest about ten levels deep; 64 leaves room for any real one.
MAX_JSON_DEPTH = 64

# Text prwatch keeps, and how long it may be. Truncated, not refused: GitHub allows 256
# characters in a title, 50 in a label name and about 255 bytes in a ref, so a longer value is
# not GitHub's, but cutting it keeps the rest of a PR.
MAX_TITLE = 1024
MAX_LABEL = 255
MAX_LABELS = 1000  # GitHub allows 100 labels on an issue or PR
MAX_REF = 1024
MAX_CHECK_NAME = 1024
MAX_DESCRIPTION = 1024  # a commit status's description (GitHub keeps 140 characters)
# Names that identify something are refused when too long, never cut: a cut name would be
# another name. They are bounded by their columns.
MAX_LOGIN = 255  # GitHub logins have at most 39 characters ("[bot]" added for Apps)
MAX_FULL_NAME = 255  # owner (39) / repository (100)
MAX_NODE_ID = 64
MAX_SLUG = 255
MAX_URL = 2048  # a commit status's target URL: refused when longer, a cut one points elsewhere
MAX_KEYWORD = 32  # states, statuses, conclusions, account types
MAX_MERGE_METHOD = 16  # an auto-merge method (merge, squash, rebase): its column's width
MAX_EVENT_NAME = 64  # X-GitHub-Event and the payload's action
MAX_GUID = 64

_SHA = re.compile(r"[0-9a-fA-F]{40}")
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_GUID = re.compile(r"[0-9A-Za-z_.:-]+")
# GitHub's own rule for names: owners of letters, digits and '-' (enterprise-managed users
# add '_'), repositories of letters, digits and '-', '_', '.'. ASCII only, so that the stored
# lower-case key is as long as the name (some letters lower to two characters).
_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# What a JSON string can hold: everything between its quotes, escapes included.
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_NOT_QUOTES_OR_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')


class InvalidValue(ValueError):
    """A value from GitHub that prwatch refuses to store; the message names the field."""


class UnknownState(InvalidValue):
    """A state, status or decision outside the set GitHub documents for the field."""


def github_id(value: object, where: str) -> int:
    """A GitHub database id: a positive integer within 64 bits."""
    return _bounded_integer(value, where, MAX_ID)


def pr_number(value: object, where: str) -> int:
    """A pull request number: a positive integer within 32 bits."""
    return _bounded_integer(value, where, MAX_PR_NUMBER)


def commit_sha(value: object, where: str) -> str:
    """A commit SHA: exactly 40 hexadecimal characters, returned in lower case."""
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise InvalidValue(f"{where}: not a 40-character hexadecimal SHA: {shown(value)}")
    return value.lower()


def text(value: object, where: str, limit: int) -> str:
    """Free text (a title, a label, a ref): a string without NUL characters, cut to ``limit``
    characters."""
    checked = _string(value, where)
    return checked[:limit]


def name(value: object, where: str, limit: int) -> str:
    """A name that identifies something (a login, a repository's full name, a node id):
    non-empty and at most ``limit`` characters, refused otherwise."""
    checked = _string(value, where)
    if not checked:
        raise InvalidValue(f"{where}: empty")
    if len(checked) > limit:
        raise InvalidValue(f"{where}: longer than {limit} characters")
    return checked


def full_name(value: object, where: str) -> str:
    """A repository's ``OWNER/NAME``, at most MAX_FULL_NAME characters of GitHub's alphabet."""
    checked = name(value, where, MAX_FULL_NAME)
    if not _FULL_NAME.fullmatch(checked):
        raise InvalidValue(f"{where}: not OWNER/REPOSITORY of GitHub's characters: {shown(value)}")
    return checked


def keyword(value: object, where: str, limit: int = MAX_KEYWORD) -> str:
    """A word from a closed or open set of GitHub's (a state, a conclusion, a type)."""
    checked = name(value, where, limit)
    if not _KEYWORD.fullmatch(checked):
        raise InvalidValue(f"{where}: not a word of letters, digits and '_': {shown(value)}")
    return checked


def event_name(value: object, where: str) -> str:
    """An event or action name (``pull_request``, ``ready_for_review``): lower-case letters,
    digits and ``_``, at most MAX_EVENT_NAME characters."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_EVENT_NAME
        or not _EVENT_NAME.fullmatch(value)
    ):
        raise InvalidValue(
            f"{where}: not an event name (lower-case letters, digits and '_', "
            f"at most {MAX_EVENT_NAME}): {shown(value)}"
        )
    return value


def delivery_guid(value: object, where: str = "X-GitHub-Delivery") -> str:
    """A delivery's GUID: 1 to MAX_GUID printable characters (GitHub sends a UUID)."""
    if not isinstance(value, str) or len(value) > MAX_GUID or not _GUID.fullmatch(value):
        raise InvalidValue(
            f"{where}: expected 1 to {MAX_GUID} letters, digits and '-._:', got {shown(value)}"
        )
    return value


def timestamp(value: object, where: str, *, now: datetime | None = None) -> datetime:
    """An ISO 8601 timestamp with a time zone, as an aware UTC datetime, not more than a day
    ahead of ``now``."""
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: expected an ISO 8601 string, got {shown(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{where}: not an ISO 8601 timestamp: {shown(value)}") from None
    if parsed.tzinfo is None:
        raise InvalidValue(f"{where}: timestamp without a time zone: {shown(value)}")
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved past the edge by its offset
        raise InvalidValue(f"{where}: timestamp out of range: {shown(value)}") from None
    if moment > (now or datetime.now(UTC)) + MAX_FUTURE:
        raise InvalidValue(f"{where}: more than a day in the future: {shown(value)}")
    return moment


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON document nest (0 for a scalar), counted
    without decoding it: brackets inside strings do not count. Meant for documents that are
    JSON or refused anyway; on other bytes the count is a bound, not a meaning."""
    # Byte operations in C, no per-character Python (a regex over the strings cost 1.5 ms
    # of a 29 KB payload, 8 times json.loads): escaped backslashes go first, then escaped
    # quotes, so that every quote left opens or closes a string, as a decoder reads them left
    # to right; then what lies between quote pairs goes. After an unpaired quote a decoder
    # reads one unterminated string: nothing there nests.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = unescaped.translate(None, _NOT_QUOTES_OR_BRACKETS)
    brackets = b"".join(kept.split(b'"')[::2])
    if not brackets:
        return 0
    return max(0, max(accumulate(_DEPTH_STEP[b] for b in brackets)))


def check_json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """``InvalidValue`` when ``body`` nests deeper than ``limit``: decoders recurse per level
    (``json.loads`` raises RecursionError near 1,000)."""
    depth = json_depth(body)
    if depth > limit:
        raise InvalidValue(f"body: JSON nested {depth} levels deep, at most {limit} allowed")


def _bounded_integer(value: object, where: str, limit: int) -> int:
    # bool is an int subclass; `true` where an id belongs is malformed, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidValue(f"{where}: expected an integer, got {shown(value)}")
    if not 0 < value <= limit:
        raise InvalidValue(f"{where}: {shown(value)} is not between 1 and {limit}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: expected a string, got {shown(value)}")
    if "\x00" in value:
        raise InvalidValue(f"{where}: contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud800") decodes from JSON, not to UTF-8
            raise InvalidValue(f"{where}: not valid Unicode (a lone surrogate)") from None
    return value


def shown(value: object) -> str:
    """A short description of ``value`` for an error message."""
    if value is None:
        return "null"
    if isinstance(value, int) and value.bit_length() > 128:  # no repr past 4,300 digits
        return f"int of {value.bit_length()} bits"
    described = repr(value)
    if len(described) > 40:
        described = described[:37] + "..."
    return f"{type(value).__name__} {described}"
