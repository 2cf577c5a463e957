"""Builders for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prwatch.domain.models import (
    CheckRunSnapshot,
    InstallationSnapshot,
    PullRequestSnapshot,
    RepositorySnapshot,
)
from prwatch.store.store import Store

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
INSTALLATION_ID = 11
REPOSITORY_ID = 42
SHA_A = "a" * 40
SHA_B = "b" * 40


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_installation(**overrides: Any) -> InstallationSnapshot:
    values: dict[str, Any] = {
        "id": INSTALLATION_ID,
        "account_login": "octo-org",
        "account_type": "Organization",
    }
    values.update(overrides)
    return InstallationSnapshot(**values)


def make_repository(**overrides: Any) -> RepositorySnapshot:
    values: dict[str, Any] = {
        "id": REPOSITORY_ID,
        "installation_id": INSTALLATION_ID,
        "full_name": "octo-org/widgets",
        "private": False,
    }
    values.update(overrides)
    return RepositorySnapshot(**values)


def make_pr(**overrides: Any) -> PullRequestSnapshot:
    number = overrides.get("number", 7)
    values: dict[str, Any] = {
        "repository_id": REPOSITORY_ID,
        "number": number,
        "github_id": 100_000 + number,
        "node_id": f"PR_{number}",
        "state": "open",
        "draft": False,
        "merged": False,
        "merged_at": None,
        "closed_at": None,
        "title": f"Change number {number}",
        "author": "octocat",
        "labels": ("bug", "ui"),
        "head_sha": SHA_A,
        "head_ref": "feature",
        "base_sha": SHA_B,
        "base_ref": "main",
        "created_at": T0,
        "updated_at": at(10),
    }
    values.update(overrides)
    return PullRequestSnapshot(**values)


def make_run(**overrides: Any) -> CheckRunSnapshot:
    values: dict[str, Any] = {
        "id": 900,
        "repository_id": REPOSITORY_ID,
        "head_sha": SHA_A,
        "name": "lint",
        "status": "queued",
        "conclusion": None,
        "started_at": None,
        "completed_at": None,
        "app_slug": "ci",
        "check_suite_id": 77,
    }
    values.update(overrides)
    return CheckRunSnapshot(**values)


async def seed_repository(store: Store, *repositories: RepositorySnapshot) -> None:
    """Store the installation and the repositories (the default one when none are given)."""
    async with store.transaction() as tx:
        await tx.upsert_installation(make_installation())
        await tx.upsert_repositories(repositories or (make_repository(),))
