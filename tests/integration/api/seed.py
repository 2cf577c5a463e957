"""A small world written straight into the store, for the read API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    InstallationSnapshot,
    PullRequestSignal,
    PullRequestSnapshot,
    RemovalReason,
    RepositorySnapshot,
    Source,
)
from prwatch.store import Store
from prwatch.web.sessions import SESSION_COOKIE
from tests.credentials import create_session, create_token

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# installation → its repositories (id, full name)
WORLD = {
    1: [(101, "alpha/one"), (102, "alpha/two"), (103, "alpha/three")],
    2: [(201, "beta/one"), (202, "beta/gone")],
}
REMOVED = 202


def make_pr(repository_id: int, number: int, **overrides: Any) -> PullRequestSnapshot:
    values: dict[str, Any] = {
        "repository_id": repository_id,
        "number": number,
        "github_id": repository_id * 10_000 + number,
        "node_id": f"PR_{repository_id}_{number}",
        "state": "open",
        "draft": False,
        "merged": False,
        "merged_at": None,
        "closed_at": None,
        "title": f"Change {number}",
        "author": "octocat",
        "labels": (),
        "head_sha": f"{number:040x}",
        "head_ref": f"topic-{number}",
        "base_sha": "b" * 40,
        "base_ref": "main",
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=number),
    }
    values.update(overrides)
    return PullRequestSnapshot(**values)


# alpha/one's pull requests: number → (state, labels)
PULLS = {
    1: ("open", ("bug",)),
    2: ("closed", ("bug", "ui")),
    3: ("open", ()),
    4: ("open", ('we"ird %_', "ui")),
    5: ("open", ("bug",)),
    6: ("closed", ()),
    7: ("open", ("bugs",)),
}


# alpha/one's merge signals (the others have none)
SIGNALS = {1: "success", 3: "failure", 4: "pending", 5: "success"}


async def seed(store: Store) -> None:
    async with store.transaction() as tx:
        for installation_id, repos in WORLD.items():
            await tx.upsert_installation(
                InstallationSnapshot(installation_id, f"owner{installation_id}", "Organization")
            )
            await tx.upsert_repositories(
                [RepositorySnapshot(rid, installation_id, name, rid == 103) for rid, name in repos]
            )
        await tx.mark_repository_removed(REMOVED, RemovalReason.REMOVED_FROM_INSTALLATION)
    async with store.transaction() as tx:
        pulls = tuple(
            make_pr(
                101,
                number,
                state=state,
                labels=labels,
                closed_at=T0 if state == "closed" else None,
            )
            for number, (state, labels) in PULLS.items()
        )
        others = (make_pr(201, 1), make_pr(102, 1))
        changes = tuple(
            Change(ChangeKind.PR_OPENED, pr.repository_id, pr.number) for pr in pulls + others
        )
        for repository_id in (101, 102, 201):
            await tx.lock_repository(repository_id)
        signals = tuple(
            PullRequestSignal(101, number, None, signal) for number, signal in SIGNALS.items()
        )
        await tx.write_change_set(
            ChangeSet(pull_requests=pulls + others, changes=changes, signals=signals),
            source=Source.SWEEP,
        )


# Sessions (the repository-level scopes below) are signed with a key from the client secret:
# the tests' apps are configured with this one.
TEST_CLIENT_SECRET = "api-tests-client-secret"
SEEDED_INSTALLATIONS = frozenset(WORLD)


def with_test_scope(app: ASGIApp, store: Store) -> ASGIApp:
    """``app`` called with real credentials: an operator's API token, or for ``X-Test-Scope:
    INSTALLATIONS;REPOSITORIES`` (comma-separated ids, empty or * for no limit) a token scoped
    to those installations, or a signed-in person's session who sees those repositories."""
    credentials: dict[bytes, tuple[bytes, bytes]] = {}

    async def credential(wanted: bytes) -> tuple[bytes, bytes]:
        if wanted not in credentials:
            installations, _, repositories = wanted.decode().partition(";")
            if _ids(repositories) is None:
                token = await create_token(
                    store, f"api-tests-{len(credentials)}", installation_ids=_ids(installations)
                )
                credentials[wanted] = (b"authorization", f"Bearer {token}".encode())
            else:
                cookie = await create_session(
                    store,
                    TEST_CLIENT_SECRET,
                    installation_ids=_ids(installations) or SEEDED_INSTALLATIONS,
                    repository_ids=_ids(repositories) or (),
                )
                credentials[wanted] = (b"cookie", f"{SESSION_COOKIE}={cookie}".encode())
        return credentials[wanted]

    async def scoped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            wanted = dict(scope.get("headers", ())).get(b"x-test-scope", b"")
            scope["headers"] = [*scope.get("headers", ()), await credential(wanted)]
        await app(scope, receive, send)

    return scoped


def _ids(text: str) -> frozenset[int] | None:
    return None if text in ("", "*") else frozenset(int(i) for i in text.split(","))
