"""The process context: everything a web process, a worker or a CLI command shares.

Built once by ``create_context`` and closed by ``aclose``; nothing of it exists at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from prwatch.config import Settings
from prwatch.store import Store, create_engine


@dataclass(slots=True)
class ProcessContext:
    settings: Settings
    engine: AsyncEngine
    store: Store

    async def aclose(self) -> None:
        await self.engine.dispose()


async def create_context(settings: Settings) -> ProcessContext:
    engine = create_engine(settings.database_url)
    return ProcessContext(settings=settings, engine=engine, store=Store(engine))
