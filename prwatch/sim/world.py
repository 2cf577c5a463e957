"""The simulated GitHub's state: installations, repositories, pull requests, checks.

Mutations change the state the way GitHub does (timestamps, ids, side effects) and emit the
webhook event GitHub would send to the App; subscribers (the webhook sender) receive it.
Lookups are cheap so that REST, GraphQL and ETag computation never scan the whole world.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from prwatch.sim import payloads
from prwatch.sim.clock import Clock, SystemClock, iso
from prwatch.sim.collaboration import Collaboration
from prwatch.sim.entities import (
    CheckApp,
    CheckRun,
    CheckSuite,
    Installation,
    PullRequest,
    Repository,
    User,
)
from prwatch.sim.events import InvalidMutationError, NotFoundError, WorldEvent
from prwatch.sim.permissions import AppGrants
from prwatch.sim.render import Renderer, latest_runs
from prwatch.sim.reviews import (
    Review,
    dismiss_review,
    edit_review,
    reviews_truth,
    submit_review,
)
from prwatch.sim.statuses import CommitStatus, create_status, latest_statuses, status_truth

CHECK_NAMES = ("build", "test (3.11)", "test (3.12)", "lint", "typecheck")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out")
TERMINAL_STATUSES = frozenset({"completed"})
RUN_STATUSES = frozenset({"queued", "in_progress", "completed", "waiting", "requested", "pending"})
ALL_CONCLUSIONS = frozenset({*CONCLUSIONS, "action_required", "stale"})

Listener = Callable[[WorldEvent], None]


class World(Collaboration):
    """All simulated GitHub state. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        app_id: int = 424242,
        app_slug: str = "prwatch-sim",
        api_url: str = "https://api.github.com",
        web_url: str = "https://github.com",
        seed: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.app_id = app_id
        self.app_slug = app_slug
        self.app_grants = AppGrants()  # the App's manifest: permissions and events
        self.rollup_keeps_superseded = False  # GraphQL rollups list every run, not the latest
        self.render = Renderer(api_url, web_url)
        self.rng = random.Random(seed)
        self.installations: dict[int, Installation] = {}
        self.repositories: dict[int, Repository] = {}
        self._by_name: dict[str, Repository] = {}  # lower-case full_name -> live repository
        self.moved: dict[str, int] = {}  # lower-case old full_name -> repository id (for 301s)
        self.users: dict[str, User] = {}
        self.suites: dict[int, CheckSuite] = {}
        self.runs: dict[int, CheckRun] = {}
        self._suites_by_sha: dict[tuple[int, str], list[CheckSuite]] = {}
        self._prs_by_head: dict[tuple[int, str], list[PullRequest]] = {}
        self.sha_rev: dict[tuple[int, str], int] = {}  # per (repository, sha) check version
        # Every status posted, per (repository, sha), in the order posted (see sim.statuses).
        self.commit_statuses: dict[tuple[int, str], list[CommitStatus]] = {}
        # Reviews per (repository, PR number), in the order submitted (see sim.reviews).
        self.reviews: dict[tuple[int, int], list[Review]] = {}
        self.reviews_by_id: dict[int, Review] = {}
        self.check_apps: dict[int, CheckApp] = {}
        self.check_apps_rev = 0  # bumped whenever an app is added or replaced
        self._forks: dict[int, list[Repository]] = {}
        self.installations_rev = 0
        self._listeners: list[Listener] = []
        self._sorted_cache: dict[tuple[int, str, str, str], tuple[int, list[PullRequest]]] = {}
        self._next = {"user": 9_000_000, "repo": 300_000_000, "pr": 1_500_000_000}
        self._next |= {"suite": 9_000_000_000, "run": 20_000_000_000, "inst": 40_000_000}
        self._next |= {"status": 30_000_000_000, "review": 2_000_000_000}
        self._next["milestone"] = 7_000_000
        self.sender = self.user("octo-dev")
        ci_owner = self.user("ci-org", "Organization")
        self.default_check_app = self.add_check_app(
            15368, "github-actions", "GitHub Actions", ci_owner
        )

    # ---- ids and users ----------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]

    def user(self, login: str, type: str = "User") -> User:
        found = self.users.get(login)
        if found is None:
            found = self.users[login] = User(self.next_id("user"), login, type)
        return found

    def add_check_app(self, id: int, slug: str, name: str, owner: User) -> CheckApp:
        app = self.check_apps[id] = CheckApp(id, slug, name, owner)
        self.check_apps_rev += 1
        return app

    def new_sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    # ---- events -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _emit(
        self,
        event: str,
        action: str | None,
        installation_id: int | None,
        repository_id: int | None,
        build: Callable[[], dict[str, Any]],
    ) -> None:
        if not self._listeners or installation_id is None:
            return  # nobody listens, or the App is not installed there: GitHub sends nothing
        installation = self.installations.get(installation_id)
        if installation is None or (installation.suspended and event != "installation"):
            return  # a suspended installation receives no deliveries except its own events
        delivered = WorldEvent(event, action, installation_id, repository_id, build())
        for listener in list(self._listeners):
            listener(delivered)

    def emit_event(
        self,
        event: str,
        action: str | None,
        installation_id: int | None,
        repository_id: int | None,
        build: Callable[[], dict[str, Any]],
    ) -> None:
        """Send an event to the listeners, as GitHub would (for mutations kept in their own
        modules)."""
        self._emit(event, action, installation_id, repository_id, build)

    def _stamp(self, previous: int) -> int:
        """A PR's new updated_at: never equal to or before the previous one."""
        return max(self.clock.now(), previous + 1)

    # ---- lookups ----------------------------------------------------------------------------
    def installation(self, id: int) -> Installation:
        found = self.installations.get(id)
        if found is None or found.deleted:
            raise NotFoundError(f"installation {id} not found")
        return found

    def repository(self, id: int) -> Repository:
        found = self.repositories.get(id)
        if found is None or found.deleted:
            raise NotFoundError(f"repository {id} not found")
        return found

    def repository_by_name(self, owner: str, name: str) -> Repository:
        found = self._by_name.get(f"{owner}/{name}".lower())
        if found is None:
            raise NotFoundError(f"repository {owner}/{name} not found")
        return found

    def moved_repository_id(self, owner: str, name: str) -> int | None:
        """The id a renamed or transferred repository had under this old name, if any."""
        return self.moved.get(f"{owner}/{name}".lower())

    def pull_request(self, repository_id: int, number: int) -> PullRequest:
        repo = self.repository(repository_id)
        if not 1 <= number <= len(repo.pulls):
            raise NotFoundError(f"pull request {repo.full_name}#{number} not found")
        return repo.pulls[number - 1]

    def check_run(self, id: int) -> CheckRun:
        found = self.runs.get(id)
        if found is None or found.suite.repo.deleted:
            raise NotFoundError(f"check run {id} not found")
        return found

    def pull_requests_sorted(
        self,
        repository_id: int,
        state: str = "open",
        sort: str = "created",
        direction: str = "desc",
    ) -> list[PullRequest]:
        """A repository's PRs filtered and ordered as `GET …/pulls` does; cached per version."""
        repo = self.repository(repository_id)
        key = (repo.id, state, sort, direction)
        cached = self._sorted_cache.get(key)
        if cached is not None and cached[0] == repo.pulls_rev:
            return cached[1]
        prs = [pr for pr in repo.pulls if state == "all" or pr.state == state]
        now = self.clock.now()
        keys: dict[str, Callable[[PullRequest], tuple[int, int]]] = {
            "created": lambda pr: (pr.created_at, pr.number),
            "updated": lambda pr: (pr.updated_at, pr.number),
            "popularity": lambda pr: (pr.id % 7 + pr.id % 5, pr.number),
            "long-running": lambda pr: ((pr.closed_at or now) - pr.created_at, pr.number),
        }
        prs.sort(key=keys[sort], reverse=direction == "desc")
        self._sorted_cache[key] = (repo.pulls_rev, prs)
        return prs

    def open_pull_requests_by_updated(self, repository_id: int) -> list[PullRequest]:
        """Open PRs, most recently updated first (for GraphQL's `orderBy: UPDATED_AT DESC`)."""
        return self.pull_requests_sorted(repository_id, "open", "updated", "desc")

    def suites_for_sha(self, repository_id: int, sha: str) -> list[CheckSuite]:
        return self._suites_by_sha.get((repository_id, sha), [])

    def check_runs_for_sha(
        self, repository_id: int, sha: str, *, latest: bool = True
    ) -> list[CheckRun]:
        """Check runs on a commit: the latest run per (suite, name), or every run."""
        result: list[CheckRun] = []
        for suite in self.suites_for_sha(repository_id, sha):
            result.extend(latest_runs(suite.runs) if latest else suite.runs)
        result.sort(key=lambda run: run.id, reverse=True)
        return result

    def pull_requests_for_sha(self, repository_id: int, sha: str) -> list[PullRequest]:
        """Open PRs whose head is this commit."""
        return [
            pr
            for pr in self._prs_by_head.get((repository_id, sha), [])
            if pr.head_sha == sha and pr.state == "open"
        ]

    def check_prs(self, suite: CheckSuite) -> list[PullRequest]:
        """`pull_requests` of a check run or suite: empty for commits from forks, as on GitHub."""
        return [
            pr for pr in self.pull_requests_for_sha(suite.repo.id, suite.head_sha) if not pr.is_fork
        ]

    def installation_permissions(self, inst: Installation) -> dict[str, str]:
        """The permissions an installation's tokens carry: what it accepted."""
        return dict(inst.permissions)

    def installation_repositories(self, installation_id: int) -> list[Repository]:
        inst = self.installation(installation_id)
        repos = (self.repositories[id] for id in inst.repository_ids)
        return sorted((r for r in repos if not r.deleted), key=lambda r: r.id)

    # ---- creation ---------------------------------------------------------------------------
    def create_installation(
        self,
        account_login: str,
        account_type: str = "Organization",
        *,
        id: int | None = None,
        account_shown: bool = True,
    ) -> Installation:
        """An installation on a user, an organization or (``account_type="Enterprise"``, the
        login being its slug) an enterprise; ``account_shown=False`` renders `account: null`."""
        account = self.user(account_login, account_type)
        inst_id = id if id is not None else self.next_id("inst")
        if inst_id in self.installations and not self.installations[inst_id].deleted:
            raise InvalidMutationError(f"installation {inst_id} exists")
        inst = self.installations[inst_id] = Installation(
            inst_id,
            account,
            self.clock.now(),
            self.app_grants.permissions,  # what the App asks for now
            account_shown=account_shown,
        )
        self.installations_rev += 1
        self._emit(
            "installation",
            "created",
            inst.id,
            None,
            lambda: payloads.installation(self, inst, "created"),
        )
        return inst

    def create_repository(
        self,
        owner_login: str,
        name: str,
        *,
        installation_id: int | None = None,
        private: bool = False,
        owner_type: str = "Organization",
        created_at: int | None = None,
    ) -> Repository:
        owner = self.user(owner_login, owner_type)
        if f"{owner.login}/{name}".lower() in self._by_name:
            raise InvalidMutationError(f"repository {owner.login}/{name} exists")
        repo = Repository(
            self.next_id("repo"),
            owner,
            name,
            created_at if created_at is not None else self.clock.now(),
            private=private,
        )
        self.repositories[repo.id] = repo
        self._by_name[repo.full_name.lower()] = repo
        if installation_id is not None:
            self.installation(installation_id).repository_ids.add(repo.id)
            repo.installation_id = installation_id
        return repo

    def fork_of(self, repo: Repository, owner_login: str) -> Repository:
        """The fork of `repo` owned by `owner_login`; forks are outside every installation."""
        owner = self.user(owner_login)
        for candidate in self._forks.get(repo.id, []):
            if candidate.owner is owner:
                return candidate
        fork = Repository(self.next_id("repo"), owner, repo.name, repo.created_at, fork_of=repo)
        self._forks.setdefault(repo.id, []).append(fork)
        return fork

    # ---- pull requests ----------------------------------------------------------------------
    def open_pull_request(
        self,
        repository_id: int,
        *,
        title: str,
        author: str = "octo-dev",
        head_ref: str | None = None,
        base_ref: str | None = None,
        draft: bool = False,
        fork_owner: str | None = None,
        body: str | None = None,
        head_sha: str | None = None,
        created_at: int | None = None,
        emit: bool = True,
    ) -> PullRequest:
        repo = self.repository(repository_id)
        number = len(repo.pulls) + 1
        head_repo = self.fork_of(repo, fork_owner) if fork_owner else repo
        now = created_at if created_at is not None else self.clock.now()
        pr = PullRequest(
            repo,
            number,
            self.next_id("pr"),
            title=title,
            author=self.user(fork_owner or author),
            head_repo=head_repo,
            head_ref=head_ref or f"feature/change-{number}",
            head_sha=head_sha or self.new_sha(),
            base_ref=base_ref or repo.default_branch,
            base_sha=self.new_sha(),
            created_at=now,
            draft=draft,
            body=body,
        )
        repo.pulls.append(pr)
        self._index_head(pr)
        repo.pulls_rev += 1
        if emit:
            self._emit_pr(pr, "opened")
        return pr

    def _index_head(self, pr: PullRequest) -> None:
        self._prs_by_head.setdefault((pr.repo.id, pr.head_sha), []).append(pr)
        self.sha_rev[(pr.repo.id, pr.head_sha)] = self.sha_rev.get((pr.repo.id, pr.head_sha), 0) + 1

    def _emit_pr(self, pr: PullRequest, action: str, **extra: Any) -> None:
        self._emit(
            "pull_request",
            action,
            pr.repo.installation_id,
            pr.repo.id,
            lambda: payloads.pull_request(self, pr, action, **extra),
        )

    def _touch(self, pr: PullRequest) -> None:
        pr.updated_at = self._stamp(pr.updated_at)
        pr.rev += 1
        pr.repo.pulls_rev += 1

    def edit_pull_request(
        self,
        repository_id: int,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base_ref: str | None = None,
    ) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        changes: dict[str, Any] = {}
        if title is not None and title != pr.title:
            changes["title"] = {"from": pr.title}
            pr.title = title
        if body is not None and body != self.render.pull_request_body(pr):
            # `changes.body.from` is always a string: a PR without a body had "" (GitHub's
            # payload schema: https://docs.github.com/webhooks/webhook-events-and-payloads#pull_request)
            changes["body"] = {"from": self.render.pull_request_body(pr) or ""}
            pr.body = body
        if base_ref is not None and base_ref != pr.base_ref:
            changes["base"] = {"ref": {"from": pr.base_ref}, "sha": {"from": pr.base_sha}}
            pr.base_ref = base_ref
            pr.base_sha = self.new_sha()
        if not changes:
            return pr
        self._touch(pr)
        self._emit_pr(pr, "edited", changes=changes)
        return pr

    def add_label(self, repository_id: int, number: int, name: str) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if name in pr.labels:
            return pr
        pr.labels = (*pr.labels, name)
        self._touch(pr)
        self._emit_pr(pr, "labeled", label=self.render.label(pr.repo, name, payload=True))
        return pr

    def remove_label(self, repository_id: int, number: int, name: str) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if name not in pr.labels:
            raise NotFoundError(f"label {name!r} not on {pr.repo.full_name}#{number}")
        pr.labels = tuple(label for label in pr.labels if label != name)
        self._touch(pr)
        self._emit_pr(pr, "unlabeled", label=self.render.label(pr.repo, name, payload=True))
        return pr

    def close_pull_request(self, repository_id: int, number: int) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.state != "open":
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
        if pr.queued_at is not None:
            self.dequeue(repository_id, number, reason="MANUAL")  # a closed PR leaves the queue
        pr.state = "closed"
        self._touch(pr)
        pr.closed_at = pr.updated_at
        self._emit_pr(pr, "closed")
        return pr

    def merge_pull_request(
        self, repository_id: int, number: int, *, merged_by: str = "octo-dev"
    ) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.state != "open":
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
        if pr.draft:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is a draft")
        if pr.queued_at is not None:
            self.dequeue(repository_id, number, reason="MERGE")  # the queue merged it
        pr.state = "closed"
        pr.merged = True
        self._touch(pr)
        pr.closed_at = pr.merged_at = pr.updated_at
        pr.merged_by = self.user(merged_by)
        pr.merge_commit_sha = self.new_sha()
        self._emit_pr(pr, "closed")
        return pr

    def reopen_pull_request(self, repository_id: int, number: int) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.state != "closed" or pr.merged:
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} cannot be reopened")
        pr.state = "open"
        pr.closed_at = None
        self._touch(pr)
        self._emit_pr(pr, "reopened")
        return pr

    def push(self, repository_id: int, number: int, *, sha: str | None = None) -> PullRequest:
        """New commits on the PR's head branch: `synchronize` with `before`/`after`."""
        pr = self.pull_request(repository_id, number)
        if pr.state != "open":
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
        before = pr.head_sha
        pr.head_sha = sha or self.new_sha()
        pr.commits += 1
        self._index_head(pr)
        self.sha_rev[(pr.repo.id, before)] = self.sha_rev.get((pr.repo.id, before), 0) + 1
        self._touch(pr)
        self._emit_pr(pr, "synchronize", before=before, after=pr.head_sha)
        return pr

    def set_draft(self, repository_id: int, number: int, draft: bool) -> PullRequest:
        pr = self.pull_request(repository_id, number)
        if pr.state != "open":
            raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
        if pr.draft == draft:
            return pr
        if draft and pr.queued_at is not None:
            self.dequeue(repository_id, number, reason="MANUAL")  # a draft cannot stay queued
        pr.draft = draft
        self._touch(pr)
        self._emit_pr(pr, "converted_to_draft" if draft else "ready_for_review")
        return pr

    # ---- checks -----------------------------------------------------------------------------
    def create_check_suite(
        self,
        repository_id: int,
        head_sha: str,
        names: Iterable[str] = CHECK_NAMES,
        *,
        app_id: int | None = None,
        emit: bool = True,
        created_at: int | None = None,
    ) -> CheckSuite:
        """A check suite with one queued check run per name on `head_sha`."""
        repo = self.repository(repository_id)
        app = self.check_apps[app_id if app_id is not None else self.default_check_app.id]
        heads = self._prs_by_head.get((repo.id, head_sha), [])
        branch_pr = next((pr for pr in heads if pr.head_sha == head_sha), None)
        from_fork = branch_pr is not None and branch_pr.is_fork
        head_branch = None if from_fork or branch_pr is None else branch_pr.head_ref
        now = created_at if created_at is not None else self.clock.now()
        suite = CheckSuite(self.next_id("suite"), repo, head_sha, head_branch, now, app.id)
        self.suites[suite.id] = suite
        self._suites_by_sha.setdefault((repo.id, head_sha), []).append(suite)
        self._bump_sha(suite)
        if emit:
            self._emit_suite(suite, "requested")
        for name in names:
            self._new_run(suite, name, now, emit=emit)
        return suite

    def _bump_sha(self, suite: CheckSuite) -> None:
        key = (suite.repo.id, suite.head_sha)
        self.sha_rev[key] = self.sha_rev.get(key, 0) + 1

    def _new_run(self, suite: CheckSuite, name: str, now: int, *, emit: bool) -> CheckRun:
        run = CheckRun(self.next_id("run"), suite, name, now)
        suite.runs.append(run)
        self.runs[run.id] = run
        if emit:
            self._emit_run(run, "created")
        return run

    def _emit_run(self, run: CheckRun, action: str) -> None:
        repo = run.suite.repo
        self._emit(
            "check_run",
            action,
            repo.installation_id,
            repo.id,
            lambda: payloads.check_run(self, run, action),
        )

    def _emit_suite(self, suite: CheckSuite, action: str) -> None:
        repo = suite.repo
        self._emit(
            "check_suite",
            action,
            repo.installation_id,
            repo.id,
            lambda: payloads.check_suite(self, suite, action),
        )

    def update_check_run(
        self,
        run_id: int,
        *,
        status: str,
        conclusion: str | None = None,
        actions: Iterable[str] = (),
    ) -> CheckRun:
        """Move a check run along queued → in_progress → completed(conclusion); a completed
        run may offer `actions` (button identifiers) for `check_run.requested_action`."""
        run = self.check_run(run_id)
        if status not in RUN_STATUSES:
            raise InvalidMutationError(f"unknown check run status {status!r}")
        if status == "completed" and conclusion not in ALL_CONCLUSIONS:
            raise InvalidMutationError(
                f"a completed check run needs a conclusion, not {conclusion!r}"
            )
        if status != "completed" and conclusion is not None:
            raise InvalidMutationError("only a completed check run has a conclusion")
        if run.status == "completed":
            raise InvalidMutationError(f"check run {run_id} is already completed; re-run it")
        now = self.clock.now()
        run.status = status
        run.conclusion = conclusion
        if status == "completed":
            run.completed_at = max(now, run.started_at)
            run.actions = tuple(actions)
        suite = run.suite
        suite.updated_at = now
        self._bump_sha(suite)
        # The suite completes with its last run: the run's own `completed` payload already
        # embeds the completed suite, and `check_suite.completed` follows it.
        suite_completed = self._settle(suite)
        if status == "completed":
            self._emit_run(run, "completed")
        if suite_completed:
            self._emit_suite(suite, "completed")
        return run

    def settle_suite(self, suite: CheckSuite) -> None:
        """Derive the suite's status from its latest runs, emitting `completed` when it ends."""
        if self._settle(suite):
            self._emit_suite(suite, "completed")

    def _settle(self, suite: CheckSuite) -> bool:
        """Set the suite's status and conclusion from its latest runs; True if it just
        completed."""
        latest = latest_runs(suite.runs)
        if latest and all(run.status == "completed" for run in latest):
            if suite.status == "completed":
                return False
            suite.status = "completed"
            suite.conclusion = _suite_conclusion([run.conclusion for run in latest])
            return True
        if any(run.status != "queued" for run in latest):
            suite.status, suite.conclusion = "in_progress", None
        else:
            suite.status, suite.conclusion = "queued", None
        return False

    def rerun_check_run(self, run_id: int) -> CheckRun:
        """A re-run: a NEW check run (new id) with the same name on the same commit.

        GitHub offers "Re-run" only on a completed run of a completed suite, and its
        `check_run.rerequested` payload shows both completed
        (https://docs.github.com/rest/checks/runs#rerequest-a-check-run)."""
        old = self.check_run(run_id)
        if old.status != "completed" or old.suite.status != "completed":
            raise InvalidMutationError(
                f"check run {run_id} can be re-run only once it and its suite are completed"
            )
        if latest_runs([run for run in old.suite.runs if run.name == old.name])[0] is not old:
            raise InvalidMutationError(f"check run {run_id} was re-run already")
        self._emit_run(old, "rerequested")
        return self._rerun(old.suite, [old.name])[0]

    def rerequest_check_suite(self, suite_id: int) -> CheckSuite:
        """ "Re-run all checks": `check_suite.rerequested`, then a new run for each of the
        suite's checks (https://docs.github.com/rest/checks/suites#rerequest-a-check-suite)."""
        suite = self.suites.get(suite_id)
        if suite is None or suite.repo.deleted:
            raise NotFoundError(f"check suite {suite_id} not found")
        if suite.status != "completed":
            raise InvalidMutationError(f"check suite {suite_id} is not completed")
        self._emit_suite(suite, "rerequested")
        self._rerun(suite, [run.name for run in latest_runs(suite.runs)])
        return suite

    def _rerun(self, suite: CheckSuite, names: list[str]) -> list[CheckRun]:
        now = self.clock.now()
        runs = [self._new_run(suite, name, now, emit=True) for name in names]
        suite.updated_at = now
        self._bump_sha(suite)
        self._settle(suite)
        return runs

    def request_check_run_action(self, run_id: int, identifier: str) -> CheckRun:
        """A user pressed one of the buttons the check app put on its run:
        `check_run.requested_action` with that button's identifier
        (https://docs.github.com/rest/guides/using-the-rest-api-to-interact-with-checks#check-runs-and-requested-actions)."""
        run = self.check_run(run_id)
        if identifier not in run.actions:
            raise InvalidMutationError(
                f"check run {run_id} offers no action {identifier!r} (it offers {run.actions})"
            )
        repo = run.suite.repo
        self._emit(
            "check_run",
            "requested_action",
            repo.installation_id,
            repo.id,
            lambda: payloads.check_run(
                self, run, "requested_action", requested_action={"identifier": identifier}
            ),
        )
        return run

    def create_status(
        self, repository_id: int, sha: str, *, state: str, **fields: Any
    ) -> CommitStatus:
        """A commit status (see sim.statuses): context, description, target_url, creator."""
        return create_status(self, repository_id, sha, state=state, **fields)

    def submit_review(
        self, repository_id: int, number: int, *, user: str, state: str, body: str | None = None
    ) -> Review:
        """A review of an open PR (see sim.reviews): approved, changes_requested, commented."""
        return submit_review(self, repository_id, number, user=user, state=state, body=body)

    def edit_review(self, review_id: int, body: str) -> Review:
        return edit_review(self, review_id, body)

    def dismiss_review(self, review_id: int) -> Review:
        return dismiss_review(self, review_id)

    # ---- repositories and installations -----------------------------------------------------
    def rename_repository(self, repository_id: int, new_name: str) -> Repository:
        repo = self.repository(repository_id)
        new_full = f"{repo.owner.login}/{new_name}".lower()
        if new_full in self._by_name:
            raise InvalidMutationError(f"{repo.owner.login}/{new_name} exists")
        old_name = repo.name
        self._rename_index(repo, lambda: setattr(repo, "name", new_name))
        self._emit(
            "repository",
            "renamed",
            repo.installation_id,
            repo.id,
            lambda: payloads.repository(
                self, repo, "renamed", {"repository": {"name": {"from": old_name}}}
            ),
        )
        return repo

    def transfer_repository(
        self, repository_id: int, new_owner: str, owner_type: str = "Organization"
    ) -> Repository:
        repo = self.repository(repository_id)
        owner = self.user(new_owner, owner_type)
        if f"{owner.login}/{repo.name}".lower() in self._by_name:
            raise InvalidMutationError(f"{owner.login}/{repo.name} exists")
        old_owner = repo.owner
        self._rename_index(repo, lambda: setattr(repo, "owner", owner))
        kind = "organization" if old_owner.type == "Organization" else "user"
        self._emit(
            "repository",
            "transferred",
            repo.installation_id,
            repo.id,
            lambda: payloads.repository(
                self, repo, "transferred", {"owner": {"from": {kind: self.render.user(old_owner)}}}
            ),
        )
        return repo

    def _rename_index(self, repo: Repository, change: Callable[[], None]) -> None:
        old_full = repo.full_name.lower()
        del self._by_name[old_full]
        change()
        self._by_name[repo.full_name.lower()] = repo
        self.moved[old_full] = repo.id
        self.moved.pop(repo.full_name.lower(), None)
        repo.updated_at = self.clock.now()
        repo.touch_meta()
        for pr in repo.pulls:
            pr.rev += 1  # embedded repository changed; updated_at does not move (as on GitHub)
        self.installations_rev += 1

    def delete_repository(self, repository_id: int) -> Repository:
        repo = self.repository(repository_id)
        self._emit(
            "repository",
            "deleted",
            repo.installation_id,
            repo.id,
            lambda: payloads.repository(self, repo, "deleted", None),
        )
        repo.deleted = True
        del self._by_name[repo.full_name.lower()]
        repo.touch_meta()
        self.installations_rev += 1
        return repo

    def add_repository_to_installation(
        self, installation_id: int, repository_id: int
    ) -> Repository:
        inst = self.installation(installation_id)
        repo = self.repository(repository_id)
        if repo.installation_id is not None and repo.installation_id != inst.id:
            self.remove_repository_from_installation(repo.installation_id, repo.id)
        if repo.id in inst.repository_ids:
            return repo
        inst.repository_ids.add(repo.id)
        repo.installation_id = inst.id
        repo.touch_meta()
        self.installations_rev += 1
        self._emit(
            "installation_repositories",
            "added",
            inst.id,
            None,
            lambda: payloads.installation_repositories(self, inst, "added", [repo]),
        )
        return repo

    def remove_repository_from_installation(
        self, installation_id: int, repository_id: int
    ) -> Repository:
        inst = self.installation(installation_id)
        repo = self.repositories.get(repository_id)
        if repo is None or repo.id not in inst.repository_ids:
            raise NotFoundError(f"repository {repository_id} not in installation {installation_id}")
        self._emit(
            "installation_repositories",
            "removed",
            inst.id,
            None,
            lambda: payloads.installation_repositories(self, inst, "removed", [repo]),
        )
        inst.repository_ids.discard(repo.id)
        repo.installation_id = None
        repo.touch_meta()
        self.installations_rev += 1
        return repo

    def suspend_installation(self, installation_id: int) -> Installation:
        inst = self.installation(installation_id)
        if not inst.suspended:
            inst.suspended_at = inst.updated_at = self.clock.now()
            self.installations_rev += 1
            self._emit(
                "installation",
                "suspend",
                inst.id,
                None,
                lambda: payloads.installation(self, inst, "suspend"),
            )
        return inst

    def unsuspend_installation(self, installation_id: int) -> Installation:
        inst = self.installation(installation_id)
        if inst.suspended:
            inst.suspended_at = None
            inst.updated_at = self.clock.now()
            self.installations_rev += 1
            self._emit(
                "installation",
                "unsuspend",
                inst.id,
                None,
                lambda: payloads.installation(self, inst, "unsuspend"),
            )
        return inst

    def accept_new_permissions(
        self, installation_id: int, permissions: dict[str, str]
    ) -> Installation:
        """The owner accepts the permissions an App update asked for:
        `installation.new_permissions_accepted` carries the installation with all of them
        (https://docs.github.com/webhooks/webhook-events-and-payloads#installation)."""
        inst = self.installation(installation_id)
        for name, level in permissions.items():
            if level not in ("read", "write", "admin") or not name:
                raise InvalidMutationError(f"permission {name!r}: {level!r} is not a level")
        inst.permissions = {**inst.permissions, **permissions}
        inst.updated_at = self.clock.now()
        self.installations_rev += 1
        self._emit(
            "installation",
            "new_permissions_accepted",
            inst.id,
            None,
            lambda: payloads.installation(self, inst, "new_permissions_accepted"),
        )
        return inst

    def delete_installation(self, installation_id: int) -> Installation:
        inst = self.installation(installation_id)
        self._emit(
            "installation",
            "deleted",
            inst.id,
            None,
            lambda: payloads.installation(self, inst, "deleted"),
        )
        inst.deleted = True
        for repo_id in inst.repository_ids:
            repo = self.repositories[repo_id]
            repo.installation_id = None
            repo.touch_meta()
        inst.repository_ids = set()
        self.installations_rev += 1
        return inst

    # ---- truth ------------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """The whole current world as plain data, for convergence checks."""
        installations = [
            {
                "id": inst.id,
                "account_login": inst.account.login,
                "account_type": inst.account.type,
                "suspended": inst.suspended,
                "deleted": inst.deleted,
                "repository_ids": sorted(inst.repository_ids),
            }
            for inst in sorted(self.installations.values(), key=lambda i: i.id)
        ]
        repositories = []
        pull_requests = []
        check_runs = []
        for repo in sorted(self.repositories.values(), key=lambda r: r.id):
            repositories.append(
                {
                    "id": repo.id,
                    "full_name": repo.full_name,
                    "installation_id": repo.installation_id,
                    "private": repo.private,
                    "deleted": repo.deleted,
                }
            )
            for pr in repo.pulls:
                pull_requests.append(pull_request_truth(pr))
        for run in sorted(self.runs.values(), key=lambda r: r.id):
            check_runs.append(check_run_truth(run, self.check_apps[run.suite.app_id].slug))
        return {
            "installations": installations,
            "repositories": repositories,
            "pull_requests": pull_requests,
            "check_runs": check_runs,
            "commit_statuses": self.truth_of_statuses(),
            "reviews": reviews_truth(self),
        }

    def truth_of_statuses(self) -> list[dict[str, Any]]:
        """The latest status per (commit, context), by repository, commit and context."""
        return [
            status_truth(status)
            for repository_id, sha in sorted(self.commit_statuses)
            for status in sorted(latest_statuses(self, repository_id, sha), key=lambda s: s.context)
        ]

    @classmethod
    def generate(
        cls,
        *,
        repos: int,
        prs: int,
        open_ratio: float = 0.3,
        seed: int = 0,
        installations: int = 1,
        checks_per_open_pr: int = 5,
        fork_ratio: float = 0.1,
        clock: Clock | None = None,
        api_url: str = "https://api.github.com",
    ) -> World:
        from prwatch.sim.generate import populate

        world = cls(clock=clock, seed=seed, api_url=api_url)
        populate(
            world,
            repos=repos,
            prs=prs,
            open_ratio=open_ratio,
            installations=installations,
            checks_per_open_pr=checks_per_open_pr,
            fork_ratio=fork_ratio,
        )
        return world


