"""What a job's failure means to the queue that ran it: retry later, or give up.

A job function raises ``RetryableJobError`` when trying again later may succeed (the database
is unreachable, a transaction lost a race, GitHub answered 5xx or rate-limited us, an API read
raced GitHub's eventual consistency). ``is_retryable`` also accepts the store's and the GitHub
client's own retryable errors, for jobs that let those through unchanged. Everything else is
permanent: the queue logs it and does not retry.
"""

from __future__ import annotations

from prwatch.github.errors import RetryableGitHubError
from prwatch.store.errors import RetryableStoreError


class RetryableJobError(Exception):
    """Try this job again later; ``retry_after`` (seconds) says when, if the cause said so.
    ``reported``: the job logged this failure itself, with its context, so the queue retrying
    it does not log it a second time."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, reported: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reported = reported


def already_reported(error: BaseException) -> bool:
    """Whether the job that raised ``error`` logged it already."""
    return isinstance(error, RetryableJobError) and error.reported


class PermanentDeliveryError(Exception):
    """A delivery that can never be applied as it is (malformed, or missing what it needs)."""


RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    RetryableJobError,
    RetryableStoreError,
    RetryableGitHubError,
    TimeoutError,
)


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, RETRYABLE_ERRORS)


def retry_after(error: BaseException) -> float | None:
    """The delay the error asks for (a rate limit's reset), if any."""
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None
