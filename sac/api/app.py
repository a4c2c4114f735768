"""The HTTP layer of ``/api/v1``: a Starlette app of its own, mounted by :func:`sac.api.routes` beside the
Streamlit app on the same server (``sac/server.py``).

For each call, in this order: the bearer token (401), the route table's permission (403), the parameters against
the route table (400), the request body of an upload (413 by ``Content-Length`` before reading anything, then
counted while it streams), the handler on a worker thread (DuckDB blocks; the event loop never waits on it),
the answer as JSON or CSV. Every call, refused ones included, is audited (``api_call``: who, endpoint, status;
written in batches by :mod:`sac.api.calls`). Every error is ``{"error": {"code", "message"}}``: the app has its
own handlers for unknown routes and methods, and an unexpected exception is logged here and answered 500
without its text, so no traceback ever reaches a client.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sac.api import calls, tokens
from sac.api.endpoints import ENDPOINTS, records
from sac.api.spec import API_PREFIX, ApiError, Call, Endpoint, Json, Table, select_columns
from sac.auth import PermissionDenied
from sac.auth.permissions import require
from sac.export import to_csv_bytes
from sac.ingest.readers import FileProblem, Limits, check_size
from sac.store import StoreBusy, shared

log = logging.getLogger("sac.api")


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


# API handlers run on worker threads of their own count (not the server's pool, which serves the app's static
# files): SAC_API_WORKERS at once, of which SAC_API_UPLOADS uploads (each holds its file in memory while read).
_workers: anyio.CapacityLimiter | None = None
_uploads: anyio.CapacityLimiter | None = None


def _limiters() -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
    global _workers, _uploads
    if _workers is None:   # made on the event loop, at the first call
        _workers = anyio.CapacityLimiter(_env_int("SAC_API_WORKERS", 8))
        _uploads = anyio.CapacityLimiter(_env_int("SAC_API_UPLOADS", 2))
    return _workers, _uploads


async def in_worker(fn, *args):
    """``fn(*args)`` on a worker thread of the API's own pool; the event loop goes on serving meanwhile."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=_limiters()[0])

_NO_STORE = {"Cache-Control": "no-store"}


