"""What an installation may read, as GitHub decides it from the permissions it accepted.

A REST route or GraphQL field that the installation's permissions do not grant answers
"Resource not accessible by integration": a 403 over REST, a `FORBIDDEN` error and a null
field over GraphQL. Metadata is granted to every App. The App's permissions and events are
those of the manifest it was registered from: prwatch's own `app-manifest.yml` until a
manifest conversion (`POST /app-manifests/{code}/conversions`) replaces them.
https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps
https://docs.github.com/en/graphql/guides/forming-calls-with-graphql#authenticating-with-a-github-app
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prwatch.sim import payloads

FORBIDDEN_MESSAGE = "Resource not accessible by integration"
FORBIDDEN_TYPE = "FORBIDDEN"
_LEVELS = {"read": 1, "write": 2, "admin": 3}
ALWAYS_GRANTED = {"metadata": "read"}
# Delivered to every App whatever it subscribes to.
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#installation
ALWAYS_DELIVERED = frozenset({"installation", "installation_repositories"})


def grants(permissions: Mapping[str, str], permission: str, level: str = "read") -> bool:
    granted = permissions.get(permission) or ALWAYS_GRANTED.get(permission, "")
    return _LEVELS.get(granted, 0) >= _LEVELS[level]


@dataclass(slots=True)
class AppGrants:
    """The permissions and webhook events of the App's manifest."""

    permissions: dict[str, str] = field(default_factory=lambda: dict(payloads.PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(payloads.EVENTS))

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> AppGrants:
        """`default_permissions` and `default_events` of a manifest (absent: none)."""
        raw_permissions = manifest.get("default_permissions") or {}
        raw_events = manifest.get("default_events") or []
        if not isinstance(raw_permissions, Mapping) or not isinstance(raw_events, list):
            raise ValueError("default_permissions must be a mapping, default_events a list")
        permissions = {str(name): str(level) for name, level in raw_permissions.items()}
        unknown = sorted(level for level in permissions.values() if level not in _LEVELS)
        if unknown:
            raise ValueError(f"unknown permission levels: {', '.join(unknown)}")
        return cls({**ALWAYS_GRANTED, **permissions}, [str(event) for event in raw_events])

    @classmethod
    def of_prwatch(cls) -> AppGrants:
        """prwatch's `app-manifest.yml` when this is a source checkout (or the current folder
        holds one), else the simulator's built-in grants."""
        from prwatch.register.errors import RegistrationError
        from prwatch.register.manifest import default_manifest_path, load_manifest

        path = default_manifest_path()
        if not path.is_file():
            return cls()
        try:
            return cls.from_manifest(load_manifest(path))
        except (RegistrationError, ValueError):
            return cls()

    def subscribed(self, event: str) -> bool:
        return event in ALWAYS_DELIVERED or event in self.events
