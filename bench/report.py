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
        "≤ 10 ms CPU / repository, ≤ ⌈open PRs / 149⌉ + 3 GraphQL pts",
        lambda f: _cpu_ms_per_repository(f) <= 10 and _graphql_at_floor(f),
    ),
    "fresh-process": (
        "≤ 4 s, ≤ 2 REST pts, ≤ ⌈open PRs / 149⌉ + 3 GraphQL pts, all found, 0 invented",
        lambda f: (
            f["prwatch"]["wall_seconds"] <= 4
            and f["prwatch"]["points_core"] <= 2
            and _graphql_at_floor(f)
            and _exact(f)
        ),
    ),
    "churn": (
        "≤ 20 s, all found, 0 invented",
        lambda f: (
            f["prwatch"]["wall_seconds"] <= 20
            and f["correctness"]["missed"] == 0
            and f["correctness"]["invented"] == 0
        ),
    ),
    # Statuses and reviews present now: each check query must cost what it cost before.
    "no-change after churn": (
        "≤ 10 s, same points per query",
        lambda f: (
            f["prwatch"]["wall_seconds"] <= 10
            and bool(f.get("graphql_points_per_query", {}).get("same"))
        ),
    ),
}


SCALE_UP_TARGETS = {
    "cold": ("all found, 0 invented", lambda f: _exact(f)),
    "no-change": (
        "≤ 60 s, ≤ 1 pt / 100 open PRs",
        lambda f: (
            f["prwatch"]["wall_seconds"] <= 60
            and _points(f) <= max(1, f["open_prs"] / 100)
            and _exact(f)
        ),
    ),
    "churn": ("all found, 0 invented", lambda f: _exact(f)),
}
# A simulator busier than this share of a sweep's wall time (it runs on one core) is what
# the sweep waited for.
SIMULATOR_BOUND_SHARE = 0.8


def _exact(f: dict[str, Any]) -> bool:
    k = f["correctness"]
    return bool(k["missed"] == 0 and k["invented"] == 0 and k["store_mismatches"] == 0)


def _cpu_ms_per_repository(f: dict[str, Any]) -> float:
    p = f["prwatch"]
    return float(1000 * p["cpu_seconds"] / max(1, p.get("repositories") or 1))


