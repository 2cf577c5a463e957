"""Settle a tie from GitHub: read one PR and apply it like a sweep snapshot.

Two versions of a PR with the same `updated_at` (one-second resolution) cannot be ordered by
the fence, so the apply path applies whichever arrives last and reports the tie; a webhook
delivery that ties queues this read, and GitHub's answer then goes through the same apply
path as a sweep. Its answer has the same `updated_at` (the fence accepts it) or a later one.

The read is not conditional on purpose: a 304 would say that the PR is as it was at the last
read, not that the stored row still is (the tie may have just overwritten it with the older
version), so it could not settle anything.
"""

from __future__ import annotations

import logging

from prwatch.domain.models import Source
from prwatch.github.errors import PermanentGitHubError, RetryableGitHubError
from prwatch.github.payloads import PayloadError, pull_request_from_json
from prwatch.github.port import RestReader
from prwatch.store.store import Store
from prwatch.sync.apply import Applied, Observation, apply_observation

PULL_REQUEST_ROUTE = "GET /repos/{owner}/{repo}/pulls/{pull_number}"

log = logging.getLogger(__name__)


async def refresh_pull_request(
    store: Store, github: RestReader, repository_id: int, number: int
) -> Applied | None:
    """Read PR `number` of the repository and apply it; None when there is nothing to apply
    (the repository is removed, or GitHub no longer has the PR: the sweep says what is)."""
    where = {"repository_id": repository_id, "pr_number": number}
    async with store.transaction(read_only=True) as tx:
        repository = await tx.get_repository(repository_id)
    if repository is None or repository.removed:
        log.info("pull request refresh skipped: repository not watched", extra=where)
        return None
    response = await github.get(
        f"/repos/{repository.full_name}/pulls/{number}",
        installation_id=repository.installation_id,
        route=PULL_REQUEST_ROUTE,
        spend_reserve=True,  # webhook-driven: the reserve is kept for exactly this
    )
    if response.status in (404, 410):
        log.info("pull request refresh: not found", extra=where | {"status": response.status})
        return None
    if response.status >= 500:
        raise RetryableGitHubError(f"{response.url} answered {response.status}")
    if response.status != 200:
        raise PermanentGitHubError(f"{response.url} answered {response.status}")
    try:
        pr = pull_request_from_json(response.json(), repository.id)
    except PayloadError as error:
        raise PermanentGitHubError(f"{response.url}: {error}") from None
    if pr.number != number:
        raise PermanentGitHubError(f"{response.url} answered PR #{pr.number}")
    async with store.transaction() as tx:
        applied = await apply_observation(
            tx,
            Observation(repository.id, pull_requests=(pr,)),
            source=Source.SWEEP,
            installation_id=repository.installation_id,
        )
    log.info(
        "pull request refreshed",
        extra=where | {"changes": len(applied.change_set.changes)},
    )
    return applied
