"""API URLs: joining paths to the base, keeping credentials on it, labelling routes."""

from __future__ import annotations

import re

import httpx

from prwatch.github.errors import UnexpectedResponse

_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


GHES_REST_SUFFIX = "/api/v3"


def graphql_url_for(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST base URL.

    api.github.com (and any base not ending in ``/api/v3``) → ``{base}/graphql``; GitHub
    Enterprise Server serves REST at ``https://HOST/api/v3`` but GraphQL at
    ``https://HOST/api/graphql``, not under ``/api/v3``.
    https://docs.github.com/en/enterprise-server@latest/graphql/guides/forming-calls-with-graphql#the-graphql-endpoint
    """
    base = api_url.rstrip("/")
    if base.endswith(GHES_REST_SUFFIX):
        return base.removesuffix(GHES_REST_SUFFIX) + "/api/graphql"
    return base + "/graphql"


def route_label(method: str, path: str) -> str:
    """``POST /app/hook/deliveries/123/attempts`` → ``POST /app/hook/deliveries/{id}/attempts``."""
    return f"{method} {_NUMERIC_SEGMENT.sub('/{id}', path.split('?', 1)[0])}"


def resolve_url(base: httpx.URL, path_or_url: str, *, what: str = "URL") -> httpx.URL:
    """A path joins ``base``; an absolute URL (a Link or Location from GitHub) must lie under
    it, so that a token is never sent to another host."""
    if path_or_url.startswith(("http://", "https://")):
        url = httpx.URL(path_or_url)
        same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        if not same_origin or not (url.path + "/").startswith(base.path):
            raise UnexpectedResponse(
                f"{what} {url.scheme}://{url.host}{url.path} is not under the API base URL {base}"
            )
        return url
    if not path_or_url.startswith("/"):
        raise ValueError(f"a GitHub API path starts with '/', got {path_or_url!r}")
    return base.join(path_or_url.lstrip("/"))


def links_of(response: httpx.Response) -> dict[str, str]:
    """The Link header by rel; GitHub's URLs there are absolute."""
    return {rel: link["url"] for rel, link in response.links.items() if rel and link.get("url")}
