"""Webhook deliveries: recorded like GitHub's delivery log and sent by a background task.

Knobs (seeded): drop (recorded as a failed attempt, nothing sent), duplicate (the same GUID
twice), delay, and reordering within a small window. GitHub never redelivers on its own;
redelivery is only through `redeliver()` (the `POST /app/hook/deliveries/{id}/attempts` route).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from prwatch.sim.clock import Clock
from prwatch.sim.config import SimConfig
from prwatch.sim.events import WorldEvent
from prwatch.sim.permissions import AppGrants
from prwatch.sim.signing import sign

HOOK_ID = 109948940
REDELIVERY_WINDOW_S = 3 * 24 * 3600


@dataclass(slots=True)
class Delivery:
    """One webhook event as GitHub sent it: body and GUID fixed, attempts recorded apart."""

    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    body: bytes
    created_at: int


@dataclass(slots=True)
class Attempt:
    """A row of `GET /app/hook/deliveries`: one attempt at sending one delivery."""

    id: int
    delivery: Delivery
    delivered_at: int
    redelivery: bool
    duration: float = 0.0
    status: str = "pending"
    status_code: int = 0
    response_body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        from prwatch.sim.clock import iso

        d = self.delivery
        return {
            "id": self.id,
            "guid": d.guid,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 3),
            "status": self.status,
            "status_code": self.status_code,
            "event": d.event,
            "action": d.action,
            "installation_id": d.installation_id,
            "repository_id": d.repository_id,
            "throttled_at": None,
        }


class WebhookSender:
    """Records each world event as a delivery and sends it to the configured hook URL."""

    def __init__(
        self,
        config: SimConfig,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.transport = transport
        # The App's webhook events (installation events always come); None: every event.
        self.subscriptions: AppGrants | None = None
        self.attempts: list[Attempt] = []  # oldest first
        self._by_id: dict[int, Attempt] = {}
        self._pending: deque[tuple[Delivery, bool]] = deque()
        self._rng = random.Random(config.webhook_seed)
        self._ids = 1_000_000_000
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ---- recording --------------------------------------------------------------------------
    def on_event(self, event: WorldEvent) -> None:
        """World listener: queue the delivery (only while a hook URL is configured, and only
        of the events the App subscribes to)."""
        if self.config.hook_url is None:
            return
        if self.subscriptions is not None and not self.subscriptions.subscribed(event.event):
            return
        body = json.dumps(event.payload, separators=(",", ":")).encode()
        guid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        delivery = Delivery(
            guid,
            event.event,
            event.action,
            event.installation_id,
            event.repository_id,
            body,
            self.clock.now(),
        )
        self._pending.append((delivery, False))
        if self._rng.random() < self.config.webhook_duplicate_rate:
            self._pending.append((delivery, False))
        self._idle.clear()
        self._wakeup.set()

    def redeliver(self, attempt_id: int) -> Attempt:
        """Queue the same delivery (same GUID) again, marked as a redelivery."""
        attempt = self.attempt(attempt_id)
        if self.clock.now() - attempt.delivered_at > REDELIVERY_WINDOW_S:
            raise ValueError("a delivery older than 3 days cannot be redelivered")
        self._pending.append((attempt.delivery, True))
        self._idle.clear()
        self._wakeup.set()
        return attempt

    def attempt(self, attempt_id: int) -> Attempt:
        found = self._by_id.get(attempt_id)
        if found is None:
            raise KeyError(attempt_id)
        return found

    # ---- sending ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._client = httpx.AsyncClient(
                transport=self.transport, timeout=self.config.webhook_timeout_s
            )
            self._task = asyncio.create_task(self._run(), name="sim-webhook-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def drain(self) -> None:
        """Wait until every queued delivery was attempted."""
        if self._task is None:
            if self._client is None:
                async with httpx.AsyncClient(
                    transport=self.transport, timeout=self.config.webhook_timeout_s
                ) as client:
                    await self._send_pending(client)
            else:
                await self._send_pending(self._client)
            return
        await self._idle.wait()

    async def _run(self) -> None:
        assert self._client is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._send_pending(self._client)
            if not self._pending:
                self._idle.set()

    async def _send_pending(self, client: httpx.AsyncClient) -> None:
        while self._pending:
            window = max(1, self.config.webhook_reorder_window)
            batch = [self._pending.popleft() for _ in range(min(window, len(self._pending)))]
            if window > 1:
                self._rng.shuffle(batch)
            self._busy += 1
            try:
                for delivery, redelivery in batch:
                    await self._attempt(client, delivery, redelivery)
            finally:
                self._busy -= 1

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        return {
            "Accept": "*/*",
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/sim",
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Hook-ID": str(HOOK_ID),
            "X-GitHub-Hook-Installation-Target-ID": str(self.config.app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature-256": sign(self.config.webhook_secret, delivery.body),
        }

    async def _attempt(
        self, client: httpx.AsyncClient, delivery: Delivery, redelivery: bool
    ) -> None:
        self._ids += 1
        attempt = Attempt(self._ids, delivery, self.clock.now(), redelivery)
        attempt.headers = self._headers(delivery)
        self.attempts.append(attempt)
        self._by_id[attempt.id] = attempt
        if self.config.webhook_delay_ms:
            await asyncio.sleep(self.config.webhook_delay_ms / 1000)
        url = self.config.hook_url
        if url is None or self._rng.random() < self.config.webhook_drop_rate:
            attempt.status, attempt.status_code = "timed out", 0
            return
        started = time.perf_counter()
        try:
            response = await client.post(url, content=delivery.body, headers=attempt.headers)
        except httpx.HTTPError as error:
            attempt.status, attempt.status_code = f"failed to connect: {type(error).__name__}", 0
        else:
            attempt.status_code = response.status_code
            attempt.status = (
                "OK" if response.is_success else f"Invalid HTTP Response: {response.status_code}"
            )
            attempt.response_body = response.text[:1024]
        attempt.duration = time.perf_counter() - started

    def reset(self) -> None:
        self.attempts.clear()
        self._by_id.clear()
