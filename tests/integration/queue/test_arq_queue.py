from __future__ import annotations

import socket

import pytest

from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.port import PROCESS_DELIVERY, QueueUnavailable


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_job_id_is_queued_once(redis_url: str) -> None:
    queue = await ArqQueue.connect(redis_url)
    try:
        assert await queue.enqueue(PROCESS_DELIVERY, "guid-1", job_id="delivery:guid-1")
        assert not await queue.enqueue(PROCESS_DELIVERY, "guid-1", job_id="delivery:guid-1")
        assert await queue.enqueue(PROCESS_DELIVERY, "guid-2", job_id="delivery:guid-2")
        assert await queue.enqueue(
            PROCESS_DELIVERY, "guid-3", job_id="delivery:guid-3", defer_seconds=30
        )
        assert await queue.depth() == 3
    finally:
        await queue.aclose()


async def test_unreachable_redis_is_queue_unavailable() -> None:
    queue = await ArqQueue.connect(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        with pytest.raises(QueueUnavailable, match="delivery:x"):
            await queue.enqueue(PROCESS_DELIVERY, "x", job_id="delivery:x")
        with pytest.raises(QueueUnavailable):
            await queue.depth()
    finally:
        await queue.aclose()


async def test_bad_arguments_are_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match="Redis URL"):
        await ArqQueue.connect("http://localhost:6379")
    queue = await ArqQueue.connect(redis_url)
    try:
        with pytest.raises(ValueError, match="job id"):
            await queue.enqueue(PROCESS_DELIVERY, "x", job_id="")
        with pytest.raises(ValueError, match="negative"):
            await queue.enqueue(PROCESS_DELIVERY, "x", job_id="delivery:x", defer_seconds=-1)
    finally:
        await queue.aclose()
