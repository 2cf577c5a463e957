"""`pull_request_review` deliveries: submitted, edited, dismissed.

The payload carries the review and the PR it belongs to (as of the review, which bumped its
`updated_at`), so a review for a PR prwatch has not seen stores the PR too, without a request.
The review decision (GraphQL's `reviewDecision`, which depends on branch protection) is not in
the payload: the next sweep reads it, since the review moved the PR's `updated_at`.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request_review
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prwatch.domain.models import PullRequestSnapshot, ReviewSnapshot
from prwatch.events.activity import applying
from prwatch.events.errors import PermanentDeliveryError
from prwatch.events.outcome import Apply, Delivery, EventContext, Outcome, finished
from prwatch.events.repositories import ensure_repository
from prwatch.github.payloads import PayloadError, pull_request_from_json, review_from_json
from prwatch.sync.apply import Observation

REVIEW_ACTIONS = frozenset({"submitted", "edited", "dismissed"})


def review_observation(
    payload: Mapping[str, Any], repository_id: int
) -> tuple[PullRequestSnapshot, ReviewSnapshot]:
    """The PR and the review of a `pull_request_review` payload; PayloadError if malformed."""
    pr_object = payload.get("pull_request")
    review_object = payload.get("review")
    if not isinstance(pr_object, Mapping) or not isinstance(review_object, Mapping):
        raise PayloadError("payload needs a pull_request and a review object")
    pr = pull_request_from_json(pr_object, repository_id)
    return pr, review_from_json(review_object, repository_id, pr.number)


async def plan_pull_request_review(context: EventContext, delivery: Delivery) -> Apply:
    if delivery.action not in REVIEW_ACTIONS:
        return finished(Outcome.ignored(f"pull_request_review action {delivery.action!r}"))
    repository = await ensure_repository(context.store, delivery)
    if isinstance(repository, str):
        return finished(Outcome.ignored(repository))
    try:
        pr, review = review_observation(delivery.payload, repository.id)
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    observation = Observation(repository.id, pull_requests=(pr,), reviews=(review,))
    return applying(delivery, repository, observation)
