"""Run a job once more on arq when it was asked for while it ran.

arq refuses a job id while a job with it is queued or running, so an ask that arrives during a
run would be lost, though the run may have read what the ask is about too early (a tie settled
from GitHub: the read may predate the change the tie brought). The ask leaves a mark in Redis
instead; the ordering is what makes it safe:

- the asker sets the mark *before* it tries to queue the job;
- a run deletes the mark when it starts (it comes after every ask so far);
- once a run has ended and arq released its id, the worker queues the job again if the mark
  is still there.

An ask refused by arq saw the id taken before the release, so its mark was set before the
release, and the worker's look after the release finds it (unless a later start took it: that
run answers it). However many ask, the id allows one run and one more queued.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from prwatch.queue.keys import rerun_mark_key

log = logging.getLogger(__name__)

# A mark nobody reads (its worker died) expires: the next ask or sweep does the work then.
MARK_SECONDS = 24 * 3600
_TROUBLE = (RedisError, OSError, TimeoutError)


async def mark_rerun(redis: ArqRedis, job_id: str) -> None:
    """Ask for one more run of ``job_id`` (raises what Redis raises)."""
    await redis.set(rerun_mark_key(job_id), b"1", ex=MARK_SECONDS)


async def run_starting(redis: ArqRedis, job_id: str) -> None:
    """A run of ``job_id`` starts: it answers every ask so far. Best effort: a mark left in
    place costs one more run, never a lost one."""
    try:
        await redis.delete(rerun_mark_key(job_id))
    except _TROUBLE as error:
        log.warning("could not clear a rerun mark", extra={"job_id": job_id, "error": str(error)})


async def rerun_if_asked(
    redis: ArqRedis, job: str, args: tuple[Any, ...], job_id: str, *, queue_name: str
) -> bool:
    """After a run of ``job_id`` ended and arq released the id: queue it again if it was asked
    for meanwhile. True if queued now."""
    try:
        if not await redis.exists(rerun_mark_key(job_id)):
            return False
        queued = await redis.enqueue_job(job, *args, _job_id=job_id, _queue_name=queue_name)
    except _TROUBLE as error:
        log.warning(
            "could not queue a job asked for again",
            extra={"job": job, "job_id": job_id, "error": str(error)},
        )
        return False
    if queued is not None:
        log.info("job queued again: asked for while it ran", extra={"job": job, "job_id": job_id})
    return queued is not None
