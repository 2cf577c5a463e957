"""A small world for access tests: two installations, each with one private repository, one
open pull request and its log, and an app serving it whose tokens the tests make."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.domain.models import Change, ChangeKind, ChangeSet, Source
from prwatch.queue.inprocess import InProcessQueue
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.web.app import create_app
from tests.integration.store.store_factories import make_installation, make_pr, make_repository
from tests.keys import sample_private_key

OURS, THEIRS = 11, 12  # installations
WIDGETS, GADGETS = 42, 43  # their repositories
OUR_REPO, THEIR_REPO = "octo-org/widgets", "other-org/gadgets"
OUR_TITLE, THEIR_TITLE = "Secret widget plan", "Secret gadget plan"


@dataclass
class AccessWorld:
    context: ProcessContext
    app: Starlette
    client: httpx.AsyncClient

    @property
    def store(self) -> Store:
        return self.context.store


async def seed(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.upsert_installation(make_installation(id=OURS, account_login="octo-org"))
        await tx.upsert_installation(make_installation(id=THEIRS, account_login="other-org"))
        await tx.upsert_repositories(
            [
                make_repository(id=WIDGETS, installation_id=OURS, full_name=OUR_REPO, private=True),
                make_repository(
                    id=GADGETS, installation_id=THEIRS, full_name=THEIR_REPO, private=True
                ),
            ]
        )
    for installation, repository, number, title in (
        (OURS, WIDGETS, 7, OUR_TITLE),
        (THEIRS, GADGETS, 8, THEIR_TITLE),
    ):
        pr = make_pr(repository_id=repository, number=number, title=title)
        changes = (
            Change(ChangeKind.INSTALLATION_ADDED, None, installation_id=installation),
            Change(ChangeKind.PR_OPENED, repository, number, installation_id=installation),
        )
        async with store.transaction() as tx:
            await tx.write_change_set(
                ChangeSet(pull_requests=(pr,), changes=changes),
                source=Source.WEBHOOK,
                installation_id=installation,
            )


@asynccontextmanager
async def access_world(database_url: str, **settings: object) -> AsyncIterator[AccessWorld]:
    await upgrade_database(database_url)
    settings.setdefault("webhook_secret", ("an access-test webhook secret",))
    # An App configured, as /readyz wants (nothing here reaches GitHub).
    settings.setdefault("app_id", 1)
    settings.setdefault("private_key", sample_private_key())
    config = Settings(database_url=database_url, **settings)  # type: ignore[arg-type]
    engine = create_engine(database_url)
    context = ProcessContext(
        settings=config, engine=engine, store=Store(engine), queue=InProcessQueue()
    )
    await seed(context.store)
    app = create_app(config, context=context)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://prwatch.test"
    )
    try:
        yield AccessWorld(context, app, client)
    finally:
        await client.aclose()
        await context.aclose()
