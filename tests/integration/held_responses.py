"""An ASGI wrapper that lets the simulator answer some requests at once but holds the answer
back until the test releases it: a read of GitHub that happened, whose result is not used yet."""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeldResponses:
    """Holds the answers to requests whose path matches ``pattern`` until ``release()``."""

    def __init__(self, app: ASGIApp, pattern: str) -> None:
        self.app = app
        self._pattern = re.compile(pattern)
        self._released = asyncio.Event()
        self.arrived = asyncio.Event()  # a matching request was answered (and is held)
        self.hits = 0

    def release(self) -> None:
        self._released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._pattern.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        self.hits += 1
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)  # GitHub answers now, from its state of now
        self.arrived.set()
        await self._released.wait()
        for message in answer:
            await send(message)
