"""Check queries shared by the repository sweeps running at once in a process.

A check query costs one point for up to COMMITS_PER_QUERY commits, whichever repositories
they belong to (see check_query). A repository sweep querying alone pays a whole point for its
own open PRs, however few: 1,000 repositories with 5 open PRs each would cost 1,000 points a
sweep — a fifth of an installation's GraphQL hour — where 34 shared queries could read the
same commits. So concurrent sweeps hand their commits here, and one installation's commits
travel together (a query runs with one installation's token):

* a repository's own full queries go at once; what is left of its commits waits for
  partners, and is split across queries where that fills them, so that a sweep costs
  ⌈open heads / 149⌉ points, whatever the sizes of its repositories;
* as soon as a query's worth of commits waits, it goes;
* when every sweep taking part is waiting here and no other is expected (``expect``), nobody
  will add commits soon: all go;
* nobody waits more than ``max_wait_seconds`` for partners, and nobody is sent short of a
  full query before someone has waited that long (the limit runs from each reader's arrival,
  not from the first one's: a query cut at the first one's deadline would be sent with a
  newer reader's few leftover commits, a point for a handful).

A GraphQL error names the repository or commit it is about (its `path`): that one fails, or
is read over REST, and the others stand. A rate limit the client could not wait out fails
everyone in the query, as it would have failed each alone (the client already sent it again
once). A 502/504 (GitHub cut a query past 10 s) splits the query in halves, sent once each.
A query that fails in any other way is sent again once per repository it held, so that the
trouble stays with its repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import CommitStatusSnapshot
from prwatch.github.errors import (
    BudgetReserved,
    GitHubUnavailable,
    RateLimited,
    UnexpectedResponse,
)
from prwatch.github.port import GraphQLApi
from prwatch.sync.check_query import (
    COMMITS_PER_QUERY,
    CheckRollups,
    RepositoryCommits,
    build_check_query,
    parse_check_rollups,
)
from prwatch.sync.check_reply import decode_check_rollups
from prwatch.sync.skipped import SkippedItem

# Long enough for a partner's listing request to come back (GitHub answers in ~100 ms), short
# beside a sweep.
MAX_WAIT_SECONDS = 0.1
# A sweep's repositories are sure to come, each after its listing and its reads of the
# database: on two busy cores they reached their check queries 100 to 300 ms apart, so that
# with MAX_WAIT_SECONDS one in five queries left alone, a partial point for each. A reader
# waiting longer holds one of the sweep's concurrent slots meanwhile, not the others.
SWEEP_MAX_WAIT_SECONDS = 1.0
# A repository with this many commits left over its full queries sends them alone (the
# default, for jobs that arrive one by one: waiting for partners that may not come costs them
# time). A sweep that knows its repositories shares every leftover (``share_below=
# COMMITS_PER_QUERY``): a repository of 100 open PRs alone would waste 49 of the 149 commits
# its point buys.
SHARE_BELOW = 50


@dataclass(slots=True)
class RepositoryChecks:
    """One repository's commits as the check queries found them."""

    runs: dict[str, list[CheckRunRow]]  # every sha asked for; [] when it has no checks
    truncated: set[str] = field(default_factory=set)  # more contexts than a rollup page holds
    unreadable: dict[str, str] = field(default_factory=dict)  # a GraphQL error on the commit
    missing: bool = False  # GraphQL does not resolve the repository
    statuses: dict[str, list[CommitStatusSnapshot]] = field(default_factory=dict)
    skipped: list[SkippedItem] = field(default_factory=list)  # nodes not as GitHub documents


