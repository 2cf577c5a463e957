"""``GET /api/changes/stream``: the change log as Server-Sent Events.

Each change is one event, ``id: <cursor>`` and the change as JSON ``data`` (the same object as
in ``/api/changes``). A client resumes right after a cursor with ``Last-Event-ID`` (what a
browser's EventSource sends on reconnecting) or ``?after=``; the header wins, since a browser
reconnects to the same URL. Past changes come from the log, then live ones from the process's
change feed; cursors only grow, so nothing is sent twice and nothing is skipped. A comment line
every keep-alive interval keeps proxies from closing a quiet stream.
https://html.spec.whatwg.org/multipage/server-sent-events.html
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from prwatch.store import RetryableStoreError, Store
from prwatch.web.access import Visibility, visibility
from prwatch.web.api import CHANGES_AFTER, changes_json
from prwatch.web.api_errors import InvalidParameter
from prwatch.web.api_params import MAX_INT64, parse_integer
from prwatch.web.api_schema import ChangeJson
from prwatch.web.change_feed import ChangeFeed, Subscription
from prwatch.web.endpoint import Endpoint
from prwatch.web.webhooks import request_context

CATCH_UP_PAGE = 500
RETRY_MILLISECONDS = 2_000
EVENT_STREAM = "text/event-stream"


def change_feed(request: Request) -> ChangeFeed:
    """The app's change feed, made on first use (closed by the app's lifespan)."""
    feed = getattr(request.app.state, "change_feed", None)
    if not isinstance(feed, ChangeFeed):
        context = request_context(request)
        feed = ChangeFeed(
            context.store,
            poll_seconds=context.settings.stream_poll_seconds,
            buffer_size=context.settings.stream_client_buffer,
        )
        request.app.state.change_feed = feed
    return feed


def resume_cursor(request: Request) -> int:
    raw = request.headers.get("last-event-id")
    if raw is None:
        return CHANGES_AFTER.read(request)
    value = parse_integer("Last-Event-ID", raw)
    if not 0 <= value <= MAX_INT64:
        raise InvalidParameter("Last-Event-ID", "Last-Event-ID must be a change cursor")
    return value


def sse_event(change: ChangeJson) -> str:
    data = json.dumps(change, separators=(",", ":"))  # one line: no newline in JSON text
    return f"id: {change['cursor']}\ndata: {data}\n\n"


async def stream_changes(request: Request) -> StreamingResponse:
    """The change log as Server-Sent Events, from a cursor on and live."""
    after = resume_cursor(request)
    context = request_context(request)
    feed = change_feed(request)
    keepalive = context.settings.stream_keepalive_seconds
    events = _events(context.store, feed, visibility(request), after, keepalive)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type=EVENT_STREAM, headers=headers)


async def _events(
    store: Store, feed: ChangeFeed, scope: Visibility, after: int, keepalive: float
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    subscription = await feed.subscribe(scope)  # before reading the log: nothing falls between
    last = after
    try:
        while True:
            try:
                page = await _page(store, scope, last)
            except RetryableStoreError:
                return  # the client reconnects and resumes from its last event
            for change in page:
                yield sse_event(change)
                last = change["cursor"]
            if subscription.overflowed:  # fell behind while catching up: start over live
                subscription = await feed.subscribe(scope)
                continue
            if len(page) < CATCH_UP_PAGE:
                break
        async for event in _live(subscription, keepalive, last):
            yield event
    finally:
        feed.unsubscribe(subscription)


async def _page(store: Store, scope: Visibility, after: int) -> list[ChangeJson]:
    async with store.transaction(read_only=True) as tx:
        return await changes_json(tx, await tx.changes_after(after, CATCH_UP_PAGE, scope=scope))


async def _live(subscription: Subscription, keepalive: float, last: int) -> AsyncIterator[str]:
    while True:
        if subscription.queue.empty():
            if subscription.overflowed or subscription.ended.is_set():
                return  # too slow, or the feed closed: the client resumes from its last id
            got = await _next(subscription, keepalive)
            if got is None:
                yield ": keep-alive\n\n"
                continue
            change = got
        else:
            change = subscription.queue.get_nowait()
        if subscription.overflowed:
            return
        if change["cursor"] <= last:
            continue  # already sent while catching up
        yield sse_event(change)
        last = change["cursor"]


async def _next(subscription: Subscription, wait_seconds: float) -> ChangeJson | None:
    """The next change, or None after ``wait_seconds`` (or when the subscription ended)."""
    getter = asyncio.ensure_future(subscription.queue.get())
    ended = asyncio.ensure_future(subscription.ended.wait())
    try:
        await asyncio.wait(
            {getter, ended}, timeout=wait_seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ended.cancel()
        if not getter.done():
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
    return getter.result() if getter.done() and not getter.cancelled() else None


STREAM_ENDPOINTS = (
    Endpoint(
        "/api/changes/stream",
        stream_changes,
        "Follow the change log live (Server-Sent Events)",
        (CHANGES_AFTER,),
        media_type=EVENT_STREAM,
        errors=(400,),
    ),
)
