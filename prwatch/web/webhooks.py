"""``POST /webhooks``: verify, store, acknowledge, queue. The hot path: one short transaction,
shared with the deliveries that arrive at the same time (``prwatch.web.intake``).

Nothing is acknowledged that is not stored: the delivery is committed before the 2xx, and
queueing it is best effort on top (a stored delivery the queue lost is found by recovery).
https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from prwatch.context import ProcessContext
from prwatch.events.envelope import HANDLED_EVENTS, Envelope, MalformedDelivery, read_envelope
from prwatch.events.intake_checks import InvalidDelivery, check_delivery
from prwatch.github import validation
from prwatch.github.signature import verify
from prwatch.store import StoreError
from prwatch.store.deliveries import NewDelivery
from prwatch.store.outages import is_database_outage
from prwatch.web.intake import (
    POSTGRES_COMMIT_WINDOW_SECONDS,
    REDIS_QUEUE_WINDOW_SECONDS,
    DeliveryIntake,
)

log = logging.getLogger(__name__)

# GitHub does not send payloads over 25 MB.
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
MAX_BODY_BYTES = 25 * 1024 * 1024
MAX_GUID_LENGTH = validation.MAX_GUID


class BodyTooLarge(Exception):
    pass


def request_context(request: Request) -> ProcessContext:
    """The process context the app factory or its lifespan put in place."""
    context = getattr(request.app.state, "context", None)
    if not isinstance(context, ProcessContext):
        raise RuntimeError("the app's lifespan did not run: no process context")
    return context


def request_intake(request: Request) -> DeliveryIntake:
    """The app's delivery intake (group commit), made on first use for the app's context."""
    intake = getattr(request.app.state, "intake", None)
    if not isinstance(intake, DeliveryIntake):
        context = request_context(request)
        settings = context.settings
        intake = DeliveryIntake(
            context.store,
            context.queue,
            queue_window=0.0 if settings.redis_url is None else REDIS_QUEUE_WINDOW_SECONDS,
            commit_window=POSTGRES_COMMIT_WINDOW_SECONDS
            if context.engine.dialect.name == "postgresql"
            else 0.0,
        )
        request.app.state.intake = intake
    return intake


# A signed, well-formed JSON body whose content prwatch refuses to store.
INVALID_STATUS = 422


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def receive_webhook(request: Request) -> JSONResponse:
    started = time.perf_counter()
    response = await _receive(request)
    metrics = request_context(request).metrics
    metrics.ack_latency.observe(time.perf_counter() - started)
    # Known events only as labels: the header of an unverified request is anyone's choice.
    event = request.headers.get("x-github-event") or ""
    label = event if event in HANDLED_EVENTS or event == "ping" else "other"
    metrics.webhook_deliveries.labels(label, delivery_outcome(response)).inc()
    return response


def delivery_outcome(response: JSONResponse) -> str:
    """accepted, duplicate, ping, invalid (a signed delivery refused by the boundary rules),
    or the refusal's status code."""
    if response.status_code == 202:
        return "accepted"
    if response.status_code == INVALID_STATUS:
        return "invalid"
    if response.status_code == 200:
        return "duplicate" if b'"duplicate"' in response.body else "ping"
    return str(response.status_code)


