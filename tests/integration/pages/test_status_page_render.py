"""The status page rendered without a browser: empty, and with data and escaping."""

from __future__ import annotations

import httpx

from prwatch.config import Settings
from prwatch.context import create_context
from prwatch.domain.models import InstallationSnapshot
from prwatch.store import upgrade_database
from prwatch.web.app import create_app
from tests.credentials import bearer, create_token


async def test_an_empty_database_renders_a_page_that_says_so(database_url: str) -> None:
    await upgrade_database(database_url)
    settings = Settings(database_url=database_url, redis_url=None)
    context = await create_context(settings)
    try:
        app = create_app(settings, context=context)
        transport = httpx.ASGITransport(app=app)
        headers = bearer(await create_token(context.store))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://prwatch.test", headers=headers
        ) as http:
            page = await http.get("/")
            fragment = await http.get("/fragments/status")
        assert page.status_code == fragment.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "No installations yet" in page.text
        # The script is a file of prwatch's own, never inline (a strict CSP forbids that).
        assert '<script src="/static/prwatch.js" defer></script>' in page.text
        assert "<script>" not in page.text
        assert "No installations yet" in fragment.text and "<script" not in fragment.text
        assert "No sweep has run yet" in fragment.text
    finally:
        await context.aclose()


async def test_account_names_are_escaped(database_url: str) -> None:
    await upgrade_database(database_url)
    settings = Settings(database_url=database_url, redis_url=None)
    context = await create_context(settings)
    try:
        async with context.store.transaction() as tx:
            await tx.upsert_installation(
                InstallationSnapshot(id=7, account_login="<b>evil</b>", account_type="User")
            )
        app = create_app(settings, context=context)
        transport = httpx.ASGITransport(app=app)
        headers = bearer(await create_token(context.store))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://prwatch.test", headers=headers
        ) as http:
            fragment = await http.get("/fragments/status")
        assert "&lt;b&gt;evil&lt;/b&gt;" in fragment.text
        assert "<b>evil</b>" not in fragment.text
        assert "installation 7" in fragment.text
    finally:
        await context.aclose()
