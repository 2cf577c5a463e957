"""Which changes no webhook can bring, so that only a sweep ever finds them.

GitHub's ``check_run`` event has the actions created, completed, rerequested and
requested_action: a check run that moves from queued to in_progress sends nothing.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#check_run
"""

from __future__ import annotations

from prwatch.domain.models import Change, ChangeKind

SWEEP_ONLY_NOTE = "sweep-only: GitHub sends no webhook when a check run starts"
_UNANNOUNCED_STATUSES = frozenset({"in_progress"})


def is_sweep_only(change: Change) -> bool:
    """A change no delivery reports: a check run's status moving to one no action announces."""
    return (
        change.kind == ChangeKind.CHECK_RUN_STATUS_CHANGED and change.new in _UNANNOUNCED_STATUSES
    )
