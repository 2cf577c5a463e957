"""Make sure the repository a delivery speaks of is stored, before its PRs or checks are.

A delivery can arrive before the first sweep saw its repository. The payload's `repository`
object and `installation.id` are enough to store both; outside `installation` events the
installation object is only `{id, node_id}`, so its account is taken from the repository owner.
A stored repository is never renamed from here: an activity payload may predate a rename, and
renames are the `repository` event's and the sweep's to apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prwatch.domain.models import Change, ChangeKind, ChangeSet, InstallationSnapshot, Source
from prwatch.events.envelope import required_object
from prwatch.events.errors import PermanentDeliveryError
from prwatch.events.outcome import Delivery
from prwatch.github import validation
from prwatch.github.payloads import PayloadError, repository_from_json
from prwatch.github.validation import MAX_LOGIN
from prwatch.store import RepositoryRecord, Store


async def ensure_repository(store: Store, delivery: Delivery) -> RepositoryRecord | str:
    """The delivery's stored repository, stored now if new; a reason string when the delivery
    must be ignored (its repository or installation was removed)."""
    known = delivery.repository
    if known is not None:
        return _usable(known)
    repository = required_object(delivery.payload, "repository")
    installation_id = _installation_id(delivery.payload)
    try:
        snapshot = repository_from_json(repository, installation_id)
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    async with store.transaction() as tx:
        await tx.lock_repository(snapshot.id)
        current = await tx.get_repository(snapshot.id)
        if current is not None:  # stored meanwhile by another delivery or a sweep
            return _usable(current)
        changes: list[Change] = []
        installation = await tx.get_installation(installation_id)
        if installation is None:
            await tx.upsert_installation(_installation_from_owner(installation_id, repository))
            changes.append(Change(ChangeKind.INSTALLATION_ADDED, None))
        elif installation.removed:
            return f"installation {installation_id} was removed"
        await tx.upsert_repositories([snapshot])
        changes.append(
            Change(
                ChangeKind.REPOSITORY_ADDED, snapshot.id, field="full_name", new=snapshot.full_name
            )
        )
        await tx.write_change_set(
            ChangeSet(changes=tuple(changes)),
            source=Source.WEBHOOK,
            delivery_id=delivery.guid,
            installation_id=installation_id,
        )
        stored = await tx.get_repository(snapshot.id)
    assert stored is not None
    return stored


def _usable(record: RepositoryRecord) -> RepositoryRecord | str:
    if record.removed:
        reason = record.removed_reason.value if record.removed_reason else "removed"
        return f"repository {record.id} is not watched ({reason})"
    return record


def _installation_id(payload: Mapping[str, Any]) -> int:
    installation = payload.get("installation")
    value = installation.get("id") if isinstance(installation, dict) else None
    if value is None:
        raise PermanentDeliveryError(
            "payload has no installation id and its repository is not stored yet"
        )
    try:
        return validation.github_id(value, "installation.id")
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None


def check_repository_owner(repository: Mapping[str, Any]) -> tuple[str, str]:
    """The login and account type of the repository's owner, as an installation's account
    (``PermanentDeliveryError`` or ``InvalidValue`` when missing or malformed)."""
    owner = repository.get("owner")
    login = owner.get("login") if isinstance(owner, dict) else None
    if login is None:
        raise PermanentDeliveryError("payload repository.owner.login is missing")
    login = validation.name(login, "repository.owner.login", MAX_LOGIN)
    kind = owner.get("type") if isinstance(owner, dict) else None
    if kind is None or kind == "":
        return login, "User"
    return login, validation.keyword(kind, "repository.owner.type")


def _installation_from_owner(
    installation_id: int, repository: Mapping[str, Any]
) -> InstallationSnapshot:
    try:
        login, kind = check_repository_owner(repository)
    except PayloadError as error:
        raise PermanentDeliveryError(str(error)) from None
    return InstallationSnapshot(id=installation_id, account_login=login, account_type=kind)
