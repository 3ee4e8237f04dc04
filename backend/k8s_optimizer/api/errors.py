"""RFC 9457 problem responses for every failure, so no input ever produces a bare 500.

Routes raise `ApiError(status, detail)`; FastAPI's validation errors, unknown routes and cluster errors
are mapped here too. The `detail` always names the offending field or object, because the original's
errors ("APPLY_FAILED") told users nothing. Unexpected exceptions are logged with their traceback and
answered with a generic 500 problem without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from k8s_optimizer.api.schemas import Problem
from k8s_optimizer.k8s.errors import (
    ClusterConflictError,
    ClusterError,
    ClusterForbiddenError,
    ClusterInvalidError,
    ClusterNotFoundError,
)

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An expected failure with its HTTP status and a human detail naming the field or object."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.errors = errors


def problem_response(
    status: int,
    detail: str,
    request: Request,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, instance=request.url.path, errors=errors
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


def _validation_errors(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    detail = "; ".join(f"{_field_name(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
    return detail, errors


_CLUSTER_STATUS: tuple[tuple[type[ClusterError], int], ...] = (
    (ClusterNotFoundError, 404),
    (ClusterConflictError, 409),
    (ClusterInvalidError, 422),
    (ClusterForbiddenError, 502),
)


def cluster_status(exc: ClusterError) -> int:
    """Our status for a cluster failure: its 4xx meaning, or 503 when the cluster is unavailable."""
    for kind, status in _CLUSTER_STATUS:
        if isinstance(exc, kind):
            return status
    return 503


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(exc.status, exc.detail, request, headers=exc.headers, errors=exc.errors)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail, errors = _validation_errors(exc)
    return problem_response(422, detail, request, errors=errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    return problem_response(exc.status_code, detail, request, headers=getattr(exc, "headers", None))


async def _cluster(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClusterError)
    return problem_response(cluster_status(exc), f"cluster: {exc.message}", request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal error; see the backend log", request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ClusterError, _cluster)
    app.add_exception_handler(Exception, _unexpected)
