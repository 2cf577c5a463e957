"""The webhook load generator, a process of its own: signed ``pull_request`` deliveries made
from a real GitHub payload (fixtures/github-payloads), each one a new PR so that each one
commits a change; POSTed over loopback with a bounded number of connections, bounded in
count and in time. Prints one JSON object: per-delivery send time, ack latency and status.

    python -m bench.loadgen URL SECRET --count N --concurrency C --max-seconds S
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

TEMPLATE = (
    Path(__file__).resolve().parent.parent
    / "fixtures/github-payloads/pull_request/opened.payload.json"
)


def deliveries(count: int, secret: str, installation_id: int) -> list[tuple[str, bytes, str]]:
    """(guid, body, signature) per delivery, built before the clock starts."""
    template = json.loads(TEMPLATE.read_text())
    template["installation"]["id"] = installation_id
    out = []
    for n in range(1, count + 1):
        payload: dict[str, Any] = copy.deepcopy(template)
        pr = payload["pull_request"]
        payload["number"] = pr["number"] = n
        pr["id"] = 10_000_000 + n
        pr["node_id"] = f"PR_bench{n}"
        pr["title"] = f"Benchmark change {n}"
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        out.append((str(uuid.uuid4()), body, signature))
    return out


async def post_all(
    url: str, batch: list[tuple[str, bytes, str]], concurrency: int, max_seconds: float
) -> dict[str, Any]:
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator posts to loopback only")
    results: list[dict[str, Any]] = []
    queue: asyncio.Queue[tuple[str, bytes, str]] = asyncio.Queue()
    for item in batch:
        queue.put_nowait(item)
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                try:
                    guid, body, signature = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                headers = {
                    "content-type": "application/json",
                    "x-github-event": "pull_request",
                    "x-github-delivery": guid,
                    "x-hub-signature-256": signature,
                    "user-agent": "GitHub-Hookshot/bench",
                }
                sent_wall = time.time()
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError as error:
                    status = f"error: {type(error).__name__}"
                results.append(
                    {
                        "guid": guid,
                        "sent_at": sent_wall,
                        "ack_ms": (time.perf_counter() - sent) * 1000,
                        "status": status,
                    }
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "elapsed_seconds": elapsed,
        "unsent": queue.qsize(),
        "payload_bytes_mean": sum(len(b) for _, b, _ in batch) / max(1, len(batch)),
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--installation-id", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.count <= 100_000 or not 1 <= args.concurrency <= 256:
        raise SystemExit("--count must be within 1..100000 and --concurrency within 1..256")
    batch = deliveries(args.count, args.secret, args.installation_id)
    outcome = asyncio.run(post_all(args.url, batch, args.concurrency, args.max_seconds))
    json.dump(outcome, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
