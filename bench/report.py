"""The results: one markdown table (appended to bench/RESULTS.md), the JSON, and a chart."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
TARGETS = {
    "cold": ("≤ 120 s", lambda f: f["prwatch"]["wall_seconds"] <= 120),
    "no-change": (
        "≤ 10 s, ≤ 1 pt / 100 open PRs",
        lambda f: f["prwatch"]["wall_seconds"] <= 10 and _points(f) <= max(1, f["open_prs"] / 100),
    ),
    "churn": (
        "≤ 20 s, all found, 0 invented",
        lambda f: (
            f["prwatch"]["wall_seconds"] <= 20
            and f["correctness"]["missed"] == 0
            and f["correctness"]["invented"] == 0
        ),
    ),
}


def _points(f: dict[str, Any]) -> int:
    return int(f["prwatch"]["points_core"] + f["prwatch"]["points_graphql"])


def _requests(f: dict[str, Any]) -> int:
    return sum(f["prwatch"]["requests_by_outcome"].values())


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import os

    return (
        f"{platform.node()} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()}"
    )


def sweep_rows(label: str, figures: list[dict[str, Any]], peer: dict[str, Any] | None) -> list[str]:
    rows = []
    for f in figures:
        p, k, lim = f["prwatch"], f["correctness"], f["limit"]
        outcomes = ", ".join(f"{o}: {n}" for o, n in sorted(p["requests_by_outcome"].items()))
        rows_written = f["rows_written"]
        prwatch = (
            f"**{p['wall_seconds']:.1f} s** · {_requests(f)} req ({outcomes}) · "
            f"{p['points_core']} + {p['points_graphql']} GraphQL pts · "
            f"{rows_written['change_log']} changes + {rows_written['pull_requests']} PR / "
            f"{rows_written['check_runs']} run upserts · RSS {p['peak_rss_mb']:.0f} MB · "
            f"CPU prwatch {p['cpu_seconds']:.1f} s / sim {f['simulator']['cpu_seconds']:.1f} s · "
            f"found {k['found']}/{k['expected_changes']}, invented {k['invented']}, "
            f"store ≠ truth {k['store_mismatches']}"
        )
        limit = f"{lim['requests']} req · {lim['points']} pts"
        ratio = (
            f"{_requests(f) / max(1, lim['requests']):.2f}x req · "
            f"{_points(f) / max(1, lim['points']):.2f}x pts"
        )
        target, met = TARGETS[f["scenario"]]
        verdict = f"{target}: {'met' if met(f) else '**missed**'}"
        peer_cell = "—"
        if peer is not None and f["scenario"] in ("cold", "no-change"):
            run = peer.get("cold" if f["scenario"] == "cold" else "incremental")
            peer_cell = _peer_cell(peer, run)
        cells = [f"{f['scenario']} ({label})", prwatch, limit, ratio, verdict, peer_cell]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _peer_cell(peer: dict[str, Any], run: dict[str, Any] | None) -> str:
    if peer.get("error"):
        return f"tap-github did not run: {peer['error']}"
    if run is None:
        return "—"
    return (
        f"{run['wall_seconds']:.1f} s · {run['requests']} req · {run['points']} pts · "
        f"{run['records']} PR records · **no check runs** (the tap fetches none)"
    )


def webhook_rows(results: list[dict[str, Any]]) -> list[str]:
    rows = []
    for w in results:
        if w.get("error"):
            rows.append(f"| webhooks ({w['mode']}) | failed: {w['error']} | — | — | — | — |")
            continue
        met = w["acked_per_second"] >= 500 and w["ack_p99_ms"] <= 50 and w["e2e_p99_ms"] <= 1000
        met = met and w["lost"] == 0
        rows.append(
            f"| webhooks ({w['mode']}) | **{w['acked_per_second']:.0f} deliveries/s** acked · "
            f"ack p50 {w['ack_p50_ms']:.1f} ms / p99 {w['ack_p99_ms']:.1f} ms · delivery → "
            f"committed change p99 {w['e2e_p99_ms']:.0f} ms · "
            f"not committed 120 s after the load ended "
            f"(lost or backlog): {w['lost']} of {w['sent']} "
            f"({w['payload_bytes_mean']:.0f} B payloads, {w['concurrency']} connections) | — | — | "
            f"≥ 500/s, ack p99 ≤ 50 ms, e2e p99 ≤ 1 s: {'met' if met else '**missed**'} | — |"
        )
    return rows


def write(results: dict[str, Any], command: str) -> tuple[Path, Path, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    json_path = results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=1, default=str))
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()}",
        "",
        f"`{command}` · scale: {results['scale']} · figures: `bench/results/{json_path.name}`",
        "",
        "| scenario | prwatch | physical limit | ratio | target | peer (tap-github) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for run in results["sweeps"]:
        lines += sweep_rows(run["label"], run["scenarios"], results.get("peer"))
    lines += webhook_rows(results.get("webhooks", []))
    lines += ["", *results.get("notes", []), ""]
    table = "\n".join(lines)
    with (BENCH / "RESULTS.md").open("a") as out:
        out.write(table + "\n")
    chart_path = results_dir / f"{stamp}.png"
    chart(results, chart_path)
    return json_path, chart_path, table


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, walls, points, limits = [], [], [], []
    for run in results["sweeps"]:
        for f in run["scenarios"]:
            labels.append(f"{f['scenario']}\n{run['label']}")
            walls.append(f["prwatch"]["wall_seconds"])
            points.append(_points(f))
            limits.append(f["limit"]["points"])
    peer = results.get("peer") or {}
    for name in ("cold", "incremental"):
        run = peer.get(name)
        if run:
            labels.append(f"tap-github\n{name}")
            walls.append(run["wall_seconds"])
            points.append(run["points"])
            limits.append(0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(10, len(labels) * 1.6), 4.5))
    positions = range(len(labels))
    left.bar(positions, walls, color="#4c72b0")
    left.set_title("wall time (s)")
    right.bar([x - 0.2 for x in positions], points, width=0.4, label="spent", color="#dd8452")
    right.bar(
        [x + 0.2 for x in positions], limits, width=0.4, label="physical limit", color="#55a868"
    )
    right.set_title("rate-limit points (REST + GraphQL)")
    right.legend()
    for axis in (left, right):
        axis.set_xticks(list(positions))
        axis.set_xticklabels(labels, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
