"""The errors the GitHub client raises: retryable (try again later) versus permanent.

Messages name installations, routes and statuses, never a token, JWT or key.
"""

from __future__ import annotations

from prwatch.github.ratelimit import LimitKind


class GitHubError(Exception):
    """Anything the GitHub client could not turn into a response."""


class RetryableGitHubError(GitHubError):
    """Trying again later may succeed; ``retry_after`` (seconds) says when, if known."""

    retry_after: float | None = None


class GitHubUnavailable(RetryableGitHubError):
    """5xx answers, timeouts or connection errors persisted through every attempt."""


class RateLimited(RetryableGitHubError):
    """GitHub refused for a rate limit and waiting would exceed the allowed wait."""

    def __init__(self, retry_after: float, kind: LimitKind, *, resource: str | None = None) -> None:
        self.retry_after = max(0.0, retry_after)
        self.kind = kind
        self.resource = resource
        where = f" ({resource})" if resource else ""
        super().__init__(f"{kind.value} rate limit{where}: retry after {self.retry_after:.0f}s")


class BudgetReserved(RetryableGitHubError):
    """Sweep traffic stopped: what remains of the hour's budget is kept for webhooks."""

    def __init__(
        self, installation_id: int, resource: str, remaining: int, retry_after: float
    ) -> None:
        self.installation_id = installation_id
        self.resource = resource
        self.remaining = remaining
        self.retry_after = max(0.0, retry_after)
        super().__init__(
            f"installation {installation_id}: {remaining} {resource} points left, "
            f"at or below the reserve; resets in {self.retry_after:.0f}s"
        )


class PermanentGitHubError(GitHubError):
    """Trying again unchanged will not help."""


class AuthenticationFailed(PermanentGitHubError):
    """GitHub rejected the App JWT or a freshly issued installation token."""


class InstallationUnavailable(PermanentGitHubError):
    """No token can be issued: the installation is gone (404) or suspended (403)."""

    def __init__(self, installation_id: int, status: int, message: str) -> None:
        self.installation_id = installation_id
        self.status = status
        super().__init__(
            f"installation {installation_id}: token request answered {status}: {message}"
        )


class UnexpectedResponse(PermanentGitHubError):
    """GitHub answered something the client cannot use (malformed body, foreign redirect…)."""
