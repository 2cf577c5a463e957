"""The readiness checks about the work itself: a live worker to do it (Redis mode), an App
to do it as, and sweeps that manage at least one repository.

Each answers ``{"ok": bool, ...}`` with a ``reason`` naming what to fix when not ok.
"""

from __future__ import annotations

from prwatch.config import ConfigError
from prwatch.context import ProcessContext
from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.heartbeat import HEARTBEAT_TTL_SECONDS, live_workers

# A sweep that failed for every repository, this many times in a row, is not a blip.
FAILED_SWEEPS_IN_A_ROW = 2


async def workers_check(context: ProcessContext) -> dict[str, object]:
    """With Redis, at least one worker must have sent a heartbeat lately (the embedded queue
    runs in this process)."""
    queue = context.queue
    if not isinstance(queue, ArqQueue):
        return {"ok": True, "workers": "embedded"}
    try:
        live = await live_workers(queue.redis)
    except Exception as error:
        return {"ok": False, "reason": f"cannot read worker heartbeats: {type(error).__name__}"}
    if live == 0:
        return {
            "ok": False,
            "reason": f"no live worker: none sent a heartbeat in the last "
            f"{HEARTBEAT_TTL_SECONDS:g} s; start `prwatch worker`",
        }
    return {"ok": True, "workers": live}


def app_check(context: ProcessContext) -> dict[str, object]:
    """An App id and a readable private key: without them nothing can be read from GitHub
    (deliveries are still stored, for later)."""
    settings = context.settings
    try:
        app_id, _ = settings.require_app_credentials()  # present, readable, a PEM key
    except ConfigError as error:
        return {
            "ok": False,
            "reason": f"no GitHub App configured: {error}; deliveries are stored for later",
        }
    return {"ok": True, "app_id": app_id}


async def sweep_failures_check(context: ProcessContext) -> dict[str, object]:
    """Not ready when the last FAILED_SWEEPS_IN_A_ROW finished sweeps each failed for every
    repository they had."""
    try:
        async with context.store.transaction(read_only=True) as tx:
            # One more than needed: the latest may still be running.
            sweeps = await tx.recent_sweeps(FAILED_SWEEPS_IN_A_ROW + 1)
    except Exception as error:
        return {"ok": False, "reason": f"cannot read sweeps: {type(error).__name__}"}
    finished = [sweep.result for sweep in sweeps if sweep.finished_at is not None]
    last = finished[:FAILED_SWEEPS_IN_A_ROW]
    if len(last) == FAILED_SWEEPS_IN_A_ROW and all(
        result.repositories_total > 0 and result.repositories_ok == 0 for result in last
    ):
        why = last[0].error or "no error recorded"
        return {
            "ok": False,
            "reason": f"the last {FAILED_SWEEPS_IN_A_ROW} sweeps failed for every repository: "
            f"{why[:300]}",
        }
    return {"ok": True}
