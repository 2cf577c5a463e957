"""Varied activity on a running simulator through its admin API: churn rounds mixed with every
kind of admin mutation (PRs, labels, people, milestones, locks, auto-merge, merge queue, check
runs and suites, repositories and installations), so that every webhook action comes out.

Used by the schema test (over ASGI) and by ``bench.webhook_check`` (over HTTP). A mutation
the world refuses for the state it picked (422) is counted, not an error: the driver picks at
random from the truth it last read.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

MUTATIONS_PER_ROUND = 6
LABELS = ("bug", "enhancement", "ci")
PEOPLE = ("dev-01", "dev-02", "dev-03", "reviewer-9")


class AdminDriver:
    """Drives one simulator; `outcomes` counts each mutation by name and status code."""

    def __init__(self, client: httpx.AsyncClient, *, seed: int = 0) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.rounds = 0
        self.outcomes: Counter[str] = Counter()
        self.truth: dict[str, Any] = {}

    async def round(self, *, churn: dict[str, Any] | None = None) -> None:
        """One churn call, then a few random admin mutations."""
        knobs = {"pr_fraction": 0.15, "check_fraction": 0.4, "installation_fraction": 0.05}
        knobs |= {"seed": self.rng.randrange(1 << 30), "new_prs": self.rng.choice((0, 0, 1))}
        await self._call("churn", "POST", "/_sim/churn", knobs | (churn or {}))
        self.truth = (await self.client.get("/_sim/truth")).json()
        for _ in range(MUTATIONS_PER_ROUND):
            await self.rng.choice(self._mutations())()
        await self.client.post("/_sim/clock/advance", json={"seconds": 60})  # a manual clock
        self.rounds += 1

    async def _call(self, name: str, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(method, path, json=body)
        self.outcomes[f"{name} {response.status_code}"] += 1
        if response.status_code >= 500:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.status_code < 300 else None

    def _mutations(self) -> list[Callable[[], Awaitable[None]]]:
        return [
            self._open_pr,
            self._edit_pr,
            self._labels,
            self._people,
            self._milestone,
            self._lock,
            self._auto_merge,
            self._merge_queue,
            self._push_or_close,
            self._check_run,
            self._check_suite,
            self._installation,
            self._repository,
        ]

    # ---- picking ----------------------------------------------------------------------------
    def _repo(self) -> dict[str, Any] | None:
        live = [
            r
            for r in self.truth.get("repositories", [])
            if r["installation_id"] and not r["deleted"]
        ]
        return self.rng.choice(live) if live else None

    def _pr(self, state: str | None = "open") -> tuple[str, dict[str, Any]] | None:
        repo = self._repo()
        if repo is None:
            return None
        prs = [
            pr
            for pr in self.truth["pull_requests"]
            if pr["repository_id"] == repo["id"] and (state is None or pr["state"] == state)
        ]
        if not prs:
            return None
        pr = self.rng.choice(prs)
        return f"/_sim/repos/{repo['full_name']}/pulls/{pr['number']}", pr

    # ---- mutations --------------------------------------------------------------------------
    async def _open_pr(self) -> None:
        repo = self._repo()
        if repo is not None:
            body = {"title": f"Change {self.rng.randrange(1000)}", "checks": True}
            body["draft"] = self.rng.random() < 0.2
            if self.rng.random() < 0.3:
                body["body"] = ""  # PRs without a description exist too
            await self._call("open", "POST", f"/_sim/repos/{repo['full_name']}/pulls", body)

    async def _edit_pr(self) -> None:
        if picked := self._pr():
            path, pr = picked
            edit = self.rng.choice(
                (
                    {"title": pr["title"] + " (edited)"},
                    {"body": self.rng.choice(("", "Now with a description."))},
                    {"base": self.rng.choice(("main", "develop"))},
                    {"draft": not pr["draft"]},
                )
            )
            await self._call("edit", "PATCH", path, edit)

    async def _labels(self) -> None:
        if picked := self._pr():
            path, pr = picked
            label = self.rng.choice(LABELS)
            if label in pr["labels"]:
                await self._call("unlabel", "DELETE", f"{path}/labels/{label}")
            else:
                await self._call("label", "POST", f"{path}/labels", {"labels": [label]})

    async def _people(self) -> None:
        if picked := self._pr():
            path, _ = picked
            kind, key = self.rng.choice(
                (("assignees", "assignees"), ("requested_reviewers", "reviewers"))
            )
            method = self.rng.choice(("POST", "POST", "DELETE"))
            body = {key: [self.rng.choice(PEOPLE)]}
            await self._call(f"{kind} {method}", method, f"{path}/{kind}", body)

    async def _milestone(self) -> None:
        if picked := self._pr(None):
            path, _ = picked
            title = self.rng.choice(("v1.0", "v2.0", None))
            await self._call("milestone", "PUT", f"{path}/milestone", {"milestone": title})

    async def _lock(self) -> None:
        if picked := self._pr(None):
            path, _ = picked
            if self.rng.random() < 0.5:
                reason = self.rng.choice(("resolved", "off-topic", "too heated", "spam", None))
                await self._call("lock", "PUT", f"{path}/lock", {"lock_reason": reason})
            else:
                await self._call("unlock", "DELETE", f"{path}/lock")

    async def _auto_merge(self) -> None:
        if picked := self._pr():
            path, _ = picked
            if self.rng.random() < 0.6:
                method = self.rng.choice(("merge", "squash", "rebase"))
                await self._call(
                    "auto-merge", "PUT", f"{path}/auto-merge", {"merge_method": method}
                )
            else:
                await self._call("auto-merge off", "DELETE", f"{path}/auto-merge", {"reason": ""})

    async def _merge_queue(self) -> None:
        if picked := self._pr():
            path, _ = picked
            if self.rng.random() < 0.6:
                await self._call("enqueue", "PUT", f"{path}/merge-queue")
            else:
                reason = self.rng.choice(("MANUAL", "CI_FAILURE"))
                await self._call("dequeue", "DELETE", f"{path}/merge-queue", {"reason": reason})

    async def _push_or_close(self) -> None:
        if picked := self._pr(None):
            path, pr = picked
            if pr["state"] == "closed":
                await self._call("reopen", "PATCH", path, {"state": "open"})
            elif self.rng.random() < 0.5:
                await self._call("push", "POST", f"{path}/push", {"checks": True})
            elif self.rng.random() < 0.5:
                await self._call("merge", "POST", f"{path}/merge")
            else:
                await self._call("close", "PATCH", path, {"state": "closed"})

    def _run(self) -> dict[str, Any] | None:
        runs = self.truth.get("check_runs", [])[-300:]  # recent ones: their PRs are likely open
        return self.rng.choice(runs) if runs else None

    async def _check_run(self) -> None:
        run = self._run()
        if run is None:
            return
        path = f"/_sim/check-runs/{run['id']}"
        if run["status"] != "completed":
            if self.rng.random() < 0.3:
                await self._call("run start", "PATCH", path, {"status": "in_progress"})
                return
            conclusion = self.rng.choice(("success", "failure", "neutral", "action_required"))
            actions = ["fix"] if conclusion in ("failure", "action_required") else []
            body = {"status": "completed", "conclusion": conclusion, "actions": actions}
            await self._call("run complete", "PATCH", path, body)
        elif self.rng.random() < 0.5:
            await self._call("rerun", "POST", f"{path}/rerun")
        else:
            body = {"identifier": "fix"}
            await self._call("requested-action", "POST", f"{path}/requested-action", body)

    async def _check_suite(self) -> None:
        if run := self._run():
            suite = run["check_suite_id"]
            await self._call("suite rerequest", "POST", f"/_sim/check-suites/{suite}/rerequest")

    async def _installation(self) -> None:
        live = [i for i in self.truth.get("installations", []) if not i["deleted"]]
        if not live:
            return
        inst = self.rng.choice(live)["id"]
        roll = self.rng.random()
        if roll < 0.4:
            permissions = {self.rng.choice(("statuses", "issues", "members")): "read"}
            body = {"permissions": permissions}
            await self._call("permissions", "POST", f"/_sim/installations/{inst}/permissions", body)
        elif roll < 0.7:
            await self._call("suspend", "POST", f"/_sim/installations/{inst}/suspend")
            await self._call("unsuspend", "POST", f"/_sim/installations/{inst}/unsuspend")
        else:
            account = f"acct-{self.rng.randrange(1 << 20)}"
            created = await self._call(
                "install", "POST", "/_sim/installations", {"account": account}
            )
            if created and self.rng.random() < 0.5:
                await self._call("uninstall", "DELETE", f"/_sim/installations/{created['id']}")

    async def _repository(self) -> None:
        repo = self._repo()
        if repo is None:
            return
        inst, path = repo["installation_id"], f"/_sim/repos/{repo['full_name']}"
        roll = self.rng.random()
        if roll < 0.4:
            name = f"extra-{self.rng.randrange(1 << 20)}"
            owner = repo["full_name"].split("/")[0]
            body = {"owner": owner, "name": name, "installation_id": inst}
            await self._call("repo create", "POST", "/_sim/repos", body)
        elif roll < 0.7:
            where = f"/_sim/installations/{inst}/repositories/{repo['id']}"
            await self._call("repo remove", "DELETE", where)
            await self._call("repo add", "POST", where)
        elif roll < 0.9:
            new_name = repo["full_name"].split("/")[1] + "-r"
            await self._call("rename", "POST", f"{path}/rename", {"name": new_name})
        else:
            await self._call("transfer", "POST", f"{path}/transfer", {"new_owner": "new-home"})
