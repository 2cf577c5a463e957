"""``GET /api/openapi.json``: an OpenAPI 3.1 description of every route of the running app,
generated from the routes themselves. The read API's routes are declared as ``Endpoint``s
(their parameters and answer types give the details); every other route (webhooks, health,
pages) is described from its path, methods and docstring."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from prwatch.web.api_errors import error_code
from prwatch.web.api_schema import ErrorJson
from prwatch.web.endpoint import Endpoint

_CONVERTOR = re.compile(r"{([^}:]+):[^}]+}")
_REF = "#/components/schemas/{model}"


def openapi_path(path: str) -> str:
    """Starlette's ``{number:int}`` is OpenAPI's ``{number}``."""
    return _CONVERTOR.sub(r"{\1}", path)


def describe(routes: Iterable[BaseRoute], endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    declared = {endpoint.handler: endpoint for endpoint in endpoints}
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        endpoint = declared.get(route.endpoint)
        operations = paths.setdefault(openapi_path(route.path), {})
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":  # Starlette answers HEAD wherever it answers GET
                continue
            if endpoint is not None:
                operations[method.lower()] = _api_operation(endpoint, schemas)
            else:
                operations[method.lower()] = _plain_operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "prwatch",
            "version": _version(),
            "description": "The state of every pull request and check run of the App's "
            "installations, and the log of every change to them.",
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _api_operation(endpoint: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    handler_doc = inspect.getdoc(endpoint.handler) or endpoint.summary
    responses: dict[str, Any] = {}
    if endpoint.response is not None:
        body = {"schema": _schema_ref(endpoint.response, schemas)}
        responses["200"] = {"description": "OK", "content": {endpoint.media_type: body}}
    else:
        responses["200"] = {"description": "OK", "content": {endpoint.media_type: {}}}
    error_body = {"application/json": {"schema": _schema_ref(ErrorJson, schemas)}}
    for status in sorted({*endpoint.errors, 404, 405, 500}):
        responses[str(status)] = {"description": error_code(status), "content": error_body}
    return {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "description": handler_doc,
        "parameters": [parameter.openapi() for parameter in endpoint.parameters],
        "responses": responses,
    }


def _plain_operation(route: Route) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or route.name
    summary = doc.split("\n\n", 1)[0].replace("\n", " ")
    return {
        "operationId": f"{route.name}_{'_'.join(sorted(route.methods or ()))}".lower(),
        "summary": summary,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in route.param_convertors
        ],
        "responses": {"default": {"description": "see the summary"}},
    }


def _schema_ref(model: Any, schemas: dict[str, Any]) -> dict[str, str]:
    name = model.__name__
    if name not in schemas:
        schema = _json_schema(model)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return {"$ref": _REF.format(model=name)}


@cache
def _json_schema_text(model: Any) -> str:
    """Generated once per type; handed out as a fresh copy each time."""
    return json.dumps(TypeAdapter(model).json_schema(ref_template=_REF))


def _json_schema(model: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_json_schema_text(model))
    return loaded


def _version() -> str:
    try:
        return version("prwatch")
    except PackageNotFoundError:
        return "0"


async def openapi_document(request: Request) -> JSONResponse:
    """This document: OpenAPI 3.1, generated from the app's routes."""
    endpoints: tuple[Endpoint, ...] = request.app.state.endpoints
    return JSONResponse(describe(request.app.routes, endpoints))


OPENAPI_ENDPOINT = Endpoint(
    "/api/openapi.json", openapi_document, "This OpenAPI description", errors=()
)
