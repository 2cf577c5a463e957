"""Installation and repository discovery: what the App is installed on, right now.

Installations are listed with the App JWT; each installation's repositories with its token,
page 1 conditionally. Whatever left is marked removed with its reason, never deleted.

One bad item never fails the others: an installation or repository GitHub lists in a shape
prwatch cannot read is reported and skipped, and is not taken for gone (an item without a
readable id holds back every removal of that listing, since it could be any of them).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    InstallationSnapshot,
    RemovalReason,
    RepositorySnapshot,
    Source,
)
from prwatch.github import validation
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.pagination import iterate_pages
from prwatch.github.payloads import PayloadError, installation_from_json, repository_from_json
from prwatch.github.port import RestReader
from prwatch.github.responses import ApiResponse
from prwatch.store.records import RepositoryRecord
from prwatch.store.store import Store, StoreTransaction
from prwatch.sync.repository_sweep import remove_repository, rename_repository
from prwatch.sync.skipped import SkippedItem, SkippedKind, count_skipped

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTALLATIONS_ROUTE = "GET /app/installations"
INSTALLATION_REPOSITORIES_ROUTE = "GET /installation/repositories"


class InventoryApi(RestReader, Protocol):
    async def app_get(
        self,
        path_or_url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        route: str | None = None,
    ) -> ApiResponse: ...


@dataclass(slots=True)
class Inventory:
    active_installations: list[InstallationSnapshot] = field(default_factory=list)
    repositories: list[RepositoryRecord] = field(default_factory=list)
    failed_installations: dict[int, str] = field(default_factory=dict)
    # Listed items prwatch could not read, each with why: reported, skipped, not removed.
    skipped: list[SkippedItem] = field(default_factory=list)
    changes_by_kind: Counter[str] = field(default_factory=Counter)

    def troubles(self) -> list[str]:
        """What discovery could not do, one line each (the sweep reports them)."""
        return [
            *(f"installation {i}: {e}" for i, e in sorted(self.failed_installations.items())),
            *(f"skipped {item.note}" for item in self.skipped),
        ]


@dataclass(slots=True)
class _Listing(Generic[T]):
    """What one listing held: the items read, the ids of those that could not be, and
    whether every unreadable item still told its id (else nothing may be taken for gone)."""

    items: list[T] = field(default_factory=list)
    unreadable_ids: set[int] = field(default_factory=set)
    complete: bool = True

    def keeps(self, item_id: int) -> bool:
        """An id absent from the listing is gone, unless it may hide in an unreadable item."""
        return not self.complete or item_id in self.unreadable_ids


def repositories_etag_key(installation_id: int) -> str:
    return f"installation-repositories:{installation_id}"


async def discover_inventory(store: Store, api: InventoryApi) -> Inventory:
    """Sync installations and their repositories; return the repositories to sweep."""
    inventory = Inventory()
    listed = _read_items(
        await _app_pages(api), SkippedKind.INSTALLATION, installation_from_json, inventory
    )
    for installation_id in listed.unreadable_ids:
        inventory.failed_installations[installation_id] = "listed in a shape prwatch cannot read"
    async with store.transaction() as tx:
        await _sync_installations(tx, listed, inventory)
    for installation in inventory.active_installations:
        try:
            await _sync_repositories(store, api, installation.id, inventory)
        except Exception as error:  # isolate installations from each other
            inventory.failed_installations[installation.id] = f"{type(error).__name__}: {error}"
    async with store.transaction(read_only=True) as tx:
        for installation in inventory.active_installations:
            if installation.id not in inventory.failed_installations:
                inventory.repositories.extend(await tx.list_repositories(installation.id))
    count_skipped(inventory.skipped)
    return inventory


async def _app_pages(api: InventoryApi) -> list[Any]:
    items: list[Any] = []
    url: str | None = "/app/installations"
    params: dict[str, str | int] | None = {"per_page": 100}
    while url is not None:
        response = await api.app_get(url, params, route=INSTALLATIONS_ROUTE)
        body = _ok_json(response)
        if not isinstance(body, list):
            raise UnexpectedResponse("GET /app/installations did not answer a list")
        items.extend(body)
        url, params = response.links.get("next"), None
    return items


def _read_items(
    raw: Sequence[Any], what: SkippedKind, read: Callable[[Any], T], inventory: Inventory
) -> _Listing[T]:
    listing: _Listing[T] = _Listing()
    for index, item in enumerate(raw):
        try:
            listing.items.append(read(item))
        except PayloadError as error:
            item_id = _readable_id(item)
            if item_id is not None:
                listing.unreadable_ids.add(item_id)
                where = f"{what} {item_id}"
            else:
                listing.complete = False
                where = f"{what} #{index} of the listing"
            inventory.skipped.append(SkippedItem.refused(what, error, where))
            log.warning("unreadable %s skipped", what.value, extra={"error": str(error)})
    return listing


def _readable_id(item: Any) -> int | None:
    """The id of an item that is unreadable otherwise, if it has a valid one."""
    item_id = item.get("id") if isinstance(item, Mapping) else None
    try:
        return validation.github_id(item_id, "id")
    except validation.InvalidValue:
        return None


async def _sync_installations(
    tx: StoreTransaction, listing: _Listing[InstallationSnapshot], inventory: Inventory
) -> None:
    stored = {record.id: record for record in await tx.list_installations(include_removed=True)}
    listed = listing.items
    listed_ids = {installation.id for installation in listed}
    changes: list[Change] = []
    for installation in listed:
        before = stored.get(installation.id)
        await tx.upsert_installation(installation)
        if before is None or before.removed:
            changes.append(_installation_change(ChangeKind.INSTALLATION_ADDED, installation.id))
        elif (before.suspended_at is not None) != installation.suspended:
            kind = (
                ChangeKind.INSTALLATION_SUSPENDED
                if installation.suspended
                else ChangeKind.INSTALLATION_UNSUSPENDED
            )
            changes.append(_installation_change(kind, installation.id))
        if not installation.suspended:
            inventory.active_installations.append(installation)
    for record in stored.values():
        if record.id not in listed_ids and not record.removed and not listing.keeps(record.id):
            await tx.mark_installation_removed(record.id, RemovalReason.INSTALLATION_DELETED)
            changes.append(_installation_change(ChangeKind.INSTALLATION_REMOVED, record.id))
    if changes:
        await tx.write_change_set(ChangeSet(changes=tuple(changes)), source=Source.SWEEP)
        inventory.changes_by_kind.update(change.kind.value for change in changes)


def _installation_change(kind: ChangeKind, installation_id: int) -> Change:
    return Change(kind, None, installation_id=installation_id)


async def _sync_repositories(
    store: Store, api: InventoryApi, installation_id: int, inventory: Inventory
) -> None:
    async with store.transaction(read_only=True) as tx:
        stored_etag = await tx.get_etag(repositories_etag_key(installation_id))
    first: ApiResponse | None = None
    raw: list[Any] = []
    async for response in iterate_pages(
        api,
        "/installation/repositories",
        installation_id=installation_id,
        route=INSTALLATION_REPOSITORIES_ROUTE,
        params={"per_page": 100},
        etag=stored_etag[0] if stored_etag else None,
    ):
        first = first or response
        if response.not_modified:
            return  # the installation's repositories did not change
        body = _ok_json(response)
        repos = body.get("repositories") if isinstance(body, dict) else None
        if not isinstance(repos, list):
            raise UnexpectedResponse("GET /installation/repositories has no repositories list")
        raw.extend(repos)
    assert first is not None  # iterate_pages yields at least the first page
    listed = _read_items(
        raw,
        SkippedKind.REPOSITORY,
        lambda item: repository_from_json(item, installation_id),
        inventory,
    )
    async with store.transaction() as tx:
        await _apply_repository_listing(tx, installation_id, listed, inventory)
        # A listing with unreadable items is read again next time, not answered 304.
        whole = listed.complete and not listed.unreadable_ids
        if whole and first.etag and first.token_fingerprint:
            await tx.put_etags(
                [(repositories_etag_key(installation_id), first.etag, first.token_fingerprint)]
            )


async def _apply_repository_listing(
    tx: StoreTransaction,
    installation_id: int,
    listing: _Listing[RepositorySnapshot],
    inventory: Inventory,
) -> None:
    stored = {
        record.id: record
        for record in await tx.list_repositories(installation_id, include_removed=True)
    }
    listed: Sequence[RepositorySnapshot] = listing.items
    listed_ids = {repo.id for repo in listed}
    gone = [
        r
        for r in stored.values()
        if r.id not in listed_ids and not r.removed and not listing.keeps(r.id)
    ]
    for record in gone:  # lock before anything is written (the store's lock order)
        await tx.lock_repository(record.id)
    for repo in listed:
        await tx.lock_repository(repo.id)
    for record in gone:
        if await remove_repository(
            tx, record, RemovalReason.REMOVED_FROM_INSTALLATION, source=Source.SWEEP
        ):
            inventory.changes_by_kind[ChangeKind.REPOSITORY_REMOVED.value] += 1
    renamed = [
        (stored[repo.id], repo.full_name)
        for repo in listed
        if repo.id in stored and stored[repo.id].full_name != repo.full_name
    ]
    for record, new_name in renamed:
        if await rename_repository(tx, record, new_name, source=Source.SWEEP):
            inventory.changes_by_kind[ChangeKind.REPOSITORY_RENAMED.value] += 1
    arrivals = [
        Change(
            ChangeKind.REPOSITORY_RESTORED if repo.id in stored else ChangeKind.REPOSITORY_ADDED,
            repo.id,
            installation_id=installation_id,
            field="full_name",
            new=repo.full_name,
        )
        for repo in listed
        if repo.id not in stored or stored[repo.id].removed
    ]
    await tx.upsert_repositories(listed)
    if arrivals:
        await tx.write_change_set(
            ChangeSet(changes=tuple(arrivals)),
            source=Source.SWEEP,
            installation_id=installation_id,
        )
        inventory.changes_by_kind.update(change.kind.value for change in arrivals)


def _ok_json(response: ApiResponse) -> Any:
    if response.status != 200:
        raise UnexpectedResponse(
            f"{response.url} answered {response.status}: {response.message() or 'no message'}"
        )
    return response.json()
