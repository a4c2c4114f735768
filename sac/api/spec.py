"""The API's route table types, its errors, request parsing and the OpenAPI 3.1 document built from the table.

One table (:data:`sac.api.endpoints.ENDPOINTS`) says, for each endpoint, its method and path, the parameters it
takes (with types and choices), the permission it needs, the columns of the table it returns and the errors it
can answer. The server routes and validates requests from that table and :func:`openapi` describes it, so the
description cannot drift from what is served: a parameter not in the table is refused (400), a column not in
the table is never sent (:func:`select_columns` fails loudly in the tests instead).

No starlette here (:mod:`sac.api.app` is the HTTP layer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

API_PREFIX = "/api/v1"
VERSION = "1.0.0"

# error code -> (HTTP status, what it means): the catalogue docs/API.md and the OpenAPI document show
ERRORS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "a parameter is missing, unknown, given twice or of the wrong type; an empty upload"),
    "unauthenticated": (401, "no `Authorization: Bearer <token>` header"),
    "invalid_token": (401, "the token is unknown, revoked or expired"),
    "forbidden": (403, "the token's role or units do not allow this"),
    "not_found": (404, "no such route, indicator or batch"),
    "method_not_allowed": (405, "the route exists for another method"),
    "rollback_refused": (409, "the batch is rolled back already, or later batches changed its rows"),
    "payload_too_large": (413, "the upload is larger than SAC_MAX_UPLOAD_MB"),
    "upload_rejected": (422, "the file has errors: nothing was written; `report` lists them"),
    "busy": (503, "the database is held by another process; try again"),
    "internal": (500, "an unexpected failure (logged on the server; no details are sent)"),
}


class ApiError(Exception):
    """An answer other than success: ``{"error": {"code", "message", **extra}}`` with the code's status."""

    def __init__(self, code: str, message: str, **extra) -> None:
        super().__init__(message)
        if code not in ERRORS:
            raise KeyError(f"unknown API error code {code!r}")
        self.code = code
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


@dataclass(frozen=True)
class Param:
    """A query (or path) parameter. ``type``: 'string' | 'integer' | 'boolean' | 'period' (a period code such as
    '2025', '2025-Q3' or '2025-07', checked against the calendar)."""
    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    default: object = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    where: str = "query"

    def schema(self) -> dict:
        if self.type == "period":
            s: dict = {"type": "string", "pattern": r"^\d{4}(-Q[1-4]|-\d{2})?$"}
        else:
            s = {"type": self.type}
        if self.choices:
            s["enum"] = list(self.choices)
        if self.default is not None:
            s["default"] = self.default
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return s

    def parse(self, raw: str):
        """The value of ``raw`` (one occurrence) or :class:`ApiError` ``bad_request``."""
        where = f"{self.where} parameter {self.name!r}"
        if self.type == "integer":
            if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
                raise ApiError("bad_request", f"{where} must be an integer, not {raw[:40]!r}")
            v = int(raw)
            if (self.minimum is not None and v < self.minimum) or (self.maximum is not None and v > self.maximum):
                raise ApiError("bad_request", f"{where} must be between {self.minimum} and {self.maximum}")
            return v
        if self.type == "boolean":
            low = raw.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ApiError("bad_request", f"{where} must be true or false, not {raw[:40]!r}")
        if self.type == "period" and not re.fullmatch(r"\d{4}(-Q[1-4]|-\d{2})?", raw):
            raise ApiError("bad_request", f"{where} must be a period code such as 2025, 2025-Q3 or 2025-07, "
                                          f"not {raw[:40]!r}")
        if self.choices and raw not in self.choices:
            raise ApiError("bad_request", f"{where} must be one of {', '.join(self.choices)}, not {raw[:40]!r}")
        if "\x00" in raw or len(raw) > 500:
            raise ApiError("bad_request", f"{where} is not a valid value")
        return raw


@dataclass(frozen=True)
class Column:
    """A column of a returned table: its JSON type and meaning."""
    name: str
    type: str            # 'string' | 'integer' | 'number' | 'boolean' | 'date-time' | 'date'
    description: str = ""

    def schema(self) -> dict:
        if self.type in ("date-time", "date"):
            return {"type": ["string", "null"], "format": self.type, "description": self.description}
        return {"type": [self.type, "null"], "description": self.description}


@dataclass
class Call:
    """One request as a handler sees it: who, which store, the parsed parameters, the body (uploads)."""
    user: object
    store: object
    params: dict
    body: bytes | None = None


@dataclass
class Table:
    """A handler's answer that is a table: JSON ``{"data": [...], "count": n, **meta}``, or CSV."""
    frame: pd.DataFrame
    meta: dict = field(default_factory=dict)
    name: str = "data"


@dataclass
class Json:
    payload: dict
    status: int = 200


