"""``prwatch register``: create the GitHub App from its manifest and write its credentials."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED = 1


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "register",
        help="register the GitHub App from app-manifest.yml and write its credentials",
        description="Serves a local page that posts prwatch's App manifest to GitHub; after you "
        "confirm there, converts GitHub's code and writes the App id, private key and webhook "
        "secret to an env file (mode 0600).",
    )
    parser.add_argument("--org", help="create the App in this organisation (default: your user)")
    parser.add_argument(
        "--webhook-url",
        help="public URL of prwatch's POST /webhooks (default: webhooks off until set on GitHub)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="local port of the page (default: any free port)"
    )
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="where to write (default: .env)"
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        help="where to write the private key (default: prwatch-private-key.pem beside the env "
        "file)",
    )
    parser.add_argument(
        "--github-url",
        default="https://github.com",
        help="GitHub's web URL (default: https://github.com); the API URL is "
        "PRWATCH_GITHUB_API_URL",
    )
    parser.add_argument("--manifest", type=Path, help="the manifest (default: app-manifest.yml)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prwatch.config import load_settings
    from prwatch.register.env_file import credential_files
    from prwatch.register.errors import RegistrationError
    from prwatch.register.manifest import default_manifest_path, require_http_url
    from prwatch.register.server import RegistrationOptions, run_registration

    settings = load_settings()
    try:
        if not 0 <= args.port <= 65535:
            raise RegistrationError(f"--port must be between 0 and 65535, got {args.port}")
        options = RegistrationOptions(
            manifest_path=args.manifest or default_manifest_path(),
            files=credential_files(args.env_file, args.key_file),
            github_url=require_http_url(args.github_url, "--github-url"),
            api_url=settings.github_api_url,
            org=args.org,
            webhook_url=(
                require_http_url(args.webhook_url, "--webhook-url") if args.webhook_url else None
            ),
            port=args.port,
            force=args.force,
        )
        outcome = asyncio.run(run_registration(options, _announce))
    except RegistrationError as error:
        print(f"prwatch register: {error}", file=sys.stderr)
        return EXIT_FAILED
    if outcome.registration is None:
        print(f"prwatch register: {outcome.error}", file=sys.stderr)
        return EXIT_FAILED
    app = outcome.registration
    files = options.files
    print(f"Registered the GitHub App {app.slug or app.app_id} (id {app.app_id}).")
    print(f"Wrote {files.env_path} and {files.key_path} (both mode 0600). Next:")
    if app.html_url:
        print(f"  1. install the App on your repositories: {app.html_url}/installations/new")
    else:
        print("  1. install the App on your repositories from its settings page on GitHub")
    if options.webhook_url is None:
        print("     webhooks are off: set the webhook URL (…/webhooks) in the App's settings")
    if app.webhook_secret is None:
        print("     GitHub sent no webhook secret: set one there and as PRWATCH_WEBHOOK_SECRET")
    print(f"  2. set -a; . {files.env_path}; set +a   (or docker compose reads .env)")
    print("  3. prwatch db upgrade")
    print("  4. prwatch serve   and   prwatch worker (with PRWATCH_REDIS_URL)")
    return 0


def _announce(url: str) -> None:
    print(f"Open {url} in a browser to create the App on GitHub (waiting for GitHub's redirect).")
    sys.stdout.flush()
