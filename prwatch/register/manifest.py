"""The App manifest: read ``app-manifest.yml`` and fill in the URLs of one registration.

https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from prwatch.register.errors import RegistrationError

MANIFEST_FILE_NAME = "app-manifest.yml"
REQUIRED_FIELDS = ("name", "default_permissions", "default_events")


def default_manifest_path() -> Path:
    """``app-manifest.yml`` in the current directory, else the one of this source checkout."""
    here = Path.cwd() / MANIFEST_FILE_NAME
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[2] / MANIFEST_FILE_NAME


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest as a dict; ``RegistrationError`` when unreadable or missing a field."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise RegistrationError(f"cannot read the manifest {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise RegistrationError(f"the manifest {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise RegistrationError(f"the manifest {path} must be a mapping")
    missing = [name for name in REQUIRED_FIELDS if not data.get(name)]
    if missing:
        raise RegistrationError(f"the manifest {path} lacks {', '.join(missing)}")
    return data


def fill_manifest(
    manifest: dict[str, Any], *, redirect_url: str, webhook_url: str | None
) -> dict[str, Any]:
    """A copy with this registration's URLs. Without a webhook URL the hook is left inactive:
    GitHub refuses an active hook without a URL, and the sweep alone still keeps prwatch exact
    (only later); the URL can be set in the App's settings afterwards."""
    filled = copy.deepcopy(manifest)
    filled["redirect_url"] = redirect_url
    hook = dict(filled.get("hook_attributes") or {})
    if webhook_url is None:
        hook.pop("url", None)
        hook["active"] = False
    else:
        hook["url"] = webhook_url
        hook["active"] = True
        # Sign in with GitHub comes back to the same site: https://HOST/login/callback.
        site = webhook_url.rstrip("/").removesuffix("/webhooks")
        filled["callback_urls"] = [f"{site}/login/callback"]
    filled["hook_attributes"] = hook
    return filled


def require_http_url(value: str, what: str) -> str:
    """``value`` without a trailing slash if it is an http(s) URL with a host."""
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise RegistrationError(f"{what} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")
