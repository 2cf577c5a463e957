"""The manifest flow end to end against the simulator, in process: a browser-like client loads
the local page, submits its form to the simulator, follows the redirect to the callback; the
credentials written then work against the simulator."""

from __future__ import annotations

import os
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from prwatch.config import load_settings
from prwatch.context import create_github_client
from prwatch.register.env_file import CredentialFiles, credential_files
from prwatch.register.errors import RegistrationError
from prwatch.register.flow import create_flow_app
from prwatch.register.manifest import MANIFEST_FILE_NAME, default_manifest_path
from prwatch.register.server import RegistrationOptions, build_flow
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig

SIM_URL = "http://sim.test"
LOCAL_URL = "http://127.0.0.1:5555"
REPO_ROOT = Path(__file__).resolve().parents[3]


class FormReader(HTMLParser):
    """The first form of a page: its action and its inputs, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = values["action"]
        elif tag == "input" and "name" in values:
            self.fields[values["name"]] = values.get("value", "")


class HostRouter(httpx.AsyncBaseTransport):
    """Sends each request to the app serving its host, like DNS would."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.netloc.decode()].handle_async_request(request)


def read_env(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if "=" in line]
    return {name: value for name, value in pairs if not name.startswith("#")}


@pytest.fixture
def sim() -> Simulator:
    return create_simulator(SimConfig(repos=2, prs=4, installations=2, seed=5))


def options(tmp_path: Path, **overrides: Any) -> RegistrationOptions:
    values: dict[str, Any] = {
        "manifest_path": REPO_ROOT / MANIFEST_FILE_NAME,
        "files": credential_files(tmp_path / ".env", None),
        "github_url": SIM_URL,
        "api_url": SIM_URL,
        "webhook_url": "https://prwatch.example.org/webhooks",
    }
    values.update(overrides)
    return RegistrationOptions(**values)


async def browse(
    sim: Simulator, registration: RegistrationOptions, *, tamper_state: bool = False
) -> tuple[httpx.Response, Any]:
    sim_transport = httpx.ASGITransport(app=sim.app)
    flow = build_flow(registration, LOCAL_URL, api_transport=sim_transport)
    router = HostRouter(
        {
            "sim.test": sim_transport,
            "127.0.0.1:5555": httpx.ASGITransport(app=create_flow_app(flow)),
        }
    )
    async with httpx.AsyncClient(transport=router, follow_redirects=True) as browser:
        page = await browser.get(f"{LOCAL_URL}/")
        form = FormReader()
        form.feed(page.text)
        assert form.action is not None
        fields = dict(form.fields)
        if tamper_state:
            fields["state"] = "forged"
        answer = await browser.post(form.action, data=fields)
    return answer, flow


