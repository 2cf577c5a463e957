"""Settings: the only place that reads the environment.

Every name here is a public interface (``PRWATCH_*``): keep them. Nothing is read at import
time; ``load_settings()`` reads and validates, and raises ``ConfigError`` with one message per
bad variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "PRWATCH_"
MIN_WEBHOOK_SECRET_LENGTH = 16


class ConfigError(Exception):
    """A missing or invalid setting. The message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    database_url: str = Field(
        "sqlite+aiosqlite:///./prwatch.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for the arq queue; unset runs the embedded in-process queue"
    )
    github_api_url: str = Field("https://api.github.com", description="GitHub REST base URL")
    github_graphql_url: str | None = Field(
        None,
        description="GitHub GraphQL URL; unset: derived from PRWATCH_GITHUB_API_URL "
        "(https://HOST/api/v3 → https://HOST/api/graphql, else …/graphql)",
    )
    app_id: int | None = Field(None, description="The GitHub App's id")
    private_key: str | None = Field(None, description="The App's private key (PEM text)")
    private_key_path: Path | None = Field(None, description="File holding the App's private key")
    webhook_secret: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Webhook secret(s), comma-separated: every listed one is accepted"
    )
    sweep_interval_seconds: float = Field(
        300, gt=0, description="Seconds between two reconcile sweeps"
    )
    sweep_max_concurrent_repositories: int = Field(
        16, ge=1, description="Repositories a sweep works on at once"
    )
    sweep_retry_attempts: int = Field(
        3, ge=1, description="Attempts per repository for transient GitHub or database errors"
    )
    sweep_backoff_seconds: float = Field(
        0.5, ge=0, description="First retry delay of a repository; doubles with each attempt"
    )
    sweep_transaction_timeout_seconds: float = Field(
        30, gt=0, description="Longest a repository's apply transaction may take"
    )
    sweep_conditional_requests: bool = Field(
        True, description="Send stored ETags (If-None-Match); off re-reads everything"
    )
    sweep_full_listing_interval_seconds: float = Field(
        86400, gt=0, description="How often a repository's PRs are listed in full"
    )
    delivery_claim_timeout_seconds: float = Field(
        600,
        gt=0,
        description="A delivery claimed this long ago by a job that never finished (its worker "
        "died) may be claimed again; keep it above the longest a delivery job may run",
    )
    github_request_timeout_seconds: float = Field(
        10, gt=0, description="Timeout of one GitHub request (GitHub itself cuts at 10 s)"
    )
    github_max_concurrency: int = Field(
        50, ge=1, description="GitHub requests in flight at once (GitHub allows 100)"
    )
    github_route_limit_per_minute: int = Field(
        800, ge=1, description="Requests per minute per REST route (GitHub allows 900)"
    )
    github_rate_limit_reserve: int = Field(
        500, ge=0, description="Rate-limit points a sweep leaves for the webhook path"
    )
    host: str = Field("127.0.0.1", description="Address `prwatch serve` listens on")
    port: int = Field(8000, ge=0, le=65535, description="Port `prwatch serve` listens on")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="Log lines as json, readable text, or auto: text on a terminal"
    )
    stream_keepalive_seconds: float = Field(
        15, gt=0, description="A comment line on a quiet change stream this often"
    )
    stream_client_buffer: int = Field(
        1000,
        ge=1,
        description="Changes a stream client may fall behind by before it is disconnected "
        "(it resumes from its last event id)",
    )
    stream_poll_seconds: float = Field(
        0.5,
        gt=0,
        description="How often a web process reads the change log for its streams when no "
        "PostgreSQL notification wakes it (SQLite)",
    )
    client_id: str | None = Field(
        None, description="The App's OAuth client id, for Sign in with GitHub"
    )
    client_secret: str | None = Field(
        None, description="The App's OAuth client secret, for Sign in with GitHub"
    )
    public_read: bool = Field(
        False,
        description="Serve the pages and the read API without a credential, public repositories "
        "only (for installations on public repositories)",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of a separate listener serving /metrics without a credential, for "
        "`prwatch serve` and `prwatch worker`; unset: none",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of the metrics listener")
    body_read_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest `prwatch serve` waits for a request's whole body (a slow drip "
        "answers 408)",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Connections and requests `prwatch serve` handles at once; more answer 503",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (got "
                f"{value.split(':', 1)[0]!r})"
            )
        return value

    @field_validator("redis_url", "github_graphql_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("github_api_url", "github_graphql_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _long_secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # A short secret is guessable, and the log redaction would replace it everywhere.
        short = [secret for secret in value if len(secret) < MIN_WEBHOOK_SECRET_LENGTH]
        if short:
            raise ValueError(
                f"each secret must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters "
                f"({len(short)} shorter)"
            )
        return value

    @field_validator("client_id", "client_secret", mode="before")
    @classmethod
    def _empty_client_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_port_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("private_key_path")
    @classmethod
    def _key_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    def app_private_key(self) -> str | None:
        """The App's PEM key, from PRWATCH_PRIVATE_KEY or the file PRWATCH_PRIVATE_KEY_PATH."""
        if self.private_key:
            return self.private_key
        if self.private_key_path is not None:
            try:
                return self.private_key_path.read_text()
            except OSError as error:
                raise ConfigError(
                    f"PRWATCH_PRIVATE_KEY_PATH: cannot read {self.private_key_path}: "
                    f"{error.strerror or error}"
                ) from None
        return None

    def require_app_credentials(self) -> tuple[int, str]:
        """App id and key for commands that talk to GitHub; a clear error when they are unset."""
        key = self.app_private_key()
        missing = [
            name
            for name, present in (
                ("PRWATCH_APP_ID", self.app_id is not None),
                ("PRWATCH_PRIVATE_KEY or PRWATCH_PRIVATE_KEY_PATH", key is not None),
            )
            if not present
        ]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set to talk to GitHub")
        assert self.app_id is not None and key is not None
        from prwatch.github.auth import load_private_key

        try:
            load_private_key(key)
        except (ValueError, TypeError):
            source = "PRWATCH_PRIVATE_KEY" if self.private_key else "PRWATCH_PRIVATE_KEY_PATH"
            raise ConfigError(
                f"{source}: not a PEM private key without a passphrase (the .pem file GitHub "
                "gave when the App was registered)"
            ) from None
        return self.app_id, key


def load_settings(**overrides: object) -> Settings:
    """Read PRWATCH_* from the environment (overrides win); ConfigError names each bad one."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        name = f"{ENV_PREFIX}{field.upper()}" if field else "configuration"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"invalid configuration: {name}: {message}")
    return "\n".join(lines)
