"""Folding observations into stored snapshots: the one loop change detection runs for pull
requests, check runs, commit statuses and reviews alike. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from prwatch.domain.models import Change

SnapshotT = TypeVar("SnapshotT")
# Ids (pull request numbers, check-run and review ids) or (sha, context) of commit statuses.
KeyT = TypeVar("KeyT", int, tuple[str, str])


def fold_observations(
    stored: Mapping[KeyT, SnapshotT],
    observed: Iterable[SnapshotT],
    *,
    key: Callable[[SnapshotT], KeyT],
    accepts: Callable[[SnapshotT, SnapshotT], bool],
    detect: Callable[[SnapshotT | None, SnapshotT], list[Change]],
    settle: Callable[[SnapshotT | None, SnapshotT], SnapshotT] | None = None,
) -> tuple[list[SnapshotT], list[Change]]:
    """The rows to write (those that differ from what is stored) and the log entries, folding
    each key's observations in the order given, each against the newest one accepted; keys in
    sorted order, so that the log reads the same whatever order the observations came in."""
    by_key: dict[KeyT, list[SnapshotT]] = {}
    for snapshot in observed:
        by_key.setdefault(key(snapshot), []).append(snapshot)
    rows: list[SnapshotT] = []
    changes: list[Change] = []
    for snapshot_key in sorted(by_key):
        original = stored.get(snapshot_key)
        current = original
        for snapshot in by_key[snapshot_key]:
            if current is not None and not accepts(current, snapshot):
                continue
            if settle is not None:  # what the snapshot's source could not tell
                snapshot = settle(current, snapshot)
            changes.extend(detect(current, snapshot))
            current = snapshot
        if current is not None and current != original:
            rows.append(current)
    return rows, changes
