"""Worker heartbeats in Redis: who is alive, by Redis's own clock.

Each worker process adds its id to one sorted set, scored with Redis's time, every
HEARTBEAT_INTERVAL_SECONDS; a worker whose last beat is older than HEARTBEAT_TTL_SECONDS is
gone (killed, hung, cut off). Redis's clock, not the caller's, so that workers and web
processes on machines whose clocks disagree still agree on an age.
"""

from __future__ import annotations

from redis.asyncio import Redis

from prwatch.queue.keys import WORKER_HEARTBEATS_KEY

HEARTBEAT_INTERVAL_SECONDS = 10.0
# Three missed beats: /readyz says so well within a minute of the last worker going away.
HEARTBEAT_TTL_SECONDS = 35.0


async def redis_now(redis: Redis) -> float:
    seconds, microseconds = await redis.time()
    return float(seconds) + float(microseconds) / 1_000_000


async def beat(redis: Redis, worker_id: str) -> None:
    """Say that ``worker_id`` is alive now."""
    await redis.zadd(WORKER_HEARTBEATS_KEY, {worker_id: await redis_now(redis)})


async def leave(redis: Redis, worker_id: str) -> None:
    """Say that ``worker_id`` stopped (on a clean exit: no need to wait for its beat to age)."""
    await redis.zrem(WORKER_HEARTBEATS_KEY, worker_id)


async def live_workers(redis: Redis, ttl_seconds: float = HEARTBEAT_TTL_SECONDS) -> int:
    """How many workers beat within ``ttl_seconds``; older entries are dropped."""
    oldest = await redis_now(redis) - ttl_seconds
    await redis.zremrangebyscore(WORKER_HEARTBEATS_KEY, "-inf", f"({oldest}")
    return int(await redis.zcount(WORKER_HEARTBEATS_KEY, oldest, "+inf"))
