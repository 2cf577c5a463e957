"""What every server-rendered page shares: the Jinja environment, value filters, links to
GitHub, and one way to answer with a page or with its live part only."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from prwatch.domain.models import CheckRunSnapshot, FieldValue
from prwatch.web.access import caller
from prwatch.web.sessions import SessionReader
from prwatch.web.webhooks import request_context

FRAGMENT_PARAMETER = "fragment"  # ?fragment=1: only the part that updates live


def show_value(value: FieldValue) -> str:
    """A change's old or new value, short and readable."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    text = str(value)
    if len(text) == 40 and all(c in "0123456789abcdef" for c in text):
        return text[:7]  # a commit SHA
    return text


def badge_class(run: CheckRunSnapshot) -> str:
    """The CSS class of a check run's badge: its conclusion once completed, else its status."""
    if run.status == "completed":
        return f"badge-{run.conclusion or 'neutral'}"
    return f"badge-{run.status}"


@cache
def templates() -> Environment:
    """Built on first use, not at import."""
    environment = Environment(
        loader=PackageLoader("prwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["value"] = show_value
    environment.filters["badge"] = badge_class
    return environment


def github_web_url(api_url: str) -> str:
    """GitHub's web address for its API's: github.com for api.github.com, HOST for an
    Enterprise Server's https://HOST/api/v3, else the API's own origin (the simulator)."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.hostname == "api.github.com":
        return "https://github.com"
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin


def wants_fragment(request: Request) -> bool:
    return request.query_params.get(FRAGMENT_PARAMETER) == "1"


def render_page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The whole page, or with ``?fragment=1`` only its live part (what the page's script
    fetches to update itself without a reload)."""
    settings = request_context(request).settings
    context = {
        "root": request.scope.get("root_path", ""),
        "signed_in": signed_in_context(request),
        "github_url": github_web_url(settings.github_api_url),
        "fragment": wants_fragment(request),
        **context,
    }
    html = templates().get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code)


def signed_in_context(request: Request) -> dict[str, str] | None:
    """The signed-in person's name and the CSRF token of their sign-out form."""
    who = caller(request)
    reader = getattr(request.app.state, "session_reader", None)
    if who.session_hash is None or not isinstance(reader, SessionReader):
        return None
    return {"login": who.name, "csrf": reader.csrf_token(who.session_hash)}


def not_found_page(request: Request, what: str) -> HTMLResponse:
    return render_page(request, "not_found.html", {"what": what}, status_code=404)


def unavailable_page(request: Request) -> HTMLResponse:
    return render_page(request, "unavailable.html", {}, status_code=503)
