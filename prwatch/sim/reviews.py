"""Pull request reviews in the simulated GitHub: submitted, edited, dismissed; GraphQL's
`latestReviews` and `reviewDecision`; the `pull_request_review` event.

A review moves its PR's `updated_at` (it adds to the timeline), as GitHub's payloads show.
The review decision is what branch protection requiring one approving review gives: changes
requested by anyone's latest review wins, else an approval, else review required.
https://docs.github.com/en/graphql/reference/enums#pullrequestreviewdecision
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prwatch.sim.clock import iso
from prwatch.sim.entities import PullRequest, User
from prwatch.sim.events import InvalidMutationError, NotFoundError
from prwatch.sim.render import node_id

if TYPE_CHECKING:
    from prwatch.sim.world import World

SUBMITTED_STATES = frozenset({"approved", "changes_requested", "commented"})
REVIEWERS = ("ana", "bo", "chen", "dee")


class Review:
    __slots__ = ("body", "commit_id", "id", "pr", "state", "submitted_at", "user")

    def __init__(
        self, id: int, pr: PullRequest, user: User, state: str, submitted_at: int, body: str | None
    ) -> None:
        self.id = id
        self.pr = pr
        self.user = user
        self.state = state
        self.submitted_at = submitted_at
        self.commit_id = pr.head_sha
        self.body = body


def submit_review(
    world: World,
    repository_id: int,
    number: int,
    *,
    user: str,
    state: str,
    body: str | None = None,
) -> Review:
    pr = world.pull_request(repository_id, number)
    if state not in SUBMITTED_STATES:
        raise InvalidMutationError(f"state must be one of {', '.join(sorted(SUBMITTED_STATES))}")
    if pr.state != "open":
        raise InvalidMutationError(f"{pr.repo.full_name}#{number} is not open")
    world._touch(pr)
    review = Review(world.next_id("review"), pr, world.user(user), state, pr.updated_at, body)
    world.reviews.setdefault((pr.repo.id, pr.number), []).append(review)
    world.reviews_by_id[review.id] = review
    _emit(world, review, "submitted")
    return review


def edit_review(world: World, review_id: int, body: str) -> Review:
    review = _review(world, review_id)
    changes = {"body": {"from": review.body or ""}}
    review.body = body
    world._touch(review.pr)
    _emit(world, review, "edited", changes=changes)
    return review


def dismiss_review(world: World, review_id: int) -> Review:
    review = _review(world, review_id)
    if review.state not in ("approved", "changes_requested"):
        raise InvalidMutationError("only an approving or change-requesting review is dismissed")
    review.state = "dismissed"
    world._touch(review.pr)
    _emit(world, review, "dismissed")
    return review


def _review(world: World, review_id: int) -> Review:
    found = world.reviews_by_id.get(review_id)
    if found is None or found.pr.repo.deleted:
        raise NotFoundError(f"review {review_id} not found")
    return found


def latest_reviews(world: World, pr: PullRequest) -> list[Review]:
    """The latest review of each reviewer (GraphQL's `latestReviews`), by id."""
    latest: dict[int, Review] = {}
    for review in world.reviews.get((pr.repo.id, pr.number), []):
        latest[review.user.id] = review  # submitted in order: the last one is the latest
    return sorted(latest.values(), key=lambda review: review.id)


def review_decision(world: World, pr: PullRequest) -> str:
    states = {review.state for review in latest_reviews(world, pr)}
    if "changes_requested" in states:
        return "CHANGES_REQUESTED"
    if "approved" in states:
        return "APPROVED"
    return "REVIEW_REQUIRED"


def review_json(world: World, review: Review) -> dict[str, Any]:
    """A review as REST and the `pull_request_review` event show it."""
    pr = review.pr
    api = f"{world.render.api}/repos/{pr.repo.full_name}/pulls/{pr.number}"
    html = f"{world.render.web}/{pr.repo.full_name}/pull/{pr.number}#pullrequestreview-{review.id}"
    return {
        "id": review.id,
        "node_id": node_id("PullRequestReview", review.id),
        "user": world.render.user(review.user),
        "body": review.body,
        "commit_id": review.commit_id,
        "submitted_at": iso(review.submitted_at),
        "state": review.state,
        "html_url": html,
        "pull_request_url": api,
        "author_association": "MEMBER",
        "_links": {"html": {"href": html}, "pull_request": {"href": api}},
    }


def _emit(world: World, review: Review, action: str, **extra: Any) -> None:
    from prwatch.sim.payloads import repo_scoped

    pr = review.pr

    def build() -> dict[str, Any]:
        body: dict[str, Any] = {"action": action, "review": review_json(world, review)}
        pull_request = world.render.pull_request(pr, full=False, payload=True)
        body["pull_request"] = pull_request
        body.update(extra)
        return repo_scoped(world, pr.repo, body)

    world.emit_event("pull_request_review", action, pr.repo.installation_id, pr.repo.id, build)


def review_truth(world: World, review: Review) -> dict[str, Any]:
    return {
        "id": review.id,
        "repository_id": review.pr.repo.id,
        "pr_number": review.pr.number,
        "user": review.user.login,
        "state": review.state,
        "submitted_at": iso(review.submitted_at),
        "commit_id": review.commit_id,
    }


def reviews_truth(world: World) -> list[dict[str, Any]]:
    """Every PR's latest review per reviewer, and its decision, by repository and number."""
    return [
        {
            "repository_id": repository_id,
            "number": number,
            "review_decision": review_decision(
                world, world.pull_request(repository_id, number)
            ).lower(),
            "reviews": [
                review_truth(world, review)
                for review in sorted(
                    latest_reviews(world, world.pull_request(repository_id, number)),
                    key=lambda review: (review.user.login, review.id),
                )
            ],
        }
        for repository_id, number in sorted(world.reviews)
        if not world.repositories[repository_id].deleted
    ]
