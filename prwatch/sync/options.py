"""The sweep's knobs (the HTTP client's own limits live in prwatch.github.limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class SweepOptions:
    max_concurrent_repositories: int = 16
    retry_attempts: int = 3  # per repository, for transient GitHub and database errors
    backoff_factor_seconds: float = 0.5  # delay before retry n: factor * 2^(n-1)
    transaction_timeout_seconds: float = 30.0
    use_etags: bool = True  # conditional requests ("caching") on or off
    # Page back past the watermark by this much: GitHub's updated_at has one-second resolution
    # and listings may lag a write (eventual consistency).
    watermark_overlap: timedelta = timedelta(minutes=2)
    # A listing of every PR now and then catches what the incremental listing cannot see.
    full_listing_interval: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.max_concurrent_repositories < 1:
            raise ValueError("max_concurrent_repositories must be at least 1")
        if self.retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        if self.backoff_factor_seconds < 0 or self.transaction_timeout_seconds <= 0:
            raise ValueError("backoff and timeout must be positive")