def _graphql_at_floor(f: dict[str, Any]) -> bool:
    """GraphQL points within 3 of the floor: one point per 149 open PRs' head commits."""
    return bool(f["prwatch"]["points_graphql"] <= -(-f["open_prs"] // 149) + 3)


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


def sweep_rows(
    label: str,
    figures: list[dict[str, Any]],
    peer: dict[str, Any] | None,
    *,
    scale_up: bool = False,
) -> list[str]:
    if scale_up:
        return [scale_up_row(label, f) for f in figures]
    rows = []
    for f in figures:
        p, k = f["prwatch"], f["correctness"]
        outcomes = ", ".join(f"{o}: {n}" for o, n in sorted(p["requests_by_outcome"].items()))
        rows_written = f["rows_written"]
        prwatch = (
            f"**{p['wall_seconds']:.1f} s** · {_requests(f)} req ({outcomes}) · "
            f"{p['points_core']} + {p['points_graphql']} GraphQL pts · "
            f"{rows_written['change_log']} changes + {rows_written['pull_requests']} PR / "
            f"{rows_written['check_runs']} run upserts · RSS {p['peak_rss_mb']:.0f} MB · "
            f"CPU prwatch {p['cpu_seconds']:.1f} s ({_cpu_ms_per_repository(f):.1f} ms / "
            f"repository) / sim {f['simulator']['cpu_seconds']:.1f} s · "
            f"found {k['found']}/{k['expected_changes']}, invented {k['invented']}, "
            f"store ≠ truth {k['store_mismatches']}"
        )
        limit, ratio, verdict = _limit_cells(f, TARGETS)
        peer_cell = "—"
        if peer is not None and f["scenario"] in PEER_RUN_OF:
            peer_cell = _peer_cell(peer, peer.get(PEER_RUN_OF[f["scenario"]]))
        cells = [f"{f['scenario']} ({label})", prwatch, limit, ratio, verdict, peer_cell]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def scale_up_row(label: str, f: dict[str, Any]) -> str:
    from bench.scale_up import routes

    p, k = f["prwatch"], f["correctness"]
    outcomes = ", ".join(f"{o}: {n}" for o, n in sorted(p["requests_by_outcome"].items()))
    written = f["rows_written"]
    sim_cpu = f["simulator"]["cpu_seconds"]
    prwatch = (
        f"**{p['wall_seconds']:.1f} s** ({p['status']}, {p['repositories']} repositories) · "
        f"{_requests(f)} req ({outcomes}; simulator by route: {routes(f['simulator']['stats'])}) · "
        f"{p['points_core']} + {p['points_graphql']} GraphQL pts · "
        f"{written['change_log']} changes + {written['pull_requests']} PR / "
        f"{written['check_runs']} run upserts · "
        f"RSS max {p['peak_rss_mb']:.0f} MB / sum {p['peak_rss_mb_sum']:.0f} MB "
        f"({len(p['peak_rss_mb_by_worker'])} workers) · "
        f"CPU workers {p['cpu_seconds']:.1f} s / sim {sim_cpu:.1f} s / "
        f"postgres {f['postgres']['cpu_seconds']:.1f} s · "
        f"found {k['found']}/{k['expected_changes']}, invented {k['invented']}, "
        f"store ≠ truth {k['store_mismatches']}"
    )
    limit, ratio, verdict = _limit_cells(f, SCALE_UP_TARGETS)
    return f"| {f['scenario']} ({label}) | {prwatch} | {limit} | {ratio} | {verdict} | — |"


def _limit_cells(f: dict[str, Any], targets: dict[str, Any]) -> tuple[str, str, str]:
    """The physical limit, prwatch's ratio to it and the target's verdict of a sweep scenario."""
    lim = f["limit"]
    limit = f"{lim['requests']} req · {lim['points']} pts"
    ratio = (
        f"{_requests(f) / max(1, lim['requests']):.2f}x req · "
        f"{_points(f) / max(1, lim['points']):.2f}x pts"
    )
    target, met = targets[f["scenario"]]
    return limit, ratio, f"{target}: {'met' if met(f) else '**missed**'}"


def simulator_bound_notes(run: dict[str, Any]) -> list[str]:
    """Which scale-up figures the simulator's CPU bounds: it serves from one core, so a
    simulator busy most of a sweep's wall time is what the sweep waited for."""
    notes = []
    for f in run["scenarios"]:
        wall, sim_cpu = f["prwatch"]["wall_seconds"], f["simulator"]["cpu_seconds"]
        share = sim_cpu / wall if wall else 0.0
        bound = (
            "the simulator bounds this wall time (and with it requests/s); prwatch's own cost "
            "is its CPU"
            if share >= SIMULATOR_BOUND_SHARE
            else "the simulator does not bound this wall time alone"
        )
        workers, postgres = f["prwatch"]["cpu_seconds"], f["postgres"]["cpu_seconds"]
        machine = f.get("machine")
        others = ""
        if machine:
            outside = machine["busy_cpu_seconds"] - sim_cpu - workers - postgres
            others = (
                f"; the machine's {machine['cores']} cores were busy "
                f"{machine['busy_cpu_seconds']:.0f} s of {wall * machine['cores']:.0f} s, "
                f"{max(0.0, outside):.0f} s of it outside this run (other processes)"
            )
        notes.append(
            f"- {run['label']} {f['scenario']}: simulator busy {sim_cpu:.1f} s of "
            f"{wall:.1f} s wall ({share:.0%} of its one core); workers {workers:.1f} s, "
            f"postgres {postgres:.1f} s CPU{others}: {bound}"
        )
    return notes


# The peer's sync beside each sweep scenario: its cold sync, its incremental sync with nothing
# changed, and its incremental sync after the same PR churn.
PEER_RUN_OF = {"cold": "cold", "no-change": "incremental", "churn": "churn"}


def _peer_cell(peer: dict[str, Any], run: dict[str, Any] | None) -> str:
    if peer.get("error"):
        return f"tap-github did not run: {peer['error']}"
    if run is None:
        return "—"
    return (
        f"{run['wall_seconds']:.1f} s · {run['requests']} req · {run['points']} pts · "
        f"{run['records']} PR records · **no check runs** (the tap fetches none)"
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def webhook_rows(results: list[dict[str, Any]]) -> list[str]:
    rows = []
    for w in results:
        if w.get("error"):
            load = f", {w['load']}" if w.get("load") else ""
            rows.append(f"| webhooks ({w['mode']}{load}) | failed: {w['error']} | — | — | — | — |")
            continue
        e2e, ack = w.get("e2e_p99_ms"), w.get("ack_p99_ms")
        if w.get("load", "closed loop") == "closed loop":
            # The sustained maximum: its latencies are a saturated receiver's (see
            # bench/webhooks.py), the latency targets are judged at 500/s offered.
            met = w["acked_per_second"] >= 500 and w["lost"] == 0
            target = "≥ 500/s sustained, lost 0"
        else:  # open loop at 500/s: every offered delivery acknowledged, within the latencies
            met = w["acked"] == w["sent"] and not w.get("unsent_at_time_limit")
            met = met and ack is not None and ack <= 50 and e2e is not None and e2e <= 1000
            met = met and w["lost"] == 0
            target = "all of 500/s acked, ack p99 ≤ 50 ms, e2e p99 ≤ 1 s, lost 0"
        per_delivery = w.get("cpu_ms_per_delivery")
        cpu = ""
        if per_delivery:
            shares = ", ".join(
                f"{name} {ms:.2f}" for name, ms in per_delivery.items() if name != "all"
            )
            cpu = f" · CPU per delivery {per_delivery['all']:.2f} ms ({shares})"
            if "postgres" in per_delivery:  # all the processes are measured: web, workers, db
                met = met and per_delivery["all"] <= 1.5
                target += ", ≤ 1.5 ms CPU per delivery"
        drain = w.get("drain_seconds")
        rows.append(
            f"| webhooks ({w['mode']}, {w.get('load', 'closed loop')}) | "
            f"**{w['acked_per_second']:.0f} deliveries/s** acked · "
            f"ack p50 {_ms(w['ack_p50_ms'])} / p99 {_ms(ack)} · delivery → "
            f"committed change p99 {_ms(e2e)} · "
            f"backlog when the load ended {w.get('backlog_at_load_end', '—')}, drained in "
            f"{'—' if drain is None else f'{drain:.1f} s'} · "
            f"lost (acknowledged, never stored or applied) {w['lost']} of {w['acked']} acked "
            f"({w['payload_bytes_mean']:.0f} B payloads, {w['concurrency']} connections){cpu} "
            f"| — | — | "
            f"{target}: {'met' if met else '**missed**'} | — |"
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
    bound_notes = []
    for run in results["sweeps"]:
        scale_up = bool(run.get("scale_up"))
        lines += sweep_rows(run["label"], run["scenarios"], results.get("peer"), scale_up=scale_up)
        if scale_up:
            bound_notes += simulator_bound_notes(run)
    lines += webhook_rows(results.get("webhooks", []))
    lines += ["", *results.get("notes", []), *bound_notes, ""]
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
    for name in PEER_RUN_OF.values():
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
