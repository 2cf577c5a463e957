"""The webhook load generator, a process of its own: signed ``pull_request`` deliveries made
from a real GitHub payload (fixtures/github-payloads), each one a new PR so that each one
commits a change; POSTed over loopback with a bounded number of keep-alive connections,
bounded in count and in time. Prints one JSON object: per-delivery send time, ack latency and
status, and the generator's own CPU time.

    python -m bench.loadgen URL SECRET --count N --concurrency C --max-seconds S [--rate R]

Without ``--rate`` every connection sends its next delivery as soon as the previous one is
answered (closed loop: the figure is the receiver's capacity). With ``--rate R`` deliveries
are due at R per second whatever the answers (open loop, as GitHub sends): a delivery's ack
latency counts from the instant it was due, so a receiver that falls behind is charged for
the wait too, not only for the requests it served.

It stays cheap, because it shares the machine's cores with what it measures: every request is
built and signed before the clock starts, and sent as raw HTTP/1.1 bytes over asyncio streams
(uvloop when installed) with Nagle off — no HTTP client library per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEMPLATE = (
    Path(__file__).resolve().parent.parent
    / "fixtures/github-payloads/pull_request/opened.payload.json"
)


@dataclass(frozen=True, slots=True)
class Delivery:
    guid: str
    request: bytes  # the whole HTTP request, headers and body
    body_bytes: int


def deliveries(
    count: int, secret: str, installation_id: int, *, host: str, path: str
) -> list[Delivery]:
    """Every request, signed, built before the clock starts."""
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
        guid = str(uuid.uuid4())
        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "Content-Type: application/json\r\n"
            "User-Agent: GitHub-Hookshot/bench\r\n"
            "X-GitHub-Event: pull_request\r\n"
            f"X-GitHub-Delivery: {guid}\r\n"
            f"X-Hub-Signature-256: {signature}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode()
        out.append(Delivery(guid, head + body, len(body)))
    return out


class Connection:
    """One keep-alive HTTP/1.1 connection: send a prepared request, read the status."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self._reader is not None
        try:
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await self._reader.readexactly(length)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None


async def post_all(
    url: str,
    batch: list[Delivery],
    concurrency: int,
    max_seconds: float,
    rate: float | None = None,
) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator posts to loopback only")
    host, port = parts.hostname, parts.port or 80
    results: list[dict[str, Any]] = []
    next_index = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    wall_started = time.time()
    deadline = started + max_seconds

    async def worker() -> None:
        nonlocal next_index
        connection = Connection(host, port)
        try:
            while next_index < len(batch):
                index = next_index
                next_index += 1
                due = started + index / rate if rate else time.perf_counter()
                if due > deadline:  # open loop: every later delivery is due later still
                    next_index = len(batch)
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                delivery = batch[index]
                sent = time.perf_counter()
                try:
                    status: int | str = await connection.post(delivery.request)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    status = f"error: {type(error).__name__}"
                answered = time.perf_counter()
                results.append(
                    {
                        "guid": delivery.guid,
                        # When GitHub would have sent it (open loop: when it was due).
                        "sent_at": wall_started + (due - started),
                        "ack_ms": (answered - due) * 1000,
                        "service_ms": (answered - sent) * 1000,
                        "status": status,
                    }
                )
                if time.perf_counter() > deadline:
                    return
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "elapsed_seconds": elapsed,
        "unsent": max(0, len(batch) - len(results)),
        "payload_bytes_mean": sum(d.body_bytes for d in batch) / max(1, len(batch)),
        "rate": rate,
        "cpu_seconds": time.process_time() - cpu_started,
        "results": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=None, help="deliveries/s (open loop)")
    parser.add_argument("--installation-id", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.count <= 100_000 or not 1 <= args.concurrency <= 256:
        raise SystemExit("--count must be within 1..100000 and --concurrency within 1..256")
    if args.rate is not None and args.rate <= 0:
        raise SystemExit("--rate must be positive")
    parts = urlsplit(args.url)
    batch = deliveries(
        args.count,
        args.secret,
        args.installation_id,
        host=parts.netloc,
        path=parts.path or "/",
    )
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    outcome = runner(post_all(args.url, batch, args.concurrency, args.max_seconds, args.rate))
    json.dump(outcome, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
