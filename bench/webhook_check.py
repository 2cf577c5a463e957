"""How faithful the simulator's webhooks are: run it as its own process with a webhook
receiver, drive its admin API and churn for a while, then validate every delivery received
against GitHub's payload schemas and print the share valid and the actions seen.

    python -m bench.webhook_check --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.simulator import Scale, SimulatorProcess, free_port
from bench.webhook_activity import AdminDriver
from bench.webhook_schemas import WebhookSchemas

WATCHED_EVENTS = (
    "pull_request",
    "check_run",
    "check_suite",
    "installation",
    "installation_repositories",
)


class Receiver:
    """The webhook endpoint: keeps each delivery's event and body."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []

        async def hook(request: Request) -> Response:
            self.received.append((request.headers["x-github-event"], await request.body()))
            return Response(status_code=202)

        self.app = Starlette(routes=[Route("/webhooks", hook, methods=["POST"])])


async def drive(sim_url: str, duration: float, seed: int) -> tuple[AdminDriver, float]:
    """Activity for `duration` seconds, then wait until every delivery was sent; returns the
    driver and the seconds the sending lagged behind."""
    async with httpx.AsyncClient(base_url=sim_url, timeout=600) as client:
        driver = AdminDriver(client, seed=seed)
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            await driver.round()
        drained = time.monotonic()
        await client.post("/_sim/webhooks/drain")
    return driver, time.monotonic() - drained


async def run(args: argparse.Namespace) -> dict[str, Any]:
    receiver = Receiver()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(receiver.app, host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.05)
    scale = Scale(
        repos=args.repos,
        prs=args.prs,
        open_ratio=0.5,
        installations=args.installations,
        latency_ms=0.0,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory() as workdir:
        sim = SimulatorProcess(scale, Path(workdir), hook_url=f"http://127.0.0.1:{port}/webhooks")
        try:
            started = time.monotonic()
            driver, drain = await drive(sim.url, args.duration, args.seed)
            driven = time.monotonic() - started - drain
        finally:
            sim.stop()
    server.should_exit = True
    await serving
    schemas = WebhookSchemas()
    tally = schemas.tally((event, json.loads(body)) for event, body in receiver.received)
    expected = {f"{e}.{a}" for e in WATCHED_EVENTS for a in schemas.actions(e)}
    return {
        "seconds": round(driven, 1),
        "drain_seconds": round(drain, 1),
        "rounds": driver.rounds,
        "deliveries": tally.checked,
        "valid": tally.valid,
        "percent_valid": round(tally.percent_valid, 2),
        "actions": dict(sorted(tally.actions.items())),
        "actions_never_sent": sorted(expected - set(tally.actions)),
        "problems": dict(sorted(tally.problems.items(), key=lambda item: -item[1])),
        "admin_outcomes": dict(sorted(Counter(driver.outcomes).items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of activity")
    parser.add_argument("--repos", type=int, default=4)
    parser.add_argument("--prs", type=int, default=30)
    parser.add_argument("--installations", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['deliveries']} deliveries from {result['seconds']} s of activity"
        f" ({result['rounds']} rounds; sending finished {result['drain_seconds']} s later):"
        f" {result['valid']} valid against GitHub's schemas = {result['percent_valid']}%"
    )
    print("actions seen:")
    for action, count in result["actions"].items():
        print(f"  {count:6d}  {action}")
    print(
        f"actions of the five watched events never sent: {result['actions_never_sent'] or 'none'}"
    )
    for problem, count in list(result["problems"].items())[:20]:
        print(f"  {count:6d}  {problem}")


if __name__ == "__main__":
    main()
