"""The simulator as its own process: start it, wait for it, talk to its admin API, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Scale:
    repos: int
    prs: int
    open_ratio: float = 0.1
    installations: int = 1
    latency_ms: float = 100.0
    seed: int = 1


class SimulatorProcess:
    def __init__(self, scale: Scale, workdir: Path, *, hook_url: str | None = None) -> None:
        self.scale = scale
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env_file = workdir / "sim.env"
        args = [
            sys.executable, "-m", "prwatch.cli", "sim",
            "--port", str(self.port),
            "--repos", str(scale.repos),
            "--prs", str(scale.prs),
            "--open-ratio", str(scale.open_ratio),
            "--seed", str(scale.seed),
            "--installations", str(scale.installations),
            "--latency-ms", str(scale.latency_ms),
            "--secondary-limits",
            "--write-env", str(self.env_file),
        ]  # fmt: skip
        if hook_url:
            args += ["--hook-url", hook_url]
        self.log = (workdir / "sim.log").open("w")
        started = time.monotonic()
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=120)
        self._wait_ready()
        self.startup_seconds = time.monotonic() - started
        # GitHub's worst case for the benchmark: 304s count toward the secondary limit.
        self.put_config({"secondary_counts_304": True, "secondary_limits": True})

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"simulator exited with {self.process.returncode}: see sim.log")
            try:
                if self.client.get("/_sim/config").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("simulator did not answer within 600 s")

    def env(self) -> dict[str, str]:
        values = {}
        for line in self.env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            values[name] = value
        return values

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.client.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def put_config(self, changes: dict[str, Any]) -> Any:
        return self.admin("PUT", "/_sim/config", changes)

    def stats(self) -> dict[str, Any]:
        return dict(self.admin("GET", "/_sim/stats"))

    def reset_stats(self) -> None:
        self.admin("POST", "/_sim/stats/reset")

    def truth(self) -> dict[str, Any]:
        return dict(self.admin("GET", "/_sim/truth"))

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
