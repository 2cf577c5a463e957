"""Turn GitHub's JSON objects into domain snapshots, reading only the fields prwatch keeps.

Input is what `json.loads` gave: a REST list item, a full REST object, a webhook payload's
object or a GraphQL node. Unknown fields are ignored and missing optional ones get their
default, so other variants of the same objects (organisation repositories, GitHub Enterprise,
older payloads) parse too; a missing or malformed required field raises PayloadError naming it.
Every value kept passes the boundary rules of ``prwatch.github.validation`` (ids within 64
bits, SHAs of 40 hex characters, bounded text without NUL characters, timestamps not in the
future), so whatever reaches the store is storable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prwatch.domain.models import (
    CheckRunSnapshot,
    CommitStatusSnapshot,
    InstallationSnapshot,
    PullRequestSnapshot,
    RepositorySnapshot,
    ReviewSnapshot,
)
from prwatch.domain.ordering import CHECK_RUN_STATUSES
from prwatch.domain.reviews import REVIEW_DECISIONS, REVIEW_STATES
from prwatch.domain.statuses import STATUS_STATES
from prwatch.github import validation
from prwatch.github.validation import (
    MAX_CHECK_NAME,
    MAX_DESCRIPTION,
    MAX_LABEL,
    MAX_LABELS,
    MAX_LOGIN,
    MAX_MERGE_METHOD,
    MAX_NODE_ID,
    MAX_REF,
    MAX_SLUG,
    MAX_TITLE,
    MAX_URL,
    InvalidValue,
    UnknownState,
)

NO_ACCOUNT_LOGIN = ""  # an installation whose `account` GitHub sends as null
ENTERPRISE_ACCOUNT_TYPE = "Enterprise"
UNKNOWN_ACCOUNT_TYPE = "Unknown"  # a null account and no `target_type` either
GHOST_LOGIN = "ghost"  # what GitHub shows for a deleted account; the API gives `user: null`
PR_STATES = frozenset({"open", "closed"})
# GitHub documents no limit; a longer context than this is not a CI's name but an attack.
MAX_CONTEXT_LENGTH = 1_000


# A required field of a GitHub object is missing, has the wrong type, or breaks a boundary rule.
PayloadError = InvalidValue


def parse_timestamp(value: str | None, *, where: str = "timestamp") -> datetime | None:
    """An ISO 8601 timestamp ("2019-05-15T15:20:33Z") as an aware UTC datetime, not more than
    a day in the future; None stays None."""
    if value is None:
        return None
    return validation.timestamp(value, where)


def pull_request_from_json(obj: Mapping[str, Any], repository_id: int) -> PullRequestSnapshot:
    """A PR from a REST list item, a full REST PR or a webhook `pull_request` object."""
    fields = _Fields(obj, "pull_request")
    state = fields.string("state")
    if state not in PR_STATES:
        raise UnknownState(f"pull_request.state: expected 'open' or 'closed', got {state[:40]!r}")
    merged_at = fields.timestamp("merged_at")
    # List items have no `merged` key; there `merged_at` is the only sign of a merge.
    merged = fields.optional_bool("merged")
    if merged is None:
        merged = merged_at is not None
    if merged and state != "closed":
        raise PayloadError("pull_request: merged but not closed")
    head = fields.nested("head")
    base = fields.nested("base")
    user = fields.optional_nested("user")
    auto_merge = fields.optional_nested("auto_merge")  # null while auto-merge is off
    enabled_by = None if auto_merge is None else auto_merge.optional_nested("enabled_by")
    return PullRequestSnapshot(
        repository_id=repository_id,
        number=fields.pr_number("number"),
        github_id=fields.github_id("id"),
        node_id=fields.name("node_id", MAX_NODE_ID),
        state=state,
        draft=bool(fields.optional_bool("draft")),
        merged=merged,
        merged_at=merged_at,
        closed_at=fields.timestamp("closed_at"),
        title=fields.text("title", MAX_TITLE),
        author=GHOST_LOGIN if user is None else user.name("login", MAX_LOGIN),
        labels=tuple(
            sorted(
                label.text("name", MAX_LABEL)
                for label in fields.nested_list("labels", max_items=MAX_LABELS)
            )
        ),
        head_sha=head.sha("sha"),
        head_ref=head.text("ref", MAX_REF),
        base_sha=base.sha("sha"),
        base_ref=base.text("ref", MAX_REF),
        created_at=fields.required_timestamp("created_at"),
        updated_at=fields.required_timestamp("updated_at"),
        auto_merge_method=None
        if auto_merge is None
        else auto_merge.keyword("merge_method", MAX_MERGE_METHOD),
        auto_merge_enabled_by=None if enabled_by is None else enabled_by.name("login", MAX_LOGIN),
    )


def check_run_from_json(obj: Mapping[str, Any], repository_id: int) -> CheckRunSnapshot:
    """A check run from the REST API or a webhook `check_run` object."""
    fields = _Fields(obj, "check_run")
    app = fields.optional_nested("app")  # null for some integrations
    suite = fields.optional_nested("check_suite")
    return CheckRunSnapshot(
        id=fields.github_id("id"),
        repository_id=repository_id,
        head_sha=fields.sha("head_sha"),
        name=fields.text("name", MAX_CHECK_NAME),
        status=_check_status(fields.string("status"), fields.where("status")),
        conclusion=fields.optional_keyword("conclusion"),
        started_at=fields.timestamp("started_at"),
        completed_at=fields.timestamp("completed_at"),
        app_slug=None if app is None else app.optional_name("slug", MAX_SLUG),
        check_suite_id=None if suite is None else suite.github_id("id"),
    )


def check_run_from_graphql(
    node: Mapping[str, Any], repository_id: int, head_sha: str
) -> CheckRunSnapshot:
    """A check run from a GraphQL `CheckRun` node.

    Expects `databaseId name status conclusion startedAt completedAt
    checkSuite { databaseId app { slug } }`; the node has no head SHA, so the caller passes
    the commit it asked about. GraphQL enums (IN_PROGRESS, SUCCESS) become REST's lower case.
    """
    fields = _Fields(node, "CheckRun")
    suite = fields.optional_nested("checkSuite")
    app = None if suite is None else suite.optional_nested("app")
    conclusion = fields.optional_keyword("conclusion")
    return CheckRunSnapshot(
        id=fields.github_id("databaseId"),
        repository_id=repository_id,
        head_sha=validation.commit_sha(head_sha, "CheckRun's commit"),
        name=fields.text("name", MAX_CHECK_NAME),
        status=_check_status(fields.string("status").lower(), fields.where("status")),
        conclusion=None if conclusion is None else conclusion.lower(),
        started_at=fields.timestamp("startedAt"),
        completed_at=fields.timestamp("completedAt"),
        app_slug=None if app is None else app.optional_name("slug", MAX_SLUG),
        check_suite_id=None if suite is None else suite.optional_github_id("databaseId"),
    )


def commit_status_from_json(
    obj: Mapping[str, Any], repository_id: int, *, sha: str | None = None
) -> CommitStatusSnapshot:
    """A commit status from a `status` webhook payload (which names its commit in `sha`) or
    an item of the REST combined status or status list (pass the commit's `sha`)."""
    fields = _Fields(obj, "status")
    return CommitStatusSnapshot(
        repository_id=repository_id,
        sha=_commit_sha(sha if sha is not None else fields.string("sha"), fields.where("sha")),
        context=_context(fields.string("context"), fields.where("context")),
        state=_status_state(fields.string("state"), fields.where("state")),
        description=fields.optional_text("description", MAX_DESCRIPTION),
        target_url=fields.optional_name("target_url", MAX_URL),
        created_at=fields.required_timestamp("created_at"),
        updated_at=fields.required_timestamp("updated_at"),
        status_id=fields.optional_github_id("id"),
    )


def commit_status_from_graphql(
    node: Mapping[str, Any], repository_id: int, sha: str
) -> CommitStatusSnapshot:
    """A commit status from a GraphQL `StatusContext` node (`context state description
    targetUrl createdAt`). A status is never edited, so `createdAt` is its `updated_at`.
    GraphQL's `EXPECTED` (a required context nobody reported) is not a posted status: it
    raises like any other state outside REST's enum."""
    fields = _Fields(node, "StatusContext")
    created_at = fields.required_timestamp("createdAt")
    return CommitStatusSnapshot(
        repository_id=repository_id,
        sha=_commit_sha(sha, "StatusContext.commit"),
        context=_context(fields.string("context"), fields.where("context")),
        state=_status_state(fields.string("state").lower(), fields.where("state")),
        description=fields.optional_text("description", MAX_DESCRIPTION),
        target_url=fields.optional_name("targetUrl", MAX_URL),
        created_at=created_at,
        updated_at=created_at,
    )


def review_from_json(obj: Mapping[str, Any], repository_id: int, pr_number: int) -> ReviewSnapshot:
    """A review from a `pull_request_review` payload's `review` or REST's review list."""
    fields = _Fields(obj, "review")
    user = fields.optional_nested("user")
    return ReviewSnapshot(
        id=fields.github_id("id"),
        repository_id=repository_id,
        pr_number=pr_number,
        user=GHOST_LOGIN if user is None else user.name("login", MAX_LOGIN),
        state=_review_state(fields.string("state").lower(), fields.where("state")),
        submitted_at=fields.timestamp("submitted_at"),
        commit_id=_optional_sha(fields.optional_string("commit_id"), fields.where("commit_id")),
    )


def review_from_graphql(
    node: Mapping[str, Any], repository_id: int, pr_number: int
) -> ReviewSnapshot:
    """A review from a GraphQL `PullRequestReview` node (`databaseId author { login } state
    submittedAt commit { oid }`)."""
    fields = _Fields(node, "PullRequestReview")
    author = fields.optional_nested("author")
    commit = fields.optional_nested("commit")
    oid = None if commit is None else commit.optional_string("oid")
    return ReviewSnapshot(
        id=fields.github_id("databaseId"),
        repository_id=repository_id,
        pr_number=pr_number,
        user=GHOST_LOGIN if author is None else author.name("login", MAX_LOGIN),
        state=_review_state(fields.string("state").lower(), fields.where("state")),
        submitted_at=fields.timestamp("submittedAt"),
        commit_id=_optional_sha(oid, fields.where("commit")),
    )


def review_decision_from_graphql(value: object, where: str = "reviewDecision") -> str | None:
    """GraphQL's `reviewDecision` in lower case; null (no review required) stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}: expected a string, got {_describe(value)}")
    if value.lower() not in REVIEW_DECISIONS:
        known = ", ".join(sorted(REVIEW_DECISIONS))
        raise UnknownState(f"{where}: unknown review decision {value[:40]!r} (known: {known})")
    return value.lower()


def repository_from_json(obj: Mapping[str, Any], installation_id: int) -> RepositorySnapshot:
    """A repository from the REST API, a webhook `repository` or an installation's list."""
    fields = _Fields(obj, "repository")
    return RepositorySnapshot(
        id=fields.github_id("id"),
        installation_id=installation_id,
        full_name=_full_name(fields),
        private=bool(fields.optional_bool("private")),
    )


def installation_from_json(obj: Mapping[str, Any]) -> InstallationSnapshot:
    """An installation from `GET /app/installations` or a webhook `installation` object.

    Its `account` is a user or organization (`login`, `type`), an enterprise (`slug`, `name`,
    no `login`) or null (GitHub's OpenAPI: `simple-user | enterprise | null`): an enterprise
    is stored under its slug with type ``Enterprise``, a null account as
    ``NO_ACCOUNT_LOGIN`` with the installation's `target_type`.
    https://docs.github.com/en/rest/apps/apps#list-installations-for-the-authenticated-app
    Payloads of events other than `installation` carry only `{id, node_id}`; those are not
    enough for a snapshot and raise PayloadError.
    """
    fields = _Fields(obj, "installation")
    if "account" not in obj:
        raise PayloadError("installation.account: missing")
    account = fields.optional_nested("account")
    target_type = fields.optional_keyword("target_type")
    if account is None:
        login, account_type = NO_ACCOUNT_LOGIN, target_type or UNKNOWN_ACCOUNT_TYPE
    elif account.optional_string("login") is None and account.optional_string("slug"):
        login, account_type = account.name("slug", MAX_LOGIN), ENTERPRISE_ACCOUNT_TYPE
    else:
        login = account.name("login", MAX_LOGIN)
        found_type = account.optional_keyword("type") or target_type
        if found_type is None:
            raise PayloadError("installation.account.type: missing, and no target_type either")
        account_type = found_type
    return InstallationSnapshot(
        id=fields.github_id("id"),
        account_login=login,
        account_type=account_type,
        suspended=fields.timestamp("suspended_at") is not None,
    )


def _full_name(fields: _Fields) -> str:
    return validation.full_name(fields.string("full_name"), fields.where("full_name"))


def _check_status(status: str, where: str) -> str:
    if status not in CHECK_RUN_STATUSES:
        known = ", ".join(sorted(CHECK_RUN_STATUSES))
        raise UnknownState(f"{where}: unknown check run status {status[:40]!r} (known: {known})")
    return status


def _status_state(state: str, where: str) -> str:
    if state not in STATUS_STATES:
        known = ", ".join(sorted(STATUS_STATES))
        raise UnknownState(f"{where}: unknown commit status state {state[:40]!r} (known: {known})")
    return state


def _review_state(state: str, where: str) -> str:
    if state not in REVIEW_STATES:
        known = ", ".join(sorted(REVIEW_STATES))
        raise UnknownState(f"{where}: unknown review state {state[:40]!r} (known: {known})")
    return state


def _optional_sha(sha: str | None, where: str) -> str | None:
    return None if sha is None else _commit_sha(sha, where)


def _commit_sha(sha: str, where: str) -> str:
    # One rule for every SHA: a status or review on a commit the PRs name the same way.
    return validation.commit_sha(sha, where)


def _context(context: str, where: str) -> str:
    if not context or len(context) > MAX_CONTEXT_LENGTH:
        raise PayloadError(f"{where}: a status context is 1 to {MAX_CONTEXT_LENGTH} characters")
    return validation.name(context, where, MAX_CONTEXT_LENGTH)


class _Fields:
    """Typed reads from one JSON object; errors name the field's path."""

    __slots__ = ("_obj", "_path")

    def __init__(self, obj: object, path: str) -> None:
        if not isinstance(obj, Mapping):
            raise PayloadError(f"{path}: expected an object, got {_describe(obj)}")
        self._obj: Mapping[str, Any] = obj
        self._path = path

    def where(self, key: str) -> str:
        return f"{self._path}.{key}"

    def _get(self, key: str) -> Any:
        return self._obj.get(key)

    def _required(self, key: str) -> Any:
        if key not in self._obj or self._obj[key] is None:
            raise PayloadError(f"{self.where(key)}: missing")
        return self._obj[key]

    def string(self, key: str) -> str:
        value = self._required(key)
        if not isinstance(value, str):
            raise PayloadError(f"{self.where(key)}: expected a string, got {_describe(value)}")
        return value

    def text(self, key: str, limit: int) -> str:
        return validation.text(self._required(key), self.where(key), limit)

    def name(self, key: str, limit: int) -> str:
        return validation.name(self._required(key), self.where(key), limit)

    def optional_text(self, key: str, limit: int) -> str | None:
        return None if self._get(key) is None else self.text(key, limit)

    def optional_name(self, key: str, limit: int) -> str | None:
        return None if self._get(key) is None else self.name(key, limit)

    def keyword(self, key: str, limit: int = validation.MAX_KEYWORD) -> str:
        return validation.keyword(self._required(key), self.where(key), limit)

    def optional_keyword(self, key: str) -> str | None:
        value = self._get(key)
        return None if value is None else validation.keyword(value, self.where(key))

    def sha(self, key: str) -> str:
        return validation.commit_sha(self._required(key), self.where(key))

    def github_id(self, key: str) -> int:
        return validation.github_id(self._required(key), self.where(key))

    def optional_github_id(self, key: str) -> int | None:
        return None if self._get(key) is None else self.github_id(key)

    def pr_number(self, key: str) -> int:
        return validation.pr_number(self._required(key), self.where(key))

    def optional_string(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise PayloadError(f"{self.where(key)}: expected a string, got {_describe(value)}")
        return value

    def optional_bool(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise PayloadError(f"{self.where(key)}: expected true or false, got {_describe(value)}")
        return value

    def timestamp(self, key: str) -> datetime | None:
        return parse_timestamp(self._get(key), where=self.where(key))

    def required_timestamp(self, key: str) -> datetime:
        parsed = parse_timestamp(self._required(key), where=self.where(key))
        assert parsed is not None  # _required refused None
        return parsed

    def nested(self, key: str) -> _Fields:
        return _Fields(self._required(key), self.where(key))

    def optional_nested(self, key: str) -> _Fields | None:
        value = self._get(key)
        return None if value is None else _Fields(value, self.where(key))

    def nested_list(self, key: str, *, max_items: int | None = None) -> list[_Fields]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise PayloadError(f"{self.where(key)}: expected a list, got {_describe(value)}")
        if max_items is not None and len(value) > max_items:
            raise PayloadError(f"{self.where(key)}: more than {max_items} items")
        return [_Fields(item, f"{self.where(key)}[{index}]") for index, item in enumerate(value)]


def _describe(value: object) -> str:
    return validation.shown(value)