@dataclass(slots=True, eq=False)
class _Request:
    api: GraphQLApi  # the requester's: what a shared query spends is counted once, by one
    commits: RepositoryCommits
    uncut: list[str]  # shas not yet in a query
    found: RepositoryChecks
    done: asyncio.Future[RepositoryChecks]
    arrived: float  # loop time: its commits wait for partners until max_wait after this
    in_flight: int = 0

    def fail(self, error: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    def settle_if_complete(self) -> None:
        if not self.uncut and self.in_flight == 0 and not self.done.done():
            self.done.set_result(self.found)


_Part = tuple[_Request, tuple[str, ...]]


class SharedCheckQueries:
    """Reads repositories' check rollups, sharing queries between concurrent readers.

    Readers that wrap their work in ``taking_part()`` are waited for (up to the wait limit);
    a reader that does not take part is served at once, alone or with whoever waits.
    """

    def __init__(
        self,
        *,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        commits_per_query: int = COMMITS_PER_QUERY,
        share_below: int = SHARE_BELOW,
    ) -> None:
        if max_wait_seconds < 0 or not 1 <= commits_per_query <= COMMITS_PER_QUERY:
            raise ValueError("max_wait_seconds must be ≥ 0 and commits_per_query in 1..149")
        if not 1 <= share_below <= commits_per_query:
            raise ValueError("share_below must be in 1..commits_per_query")
        self._max_wait = max_wait_seconds
        self._per_query = commits_per_query
        self._share_below = share_below
        self._pending: dict[int, list[_Request]] = {}  # by installation, in arrival order
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._taking_part = 0
        self._waiting = 0
        self._expected = 0  # readers announced (``expect``) that have not taken part yet
        self.queries_sent = 0

    def expect(self, readers: int) -> None:
        """``readers`` more will take part soon (a sweep's repositories not started yet): until
        they have, waiting commits are not sent short of a full query just because everyone
        present waits (the time limit still holds)."""
        self._expected += max(0, readers)

    @asynccontextmanager
    async def taking_part(self) -> AsyncIterator[None]:
        """While inside, this reader may add commits soon: others wait for it (bounded)."""
        self._taking_part += 1
        self._expected = max(0, self._expected - 1)
        try:
            yield
        finally:
            self._taking_part -= 1
            self._send_all_if_everyone_waits()

    async def read(
        self, api: GraphQLApi, *, installation_id: int, commits: RepositoryCommits
    ) -> RepositoryChecks:
        """The check rollups of ``commits``; raises what the query raised for them."""
        found = RepositoryChecks(
            {sha: [] for sha in commits.shas}, statuses={sha: [] for sha in commits.shas}
        )
        if not commits.shas:
            return found
        loop = asyncio.get_running_loop()
        request = _Request(
            api, commits, list(commits.shas), found, loop.create_future(), loop.time()
        )
        self._send_alone_what_fills_its_points(installation_id, request)
        if request.uncut:
            self._pending.setdefault(installation_id, []).append(request)
        self._waiting += 1
        try:
            self._cut(installation_id, full_only=True)
            self._wake_at_deadline(installation_id)
            self._send_all_if_everyone_waits()
            return await request.done
        finally:
            self._waiting -= 1
            # A cancelled reader's await cancels its future: nobody needs its commits now.
            if request.done.cancelled() or not request.done.done():
                self._withdraw(installation_id, request)
                request.done.cancel()

    def _send_alone_what_fills_its_points(self, installation_id: int, request: _Request) -> None:
        """The repository's own full queries go at once, and its last one too when it holds
        ``share_below`` commits or more. The rest waits to be shared."""
        count = len(request.uncut)
        alone = count - count % self._per_query
        if count - alone >= self._share_below:
            alone = count
        for start in range(0, alone, self._per_query):
            request.in_flight += 1
            part = tuple(request.uncut[start : start + self._per_query])
            self._send(installation_id, [(request, part)])
        del request.uncut[:alone]

    def _wake_at_deadline(self, installation_id: int) -> None:
        """A timer for when the installation's oldest waiting reader reaches the wait limit."""
        pending = self._pending.get(installation_id)
        if not pending or installation_id in self._timers:
            return
        deadline = pending[0].arrived + self._max_wait
        self._timers[installation_id] = asyncio.get_running_loop().call_at(
            deadline, self._send_if_due, installation_id, deadline
        )

    def _send_if_due(self, installation_id: int, deadline: float) -> None:
        """Send what waits if its oldest reader is due by ``deadline``; else wait on for it: the
        oldest may now be a newer reader, whose part the full queries left over."""
        self._timers.pop(installation_id, None)
        pending = self._pending.get(installation_id)
        if not pending:
            return
        if pending[0].arrived + self._max_wait <= deadline:
            self._cut(installation_id, full_only=False)
        else:
            self._wake_at_deadline(installation_id)

    def _send_all_if_everyone_waits(self) -> None:
        if self._waiting >= self._taking_part + self._expected:
            for installation_id in list(self._pending):
                self._cut(installation_id, full_only=False)

    def _cut(self, installation_id: int, full_only: bool) -> None:
        """Send the installation's waiting commits in full queries (the rest too, unless
        ``full_only``)."""
        pending = self._pending.get(installation_id, [])
        waiting = sum(len(request.uncut) for request in pending)
        while pending and (waiting >= self._per_query or not full_only):
            parts: list[_Part] = []
            room = self._per_query
            while pending and room:
                request = pending[0]
                taken, request.uncut = request.uncut[:room], request.uncut[room:]
                request.in_flight += 1
                parts.append((request, tuple(taken)))
                room -= len(taken)
                waiting -= len(taken)
                if not request.uncut:
                    pending.pop(0)
            self._send(installation_id, parts)
        if not pending:
            self._pending.pop(installation_id, None)
            if (timer := self._timers.pop(installation_id, None)) is not None:
                timer.cancel()

    def _withdraw(self, installation_id: int, request: _Request) -> None:
        request.uncut.clear()
        pending = self._pending.get(installation_id, [])
        if request in pending:
            pending.remove(request)
        if not pending:
            self._cut(installation_id, full_only=True)  # drops the empty list and its timer

    def _send(self, installation_id: int, parts: list[_Part]) -> None:
        task = asyncio.create_task(self._query(installation_id, parts), name="prwatch-checks")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _query(self, installation_id: int, parts: list[_Part]) -> None:
        batch = [
            RepositoryCommits(r.commits.repository_id, r.commits.owner, r.commits.name, shas)
            for r, shas in parts
        ]
        self.queries_sent += 1
        try:
            rollups = await query_check_rollups(parts[0][0].api, installation_id, batch)
        except (RateLimited, BudgetReserved) as error:
            self._fail(installation_id, parts, error)
            return
        except GitHubUnavailable as error:
            if sum(len(shas) for _, shas in parts) < 2:
                self._fail(installation_id, parts, error)
                return
            # A 502/504 (or no answer in time): GitHub cuts a query that runs past 10 s, and
            # the same query would run as long again. Two halves are each sent once.
            # https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#timeouts
            first, second = _halves(parts)
            await asyncio.gather(
                self._query(installation_id, first), self._query(installation_id, second)
            )
            return
        except Exception as error:
            if len(parts) == 1:
                self._fail(installation_id, parts, error)
                return
            # Find whose trouble it was: each repository's part alone.
            alive = [part for part in parts if not part[0].done.done()]
            await asyncio.gather(*(self._query(installation_id, [part]) for part in alive))
            return
        except BaseException:  # cancelled with the process: its readers are cancelled too
            self._fail(installation_id, parts, asyncio.CancelledError())
            raise
        for request, shas in parts:
            repository_id = request.commits.repository_id
            if repository_id in rollups.failed_repositories:
                commits = request.commits
                reason = rollups.failed_repositories[repository_id]
                failure = UnexpectedResponse(
                    f"check query for {commits.owner}/{commits.name} failed: {reason}"
                )
                self._fail(installation_id, [(request, shas)], failure)
                continue
            request.in_flight -= 1
            if repository_id in rollups.missing_repositories:
                request.found.missing = True
            for sha in shas:
                request.found.runs[sha] = rollups.runs.get((repository_id, sha), [])
                request.found.statuses[sha] = rollups.statuses.get((repository_id, sha), [])
                for item in rollups.skipped.get((repository_id, sha), []):
                    request.found.skipped.append(item.at(sha))
                if (repository_id, sha) in rollups.truncated:
                    request.found.truncated.add(sha)
                if (repository_id, sha) in rollups.unreadable:
                    request.found.unreadable[sha] = rollups.unreadable[(repository_id, sha)]
            request.settle_if_complete()

    def _fail(self, installation_id: int, parts: Sequence[_Part], error: BaseException) -> None:
        for request, _ in parts:
            request.in_flight -= 1
            self._withdraw(installation_id, request)  # its other commits are not worth a query
            request.fail(error)


def _halves(parts: Sequence[_Part]) -> tuple[list[_Part], list[_Part]]:
    """The parts' commits cut in two halves; a part cut through is in flight twice."""
    room = sum(len(shas) for _, shas in parts) // 2
    first: list[_Part] = []
    second: list[_Part] = []
    for request, shas in parts:
        if room >= len(shas):
            first.append((request, shas))
            room -= len(shas)
        elif room > 0:
            request.in_flight += 1
            first.append((request, shas[:room]))
            second.append((request, shas[room:]))
            room = 0
        else:
            second.append((request, shas))
    return first, second


async def query_check_rollups(
    api: GraphQLApi, installation_id: int, batch: Sequence[RepositoryCommits]
) -> CheckRollups:
    """Send one check query for ``batch``. A GraphQL error on one repository or commit is
    that one's (see parse_check_rollups); UnexpectedResponse when the query as a whole
    failed (no data, or an error that points at no repository)."""
    query, variables = build_check_query(batch)
    response = await api.graphql(query, installation_id=installation_id, variables=variables)
    if response.data_json is not None:
        decoded = decode_check_rollups(batch, response.data_json, response.errors)
        if decoded is not None:
            return decoded
    if not isinstance(response.data, Mapping):
        names = ", ".join(f"{repo.owner}/{repo.name}" for repo in batch)
        kinds = ", ".join(t for t in response.error_types() if t) or "no data"
        raise UnexpectedResponse(f"check query for {names} failed: {kinds}")
    return parse_check_rollups(batch, response.data, response.errors)
