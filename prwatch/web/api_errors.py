"""Errors of the read API: always JSON, ``{"error": CODE, "message": TEXT}``, where CODE is one
of the stable values below (clients branch on it) and TEXT is for people."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ExceptionHandler

API_PREFIX = "/api"

# The stable error codes, by the status they come with.
ERROR_CODES: dict[int, str] = {
    400: "invalid_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    429: "too_many_requests",
    500: "internal_error",
    503: "database_unavailable",
}


class ApiError(Exception):
    """Raised by a route to answer with a JSON error."""

    def __init__(self, status: int, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


class InvalidParameter(ApiError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(400, message, parameter=parameter)


class NotFound(ApiError):
    def __init__(self, message: str = "not found") -> None:
        super().__init__(404, message)


def error_code(status: int) -> str:
    return ERROR_CODES.get(status, "error" if status < 500 else "internal_error")


def api_error_response(
    status: int,
    message: str | None = None,
    *,
    parameter: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, str] = {
        "error": error_code(status),
        "message": message or HTTPStatus(status).phrase.lower(),
    }
    if parameter is not None:
        body["parameter"] = parameter
    return JSONResponse(body, status_code=status, headers=headers)


def is_api_path(request: Request) -> bool:
    path: str = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return api_error_response(exc.status, exc.message, parameter=exc.parameter)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods: JSON under /api, Starlette's plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if is_api_path(request):
        return api_error_response(exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """A bug: the caller gets a JSON 500 under /api. Not logged here: Starlette re-raises it
    after this answer, and the server logs it once with its traceback."""
    if is_api_path(request):
        return api_error_response(500, "internal error")
    return PlainTextResponse("Internal Server Error", status_code=500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, ExceptionHandler] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