async def _receive(request: Request) -> JSONResponse:
    context = request_context(request)
    secrets = context.settings.webhook_secret
    if not secrets:
        return error(503, "no webhook secret is configured: prwatch refuses unverified deliveries")
    timeout = context.settings.body_read_timeout_seconds
    try:
        async with asyncio.timeout(timeout):  # a slow drip cannot hold the request open
            body = await read_body(request, MAX_BODY_BYTES)
    except TimeoutError:
        return error(408, f"the body did not arrive within {timeout:g} s")
    except BodyTooLarge:
        return error(413, f"body over {MAX_BODY_BYTES} bytes")
    except ValueError as problem:
        return error(400, str(problem))
    if not verify(secrets, body, request.headers.get("x-hub-signature-256")):
        return error(401, "missing or wrong X-Hub-Signature-256")
    event = request.headers.get("x-github-event")
    guid = request.headers.get("x-github-delivery")
    if not event:
        return error(400, "missing X-GitHub-Event")
    if not guid:
        return error(400, "missing X-GitHub-Delivery")
    if len(guid) > MAX_GUID_LENGTH:
        return error(400, f"X-GitHub-Delivery longer than {MAX_GUID_LENGTH} characters")
    try:
        validation.delivery_guid(guid)
    except validation.InvalidValue as problem:
        return error(400, str(problem))
    try:
        envelope = check_delivery(event, body)
    except MalformedDelivery as problem:
        return error(400, str(problem))
    except InvalidDelivery as problem:
        return await _refuse(request, guid, event, body, str(problem))
    if event == "ping":
        return JSONResponse({"ok": True})

    handled = event in HANDLED_EVENTS
    delivery = NewDelivery(
        guid,
        event,
        envelope.action,
        envelope.installation_id,
        envelope.repository_id,
        body,
        handled=handled,
    )
    try:
        # Committed (with whatever other deliveries share the transaction) and queued before
        # the 2xx.
        new = await request_intake(request).record(delivery)
    except (StoreError, OSError) as problem:
        # An outage is logged once by the intake, not per delivery.
        log.log(
            logging.DEBUG if is_database_outage(problem) else logging.WARNING,
            "could not store a delivery",
            extra={"delivery_id": guid, "error": str(problem)},
        )
        return error(503, "cannot store the delivery now; please redeliver")
    if not new:
        return JSONResponse({"duplicate": True})
    return JSONResponse({"delivery": guid}, status_code=202)


async def _refuse(
    request: Request, guid: str, event: str, body: bytes, reason: str
) -> JSONResponse:
    """Answer a signed delivery that broke a boundary rule: recorded as failed with the
    reason (so the delivery ledger does not ask for it again), never applied. The answer is
    4xx even when the record cannot be written: a redelivery would be refused the same way."""
    routing = _storable_routing(body)
    refused = NewDelivery(
        guid,
        _storable_event(event),
        routing.action,
        routing.installation_id,
        routing.repository_id,
        body,
        handled=False,
        failure=f"refused at intake: {reason}",
    )
    log.warning(
        "delivery refused", extra={"delivery_id": guid, "event": refused.event, "reason": reason}
    )
    try:
        await request_intake(request).record(refused)
    except Exception as problem:  # the request's boundary: the refusal stands
        log.warning(
            "could not record a refused delivery",
            extra={"delivery_id": guid, "error": f"{type(problem).__name__}: {problem}"},
        )
    return error(INVALID_STATUS, reason)


def _storable_event(event: str) -> str:
    try:
        return validation.event_name(event, "X-GitHub-Event")
    except validation.InvalidValue:
        kept = "".join(c for c in event.lower() if c.isascii() and (c.isalnum() or c == "_"))
        return kept[: validation.MAX_EVENT_NAME] or "invalid"


def _storable_routing(body: bytes) -> Envelope:
    """The routing fields of a refused delivery that are fit to store; the others None."""
    try:
        envelope = read_envelope(body)
    except (MalformedDelivery, RecursionError):
        return Envelope(None, None, None)

    def fit(check: Callable[[object, str], object], value: object) -> bool:
        try:
            check(value, "")
        except validation.InvalidValue:
            return False
        return True

    return Envelope(
        envelope.action if fit(validation.event_name, envelope.action) else None,
        envelope.installation_id if fit(validation.github_id, envelope.installation_id) else None,
        envelope.repository_id if fit(validation.github_id, envelope.repository_id) else None,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (BodyTooLarge) as soon as it goes over `limit` bytes: a declared
    Content-Length is checked before reading, the actual bytes while reading."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ValueError("Content-Length is not a number") from None
        if length > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
