"""JSON rendering of world objects, shaped like GitHub's REST objects and webhook payloads.

Speed matters at benchmark scale: a pull request embeds its author and two full repository
objects (~20 KB in all). Those parts are rendered once, cached as JSON text, and spliced into
each pull request's JSON through placeholder strings instead of being encoded again.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from prwatch.sim.clock import iso
from prwatch.sim.entities import (
    AutoMerge,
    CheckApp,
    CheckRun,
    CheckSuite,
    Milestone,
    PullRequest,
    Repository,
    User,
)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

LABEL_COLORS = {
    "bug": ("d73a4a", "Something isn't working"),
    "enhancement": ("a2eeef", "New feature or request"),
    "documentation": ("0075ca", "Improvements or additions to documentation"),
    "dependencies": ("0366d6", "Pull requests that update a dependency file"),
    "good first issue": ("7057ff", "Good for newcomers"),
    "help wanted": ("008672", "Extra attention is needed"),
    "performance": ("fbca04", None),
    "ci": ("ededed", None),
}
DEFAULT_LABELS = frozenset(
    {"bug", "enhancement", "documentation", "good first issue", "help wanted"}
)


def node_id(type_name: str, id: int) -> str:
    """GitHub's legacy global node id: base64 of `0{len}:{Type}{id}`."""
    return base64.b64encode(f"0{len(type_name)}:{type_name}{id}".encode()).decode()


def stable_id(text: str, base: int = 1_000_000_000) -> int:
    """A deterministic positive id for objects the world does not number (labels)."""
    value = 0
    for char in text.encode():
        value = (value * 131 + char) % 2_000_000_000
    return base + value


