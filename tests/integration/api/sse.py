"""A small Server-Sent Events reader for the stream tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    id: str | None
    data: dict[str, Any]


@dataclass
class EventReader:
    lines: AsyncIterator[str]
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    async def next(self, within: float = 10.0) -> Event:
        """The next event (comments on the way are kept in ``comments``)."""

        async def wait() -> Event:
            while isinstance(item := await self._item(), str):
                self.comments.append(item)
            return item

        return await asyncio.wait_for(wait(), within)

    async def take(self, count: int, within: float = 10.0) -> list[Event]:
        return [await self.next(within) for _ in range(count)]

    async def next_comment(self, within: float = 10.0) -> str:
        """The next comment line; an event before it fails the test."""
        item = await asyncio.wait_for(self._item(), within)
        assert isinstance(item, str), f"an event came before a comment: {item}"
        return item

    async def _item(self) -> Event | str:
        event_id: str | None = None
        data: list[str] = []
        async for line in self.lines:
            if line == "":
                if data:
                    return Event(event_id, json.loads("\n".join(data)))
                continue
            if line.startswith(":"):
                return line[1:].strip()
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = value
            elif name == "data":
                data.append(value)
            elif name == "retry":
                self.retry = int(value)
        raise EOFError("the stream ended")


@asynccontextmanager
async def open_stream(
    url: str, *, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
) -> AsyncIterator[EventReader]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client,
        client.stream("GET", url, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response.aiter_lines())
