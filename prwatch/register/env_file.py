"""Writing the new App's credentials: the key in its own file, the rest as an env file.

Both are created with mode 0600 from the start (``os.open`` with the mode, never a chmod after
the fact, so the secrets are never readable by others even for a moment).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from prwatch.register.conversion import AppRegistration
from prwatch.register.errors import RegistrationError

SECRET_FILE_MODE = 0o600
DEFAULT_API_URL = "https://api.github.com"
# Written unquoted, so that both `set -a; . ./.env` and docker compose read the same value.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_./:@+=-]*")


@dataclass(frozen=True, slots=True)
class CredentialFiles:
    env_path: Path
    key_path: Path


def credential_files(env_path: Path, key_path: Path | None) -> CredentialFiles:
    """Absolute paths; the key defaults to ``prwatch-private-key.pem`` beside the env file."""
    env = env_path.expanduser().absolute()
    key = key_path.expanduser().absolute() if key_path else env.parent / "prwatch-private-key.pem"
    if env == key:
        raise RegistrationError("the env file and the key file must be different files")
    return CredentialFiles(env, key)


def check_writable(files: CredentialFiles, *, force: bool) -> None:
    """Fail before anything happens on GitHub rather than after: an App's key is shown once."""
    for path in (files.env_path, files.key_path):
        if path.exists() and not force:
            raise RegistrationError(f"{path} exists; pass --force to overwrite it")
        if path.exists() and not path.is_file():
            raise RegistrationError(f"{path} is not a regular file")
        if not path.parent.is_dir():
            raise RegistrationError(f"no such directory: {path.parent}")


def env_lines(registration: AppRegistration, key_path: Path, api_url: str) -> list[str]:
    values: list[tuple[str, str]] = [
        ("PRWATCH_APP_ID", str(registration.app_id)),
        ("PRWATCH_PRIVATE_KEY_PATH", str(key_path)),
    ]
    if registration.webhook_secret is not None:
        values.append(("PRWATCH_WEBHOOK_SECRET", registration.webhook_secret))
    if registration.client_id is not None and registration.client_secret is not None:
        values.append(("PRWATCH_CLIENT_ID", registration.client_id))
        values.append(("PRWATCH_CLIENT_SECRET", registration.client_secret))
    if api_url.rstrip("/") != DEFAULT_API_URL:
        values.append(("PRWATCH_GITHUB_API_URL", api_url.rstrip("/")))
    lines = [f"# GitHub App {registration.slug or registration.app_id}, from prwatch register"]
    for name, value in values:
        if not _PLAIN_VALUE.fullmatch(value):
            raise RegistrationError(f"{name} holds characters an env file cannot carry plainly")
        lines.append(f"{name}={value}")
    return lines


def write_credentials(
    registration: AppRegistration, files: CredentialFiles, *, api_url: str, force: bool
) -> None:
    """Write the key file, then the env file; on failure neither is left behind."""
    check_writable(files, force=force)
    text = "\n".join(env_lines(registration, files.key_path, api_url)) + "\n"
    _write_private(files.key_path, registration.private_key_pem, force=force)
    try:
        _write_private(files.env_path, text, force=force)
    except RegistrationError:
        files.key_path.unlink(missing_ok=True)
        raise


def _write_private(path: Path, text: str, *, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, SECRET_FILE_MODE)
        # An overwritten file keeps its old mode: tighten it before writing a secret into it.
        os.fchmod(descriptor, SECRET_FILE_MODE)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
    except OSError as error:
        raise RegistrationError(f"cannot write {path}: {error.strerror}") from None