def json_response(payload: dict, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")
    return Response(body, status, headers={**_NO_STORE, **(headers or {})},
                    media_type="application/json; charset=utf-8")


def error_response(e: ApiError) -> Response:
    headers = {}
    if e.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="sac"' + (', error="invalid_token"'
                                                               if e.code == "invalid_token" else "")
    if e.code == "payload_too_large":
        headers["Connection"] = "close"  # the rest of the body is not read
    return json_response(e.body(), e.status, headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError("unauthenticated", "send the token as `Authorization: Bearer <token>`")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthenticated", "the Authorization header must be `Bearer <token>`")
    return token.strip()


def _authenticate(token: str):
    try:
        return tokens.authenticate(shared(), token)
    except tokens.TokenRejected as e:
        raise ApiError("invalid_token", str(e)) from None


async def _read_body(request: Request) -> bytes:
    """The request body within ``Limits.max_bytes`` (``SAC_MAX_UPLOAD_MB``): refused by its declared length
    before a byte is read, and counted while it streams (a chunked body declares none)."""
    limits = Limits.from_env()
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError("bad_request", "Content-Length is not a number")
        if int(declared) > limits.max_bytes:
            raise ApiError("payload_too_large", f"the file is {int(declared)} bytes; the limit is "
                                                f"{limits.max_bytes // 2**20} MB (SAC_MAX_UPLOAD_MB)")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        try:
            check_size(buf, limits)
        except FileProblem as e:
            raise ApiError("payload_too_large", f"{e} (SAC_MAX_UPLOAD_MB); stopped reading") from None
    return bytes(buf)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "data"


def _run(endpoint: Endpoint, user, params: dict, body: bytes | None) -> Response:
    """The handler and the rendering of its answer (in a worker thread)."""
    store = shared()
    answer = endpoint.handler(Call(user=user, store=store, params=params, body=body))
    if isinstance(answer, Json):
        return json_response(answer.payload, answer.status)
    assert isinstance(answer, Table)
    frame = select_columns(answer.frame, endpoint.columns)
    if params.get("format") == "csv":
        require(user, "export")
        return Response(to_csv_bytes(frame), endpoint.success, media_type="text/csv; charset=utf-8",
                        headers={**_NO_STORE,
                                 "Content-Disposition": f'attachment; filename="{_safe_name(answer.name)}.csv"'})
    return json_response({"data": records(frame), "count": len(frame), **answer.meta}, endpoint.success)


def _details(request: Request, extra: dict) -> dict:
    # a token put in the URL by mistake (refused: unknown parameter) must not land in the audit log
    query = {k: "(redacted)" if v.startswith(tokens.PREFIX) else v[:200]
             for k, v in list(request.query_params.items())[:20]}
    return {"path": request.url.path[:300], **({"query": query} if query else {}), **extra}


def handler_for(endpoint: Endpoint):
    target = f"{endpoint.method} {API_PREFIX}{endpoint.path}"

    async def dispatch(request: Request) -> Response:
        started = time.monotonic()
        user, details = None, {}
        try:
            if not endpoint.public:
                user = await in_worker(_authenticate, _bearer(request))
            if endpoint.permission:   # the table's permission, before a parameter or a byte of the body is read
                require(user, endpoint.permission)
            params = endpoint.parse(request.query_params.multi_items(), request.path_params)
            if endpoint.body:
                async with _limiters()[1]:
                    body = await _read_body(request)
                    details["bytes"] = len(body)
                    response = await in_worker(_run, endpoint, user, params, body)
            else:
                response = await in_worker(_run, endpoint, user, params, None)
        except ApiError as e:
            response = error_response(e)
            details["error"] = e.code
        except PermissionDenied as e:
            response = error_response(ApiError("forbidden", str(e)))
            details["error"] = "forbidden"
        except StoreBusy:
            response = error_response(ApiError("busy", "the database is busy; try again in a few seconds"))
            details["error"] = "busy"
        except Exception:
            log.exception("API call %s failed", target)
            response = error_response(ApiError("internal", "internal error; it is logged on the server"))
            details["error"] = "internal"
        details["ms"] = round(1000 * (time.monotonic() - started))
        calls.record(user, target, response.status_code, _details(request, details))
        return response

    dispatch.__name__ = endpoint.operation_id
    return dispatch


async def _quiet_user(request: Request):
    """Who sent a request that matched no route, for the audit log (None when no valid token came with it)."""
    try:
        return await in_worker(_authenticate, _bearer(request))
    except Exception:
        return None


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals inside the API (no such route, wrong method) as JSON errors."""
    if exc.status_code == 404:
        e = ApiError("not_found", f"no route {request.method} {request.url.path[:200]}; see {API_PREFIX}/openapi.json")
    elif exc.status_code == 405:
        e = ApiError("method_not_allowed", f"{request.method} is not allowed on {request.url.path[:200]}")
    else:
        e = ApiError("bad_request", str(exc.detail)[:200])
    response = error_response(e)
    if exc.status_code == 405 and exc.headers:
        response.headers.update(exc.headers)   # Allow: ...
    user = await _quiet_user(request)
    calls.record(user, f"{request.method} (no route)", response.status_code, _details(request, {"error": e.code}))
    return response


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("API request %s %s failed outside a handler", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError("internal", "internal error; it is logged on the server"))


def build_app() -> Starlette:
    """The API as an ASGI app of its own (paths relative to ``/api/v1``)."""
    routes = [Route(e.path, handler_for(e), methods=[e.method]) for e in ENDPOINTS]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: unexpected})
    app.router.redirect_slashes = False
    return app


async def _bare_prefix(request: Request) -> Response:
    return await http_error(request, HTTPException(404))


def routes() -> list:
    """What ``sac/server.py`` adds to the Streamlit server: everything under ``/api/v1``."""
    return [Mount(API_PREFIX, app=build_app()),
            Route(API_PREFIX, _bare_prefix, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])]
