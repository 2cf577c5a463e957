"""Checks webhook payloads against GitHub's own payload schemas (octokit/webhooks, vendored in
``fixtures/github-webhook-schemas``): one schema per event and action, ``$ref``s into
``common/`` resolved through a `referencing` Registry over that folder.

Formats are checked too (``date-time`` as RFC 3339, ``uri`` with a scheme), because a
timestamp or URL in the wrong form is exactly what a receiver trips over. What the schemas
lag behind GitHub (listed in the folder's README) is taken out of a copy of the payload
before validating, so that a real delivery GitHub sends today still validates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker, validators
from jsonschema import _keywords as keywords
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "github-webhook-schemas"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_GITHUB_LEGACY_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class SchemasMissingError(FileNotFoundError):
    """The schema folder is not where it should be: a broken checkout, never a reason to skip."""


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_RFC3339.match(value))

    @checker.checks("uri")
    def uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme == "mailto")

    return checker


class _CleanRefs:
    """A `$ref` keyword that remembers which (schema, instance) pairs validated clean.

    Every delivery embeds the same repository, users and apps again; validating each once
    makes a run of thousands of deliveries several times cheaper. Only clean results are
    remembered (errors carry paths that the caller extends), keyed by the referring schema
    object (which fixes the base URI the reference resolves against) and the instance's JSON.
    """

    LIMIT = 20_000

    def __init__(self) -> None:
        self.clean: set[tuple[int, str, str]] = set()

    def __call__(self, validator: Any, ref: str, instance: Any, schema: Any) -> Any:
        if not isinstance(instance, dict):
            yield from keywords.ref(validator, ref, instance, schema)
            return
        key = (id(schema), ref, json.dumps(instance, sort_keys=True))
        if key in self.clean:
            return
        errors = list(keywords.ref(validator, ref, instance, schema))
        if not errors:
            if len(self.clean) >= self.LIMIT:
                self.clean.clear()
            self.clean.add(key)
        yield from errors


def without_known_lag(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` without what GitHub sends but the schemas do not know yet (see the schema
    folder's README); the simulator is not "fixed" to drop these. Copies only what it changes.
    """
    data = dict(payload)
    installation = data.get("installation")
    if isinstance(installation, dict) and "client_id" in installation:
        data["installation"] = {k: v for k, v in installation.items() if k != "client_id"}
    if event == "repository" and data.get("action") == "transferred":
        owner_from = data.get("changes", {}).get("owner", {}).get("from")
        if isinstance(owner_from, dict) and "organization" in owner_from:
            data["changes"] = (
                {"owner": {"from": {"user": owner_from["user"]}}}
                if "user" in (owner_from)
                else {"owner": {"from": {}}}
            )
    run = data.get("check_run")
    if isinstance(run, dict):
        run = data["check_run"] = _legacy_app_times(run)
        if isinstance(run.get("check_suite"), dict):
            run["check_suite"] = _legacy_app_times(run["check_suite"])
    return data


def _legacy_app_times(holder: dict[str, Any]) -> dict[str, Any]:
    """Real `check_run` payloads carry `app.created_at` like `2018-04-25 20:42:10`."""
    app = holder.get("app")
    if not isinstance(app, dict):
        return holder
    fixed = {
        key: value.replace(" ", "T") + "Z"
        for key in ("created_at", "updated_at")
        if isinstance(value := app.get(key), str) and _GITHUB_LEGACY_TIME.match(value)
    }
    return {**holder, "app": {**app, **fixed}} if fixed else holder


@dataclass(frozen=True, slots=True)
class Problem:
    event: str
    action: str | None
    path: str  # where in the payload, dotted
    message: str

    def __str__(self) -> str:
        return f"{self.event}.{self.action}: {self.path or '(top)'}: {self.message}"


