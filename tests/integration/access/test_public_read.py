"""``PRWATCH_PUBLIC_READ=true``: anonymous callers read the public repositories only, and
``prwatch serve`` says loudly that it is on."""

from __future__ import annotations

from pathlib import Path

from tests.integration.access.world import (
    OUR_REPO,
    OUR_TITLE,
    THEIR_REPO,
    THEIR_TITLE,
    access_world,
)
from tests.integration.processes.harness import base_environment, free_port, processes, start_serve
from tests.integration.store.store_factories import make_repository


async def test_anonymous_callers_see_public_repositories_only(database_url: str) -> None:
    async with access_world(database_url, public_read=True) as world:
        async with world.store.transaction() as tx:  # widgets turns public
            await tx.upsert_repositories(
                [make_repository(id=42, installation_id=11, full_name=OUR_REPO, private=False)]
            )
        repos = (await world.client.get("/api/repos")).json()["repositories"]
        assert [repo["full_name"] for repo in repos] == [OUR_REPO]
        assert (await world.client.get(f"/api/repos/{OUR_REPO}/pulls/7")).status_code == 200
        hidden = await world.client.get(f"/api/repos/{THEIR_REPO}/pulls/8")
        missing = await world.client.get("/api/repos/nobody/nothing/pulls/8")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
        page = await world.client.get("/")
        assert page.status_code == 200 and OUR_TITLE in page.text
        assert THEIR_TITLE not in page.text
        assert (await world.client.get("/metrics")).status_code == 401  # operators only
        wrong = await world.client.get("/api/repos", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401  # a bad credential is still refused


def test_serve_warns_when_public_read_is_on(tmp_path: Path) -> None:
    with processes(tmp_path) as group:
        env = base_environment(
            PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
            PRWATCH_PUBLIC_READ="true",
        )
        start_serve(group, env, free_port())
        assert "PRWATCH_PUBLIC_READ is on" in group.logs()
