"""The simulated GitHub's objects: compact, mutable, rendered to JSON only on demand.

Millions of these live in memory at benchmark scale, hence `__slots__` and no per-object dicts.
"""

from __future__ import annotations


class User:
    __slots__ = ("id", "login", "type")

    def __init__(self, id: int, login: str, type: str = "User") -> None:
        self.id = id
        self.login = login
        self.type = type  # "User" | "Organization" | "Bot"


class Installation:
    __slots__ = (
        "account",
        "account_shown",
        "created_at",
        "deleted",
        "id",
        "permissions",
        "repository_ids",
        "suspended_at",
        "updated_at",
    )

    def __init__(
        self,
        id: int,
        account: User,
        created_at: int,
        permissions: dict[str, str] | None = None,
        *,
        account_shown: bool = True,
    ) -> None:
        self.id = id
        # A user, an organization, or an enterprise (an account of type "Enterprise"): GitHub
        # renders the last as an enterprise object (slug, name, no login).
        self.account = account
        self.account_shown = account_shown  # False: GitHub sends `account: null`
        self.created_at = created_at
        self.updated_at = created_at
        self.suspended_at: int | None = None
        self.deleted = False
        self.repository_ids: set[int] = set()
        self.permissions: dict[str, str] = dict(permissions or {})  # what the owner accepted

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


class Repository:
    __slots__ = (
        "created_at",
        "default_branch",
        "deleted",
        "fork_of",
        "fragment",
        "id",
        "installation_id",
        "meta_rev",
        "milestones",
        "name",
        "owner",
        "private",
        "pulls",
        "pulls_rev",
        "pushed_at",
        "updated_at",
    )

    def __init__(
        self,
        id: int,
        owner: User,
        name: str,
        created_at: int,
        *,
        private: bool = False,
        installation_id: int | None = None,
        fork_of: Repository | None = None,
    ) -> None:
        self.id = id
        self.owner = owner
        self.name = name
        self.private = private
        self.installation_id = installation_id
        self.fork_of = fork_of
        self.deleted = False
        self.default_branch = "main"
        self.created_at = created_at
        self.updated_at = created_at
        self.pushed_at = created_at
        self.pulls: list[PullRequest] = []  # index = number - 1
        self.pulls_rev = 0  # bumped by any change to this repository's pull requests
        self.meta_rev = 0  # bumped by any change to the repository object itself
        self.fragment: str | None = None  # cached JSON of the repository object
        self.milestones: list[Milestone] = []  # index = number - 1

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def touch_meta(self) -> None:
        self.meta_rev += 1
        self.pulls_rev += 1  # pull requests embed the repository
        self.fragment = None


class Milestone:
    __slots__ = ("created_at", "creator", "due_on", "id", "number", "title")

    def __init__(
        self, id: int, number: int, title: str, creator: User, created_at: int, due_on: int
    ) -> None:
        self.id = id
        self.number = number
        self.title = title
        self.creator = creator
        self.created_at = created_at
        self.due_on = due_on


class AutoMerge:
    """A PR's auto-merge request: merged by GitHub once its requirements are met."""

    __slots__ = ("commit_message", "commit_title", "enabled_by", "merge_method")

    def __init__(
        self,
        enabled_by: User,
        merge_method: str,
        commit_title: str | None = None,
        commit_message: str | None = None,
    ) -> None:
        self.enabled_by = enabled_by
        self.merge_method = merge_method  # merge | squash | rebase
        self.commit_title = commit_title
        self.commit_message = commit_message


class PullRequest:
    __slots__ = (
        "assignees",
        "author",
        "auto_merge",
        "base_ref",
        "base_sha",
        "body",
        "closed_at",
        "commits",
        "created_at",
        "draft",
        "head_ref",
        "head_repo",
        "head_sha",
        "id",
        "labels",
        "lock_reason",
        "locked",
        "merge_commit_sha",
        "merged",
        "merged_at",
        "merged_by",
        "milestone",
        "number",
        "queued_at",
        "repo",
        "requested_reviewers",
        "rev",
        "state",
        "title",
        "updated_at",
    )

    def __init__(
        self,
        repo: Repository,
        number: int,
        id: int,
        *,
        title: str,
        author: User,
        head_repo: Repository,
        head_ref: str,
        head_sha: str,
        base_ref: str,
        base_sha: str,
        created_at: int,
        draft: bool = False,
        body: str | None = None,
    ) -> None:
        self.repo = repo
        self.number = number
        self.id = id
        self.title = title
        self.body = body
        self.author = author
        self.head_repo = head_repo
        self.head_ref = head_ref
        self.head_sha = head_sha
        self.base_ref = base_ref
        self.base_sha = base_sha
        self.created_at = created_at
        self.updated_at = created_at
        self.draft = draft
        self.state = "open"
        self.merged = False
        self.merged_at: int | None = None
        self.closed_at: int | None = None
        self.merged_by: User | None = None
        self.merge_commit_sha: str | None = None
        self.labels: tuple[str, ...] = ()
        self.commits = 1
        self.rev = 0
        self.assignees: tuple[User, ...] = ()
        self.requested_reviewers: tuple[User, ...] = ()
        self.milestone: Milestone | None = None
        self.locked = False
        self.lock_reason: str | None = None  # resolved | off-topic | too heated | spam
        self.auto_merge: AutoMerge | None = None
        self.queued_at: int | None = None  # in the base branch's merge queue since

    @property
    def is_fork(self) -> bool:
        return self.head_repo is not self.repo


class CheckSuite:
    __slots__ = (
        "after",
        "app_id",
        "before",
        "conclusion",
        "created_at",
        "head_branch",
        "head_sha",
        "id",
        "repo",
        "runs",
        "status",
        "updated_at",
    )

    def __init__(
        self,
        id: int,
        repo: Repository,
        head_sha: str,
        head_branch: str | None,
        created_at: int,
        app_id: int,
        before: str | None = None,
    ) -> None:
        self.id = id
        self.repo = repo
        self.head_sha = head_sha
        self.head_branch = head_branch  # None for a suite triggered from a fork
        self.created_at = created_at
        self.updated_at = created_at
        self.app_id = app_id
        self.before = before
        self.after = head_sha
        self.status = "queued"
        self.conclusion: str | None = None
        self.runs: list[CheckRun] = []


class CheckRun:
    __slots__ = (
        "actions",
        "completed_at",
        "conclusion",
        "id",
        "name",
        "started_at",
        "status",
        "suite",
    )

    def __init__(self, id: int, suite: CheckSuite, name: str, started_at: int) -> None:
        self.id = id
        self.suite = suite
        self.name = name
        self.status = "queued"
        self.conclusion: str | None = None
        self.started_at = started_at
        self.completed_at: int | None = None
        self.actions: tuple[str, ...] = ()  # identifiers of the buttons the check app offers

    @property
    def head_sha(self) -> str:
        return self.suite.head_sha

    @property
    def repo(self) -> Repository:
        return self.suite.repo


class CheckApp:
    """A GitHub App that creates check runs (CI, linters), not the watching App."""

    __slots__ = ("id", "name", "owner", "slug")

    def __init__(self, id: int, slug: str, name: str, owner: User) -> None:
        self.id = id
        self.slug = slug
        self.name = name
        self.owner = owner
