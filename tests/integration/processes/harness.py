"""prwatch and the GitHub simulator as real processes on loopback, and what tests ask of them.

Every process started here is killed when its ``Processes`` group closes, whatever happened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PRWATCH = [sys.executable, "-m", "prwatch.cli"]
START_TIMEOUT_S = 20.0
COMMAND_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def base_environment(**settings: str) -> dict[str, str]:
    """The test's environment without any PRWATCH_* of its own, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)


@dataclass
class Processes:
    """Starts processes and kills every one of them on close."""

    workdir: Path
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        log = self.workdir / f"{name}-{len(self.started)}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                [*PRWATCH, *args],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            with suppress(OSError, subprocess.TimeoutExpired):
                process.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in self.started)


@contextmanager
def processes(workdir: Path) -> Iterator[Processes]:
    group = Processes(workdir)
    try:
        yield group
    except BaseException:
        print(group.logs())  # shown by pytest when the test fails
        raise
    finally:
        group.close()


def run_prwatch(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """A short-lived command (sweep, db …), waited for with a bound."""
    return subprocess.run(
        [*PRWATCH, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until_serving(process: Process, url: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.output()}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{process.name} did not answer {url} within {timeout}s")


@dataclass
class SimProcess:
    """The simulator process and the PRWATCH_* settings it wrote for prwatch."""

    url: str
    settings: dict[str, str]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.url}{path}", json=body, timeout=30)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json()

    def configure(self, **changes: Any) -> None:
        self.admin("PUT", "/_sim/config", changes)

    def churn(self, **knobs: Any) -> dict[str, Any]:
        changed: dict[str, Any] = self.admin("POST", "/_sim/churn", knobs)
        return changed

    def drain_webhooks(self) -> int:
        """Wait until every queued delivery was attempted; the number of attempts so far."""
        return int(self.admin("POST", "/_sim/webhooks/drain")["attempts"])

    def truth(self) -> dict[str, Any]:
        truth: dict[str, Any] = self.admin("GET", "/_sim/truth")
        return truth


def start_simulator(
    group: Processes, *, hook_url: str | None = None, extra: tuple[str, ...] = ()
) -> SimProcess:
    port = free_port()
    env_file = group.workdir / "sim.env"
    args = ["sim", "--port", str(port), "--write-env", str(env_file), "--no-secondary-limits"]
    if hook_url is not None:
        args += ["--hook-url", hook_url]
    process = group.start("sim", [*args, *extra], base_environment())
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{url}/_sim/config")
    return SimProcess(url, read_env_file(env_file))


# The API token each started prwatch's read API is called with, by its URL.
_TOKENS: dict[str, str] = {}


def start_serve(group: Processes, env: dict[str, str], port: int) -> str:
    process = group.start("serve", ["serve", "--port", str(port)], env)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{url}/healthz")
    created = run_prwatch(["token", "create", f"tests-{port}"], env, group.workdir)
    assert created.returncode == 0, created.stderr
    _TOKENS[url] = created.stdout.strip().splitlines()[-1]  # the token is the last line
    return url


def api_headers(prwatch_url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_TOKENS[prwatch_url]}"}


# ---- comparing prwatch's read API with the simulator's truth ---------------------------------

PULL_FIELDS = (
    "number",
    "state",
    "draft",
    "merged",
    "title",
    "labels",
    "head_sha",
    "head_ref",
    "base_ref",
    "author",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
)
RUN_FIELDS = ("id", "name", "status", "conclusion", "started_at", "completed_at")


def expected_pull(truth: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    """The read API's view of a truth PR; check runs (the newest per suite and name on its
    head commit) only for open PRs, the ones prwatch keeps verified."""
    expected = {key: pr[key] for key in PULL_FIELDS}
    if pr["state"] != "open":
        return expected
    newest: dict[tuple[int, str], dict[str, Any]] = {}
    for run in truth["check_runs"]:
        if run["repository_id"] != pr["repository_id"] or run["head_sha"] != pr["head_sha"]:
            continue
        key = (run["check_suite_id"], run["name"])
        if key not in newest or run["id"] > newest[key]["id"]:
            newest[key] = run
    runs = [{**{key: run[key] for key in RUN_FIELDS}, "latest": True} for run in newest.values()]
    expected["check_runs"] = sorted(runs, key=lambda run: (run["name"], run["id"]))
    return expected


def observed_pull(prwatch_url: str, full_name: str, number: int, *, with_runs: bool) -> Any:
    response = httpx.get(
        f"{prwatch_url}/api/repos/{full_name}/pulls/{number}",
        headers=api_headers(prwatch_url),
        timeout=10,
    )
    if response.status_code != 200:
        return response.status_code
    body: dict[str, Any] = response.json()
    # The fields compared here; statuses, reviews and signals have their own truth checks.
    got = {key: body[key] for key in PULL_FIELDS}
    runs = sorted(body["check_runs"], key=lambda run: (run["name"], run["id"]))
    if with_runs:
        got["check_runs"] = runs
    return got


def differences(
    prwatch_url: str, truth: dict[str, Any], prs: set[tuple[int, int]] | None = None
) -> list[str]:
    """The (repository id, number) PRs (all when None) whose read API answer is not the truth."""
    names = {repo["id"]: repo["full_name"] for repo in truth["repositories"]}
    found = []
    for pr in truth["pull_requests"]:
        key = (pr["repository_id"], pr["number"])
        if prs is not None and key not in prs:
            continue
        want = expected_pull(truth, pr)
        got = observed_pull(
            prwatch_url, names[key[0]], pr["number"], with_runs="check_runs" in want
        )
        if got != want:
            found.append(f"{names[key[0]]}#{pr['number']}: {describe(got, want)}")
    return found


def describe(got: Any, want: dict[str, Any]) -> str:
    """Only the fields that differ."""
    if not isinstance(got, dict):
        return f"answered {got}"
    keys = sorted(set(got) | set(want))
    return "; ".join(
        f"{key}: got {got.get(key)!r}, want {want.get(key)!r}"
        for key in keys
        if got.get(key) != want.get(key)
    )


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def settle(prwatch_url: str, sim: SimProcess, timeout: float) -> list[str]:
    """Poll until the read API equals the truth; the differences left when time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        found = differences(prwatch_url, sim.truth())
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
