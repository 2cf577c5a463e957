"""The read side: what the read API and the status page show, and the change log feed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot
from prwatch.store.base import TransactionBase, select_repository_by_name
from prwatch.store.errors import InvalidStoreInput, UnknownRepositoryName
from prwatch.store.records import StoredChange
from prwatch.store.rows import change_from_row, check_run_from_row, pull_request_from_row
from prwatch.store.schema import changes, check_runs, pull_requests, repositories
from prwatch.store.scope import Scope, scope_clause

PR_STATE_FILTERS = ("open", "closed", "all")


def latest_check_runs(runs: Iterable[CheckRunSnapshot]) -> list[CheckRunSnapshot]:
    """The newest run (highest id) of each (check suite, name), ordered by name then id."""
    newest: dict[tuple[int | None, str], CheckRunSnapshot] = {}
    for run in runs:
        key = (run.check_suite_id, run.name)
        if key not in newest or run.id > newest[key].id:
            newest[key] = run
    return sorted(newest.values(), key=lambda run: (run.name, run.id))


MAX_CHANGES_PAGE = 10_000


class ReadOperations(TransactionBase):
    async def list_pull_requests(
        self, full_name: str, state: str = "open"
    ) -> list[PullRequestSnapshot]:
        """Pull requests of OWNER/NAME in ``state`` (open, closed or all), by number.

        Raises ``UnknownRepositoryName`` for a name never seen; a removed repository has none.
        """
        if state not in PR_STATE_FILTERS:
            raise InvalidStoreInput(f"state must be one of {', '.join(PR_STATE_FILTERS)}")
        repository_id = await self._repository_id_by_name(full_name)
        if repository_id is None:
            raise UnknownRepositoryName(full_name)
        statement = (
            select(pull_requests)
            .where(
                pull_requests.c.repository_id == repository_id,
                pull_requests.c.removed_at.is_(None),
            )
            .order_by(pull_requests.c.number)
        )
        if state != "all":
            statement = statement.where(pull_requests.c.state == state)
        result = await self._connection.execute(statement)
        return [pull_request_from_row(row) for row in result]

    async def get_pull_request(
        self, full_name: str, number: int
    ) -> tuple[PullRequestSnapshot, list[CheckRunSnapshot]] | None:
        """A pull request with the check runs of its current head commit, or None when the
        repository or the pull request is not known (or is tombstoned).

        Like GitHub's default (`filter=latest`), a re-run replaces the run it re-ran: only the
        newest run of each name within a check suite is shown, ordered by name.
        """
        repository_id = await self._repository_id_by_name(full_name)
        if repository_id is None:
            return None
        return await self.get_pull_request_by_id(repository_id, number)

    async def get_pull_request_by_id(
        self, repository_id: int, number: int
    ) -> tuple[PullRequestSnapshot, list[CheckRunSnapshot]] | None:
        """``get_pull_request`` for a repository known by its id."""
        result = await self._connection.execute(
            select(pull_requests).where(
                pull_requests.c.repository_id == repository_id,
                pull_requests.c.number == number,
                pull_requests.c.removed_at.is_(None),
            )
        )
        row = result.first()
        if row is None:
            return None
        pull_request = pull_request_from_row(row)
        runs = await self._connection.execute(
            select(check_runs)
            .where(
                check_runs.c.repository_id == repository_id,
                check_runs.c.head_sha == pull_request.head_sha,
            )
            .order_by(check_runs.c.name, check_runs.c.id)
        )
        return pull_request, latest_check_runs(check_run_from_row(run) for run in runs)

    async def pull_request_counts(self) -> dict[str, int]:
        """How many (not tombstoned) pull requests are stored in each state."""
        result = await self._connection.execute(
            select(pull_requests.c.state, func.count())
            .where(pull_requests.c.removed_at.is_(None))
            .group_by(pull_requests.c.state)
        )
        return {state: int(count) for state, count in result}

    async def changes_after(
        self,
        cursor: int,
        limit: int = 100,
        *,
        repository_id: int | None = None,
        pr_number: int | None = None,
        scope: Scope | None = None,
    ) -> list[StoredChange]:
        """Change log entries with a cursor above ``cursor``, oldest first; page on with the last
        entry's cursor. Optionally only one repository's (and one pull request's), and only
        what ``scope`` lets the caller see."""
        if cursor < 0:
            raise InvalidStoreInput(f"cursor cannot be negative, got {cursor}")
        if not 0 < limit <= MAX_CHANGES_PAGE:
            raise InvalidStoreInput(f"limit must be 1 to {MAX_CHANGES_PAGE}, got {limit}")
        if pr_number is not None and repository_id is None:
            raise InvalidStoreInput("pr_number needs repository_id")
        statement = select(changes).where(changes.c.id > cursor).order_by(changes.c.id).limit(limit)
        if repository_id is not None:
            statement = statement.where(changes.c.repository_id == repository_id)
        if pr_number is not None:
            statement = statement.where(changes.c.pr_number == pr_number)
        if scope is not None:
            statement = statement.where(
                scope_clause(scope, changes.c.installation_id, changes.c.repository_id)
            )
        result = await self._connection.execute(statement)
        return [change_from_row(row) for row in result]

    async def last_change_cursor(self) -> int:
        """The newest change's cursor; 0 when the log is empty."""
        result = await self._connection.execute(select(func.max(changes.c.id)))
        return int(result.scalar_one_or_none() or 0)

    async def _repository_id_by_name(self, full_name: str) -> int | None:
        result = await self._connection.execute(
            select_repository_by_name(full_name, repositories.c.id)
        )
        repository_id: int | None = result.scalar_one_or_none()
        return repository_id
