"""Deliveries about what prwatch watches: installations and their repositories.

Each change is logged like the sweep logs it (source webhook, with the delivery id); a new
installation or a repository added to one is then swept at once (``SWEEP_INSTALLATION``),
since the payload lists repositories but not their pull requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    InstallationSnapshot,
    RemovalReason,
    RepositorySnapshot,
    Source,
)
from prwatch.events.envelope import object_list, required_object
from prwatch.events.errors import PermanentDeliveryError
from prwatch.events.outcome import Apply, Delivery, EventContext, FollowUp, Outcome, finished
from prwatch.github.payloads import PayloadError, installation_from_json, repository_from_json
from prwatch.queue.port import SWEEP_INSTALLATION
from prwatch.store import StoreTransaction
from prwatch.sync.repository_sweep import remove_repository, rename_repository


def sweep_installation(installation_id: int) -> FollowUp:
    return FollowUp(SWEEP_INSTALLATION, (installation_id,), f"sweep-installation:{installation_id}")


async def plan_installation(context: EventContext, delivery: Delivery) -> Apply:
    installation = _installation(delivery.payload)
    action = delivery.action
    if action == "created":
        repositories = _repositories(delivery.payload, "repositories", installation.id)

        async def created(tx: StoreTransaction) -> Outcome:
            for repository in repositories:
                await tx.lock_repository(repository.id)
            changes = await _store_installation(tx, installation)
            changes += await _add_repositories(tx, installation.id, repositories)
            await _log(tx, delivery, installation.id, changes)
            return Outcome.done(sweep_installation(installation.id))

        return created
    if action == "deleted":

        async def deleted(tx: StoreTransaction) -> Outcome:
            changes = []
            before = await tx.get_installation(installation.id)
            for repository in await tx.list_repositories(installation.id):
                await tx.lock_repository(repository.id)  # before any write: the lock order
            if before is None:
                await tx.upsert_installation(installation)
            if before is None or not before.removed:
                changes.append(_installation_change(ChangeKind.INSTALLATION_REMOVED))
            await tx.mark_installation_removed(installation.id, RemovalReason.INSTALLATION_DELETED)
            await _log(tx, delivery, installation.id, changes)
            return Outcome.done()

        return deleted
    if action in ("suspend", "unsuspend"):
        suspended = action == "suspend"

        async def suspension(tx: StoreTransaction) -> Outcome:
            changes = []
            if await tx.get_installation(installation.id) is None:
                await tx.upsert_installation(_with_suspension(installation, not suspended))
                changes.append(_installation_change(ChangeKind.INSTALLATION_ADDED))
            if await tx.mark_installation_suspended(installation.id, suspended):
                kind = (
                    ChangeKind.INSTALLATION_SUSPENDED
                    if suspended
                    else ChangeKind.INSTALLATION_UNSUSPENDED
                )
                changes.append(_installation_change(kind))
            await _log(tx, delivery, installation.id, changes)
            return Outcome.done(*(() if suspended else (sweep_installation(installation.id),)))

        return suspension
    if action == "new_permissions_accepted":
        # Permissions decide what prwatch may read, not what it stores; a read they still
        # forbid fails and is retried by the sweep.
        return finished(Outcome.ignored("new permissions accepted: nothing prwatch stores"))
    return finished(Outcome.ignored(f"installation action {action!r}"))


async def plan_installation_repositories(context: EventContext, delivery: Delivery) -> Apply:
    """Both `added` and `removed` carry both lists (one of them empty): apply both."""
    if delivery.action not in ("added", "removed"):
        return finished(Outcome.ignored(f"installation_repositories action {delivery.action!r}"))
    installation = _installation(delivery.payload)
    added = _repositories(delivery.payload, "repositories_added", installation.id)
    removed = _repositories(delivery.payload, "repositories_removed", installation.id)
    removed_ids = [repo.id for repo in removed]

    async def apply(tx: StoreTransaction) -> Outcome:
        for repository_id in sorted({*removed_ids, *(repo.id for repo in added)}):
            await tx.lock_repository(repository_id)  # every lock before any write
        changes: list[Change] = []
        if await tx.get_installation(installation.id) is None:
            changes += await _store_installation(tx, installation)
        for repository_id in removed_ids:
            record = await tx.get_repository(repository_id)
            if record is not None:
                await remove_repository(
                    tx,
                    record,
                    RemovalReason.REMOVED_FROM_INSTALLATION,
                    source=Source.WEBHOOK,
                    delivery_id=delivery.guid,
                )
        changes += await _add_repositories(tx, installation.id, added)
        await _log(tx, delivery, installation.id, changes)
        return Outcome.done(*((sweep_installation(installation.id),) if added else ()))

    return apply


async def plan_repository(context: EventContext, delivery: Delivery) -> Apply:
    record = delivery.repository
    action = delivery.action
    if action not in ("renamed", "transferred", "deleted"):
        return finished(Outcome.ignored(f"repository action {action!r}"))
    if record is None:
        return finished(Outcome.ignored("repository not watched"))
    repository = required_object(delivery.payload, "repository")
    full_name = repository.get("full_name")
    if not isinstance(full_name, str):
        raise PermanentDeliveryError("payload repository.full_name is missing")

    async def apply(tx: StoreTransaction) -> Outcome:
        await tx.lock_repository(record.id)
        if action == "deleted":
            removed = await remove_repository(
                tx, record, RemovalReason.DELETED, source=Source.WEBHOOK, delivery_id=delivery.guid
            )
            return Outcome.done() if removed else Outcome.ignored("repository already removed")
        await rename_repository(
            tx, record, full_name, source=Source.WEBHOOK, delivery_id=delivery.guid
        )
        return Outcome.done()

    return apply


# -- helpers ---------------------------------------------------------------------------------


def _installation(payload: Mapping[str, Any]) -> InstallationSnapshot:
    try:
        return installation_from_json(required_object(payload, "installation"))
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None


def _with_suspension(installation: InstallationSnapshot, suspended: bool) -> InstallationSnapshot:
    return InstallationSnapshot(
        installation.id, installation.account_login, installation.account_type, suspended
    )


def _repositories(
    payload: Mapping[str, Any], key: str, installation_id: int
) -> list[RepositorySnapshot]:
    try:
        return [repository_from_json(item, installation_id) for item in object_list(payload, key)]
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None


async def _store_installation(
    tx: StoreTransaction, installation: InstallationSnapshot
) -> list[Change]:
    before = await tx.get_installation(installation.id)
    await tx.upsert_installation(installation)
    if before is None or before.removed:
        return [_installation_change(ChangeKind.INSTALLATION_ADDED)]
    return []


async def _add_repositories(
    tx: StoreTransaction, installation_id: int, repositories: Sequence[RepositorySnapshot]
) -> list[Change]:
    """Store the repositories (restoring removed ones); the changes to log for new arrivals.

    The caller locked them (every lock is taken before the transaction's first log write)."""
    if not repositories:
        return []
    stored = {repository.id: await tx.get_repository(repository.id) for repository in repositories}
    changes = []
    for repository in repositories:
        before = stored[repository.id]
        if before is None or before.removed:
            kind = ChangeKind.REPOSITORY_ADDED if before is None else ChangeKind.REPOSITORY_RESTORED
            changes.append(Change(kind, repository.id, field="full_name", new=repository.full_name))
    await tx.upsert_repositories(repositories)
    return changes


def _installation_change(kind: ChangeKind) -> Change:
    return Change(kind, None)


async def _log(
    tx: StoreTransaction, delivery: Delivery, installation_id: int, changes: list[Change]
) -> None:
    if changes:
        await tx.write_change_set(
            ChangeSet(changes=tuple(changes)),
            source=Source.WEBHOOK,
            delivery_id=delivery.guid,
            installation_id=installation_id,
        )
