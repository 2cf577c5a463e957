"""What handling one delivery decides: how the delivery ends, and which jobs follow it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prwatch.github.responses import ApiResponse
from prwatch.queue.port import JobQueue
from prwatch.store import DeliveryStatus, RepositoryRecord, Store, StoreTransaction


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A job to enqueue once the delivery's transaction committed. ``rerun``: if it is
    running, run it once more after (``JobQueue.enqueue_or_rerun``), for a job whose running
    instance may have read GitHub before what this delivery brings."""

    job: str
    args: tuple[str | int, ...]
    job_id: str
    rerun: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    status: DeliveryStatus  # DONE or IGNORED
    follow_ups: tuple[FollowUp, ...] = ()
    note: str | None = None  # why it was ignored

    @classmethod
    def done(cls, *follow_ups: FollowUp) -> Outcome:
        return cls(DeliveryStatus.DONE, follow_ups)

    @classmethod
    def ignored(cls, note: str) -> Outcome:
        return cls(DeliveryStatus.IGNORED, note=note)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery with its decoded payload; `repository` is its stored repository
    (by the payload's repository id), read when the delivery was claimed."""

    guid: str
    event: str
    action: str | None
    payload: Mapping[str, Any]
    repository: RepositoryRecord | None


# The write half of handling a delivery: runs inside the transaction that also marks the
# delivery finished, so a delivery is applied and marked done together or not at all.
Apply = Callable[[StoreTransaction], Awaitable[Outcome]]


class EventApi(Protocol):
    async def get(
        self,
        path_or_url: str,
        *,
        installation_id: int,
        route: str,
        params: Mapping[str, str | int] | None = None,
        etag: str | None = None,
        spend_reserve: bool = False,
    ) -> ApiResponse: ...


class EventContext(Protocol):
    """What handling a delivery needs of the ProcessContext."""

    @property
    def store(self) -> Store: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def github(self) -> EventApi: ...


def finished(outcome: Outcome) -> Apply:
    """An Apply that writes nothing."""

    async def apply(tx: StoreTransaction) -> Outcome:
        return outcome

    return apply
