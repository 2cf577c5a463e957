"""The simulator's knobs: world size, limits, latency, faults, webhook behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class SimConfig:
    # world generation
    repos: int = 3
    prs: int = 20
    open_ratio: float = 0.3
    seed: int = 0
    installations: int = 1
    checks_per_open_pr: int = 5
    fork_ratio: float = 0.1
    # the App
    app_id: int = 424242
    app_slug: str = "prwatch-sim"
    webhook_secret: str = "sim-webhook-secret"
    token_lifetime_s: int = 3600
    api_url: str = "https://api.github.com"  # used inside JSON bodies; Link headers use the request
    # "dotcom": REST at the root, GraphQL at /graphql (api.github.com); "ghes": GitHub
    # Enterprise Server's layout, REST under /api/v3 and GraphQL at /api/graphql. Fixed when
    # the simulator is built.
    layout: str = "dotcom"
    # The real rollup can keep check runs a re-run superseded beside the new ones; by default
    # the simulator's lists only the latest per suite and name. Fixed when built.
    rollup_keeps_superseded: bool = False
    # primary rate limits (per installation; the App's JWT has its own budget)
    rate_limit: int = 5000
    graphql_rate_limit: int = 5000
    rate_limit_status: int = 403  # GitHub answers 403 or 429
    # GraphQL's primary limit: HTTP 200 with an error of this type (RATE_LIMITED, or
    # RATE_LIMIT as some answers have it; githubkit accepts both)
    graphql_rate_limit_type: str = "RATE_LIMITED"
    # GraphQL's secondary limits: 403, 429, or 200 with the message in `errors`
    graphql_secondary_status: int = 403
    # GraphQL server time (see graphql_limits): CPU seconds a minute, a query's timeout and
    # how it is answered (502 or 504), and the modelled time per node a query may return
    graphql_cpu_seconds_per_minute: float = 60.0
    graphql_timeout_s: float = 10.0
    graphql_timeout_status: int = 502
    graphql_ms_per_node: float = 0.0
    # secondary limits
    secondary_limits: bool = True
    max_concurrent: int = 100
    per_route_per_minute: int = 900
    secondary_counts_304: bool = True
    # latency
    latency_ms: float = 0.0
    latency_ms_per_kb: float = 0.0
    # faults (REST), optionally only for some repositories
    fault_seed: int = 0
    fault_5xx_rate: float = 0.0
    fault_slow_rate: float = 0.0
    fault_slow_ms: float = 0.0
    fault_drop_rate: float = 0.0
    fault_repositories: frozenset[int] | None = None
    # webhooks
    hook_url: str | None = None
    webhook_seed: int = 0
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_delay_ms: float = 0.0
    webhook_reorder_window: int = 0  # 0/1 = in order; n = shuffle within windows of n
    webhook_timeout_s: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `{name: value}` from the admin API; unknown names or wrong types are refused."""
        fixed = ("extra", "layout", "rollup_keeps_superseded")
        known = {f.name: f for f in fields(self) if f.name not in fixed}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            current = getattr(self, name)
            if name == "fault_repositories":
                value = None if value is None else frozenset(int(v) for v in value)
            elif name == "hook_url":
                if value is not None and not isinstance(value, str):
                    raise ValueError("hook_url must be a string or null")
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be a boolean")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{name} must be an integer")
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{name} must be a number")
                value = float(value)
            elif isinstance(current, str) and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            if name.endswith("_rate") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
            setattr(self, name, value)

    def public(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if data["fault_repositories"] is not None:
            data["fault_repositories"] = sorted(data["fault_repositories"])
        return data
