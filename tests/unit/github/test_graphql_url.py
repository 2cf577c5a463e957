"""Where GraphQL lives for a REST base URL, and the setting that overrides it."""

from __future__ import annotations

import pytest

from prwatch.config import ConfigError, load_settings
from prwatch.context import create_github_client
from prwatch.github.urls import graphql_url_for
from prwatch.sim.auth import generate_private_key_pem


@pytest.mark.parametrize(
    ("api_url", "graphql_url"),
    [
        ("https://api.github.com", "https://api.github.com/graphql"),
        ("https://api.github.com/", "https://api.github.com/graphql"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/graphql"),
        ("https://api.octocorp.ghe.com", "https://api.octocorp.ghe.com/graphql"),
    ],
)
def test_graphql_url_belongs_to_the_rest_base(api_url: str, graphql_url: str) -> None:
    assert graphql_url_for(api_url) == graphql_url


def test_settings_derive_or_override_the_graphql_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PRWATCH_GITHUB_API_URL", "PRWATCH_GITHUB_GRAPHQL_URL"):
        monkeypatch.delenv(name, raising=False)
    key = generate_private_key_pem()
    ghes = "https://ghe.example.com/api/v3"
    derived = load_settings(github_api_url=ghes, app_id=1, private_key=key)
    assert derived.github_graphql_url is None
    client = create_github_client(derived)
    assert client.graphql_url == "https://ghe.example.com/api/graphql"
    monkeypatch.setenv("PRWATCH_GITHUB_GRAPHQL_URL", "https://gql.example.com/custom/")
    overridden = load_settings(app_id=1, private_key=key)
    assert overridden.github_graphql_url == "https://gql.example.com/custom"
    assert create_github_client(overridden).graphql_url == "https://gql.example.com/custom"
    monkeypatch.setenv("PRWATCH_GITHUB_GRAPHQL_URL", "ftp://nope")
    with pytest.raises(ConfigError, match="PRWATCH_GITHUB_GRAPHQL_URL"):
        load_settings()
