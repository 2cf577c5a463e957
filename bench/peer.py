"""The peer: the Singer tap ``tap-github`` (PyPI), in its own virtualenv (bench/.peer-venv),
against the same simulator, same repositories: a cold and an incremental (state file) sync of
the ``pull_requests`` stream. It fetches no check runs.

The tap's discovery mode first probes ``GET /repos/{repo}/commits`` and one endpoint of each
stream, which the simulator does not serve (it serves what prwatch reads); so the catalog is
built from the tap's own bundled schemas (``tap_github.schema.get_schemas``), exactly what
discovery would emit for an accessible stream, with ``pull_requests`` selected, and passed with
``--properties``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import httpx

from bench.simulator import Scale, SimulatorProcess
from prwatch.github.auth import AppCredentials, AppJwtIssuer

PEER_VENV = Path(__file__).resolve().parent / ".peer-venv"
PEER_PACKAGE = "tap-github"

CATALOG_SCRIPT = """
import json, sys
from singer import metadata
from tap_github.schema import get_schemas
from tap_github.streams import STREAMS
schemas, field_metadata = get_schemas()
name = "pull_requests"
mdata = metadata.to_map(field_metadata[name])
mdata = metadata.write(mdata, (), "selected", True)
for field in schemas[name]["properties"]:
    mdata = metadata.write(mdata, ("properties", field), "selected", True)
stream = STREAMS[name]
entry = {
    "stream": name, "tap_stream_id": name, "schema": schemas[name],
    "key_properties": stream.key_properties, "metadata": metadata.to_list(mdata),
}
json.dump({"streams": [entry]}, sys.stdout)
"""


def ensure_peer_venv() -> Path:
    tap = PEER_VENV / "bin" / "tap-github"
    if not tap.exists():
        venv.create(PEER_VENV, with_pip=True)
        subprocess.run(
            [str(PEER_VENV / "bin" / "pip"), "install", "--quiet", PEER_PACKAGE], check=True
        )
    return tap


def installation_token(sim: SimulatorProcess) -> str:
    app = sim.admin("GET", "/_sim/app")
    jwt = AppJwtIssuer(AppCredentials(app["app_id"], app["private_key_pem"])).current()
    installation_id = app["installations"][0]["id"]
    response = httpx.post(
        f"{sim.url}/app/installations/{installation_id}/access_tokens",
        headers={"authorization": f"Bearer {jwt}", "accept": "application/vnd.github+json"},
    )
    response.raise_for_status()
    return str(response.json()["token"])


def _sync(tap: Path, workdir: Path, sim: SimulatorProcess, state: Path | None) -> dict[str, Any]:
    sim.reset_stats()
    cpu = sim.cpu_seconds()
    tap_cpu = _children_cpu()
    args = [str(tap), "--config", str(workdir / "config.json")]
    args += ["--properties", str(workdir / "properties.json")]
    if state is not None:
        args += ["--state", str(state)]
    # The tap writes every record (a full PR, ~15 KB) to stdout: 1.5 GB for 100,000 PRs, so
    # it goes to a file that is read line by line, never into memory whole.
    output = workdir / "tap-output.jsonl"
    started = time.monotonic()
    with output.open("w") as out:
        done = subprocess.run(
            args, stdout=out, stderr=subprocess.PIPE, text=True, timeout=3600, check=False
        )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"tap-github exited {done.returncode}: {done.stderr.strip()[-600:]}")
    records = 0
    last_state: Any = None
    with output.open() as lines:
        for line in lines:
            if line.startswith('{"type": "RECORD"') or line.startswith('{"type":"RECORD"'):
                records += 1
                continue
            message = json.loads(line)
            if message.get("type") == "RECORD":
                records += 1
            elif message.get("type") == "STATE":
                last_state = message["value"]
    output.unlink()
    (workdir / "state.json").write_text(json.dumps(last_state or {}))
    stats = sim.stats()
    return {
        "wall_seconds": wall,
        "cpu_seconds": _children_cpu() - tap_cpu,
        "records": records,
        "requests": stats["total"],
        "requests_by_route": stats["requests"],
        "points": sum(stats["points"].values()),
        "simulator_cpu_seconds": sim.cpu_seconds() - cpu,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_peer(work: Path, scale: Scale) -> dict[str, Any]:
    workdir = work / "peer"
    workdir.mkdir(parents=True, exist_ok=True)
    print("peer: tap-github", flush=True)
    try:
        tap = ensure_peer_venv()
        catalog = subprocess.run(
            [str(PEER_VENV / "bin" / "python"), "-c", CATALOG_SCRIPT],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        (workdir / "properties.json").write_text(catalog.stdout)
    except (subprocess.CalledProcessError, OSError) as error:
        return {"error": f"could not install or prepare {PEER_PACKAGE}: {error}"}
    sim = SimulatorProcess(scale, workdir)
    try:
        repos = [r["full_name"] for r in sim.truth()["repositories"] if not r["deleted"]]
        config = {
            "access_token": installation_token(sim),
            "repository": " ".join(repos),
            "start_date": "2000-01-01T00:00:00Z",
            "base_url": sim.url,
        }
        (workdir / "config.json").write_text(json.dumps(config))
        result: dict[str, Any] = {"package": PEER_PACKAGE, "check_runs": False}
        result["cold"] = _sync(tap, workdir, sim, None)
        print(f"  cold: {result['cold']['wall_seconds']:.1f} s", flush=True)
        result["incremental"] = _sync(tap, workdir, sim, workdir / "state.json")
        print(f"  incremental: {result['incremental']['wall_seconds']:.1f} s", flush=True)
        # The same PR churn as prwatch's churn scenario (1% of PRs, checks on 2% of open
        # ones); not the repository removal and rename, which the tap's configured
        # repository list cannot follow.
        sim.admin(
            "POST", "/_sim/churn", {"seed": scale.seed, "pr_fraction": 0.01, "check_fraction": 0.02}
        )
        result["churn"] = _sync(tap, workdir, sim, workdir / "state.json")
        print(f"  after churn: {result['churn']['wall_seconds']:.1f} s", flush=True)
        return result
    except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as error:
        print(f"  peer failed: {error}", flush=True)
        return {"error": str(error)}
    finally:
        sim.stop()


def main(argv: list[str]) -> int:
    """``python -m bench.peer [REPOS PRS]``: the peer alone, its JSON kept in bench/results/ for
    ``make bench ARGS=--peer-from FILE`` (the peer's cold sync at the default scale takes about
    20 minutes: it pages 30 PRs at a time, one request after another)."""
    repos, prs = (int(argv[0]), int(argv[1])) if argv else (100, 1000)
    work = Path(__file__).resolve().parent / ".work" / "peer-alone"
    scale = Scale(repos=repos, prs=prs)
    out = {"scale": {"repos": repos, "prs": prs, "latency_ms": scale.latency_ms}}
    out |= run_peer(work, scale)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = Path(__file__).resolve().parent / "results" / f"peer-{stamp}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"peer figures: {path}")
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
