"""Items a sweep skipped: what GitHub answered out of its documented shape fails alone, and
is reported — logged, counted (``prwatch_sweep_skipped_items_total{kind,reason}``) and kept in
the sweep record.

``kind`` and ``reason`` are closed sets, so the metric's series stay few whatever GitHub
answers; the note says which item and why, for logs and the record only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from prwatch.github.validation import InvalidValue, UnknownState
from prwatch.observability.metrics import current_metrics


class SkippedKind(StrEnum):
    PULL_REQUEST = "pull_request"
    CHECK_RUN = "check_run"
    COMMIT_STATUS = "commit_status"
    ROLLUP_NODE = "rollup_node"  # a check rollup node that is no object or names no type
    REVIEW = "review"
    REVIEW_DECISION = "review_decision"
    INSTALLATION = "installation"
    REPOSITORY = "repository"


class SkipReason(StrEnum):
    INVALID = "invalid"  # a required field missing, of the wrong type or past a bound
    UNKNOWN_STATE = "unknown_state"  # a state outside GitHub's documented set
    TOO_MANY = "too_many"  # more than one read holds: the first ones kept, the rest not


@dataclass(frozen=True, slots=True)
class SkippedItem:
    kind: SkippedKind
    reason: SkipReason
    note: str  # which item and why (free text: never a metric label)

    @classmethod
    def refused(
        cls, kind: SkippedKind, error: InvalidValue, where: str | None = None
    ) -> SkippedItem:
        """An item the boundary rules refused (the error names its field), found at ``where``
        ("#12", a commit's SHA) when the error does not say."""
        reason = SkipReason.UNKNOWN_STATE if isinstance(error, UnknownState) else SkipReason.INVALID
        return cls(kind, reason, str(error) if where is None else f"{where}: {error}")

    def at(self, where: str) -> SkippedItem:
        """The same item, its note prefixed by where it was found."""
        return SkippedItem(self.kind, self.reason, f"{where}: {self.note}")


def notes(items: Iterable[SkippedItem]) -> list[str]:
    return [item.note for item in items]


def count_skipped(items: Iterable[SkippedItem]) -> None:
    """Count ``items`` in this process's metrics (none bound: a library caller, not counted)."""
    metrics = current_metrics()
    if metrics is not None:
        for item in items:
            metrics.observe_skipped(item.kind.value, item.reason.value)