async def test_registration_writes_working_credentials(sim: Simulator, tmp_path: Path) -> None:
    registration = options(tmp_path)
    answer, flow = await browse(sim, registration)

    assert answer.status_code == 200, answer.text
    assert answer.url.path == "/callback"
    assert flow.outcome.error is None
    env_path, key_path = tmp_path / ".env", tmp_path / "prwatch-private-key.pem"
    for path in (env_path, key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    env = read_env(env_path)
    assert env == {
        "PRWATCH_APP_ID": str(sim.config.app_id),
        "PRWATCH_PRIVATE_KEY_PATH": str(key_path),
        "PRWATCH_WEBHOOK_SECRET": sim.config.webhook_secret,
        "PRWATCH_GITHUB_API_URL": SIM_URL,
        "PRWATCH_CLIENT_ID": sim.client_id,
        "PRWATCH_CLIENT_SECRET": sim.client_secret,
    }
    assert key_path.read_text() == sim.private_key_pem
    # the manifest reached GitHub with this registration's webhook URL
    assert sim.config.hook_url == "https://prwatch.example.org/webhooks"

    settings = load_settings(
        app_id=env["PRWATCH_APP_ID"],
        private_key_path=env["PRWATCH_PRIVATE_KEY_PATH"],
        webhook_secret=env["PRWATCH_WEBHOOK_SECRET"],
        github_api_url=env["PRWATCH_GITHUB_API_URL"],
    )
    async with create_github_client(settings, transport=httpx.ASGITransport(app=sim.app)) as gh:
        listed = await gh.app_get("/app/installations")
    assert listed.status == 200
    assert sorted(item["id"] for item in listed.json()) == sorted(sim.world.installations)


async def test_organisation_form_posts_to_the_organisation(sim: Simulator, tmp_path: Path) -> None:
    answer, flow = await browse(sim, options(tmp_path, org="acme", webhook_url=None))
    assert answer.status_code == 200
    assert flow.form_action == f"{SIM_URL}/organizations/acme/settings/apps/new"
    assert flow.manifest["hook_attributes"] == {"active": False}
    assert "PRWATCH_APP_ID" in read_env(tmp_path / ".env")


async def test_forged_state_writes_nothing(sim: Simulator, tmp_path: Path) -> None:
    answer, flow = await browse(sim, options(tmp_path), tamper_state=True)
    assert answer.status_code == 400
    assert "state" in flow.outcome.error
    assert os.listdir(tmp_path) == []


async def test_unknown_code_writes_nothing(sim: Simulator, tmp_path: Path) -> None:
    flow = build_flow(options(tmp_path), LOCAL_URL, api_transport=httpx.ASGITransport(sim.app))
    outcome = await flow.callback("0123456789abcdef", flow.state)
    assert outcome.registration is None
    assert "does not know this code" in (outcome.error or "")
    assert os.listdir(tmp_path) == []


async def test_unreachable_api_writes_nothing(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    flow = build_flow(options(tmp_path), LOCAL_URL, api_transport=httpx.MockTransport(refuse))
    outcome = await flow.callback("abc123", flow.state)
    assert outcome.error is not None and outcome.error.startswith("cannot reach http://sim.test")
    assert "\n" not in outcome.error
    assert os.listdir(tmp_path) == []


async def test_validation_failure_is_reported(tmp_path: Path) -> None:
    def reject(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"message": "Validation Failed"})

    flow = build_flow(options(tmp_path), LOCAL_URL, api_transport=httpx.MockTransport(reject))
    outcome = await flow.callback("abc123", flow.state)
    assert outcome.error == "converting the code failed: HTTP 422: Validation Failed"
    assert os.listdir(tmp_path) == []


def test_existing_env_file_is_kept_without_force(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KEEP=1\n")
    with pytest.raises(RegistrationError, match="exists; pass --force"):
        build_flow(options(tmp_path), LOCAL_URL)
    assert (tmp_path / ".env").read_text() == "KEEP=1\n"


async def test_force_overwrites_and_tightens_the_mode(sim: Simulator, tmp_path: Path) -> None:
    env_path = tmp_path / ".env"
    env_path.write_text("OLD=1\n")
    env_path.chmod(0o644)
    answer, _ = await browse(sim, options(tmp_path, force=True))
    assert answer.status_code == 200
    assert "OLD" not in env_path.read_text()
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600


def test_manifest_is_least_privilege() -> None:
    from prwatch.register.manifest import load_manifest

    manifest = load_manifest(default_manifest_path())
    permissions = manifest["default_permissions"]
    assert set(permissions.values()) == {"read"}  # prwatch never writes
    # What the queries read: PR listings, check runs, commit statuses, commits (private
    # repositories' commits are contents), repositories.
    assert {"pull_requests", "checks", "statuses", "contents", "metadata"} <= set(permissions)
    assert {
        "check_run",
        "check_suite",
        "pull_request",
        "status",
        "pull_request_review",
        "repository",
    } <= set(manifest["default_events"])
    assert manifest["public"] is False


def test_bad_manifest_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.yml"
    bad.write_text("name: x\n")
    with pytest.raises(RegistrationError, match="lacks default_permissions, default_events"):
        build_flow(options(tmp_path, manifest_path=bad), LOCAL_URL)


def test_credential_files_default_beside_the_env_file(tmp_path: Path) -> None:
    files = credential_files(tmp_path / "conf" / "prod.env", None)
    assert files == CredentialFiles(
        tmp_path / "conf" / "prod.env", tmp_path / "conf" / "prwatch-private-key.pem"
    )
