"""The arq queue on Redis: ``JobQueue`` for the web app, the scheduler and the jobs themselves.

The pool is built without touching Redis, so a web process starts while Redis is down: a
delivery is stored first, ``enqueue`` raises ``QueueUnavailable``, and recovery queues it once
Redis is back.
"""

from __future__ import annotations

from typing import Self

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from prwatch.queue.keys import QUEUE_NAME
from prwatch.queue.port import RERUNNABLE_JOBS, QueueUnavailable
from prwatch.queue.reruns import mark_rerun

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 5.0

# What "Redis cannot take the job now" looks like: the connection or the command failed.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


class ArqQueue:
    """Queue jobs for arq workers. Use ``await ArqQueue.connect(url)``; close with ``aclose``."""

    def __init__(self, redis: ArqRedis, *, queue_name: str = QUEUE_NAME) -> None:
        self._redis = redis
        self._queue_name = queue_name

    @classmethod
    async def connect(cls, redis_url: str, *, queue_name: str = QUEUE_NAME) -> Self:
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"not a Redis URL: {redis_url.split(':', 1)[0]!r} scheme")
        pool = ConnectionPool.from_url(
            redis_url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return cls(ArqRedis(pool, default_queue_name=queue_name), queue_name=queue_name)

    @property
    def redis(self) -> ArqRedis:
        """The arq Redis client (a worker shares it instead of opening its own)."""
        return self._redis

    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        if not job_id:
            raise ValueError("a job id is required: it is what keeps a job from running twice")
        if defer_seconds < 0:
            raise ValueError(f"defer_seconds cannot be negative, got {defer_seconds}")
        try:
            queued = await self._redis.enqueue_job(
                job,
                *args,
                _job_id=job_id,
                _queue_name=self._queue_name,
                _defer_by=defer_seconds or None,
            )
        except _UNAVAILABLE as error:
            raise QueueUnavailable(f"Redis refused job {job_id}: {error}") from error
        except RedisError as error:
            raise QueueUnavailable(f"Redis failed on job {job_id}: {error}") from error
        # arq answers None while a job with this id is queued, running, or its result is kept.
        return queued is not None

    async def enqueue_or_rerun(self, job: str, *args: str | int, job_id: str) -> bool:
        if job not in RERUNNABLE_JOBS:
            raise ValueError(f"job {job!r} cannot be asked to run again")
        try:
            # First the mark, then the job: see prwatch.queue.reruns for why this order.
            await mark_rerun(self._redis, job_id)
        except (*_UNAVAILABLE, RedisError) as error:
            raise QueueUnavailable(f"Redis refused job {job_id}: {error}") from error
        return await self.enqueue(job, *args, job_id=job_id)

    async def depth(self) -> int:
        try:
            return int(await self._redis.zcard(self._queue_name))
        except (*_UNAVAILABLE, RedisError) as error:
            raise QueueUnavailable(f"Redis cannot report the queue depth: {error}") from error

    async def aclose(self) -> None:
        await self._redis.aclose()
        # A client given its pool does not close it: disconnect every connection it opened.
        await self._redis.connection_pool.disconnect()
