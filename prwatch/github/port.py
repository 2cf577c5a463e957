"""``GitHubApi``: what the sweep and the delivery ledger need from GitHub, as a port.

``GitHubClient`` implements it; tests of the callers implement it with hand-written fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from prwatch.github.responses import ApiResponse, GraphQLResponse
from prwatch.github.stats import RequestStats

Params = Mapping[str, str | int] | None


class RestReader(Protocol):
    """An installation-token GET: all that paging and most of the sweep need."""

    async def get(
        self,
        path_or_url: str,
        *,
        installation_id: int,
        route: str,
        params: Params = None,
        etag: str | None = None,
        spend_reserve: bool = False,
    ) -> ApiResponse: ...


class GraphQLApi(Protocol):
    """An installation-token GraphQL query."""

    async def graphql(
        self,
        query: str,
        *,
        installation_id: int,
        variables: Mapping[str, Any] | None = None,
        spend_reserve: bool = False,
    ) -> GraphQLResponse: ...


class GitHubApi(RestReader, GraphQLApi, Protocol):
    @property
    def stats(self) -> RequestStats: ...

    def remaining(self, installation_id: int, resource: str = "core") -> int | None: ...

    def token_fingerprint(self, installation_id: int) -> str | None: ...

    async def app_get(
        self, path_or_url: str, params: Params = None, *, route: str | None = None
    ) -> ApiResponse: ...

    async def app_post(
        self, path: str, json_body: Any = None, *, route: str | None = None
    ) -> ApiResponse: ...