def _suite_conclusion(conclusions: list[str | None]) -> str:
    for worst in ("action_required", "failure", "timed_out", "cancelled", "stale"):
        if worst in conclusions:
            return worst
    if all(c in ("skipped", "neutral") for c in conclusions):
        return "neutral"
    return "success"


def pull_request_truth(pr: PullRequest) -> dict[str, Any]:
    return {
        "repository_id": pr.repo.id,
        "number": pr.number,
        "github_id": pr.id,
        "node_id": _pr_node_id(pr.id),
        "state": pr.state,
        "draft": pr.draft,
        "merged": pr.merged,
        "merged_at": iso(pr.merged_at),
        "closed_at": iso(pr.closed_at),
        "title": pr.title,
        "author": pr.author.login,
        "labels": sorted(pr.labels),
        "head_sha": pr.head_sha,
        "head_ref": pr.head_ref,
        "base_sha": pr.base_sha,
        "base_ref": pr.base_ref,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "auto_merge": None
        if pr.auto_merge is None
        else {
            "merge_method": pr.auto_merge.merge_method,
            "enabled_by": pr.auto_merge.enabled_by.login,
        },
        "merge_queue": None if pr.queued_at is None else {"enqueued_at": iso(pr.queued_at)},
    }


def check_run_truth(run: CheckRun, app_slug: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "repository_id": run.suite.repo.id,
        "head_sha": run.suite.head_sha,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "app_slug": app_slug,
        "check_suite_id": run.suite.id,
    }


def _pr_node_id(id: int) -> str:
    from prwatch.sim.render import node_id

    return node_id("PullRequest", id)