class Renderer:
    """Renders world objects; caches user and repository JSON fragments."""

    def __init__(
        self, api_url: str = "https://api.github.com", web_url: str = "https://github.com"
    ):
        self.api = api_url.rstrip("/")
        self.web = web_url.rstrip("/")
        self._users: dict[int, str] = {}

    # ---- users ------------------------------------------------------------------------------
    def user(self, user: User) -> dict[str, Any]:
        api = f"{self.api}/users/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("User" if user.type != "Organization" else "Organization", user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{user.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "site_admin": False,
        }

    def user_json(self, user: User) -> str:
        cached = self._users.get(user.id)
        if cached is None:
            cached = self._users[user.id] = _dumps(self.user(user))
        return cached

    # ---- repositories -----------------------------------------------------------------------
    def repository(self, repo: Repository) -> dict[str, Any]:
        full = repo.full_name
        a = f"{self.api}/repos/{full}"
        h = f"{self.web}/{full}"
        open_count = sum(1 for pr in repo.pulls if pr.state == "open")
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": full,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": h,
            "description": None,
            "fork": repo.fork_of is not None,
            "url": a,
            "forks_url": f"{a}/forks",
            "keys_url": f"{a}/keys{{/key_id}}",
            "collaborators_url": f"{a}/collaborators{{/collaborator}}",
            "teams_url": f"{a}/teams",
            "hooks_url": f"{a}/hooks",
            "issue_events_url": f"{a}/issues/events{{/number}}",
            "events_url": f"{a}/events",
            "assignees_url": f"{a}/assignees{{/user}}",
            "branches_url": f"{a}/branches{{/branch}}",
            "tags_url": f"{a}/tags",
            "blobs_url": f"{a}/git/blobs{{/sha}}",
            "git_tags_url": f"{a}/git/tags{{/sha}}",
            "git_refs_url": f"{a}/git/refs{{/sha}}",
            "trees_url": f"{a}/git/trees{{/sha}}",
            "statuses_url": f"{a}/statuses/{{sha}}",
            "languages_url": f"{a}/languages",
            "stargazers_url": f"{a}/stargazers",
            "contributors_url": f"{a}/contributors",
            "subscribers_url": f"{a}/subscribers",
            "subscription_url": f"{a}/subscription",
            "commits_url": f"{a}/commits{{/sha}}",
            "git_commits_url": f"{a}/git/commits{{/sha}}",
            "comments_url": f"{a}/comments{{/number}}",
            "issue_comment_url": f"{a}/issues/comments{{/number}}",
            "contents_url": f"{a}/contents/{{+path}}",
            "compare_url": f"{a}/compare/{{base}}...{{head}}",
            "merges_url": f"{a}/merges",
            "archive_url": f"{a}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{a}/downloads",
            "issues_url": f"{a}/issues{{/number}}",
            "pulls_url": f"{a}/pulls{{/number}}",
            "milestones_url": f"{a}/milestones{{/number}}",
            "notifications_url": f"{a}/notifications{{?since,all,participating}}",
            "labels_url": f"{a}/labels{{/name}}",
            "releases_url": f"{a}/releases{{/id}}",
            "deployments_url": f"{a}/deployments",
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://github.com/{full}.git",
            "ssh_url": f"git@github.com:{full}.git",
            "clone_url": f"{h}.git",
            "svn_url": h,
            "homepage": None,
            "size": 1024 + repo.id % 4096,
            "stargazers_count": repo.id % 97,
            "watchers_count": repo.id % 97,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "forks_count": repo.id % 13,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_count,
            "license": None,
            "forks": repo.id % 13,
            "open_issues": open_count,
            "watchers": repo.id % 97,
            "default_branch": repo.default_branch,
            "is_template": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "web_commit_signoff_required": False,
            "custom_properties": {},
        }

    def repository_json(self, repo: Repository) -> str:
        """The repository object as embedded in PRs and payloads, cached until it changes."""
        if repo.fragment is None:
            repo.fragment = _dumps(self.repository(repo))
        return repo.fragment

    def full_repository(self, repo: Repository) -> dict[str, Any]:
        """`GET /repos/{owner}/{repo}`: the embedded object plus the full-object extras."""
        data = self.repository(repo)
        data["permissions"] = {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        }
        data["allow_forking"] = True
        data["network_count"] = data["forks_count"]
        data["subscribers_count"] = repo.id % 31
        return data

    def repository_summary(self, repo: Repository) -> dict[str, Any]:
        """The short form used by installation payloads."""
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
        }

    # ---- labels -----------------------------------------------------------------------------
    def label(self, repo: Repository, name: str, *, payload: bool = False) -> dict[str, Any]:
        """A label; REST adds `archived_by` (label archiving), webhook payloads do not have it
        (GitHub's payload schemas)."""
        color, description = LABEL_COLORS.get(name, ("c5def5", None))
        id = stable_id(f"{repo.id}:{name}")
        label: dict[str, Any] = {
            "id": id,
            "node_id": node_id("Label", id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{name.replace(' ', '%20')}",
            "name": name,
            "color": color,
            "default": name in DEFAULT_LABELS,
            "description": description,
        }
        if not payload:
            label["archived_by"] = None  # null unless archived
        return label

    def milestone(self, repo: Repository, milestone: Milestone) -> dict[str, Any]:
        a = f"{self.api}/repos/{repo.full_name}/milestones/{milestone.number}"
        on = [pr for pr in repo.pulls if pr.milestone is milestone]
        closed = sum(1 for pr in on if pr.state == "closed")
        return {
            "url": a,
            "html_url": f"{self.web}/{repo.full_name}/milestone/{milestone.number}",
            "labels_url": f"{a}/labels",
            "id": milestone.id,
            "node_id": node_id("Milestone", milestone.id),
            "number": milestone.number,
            "title": milestone.title,
            "description": None,
            "creator": self.user(milestone.creator),
            "open_issues": len(on) - closed,
            "closed_issues": closed,
            "state": "open",
            "created_at": iso(milestone.created_at),
            "updated_at": iso(milestone.created_at),
            "due_on": iso(milestone.due_on),
            "closed_at": None,
        }

    def auto_merge(self, request: AutoMerge) -> dict[str, Any]:
        return {
            "enabled_by": self.user(request.enabled_by),
            "merge_method": request.merge_method,
            "commit_title": request.commit_title,
            "commit_message": request.commit_message,
        }

    # ---- pull requests ----------------------------------------------------------------------
    def pull_request_body(self, pr: PullRequest) -> str | None:
        if pr.body is not None:
            return pr.body or None
        return (
            f"This change updates {pr.head_ref} so that it can land on {pr.base_ref}.\n\n"
            f"- keeps the behaviour covered by tests\n- refs #{max(1, pr.number - 1)}"
        )

    def pull_request_json(self, pr: PullRequest, *, full: bool, payload: bool = False) -> str:
        """One PR as JSON: `full` for `GET …/pulls/{n}` and payloads, else a list item;
        `payload` for a webhook's, which lacks a few of REST's newer fields."""
        repo = pr.repo
        a = f"{self.api}/repos/{repo.full_name}"
        h = f"{self.web}/{repo.full_name}"
        n = pr.number
        head_owner = pr.head_repo.owner
        data: dict[str, Any] = {
            "url": f"{a}/pulls/{n}",
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": f"{h}/pull/{n}",
            "diff_url": f"{h}/pull/{n}.diff",
            "patch_url": f"{h}/pull/{n}.patch",
            "issue_url": f"{a}/issues/{n}",
            "number": n,
            "state": pr.state,
            "locked": pr.locked,
            "title": pr.title,
            "user": "\x00U",
            "body": self.pull_request_body(pr),
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": self.user(pr.assignees[0]) if pr.assignees else None,
            "assignees": [self.user(user) for user in pr.assignees],
            "requested_reviewers": [self.user(user) for user in pr.requested_reviewers],
            "requested_teams": [],
            "labels": [self.label(repo, name, payload=payload) for name in pr.labels],
            "milestone": None if pr.milestone is None else self.milestone(repo, pr.milestone),
            "commits_url": f"{a}/pulls/{n}/commits",
            "review_comments_url": f"{a}/pulls/{n}/comments",
            "review_comment_url": f"{a}/pulls/comments{{/number}}",
            "comments_url": f"{a}/issues/{n}/comments",
            "statuses_url": f"{a}/statuses/{pr.head_sha}",
            "head": {
                "label": f"{head_owner.login}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": "\x00HU",
                "repo": "\x00HR",
            },
            "base": {
                "label": f"{repo.owner.login}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": pr.base_sha,
                "user": "\x00BU",
                "repo": "\x00BR",
            },
            "_links": {
                "self": {"href": f"{a}/pulls/{n}"},
                "html": {"href": f"{h}/pull/{n}"},
                "issue": {"href": f"{a}/issues/{n}"},
                "comments": {"href": f"{a}/issues/{n}/comments"},
                "review_comments": {"href": f"{a}/pulls/{n}/comments"},
                "review_comment": {"href": f"{a}/pulls/comments{{/number}}"},
                "commits": {"href": f"{a}/pulls/{n}/commits"},
                "statuses": {"href": f"{a}/statuses/{pr.head_sha}"},
            },
            "author_association": "MEMBER" if not pr.is_fork else "CONTRIBUTOR",
            "auto_merge": None if pr.auto_merge is None else self.auto_merge(pr.auto_merge),
            "active_lock_reason": pr.lock_reason,
            "draft": pr.draft,
        }
        if full:
            data.update(
                {
                    "merged": pr.merged,
                    "mergeable": None if pr.state == "closed" else not pr.draft,
                    "rebaseable": None if pr.state == "closed" else True,
                    "mergeable_state": "unknown"
                    if pr.state == "closed"
                    else ("draft" if pr.draft else "clean"),
                    "merged_by": "\x00MB" if pr.merged_by is not None else None,
                    "comments": pr.id % 7,
                    "review_comments": pr.id % 5,
                    "maintainer_can_modify": pr.is_fork,
                    "commits": pr.commits,
                    "additions": 3 + pr.id % 211,
                    "deletions": pr.id % 57,
                    "changed_files": 1 + pr.id % 9,
                }
            )
        fragments = [
            ('"\\u0000U"', self.user_json(pr.author)),
            ('"\\u0000HU"', self.user_json(head_owner)),
            ('"\\u0000HR"', self.repository_json(pr.head_repo)),
            ('"\\u0000BU"', self.user_json(repo.owner)),
            ('"\\u0000BR"', self.repository_json(repo)),
        ]
        if full and pr.merged_by is not None:
            fragments.append(('"\\u0000MB"', self.user_json(pr.merged_by)))
        return _splice(_dumps(data), fragments)

    def pull_request(
        self, pr: PullRequest, *, full: bool = True, payload: bool = False
    ) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.pull_request_json(pr, full=full, payload=payload))
        return parsed

    def pull_request_ref(self, pr: PullRequest) -> dict[str, Any]:
        """The minimal PR entry of `check_run.pull_requests` / `check_suite.pull_requests`."""
        repo = pr.repo
        return {
            "url": f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "repo": self._repo_ref(pr.head_repo),
            },
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": self._repo_ref(repo)},
        }

    def _repo_ref(self, repo: Repository) -> dict[str, Any]:
        return {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}", "name": repo.name}

    # ---- checks -----------------------------------------------------------------------------
    def check_app(self, app: CheckApp) -> dict[str, Any]:
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("App", app.id),
            "owner": self.user(app.owner),
            "name": app.name,
            "description": "",
            "external_url": f"https://{app.slug}.example.com",
            "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": "2019-04-19T19:36:24Z",
            "updated_at": "2019-04-19T19:36:56Z",
            "permissions": {
                "checks": "write",
                "contents": "read",
                "metadata": "read",
                "pull_requests": "read",
                "statuses": "write",
            },
            "events": [],
        }

    def check_suite(
        self, suite: CheckSuite, app: CheckApp, prs: list[PullRequest], *, for_payload: bool
    ) -> dict[str, Any]:
        a = f"{self.api}/repos/{suite.repo.full_name}"
        latest = latest_runs(suite.runs)
        data: dict[str, Any] = {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": f"{a}/check-suites/{suite.id}",
            "before": suite.before,
            "after": suite.after,
            "pull_requests": [self.pull_request_ref(pr) for pr in prs],
            "app": self.check_app(app),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "latest_check_runs_count": len(latest),
            "check_runs_url": f"{a}/check-suites/{suite.id}/check-runs",
            "head_commit": {
                "id": suite.head_sha,
                "tree_id": suite.head_sha[::-1],
                "message": "Apply review suggestions",
                "timestamp": iso(suite.created_at),
                "author": {"name": "Octo Dev", "email": "octo-dev@users.noreply.github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
        }
        if not for_payload:
            data["repository"] = self.repository(suite.repo)
        return data

    def check_run(
        self, run: CheckRun, app: CheckApp, prs: list[PullRequest], *, for_payload: bool
    ) -> dict[str, Any]:
        suite = run.suite
        a = f"{self.api}/repos/{suite.repo.full_name}"
        suite_ref: dict[str, Any]
        if for_payload:
            suite_ref = self.check_suite(suite, app, prs, for_payload=True)
            del suite_ref["latest_check_runs_count"], suite_ref["check_runs_url"]
            del suite_ref["head_commit"]
        else:
            suite_ref = {"id": suite.id}
        annotations = 0 if run.conclusion in (None, "success", "skipped") else 1 + run.id % 4
        return {
            "id": run.id,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": suite.head_sha,
            "external_id": str(run.id),
            "url": f"{a}/check-runs/{run.id}",
            "html_url": f"{self.web}/{suite.repo.full_name}/runs/{run.id}",
            "details_url": f"https://{app.slug}.example.com/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": None if run.conclusion is None else f"{run.name}: {run.conclusion}",
                "summary": None if run.conclusion is None else f"{run.name} {run.conclusion}.",
                "text": None,
                "annotations_count": annotations,
                "annotations_url": f"{a}/check-runs/{run.id}/annotations",
            },
            "name": run.name,
            "check_suite": suite_ref,
            "app": self.check_app(app),
            "pull_requests": [self.pull_request_ref(pr) for pr in prs],
        }


def latest_runs(runs: list[CheckRun]) -> list[CheckRun]:
    """The newest run of each name (a re-run supersedes the runs before it)."""
    newest: dict[str, CheckRun] = {}
    for run in runs:
        kept = newest.get(run.name)
        if kept is None or run.id > kept.id:
            newest[run.name] = run
    return sorted(newest.values(), key=lambda run: run.id)


def _splice(text: str, fragments: list[tuple[str, str]]) -> str:
    """`text` with each placeholder replaced by its JSON fragment, in one pass: the
    placeholders occur once each, in this order (one `str.replace` per fragment would copy
    the growing ~20 KB text five times)."""
    parts: list[str] = []
    start = 0
    for placeholder, fragment in fragments:
        at = text.index(placeholder, start)
        parts.append(text[start:at])
        parts.append(fragment)
        start = at + len(placeholder)
    parts.append(text[start:])
    return "".join(parts)


def dumps(data: Any) -> str:
    encoded: str = _dumps(data)
    return encoded