@dataclass
class Tally:
    """Deliveries checked, how many were valid, and the problems of the others."""

    checked: int = 0
    valid: int = 0
    actions: dict[str, int] = field(default_factory=dict)  # "event.action" -> deliveries
    problems: dict[str, int] = field(default_factory=dict)  # problem text -> deliveries
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def percent_valid(self) -> float:
        return 100.0 * self.valid / self.checked if self.checked else 100.0


class WebhookSchemas:
    """The schema of every event and action in one folder; validates payloads against them."""

    def __init__(self, root: Path = SCHEMAS) -> None:
        if not (root / "common").is_dir():
            raise SchemasMissingError(f"GitHub's webhook schemas are not in {root}")
        self.root = root
        resources: list[tuple[str, Resource[Any]]] = []
        self._ids: dict[tuple[str, str], str] = {}
        for path in sorted(root.glob("*/*.schema.json")):
            contents = json.loads(path.read_text())
            resource = DRAFT7.create_resource(contents)
            relative = f"{path.parent.name}/{path.name}"
            resources.append((relative, resource))
            if contents.get("$id") and contents["$id"] != relative:
                resources.append((contents["$id"], resource))
            if path.parent.name != "common":
                self._ids[(path.parent.name, path.name.removesuffix(".schema.json"))] = relative
        self.registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Any] = {}
        self._checker = _format_checker()
        self._class = validators.extend(Draft7Validator, {"$ref": _CleanRefs()})

    @cached_property
    def known(self) -> frozenset[tuple[str, str]]:
        """Every (event, action) with a schema."""
        return frozenset(self._ids)

    def actions(self, event: str) -> frozenset[str]:
        return frozenset(action for ev, action in self._ids if ev == event)

    def _validator(self, event: str, action: str) -> Any:
        relative = self._ids.get((event, action))
        if relative is None:
            return None
        found = self._validators.get(relative)
        if found is None:
            schema = self.registry[relative].contents
            found = self._validators[relative] = self._class(
                schema, registry=self.registry, format_checker=self._checker
            )
        return found

    def problems(self, event: str, payload: dict[str, Any]) -> list[Problem]:
        """What is wrong with one delivery's payload (empty: valid)."""
        action = payload.get("action")
        if event == "status":
            action = "event"  # the status event has no action; its schema is `event`
        if not isinstance(action, str):
            return [Problem(event, None, "action", "no action")]
        validator = self._validator(event, action)
        if validator is None:
            return [Problem(event, action, "", "no schema for this event and action")]
        found = []
        for error in validator.iter_errors(without_known_lag(event, payload)):
            path = ".".join(str(part) for part in error.absolute_path)
            found.append(Problem(event, action, _generic(path), _describe(error)))
        return found

    def tally(self, deliveries: Iterable[tuple[str, dict[str, Any]]]) -> Tally:
        result = Tally()
        for event, payload in deliveries:
            result.checked += 1
            key = f"{event}.{payload.get('action', 'event')}"
            result.actions[key] = result.actions.get(key, 0) + 1
            problems = self.problems(event, payload)
            if not problems:
                result.valid += 1
            for text in sorted({str(problem) for problem in problems}):
                result.problems[text] = result.problems.get(text, 0) + 1
                result.examples.setdefault(text, payload)
        return result


def _generic(path: str) -> str:
    """`pull_request.labels.3.name` → `pull_request.labels.*.name`: one problem, not one per
    index."""
    return re.sub(r"(^|\.)\d+(?=\.|$)", r"\1*", path)


def _describe(error: Any) -> str:
    """A short message that is the same for the same problem in any delivery."""
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        return f"unexpected properties {extra}"
    if error.validator == "required":
        return str(error.message).split(" is a required")[0] + " is required"
    if error.validator in ("oneOf", "anyOf"):
        reasons = sorted({_describe(sub) for sub in error.context or ()})[:3]
        return f"matches no alternative ({'; '.join(reasons)})"
    if error.validator in ("enum", "const", "type", "format"):
        value = json.dumps(error.instance)[:60]
        return f"{value} fails {error.validator} {json.dumps(error.validator_value)[:80]}"
    return str(error.message)[:160]
