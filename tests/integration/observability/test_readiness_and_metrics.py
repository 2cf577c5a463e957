from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.observability.logging import configure_logging
from prwatch.queue.inprocess import InProcessQueue
from prwatch.store import Store, SweepResult, SweepStatus, create_engine
from prwatch.sync.processor import run_sweep
from prwatch.web.app import create_app
from prwatch.web.operator_app import create_operator_app
from tests.integration.sweep.harness import sweep_env
from tests.integration.webhooks.harness import SECRET, payload, webhook_env


def operator_client(context: ProcessContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_operator_app(context)),
        base_url="http://metrics.test",
    )


async def record_sweep(store: Store, started_at: datetime) -> None:
    async with store.transaction() as tx:
        sweep_id = await tx.start_sweep(started_at)
        await tx.finish_sweep(sweep_id, SweepResult(status=SweepStatus.OK))


async def test_ready_when_migrated_and_within_the_first_intervals(database_url: str) -> None:
    async with webhook_env(database_url, app_configured=True) as env:
        response = await env.client.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ready"] is True
        assert set(body["checks"]) == {
            "database",
            "queue",
            "sweep",
            "workers",
            "app",
            "sweep_failures",
        }
        await record_sweep(env.store, datetime.now(UTC))
        assert (await env.client.get("/readyz")).status_code == 200
        assert (await env.client.get("/healthz")).json() == {"status": "ok"}


async def test_not_ready_when_not_migrated(database_url: str) -> None:
    async with webhook_env(database_url, migrate=False, start_queue=False) as env:
        # No tokens without a schema: the main listener says only that it is not ready, the
        # operators' listener says why.
        public = await env.client.get("/readyz")
        assert (public.status_code, public.json()) == (503, {"ready": False})
        async with operator_client(env.context) as operator:
            response = await operator.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"]["ok"] is False
        assert "migration none" in checks["database"]["reason"]
        assert checks["queue"]["ok"] is True


async def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/prwatch.db"
    settings = Settings(database_url=url)
    engine = create_engine(url)
    context = ProcessContext(
        settings=settings, engine=engine, store=Store(engine), queue=InProcessQueue()
    )
    app = create_app(settings, context=context)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://prwatch.test"
        ) as client:
            public = await client.get("/readyz")
        assert (public.status_code, public.json()) == (503, {"ready": False})
        async with operator_client(context) as operator:
            response = await operator.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert "database unreachable" in checks["database"]["reason"]
        assert checks["sweep"]["ok"] is False
    finally:
        await context.aclose()


async def test_not_ready_when_the_last_sweep_is_stale(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        interval = env.context.settings.sweep_interval_seconds
        await record_sweep(env.store, datetime.now(UTC) - timedelta(seconds=3 * interval))
        response = await env.client.get("/readyz")
        assert response.status_code == 503
        assert "last sweep started" in response.json()["checks"]["sweep"]["reason"]


async def test_not_ready_when_no_sweep_ran_past_the_grace(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        interval = env.context.settings.sweep_interval_seconds
        env.context.started_monotonic = time.monotonic() - 3 * interval
        response = await env.client.get("/readyz")
        assert response.status_code == 503
        assert "no sweep has run" in response.json()["checks"]["sweep"]["reason"]


SERIES = (
    "prwatch_sweep_duration_seconds_count",
    "prwatch_last_sweep_duration_seconds",
    "prwatch_repository_sweep_duration_seconds_count",
    "prwatch_github_requests_total",
    "prwatch_github_rate_limit_remaining",
    "prwatch_github_conditional_requests_total",
    "prwatch_github_conditional_hit_ratio",
    "prwatch_webhook_deliveries_total",
    "prwatch_webhook_ack_seconds_count",
    "prwatch_queue_depth",
    "prwatch_job_duration_seconds_count",
    "prwatch_changes_total",
    "prwatch_delivery_ledger",
    "prwatch_db_transaction_seconds_count",
    "process_resident_memory_bytes",
)


def sample(text: str, prefix: str) -> float:
    """The sum of every sample whose line starts with `prefix`."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and not line.startswith("#")
    )


async def test_metrics_after_a_sweep_and_a_webhook(database_url: str) -> None:
    async with (
        sweep_env(database_url, repos=2, prs=6) as sweep,
        webhook_env(database_url, github=sweep.client) as env,
    ):
        github = env.context.github
        await run_sweep(env.store, github, options=sweep.options)
        await run_sweep(env.store, github, options=sweep.options)  # conditional: 304s
        await env.deliver("pull_request", payload("pull_request", "opened"))
        response = await env.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in SERIES:
        assert name in text, name
    assert sample(text, "prwatch_sweep_duration_seconds_count") == 2
    assert sample(text, 'prwatch_webhook_deliveries_total{event="pull_request"') == 1
    assert sample(text, 'prwatch_changes_total{kind="pr_opened",source="sweep"}') > 0
    assert sample(text, 'prwatch_changes_total{kind="pr_opened",source="webhook"}') == 1
    assert sample(text, 'prwatch_delivery_ledger{status="done"}') == 1
    assert sample(text, 'prwatch_job_duration_seconds_count{job="process_delivery"') == 1
    assert sample(text, "prwatch_github_conditional_hit_ratio") > 0
    assert sample(text, "prwatch_github_rate_limit_remaining") > 0


async def test_two_apps_in_one_process_have_their_own_registries(database_url: str) -> None:
    async with webhook_env(database_url) as first, webhook_env(database_url) as second:
        await first.deliver("pull_request", payload("pull_request", "opened"))
        one = (await first.client.get("/metrics")).text
        other = (await second.client.get("/metrics")).text
    assert sample(one, "prwatch_webhook_deliveries_total") == 1
    assert sample(other, "prwatch_webhook_deliveries_total") == 0


async def test_logs_of_a_request_path_carry_no_token_key_or_secret(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    stream = io.StringIO()
    async with sweep_env(database_url, repos=1, prs=3) as sweep:
        key = sweep.sim.private_key_pem
        handler = configure_logging("json", stream=stream, secrets=(SECRET, key))
        logging.getLogger("prwatch").setLevel(logging.DEBUG)
        try:
            async with webhook_env(database_url, github=sweep.client) as env:
                github = env.context.github
                await run_sweep(env.store, github, options=sweep.options)
                async with env.store.transaction(read_only=True) as tx:
                    installation = (await tx.list_installations())[0].id
                token = (await github._tokens.get(installation)).token
                log = logging.getLogger("prwatch.test")
                log.warning(
                    f"calling with token {token} and Authorization: Bearer {token}",
                    extra={"installation_id": installation, "token": token, "secret": SECRET},
                )
                log.error("key %s secret %s", key, SECRET, extra={"delivery_id": "abc"})
                response = await env.send(
                    "pull_request", payload("pull_request", "opened"), secret="wrong " + SECRET
                )
                assert response.status_code == 401
                await env.deliver("pull_request", payload("pull_request", "opened"))
        finally:
            logging.getLogger().removeHandler(handler)
            logging.getLogger("prwatch").setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert '"installation_id": ' in output and '"delivery_id": "abc"' in output
    assert token not in output
    assert SECRET not in output
    assert "PRIVATE KEY" not in output
    assert key.splitlines()[1] not in output
