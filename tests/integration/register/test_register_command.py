"""`prwatch register` as a process, against `prwatch sim` as a process: the real local server,
the printed URL, the exit status and the files."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values["action"]
        elif tag == "input":
            self.fields[values["name"]] = values["value"]


def prwatch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "prwatch.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def sim_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = prwatch(
        "sim", "--port", str(port), "--repos", "1", "--prs", "2", env=env, cwd=tmp_path
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/rate_limit", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_register_command_end_to_end(sim_url: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRWATCH_")},
        "PYTHONPATH": str(REPO_ROOT),
        "PRWATCH_GITHUB_API_URL": sim_url,
    }
    command = prwatch(
        "register",
        "--github-url",
        sim_url,
        "--webhook-url",
        "https://prwatch.example.org/webhooks",
        "--manifest",
        str(REPO_ROOT / "app-manifest.yml"),
        env=env,
        cwd=tmp_path,
    )
    try:
        assert command.stdout is not None
        announced = re.search(r"Open (http://127\.0\.0\.1:\d+/)", command.stdout.readline())
        assert announced, "no page URL printed"
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            form = Form()
            form.feed(browser.get(announced.group(1)).text)
            answer = browser.post(form.action, data=form.fields)
        assert answer.status_code == 200, answer.text
        out, err = command.communicate(timeout=20)
    finally:
        if command.poll() is None:
            command.kill()
            command.communicate()
    assert command.returncode == 0, err
    assert "prwatch db upgrade" in out
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "PRWATCH_APP_ID=424242" in env_file.read_text().splitlines()

    # A second run refuses to overwrite, before serving anything.
    again = prwatch("register", "--github-url", sim_url, env=env, cwd=tmp_path)
    out, err = again.communicate(timeout=20)
    assert again.returncode == 1
    assert err.strip() == f"prwatch register: {env_file} exists; pass --force to overwrite it"