FORMAT = Param("format", choices=("json", "csv"), default="json",
               description="`csv`: the table as CSV (UTF-8 with BOM; text that a spreadsheet would run as a formula "
                           "is written with a leading apostrophe)")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str                              # under /api/v1, e.g. '/indicators/{indicator_id}/values'
    handler: Callable[[Call], Table | Json]
    summary: str
    description: str = ""
    params: tuple[Param, ...] = ()
    permission: str | None = None          # sac.auth.permissions action required; None: any valid token
    public: bool = False                   # no token needed
    columns: tuple[Column, ...] = ()       # a table endpoint: JSON and CSV (?format=)
    body: str | None = None                # 'file': the raw request body is the uploaded file
    success: int = 200
    errors: tuple[str, ...] = ()           # beyond those every endpoint may answer
    tag: str = "data"

    @property
    def all_params(self) -> tuple[Param, ...]:
        return self.params + ((FORMAT,) if self.columns else ())

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("-", "_").replace(".", "_").split("/")
        return self.method.lower() + "_" + "_".join(w for w in words if w)

    def parse(self, query: list[tuple[str, str]], path_values: Mapping[str, str]) -> dict:
        """Parameters by name (defaults filled in) or :class:`ApiError` ``bad_request``: an unknown parameter,
        one given twice, a missing required one or a value of the wrong type."""
        known = {p.name: p for p in self.all_params if p.where == "query"}
        seen: dict[str, str] = {}
        for k, v in query:
            if k not in known:
                allowed = ", ".join(known) or "none"
                raise ApiError("bad_request", f"unknown query parameter {k[:40]!r}; this endpoint takes: {allowed}")
            if k in seen:
                raise ApiError("bad_request", f"query parameter {k!r} is given twice")
            seen[k] = v
        out: dict = {}
        for p in self.all_params:
            raw = path_values.get(p.name) if p.where == "path" else seen.get(p.name)
            if raw is None or raw == "":
                if p.required:
                    raise ApiError("bad_request", f"{p.where} parameter {p.name!r} is required")
                out[p.name] = p.default
            else:
                out[p.name] = p.parse(raw)
        return out


def _error_response(codes: tuple[str, ...]) -> dict:
    statuses: dict[int, list[str]] = {}
    for c in codes:
        statuses.setdefault(ERRORS[c][0], []).append(c)
    return {str(s): {"description": "; ".join(f"`{c}`: {ERRORS[c][1]}" for c in cs),
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s, cs in sorted(statuses.items())}


def error_codes(e: Endpoint) -> tuple[str, ...]:
    """Every error code ``e`` can answer, in catalogue order."""
    codes = {"bad_request", "internal", "busy", *e.errors}
    if not e.public:
        codes |= {"unauthenticated", "invalid_token"}
    if e.permission or e.columns:
        codes.add("forbidden")
    if any(p.where == "path" for p in e.params):
        codes.add("not_found")
    return tuple(c for c in ERRORS if c in codes)


def openapi(endpoints: tuple[Endpoint, ...]) -> dict:
    """The OpenAPI 3.1 document of ``endpoints``."""
    paths: dict = {}
    for e in endpoints:
        op: dict = {"operationId": e.operation_id, "summary": e.summary, "tags": [e.tag]}
        if e.description:
            op["description"] = e.description
        if e.permission:
            op["description"] = (op.get("description", "") + f"\n\nPermission: `{e.permission}` "
                                 "(sac/auth/permissions.py).").strip()
        if e.public:
            op["security"] = []
        params = [{"name": p.name, "in": p.where, "required": p.required or p.where == "path",
                   "description": p.description, "schema": p.schema()} for p in e.all_params]
        if params:
            op["parameters"] = params
        if e.body == "file":
            op["requestBody"] = {"required": True, "description": "the file itself (CSV, XLSX or Parquet), as sent",
                                 "content": {"application/octet-stream": {
                                     "schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
        if e.columns:
            row = {"type": "object", "properties": {c.name: c.schema() for c in e.columns}}
            content = {"application/json": {"schema": {
                           "type": "object", "required": ["data", "count"],
                           "properties": {"data": {"type": "array", "items": row}, "count": {"type": "integer"}}}},
                       "text/csv": {"schema": {"type": "string"}}}
            ok = {"description": "the table (JSON, or CSV with `format=csv`); columns as listed", "content": content}
        else:
            ok = {"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}}
        op["responses"] = {str(e.success): ok, **_error_response(error_codes(e))}
        paths.setdefault(API_PREFIX + e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "SAC API", "version": VERSION,
                 "description": "The situational-analytical centre's HTTP API (docs/API.md). Every call is audited."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a service token from `python -m sac users token create`"}},
            "schemas": {"Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": list(ERRORS)}, "message": {"type": "string"}}}}}},
        },
    }


def select_columns(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """``frame`` with exactly the declared columns, in order (a missing one is a bug: KeyError); dates as text."""
    names = [c.name for c in columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise KeyError(f"the handler's frame lacks declared column(s) {missing}")
    out = frame[names].copy()
    for c in columns:   # a calendar date is '2025-03-31', not a midnight timestamp
        if c.type == "date" and pd.api.types.is_datetime64_any_dtype(out[c.name]):
            out[c.name] = out[c.name].dt.strftime("%Y-%m-%d").astype(object).where(out[c.name].notna(), None)
    return out
