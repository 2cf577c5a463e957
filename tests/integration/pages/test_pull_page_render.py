"""The pull request page without a browser: reviews, merge signal, statuses of the head only,
the timeline's sources, and 404 for what the caller may not see."""

from __future__ import annotations

from datetime import UTC, datetime

from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CommitStatusSnapshot,
    ReviewSnapshot,
    Source,
)
from prwatch.store import Store
from tests.integration.api.seed import make_pr
from tests.integration.api.test_read_api_v1 import api

AT = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)


async def add_review_and_statuses(store: Store) -> None:
    head = make_pr(101, 1).head_sha
    async with store.transaction() as tx:
        await tx.lock_repository(101)
        await tx.write_change_set(
            ChangeSet(
                reviews=(ReviewSnapshot(9, 101, 1, "<mona>", "approved", AT, head),),
                commit_statuses=(
                    CommitStatusSnapshot(
                        101, head, "ci/deploy", "failure", "Broke", None, AT, AT, 5
                    ),
                    CommitStatusSnapshot(101, "f" * 40, "ci/old", "success", None, None, AT, AT, 6),
                ),
                changes=(
                    Change(
                        ChangeKind.CHECK_RUN_STATUS_CHANGED,
                        101,
                        1,
                        77,
                        "status",
                        "queued",
                        "in_progress",
                    ),
                ),
            ),
            source=Source.SWEEP,
        )


async def test_the_pull_request_page_shows_reviews_signals_and_sources(sqlite_url: str) -> None:
    async with api(sqlite_url) as client:
        await add_review_and_statuses(client.app.state.context.store)  # type: ignore[attr-defined]
        page = await client.get("/repos/alpha/one/pulls/1")
        assert page.status_code == 200
        html = page.text
        assert "&lt;mona&gt;" in html and "<mona>" not in html
        assert 'data-testid="merge-signal">success<' in html
        assert "ci/deploy" in html and "Broke" in html
        assert "ci/old" not in html  # a status of another commit
        assert html.count('data-testid="timeline-entry"') == 2
        assert "sweep-only: GitHub sends no webhook when a check run starts" in html
        fragment = await client.get("/repos/alpha/one/pulls/1?fragment=1")
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert "&lt;mona&gt;" in fragment.text

        beta_only = {"X-Test-Scope": "2;"}
        hidden = await client.get("/repos/alpha/one/pulls/1", headers=beta_only)
        missing = await client.get("/repos/alpha/nothing/pulls/1", headers=beta_only)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text
        for path in ("/repos/alpha/one/pulls/abc", "/repos/alpha/one/pulls/99999999999999999999"):
            assert (await client.get(path)).status_code == 404
