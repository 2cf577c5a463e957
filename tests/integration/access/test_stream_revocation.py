"""A stream already running ends once its token is revoked (checked every few seconds, here
made quick), in whichever web process serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from prwatch.demo.servers import bind, serve, url_of
from prwatch.web import authentication
from tests.credentials import bearer, create_token
from tests.integration.access.world import access_world
from tests.integration.api.sse import open_stream


async def to_the_end(lines: AsyncIterator[str]) -> None:
    async for _ in lines:
        pass


async def test_revoking_a_token_ends_its_open_stream(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(authentication, "RECHECK_SECONDS", 0.1)
    async with access_world(sqlite_url, stream_keepalive_seconds=0.05) as world:
        socket = bind("127.0.0.1", 0)
        server = await serve(world.app, socket, name="prwatch")
        try:
            token = await create_token(world.store, "streamer")
            kept = await create_token(world.store, "kept")
            url = f"{url_of(socket)}/api/changes/stream"
            async with (
                open_stream(url, headers=bearer(token)) as revoked,
                open_stream(url, headers=bearer(kept)) as other,
            ):
                await revoked.next()  # the stream is running
                async with world.store.transaction() as tx:
                    await tx.revoke_api_token("streamer")
                await asyncio.wait_for(to_the_end(revoked.lines), 10)  # the server ended it
                # the other token's stream goes on
                assert len(await other.take(4)) == 4  # the four seeded changes
                await other.next_comment(within=5)  # then keep-alives: still open
        finally:
            await server.stop()
            socket.close()
