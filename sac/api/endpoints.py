"""The endpoints of ``/api/v1``: one route table (:data:`ENDPOINTS`) and its handlers.

Handlers are plain functions ``Call -> Table | Json`` run in a worker thread (they block on DuckDB). They ask
the same domain functions the pages ask, with the same permission checks: ``require`` for the action, and
``allowed_units`` / ``restrict_frame`` / ``require_units`` for a project office's regions and organisations.
:class:`sac.auth.PermissionDenied` becomes 403 in :mod:`sac.api.app`.
"""

from __future__ import annotations

import json

import pandas as pd

from sac import ingest
from sac.api import queries, tokens
from sac.api.spec import ApiError, Call, Column, Endpoint, Json, Param, Table, openapi
from sac.auth import PermissionDenied
from sac.auth.permissions import ACTIONS, allowed_units, can, require, require_units, restrict_frame
from sac.metrics import plan_fact as _pf
from sac.views import rating as _rating


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects: missing is null, dates ISO 8601, numbers as numbers."""
    if df.empty:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso", double_precision=15, force_ascii=False))


def _period(call: Call, name: str):
    """The (start, end) of the period parameter ``name``, or None when not given; 400 for a code the calendar
    does not have."""
    code = call.params.get(name)
    if code is None:
        return None
    bounds = queries.period_bounds(call.store, code)
    if bounds is None:
        raise ApiError("bad_request", f"query parameter {name!r}: no period {code!r} in the calendar")
    return bounds


def _units_scope(call: Call, unit: str | None) -> list[str] | None:
    """The unit codes to read: ``[unit]`` when one is asked for (403 outside a project office's units), else the
    office's units (possibly none), else None (all)."""
    if unit is not None:
        require_units(call.user, [unit], call.store)
        return [unit]
    allowed = allowed_units(call.user, call.store)
    return None if allowed is None else sorted(allowed)


# -- handlers ------------------------------------------------------------------------------------------------
def get_openapi(call: Call) -> Json:
    return Json(openapi(ENDPOINTS))


def get_me(call: Call) -> Json:
    u = call.user
    allowed = allowed_units(u, call.store)
    expires = tokens.expires_at(call.store, u.display_name) if u.source == tokens.SOURCE else None
    return Json({"username": u.username, "display_name": u.display_name, "role": u.role, "source": u.source,
                 "units": sorted(u.units), "allowed_units": None if allowed is None else sorted(allowed),
                 "permissions": [a for a in ACTIONS if can(u, a)],
                 "expires_at": None if expires is None else pd.Timestamp(expires).isoformat()})


def report_dict(rep: ingest.ImportReport) -> dict:
    """An import report as the upload page shows it: status, counts, header row and columns read, problems."""
    return {"status": rep.status, "ok": bool(rep.ok), "batch_id": rep.batch_id, "kind": rep.kind,
            "file_name": rep.file_name, "sha256": rep.sha256, "sheet": rep.sheet, "header_row": rep.header_row,
            "rows_read": rep.rows_read, "counts": {k: int(v) for k, v in rep.counts().items()},
            "blank_rows": rep.blank, "duplicate_of": rep.duplicate_of, "columns": dict(rep.columns),
            "problems": records(rep.problems.astype({"row": "Int64"})), "problems_total": int(rep.problems_total)}


def office_kinds(units) -> list[str]:
    """The kinds a user with ``allowed_units`` ``units`` may upload: all, or for a project office (units not None)
    those of its own units (as the upload page offers them)."""
    return [k for k, spec in ingest.KINDS.items()
            if units is None or (spec.office and any(f.type in ("unit", "region") for f in spec.fields))]


def post_upload(call: Call) -> Json:
    user, store, p = call.user, call.store, call.params
    require(user, "upload")
    units = allowed_units(user, store)
    if p["kind"] not in office_kinds(units):
        raise PermissionDenied(f"{user.username} may not upload {p['kind']} (reference data: the centre's analysts "
                               "upload it)", action="upload", username=user.username)
    if not call.body:
        raise ApiError("bad_request", "the request body is empty: send the file itself as the body")
    rep = ingest.import_file(store, call.body, p["kind"], file_name=p["filename"] or "upload", sheet=p["sheet"],
                             user=user.username, dry_run=p["dry_run"], allowed_units=units, force=p["force"])
    body = report_dict(rep)
    if rep.status == "rejected":
        raise ApiError("upload_rejected", f"{rep.file_name}: {int(rep.problems_total)} problem(s); nothing was "
                                          "written", report=body)
    return Json(body, 201 if rep.status == "committed" else 200)


def get_batches(call: Call) -> Table:
    user, store, p = call.user, call.store, call.params
    require(user, "view")
    df = ingest.batches(store)
    units = allowed_units(user, store)
    if units is not None:  # as the upload page: its own uploads and those of its regions' offices and akimats
        df = df[(df["uploaded_by"] == user.username) | df["uploaded_by"].isin(sorted(units))]
    if p["status"]:
        df = df[df["status"] == p["status"]]
    return Table(df.head(p["limit"]), name="batches")


def post_rollback(call: Call) -> Json:
    require(call.user, "rollback")
    try:
        return Json(ingest.rollback(call.store, call.params["batch_id"], user=call.user.username))
    except ingest.BatchNotFound as e:
        raise ApiError("not_found", str(e)) from None
    except ingest.RollbackRefused as e:
        raise ApiError("rollback_refused", str(e)) from None


def get_indicators(call: Call) -> Table:
    require(call.user, "view")
    return Table(queries.indicators(call.store, call.params["node"]), name="indicators")


def get_values(call: Call) -> Table:
    user, store, p = call.user, call.store, call.params
    require(user, "view")
    if not queries.indicator_exists(store, p["indicator_id"]):
        raise ApiError("not_found", f"no indicator {p['indicator_id']!r}")
    start, end = _period(call, "from"), _period(call, "to")
    if p["unit"] is not None:
        require_units(user, [p["unit"]], store)
    df = queries.indicator_values(store, p["indicator_id"], unit=p["unit"], start=start and start[0],
                                  end=end and end[1])
    return Table(restrict_frame(df, user, "unit_code", store), {"indicator_id": p["indicator_id"]},
                 name=f"values_{p['indicator_id']}")


def get_plan_fact(call: Call) -> Table:
    user, store, p = call.user, call.store, call.params
    require(user, "view")
    period = p["period"] or _pf.latest_period(store)
    if p["period"]:
        _period(call, "period")
    codes = _units_scope(call, p["unit"])
    ids = [p["indicator"]] if p["indicator"] else None
    if period is None or codes == []:
        df = _pf.plan_fact(store, "__none__", indicator_ids=["__none__"])
    else:
        df = _pf.plan_fact(store, period, indicator_ids=ids, unit_codes=codes, node_id=p["node"])
    version = int(df["methodology_version"].iloc[0]) if len(df) else None
    return Table(df, {"period": period, "methodology_version": version}, name=f"plan_fact_{period}")


def get_ratings(call: Call) -> Table:
    user, store, p = call.user, call.store, call.params
    require(user, "view")
    sets = _rating.indicator_sets(store)["code"].astype(str).tolist()
    if p["set"] not in sets:
        raise ApiError("bad_request", f"query parameter 'set': no indicator set {p['set']!r}; one of 'all' or a "
                                      "national priority / program node id")
    if p["period"]:
        _period(call, "period")
    period = p["period"] or _rating.default_period(store)
    kind = p["kind"] or _rating.default_kind(store, period, p["set"])
    table = _rating.rating_table(store, period, p["set"], kind=kind, aggregation=p["aggregation"])
    version = int(table["methodology_version"].iloc[0]) if len(table) else None
    rated_all = int(table["rated"].sum()) if len(table) else 0
    shown = restrict_frame(table, user, "unit_code", store) if user.role == "project_office" else table
    return Table(shown, {"period": period, "kind": kind, "aggregation": p["aggregation"], "set": p["set"],
                         "methodology_version": version, "rated": rated_all, "units": len(table)},
                 name=f"rating_{period}_{kind}")


# -- the route table ----------------------------------------------------------------------------------------------
_PERIOD_HELP = "a period code: 2025, 2025-Q3 or 2025-07"

BATCH_COLUMNS = (
    Column("batch_id", "integer"), Column("kind", "string", "upload kind (or the demo's table name)"),
    Column("file_name", "string"), Column("sha256", "string"), Column("uploaded_by", "string"),
    Column("uploaded_at", "date-time"), Column("rows_inserted", "integer"), Column("rows_updated", "integer"),
    Column("rows_unchanged", "integer"), Column("rows_rejected", "integer"), Column("rows_warned", "integer"),
    Column("rows_totals", "integer"), Column("sheet", "string"),
    Column("status", "string", "committed | rolled_back"), Column("rolled_back_at", "date-time"),
    Column("rolled_back_by", "string"),
)
INDICATOR_COLUMNS = (
    Column("indicator_id", "string"), Column("name_en", "string"), Column("name_ru", "string"),
    Column("name_kk", "string"), Column("unit_of_measure", "string"), Column("direction", "string", "up | down"),
    Column("tier", "string"), Column("periodicity", "string", "year | quarter | month"),
    Column("cumulative", "boolean"), Column("aggregation", "string"), Column("weight", "number"),
    Column("baseline_value", "number"), Column("baseline_year", "integer"), Column("target_value", "number"),
    Column("target_year", "integer"), Column("node_id", "string", "goal-map node"),
    Column("source_document", "string", "the document whose plans count"),
    Column("n_values", "integer", "stored value rows"),
)
VALUE_COLUMNS = (
    Column("indicator_id", "string"), Column("unit_code", "string", "region KATO code or org_id"),
    Column("unit_name_en", "string"), Column("unit_name_ru", "string"), Column("unit_name_kk", "string"),
    Column("period", "string"), Column("period_kind", "string"), Column("start_date", "date"),
    Column("end_date", "date"), Column("source_document", "string"), Column("plan", "number", "null: no plan"),
    Column("fact", "number", "null: not reported (never 0)"),
    Column("batch_id", "integer", "the upload that last wrote the row"),
)
PLAN_FACT_COLUMNS = (
    Column("indicator_id", "string"), Column("name_en", "string", "indicator"), Column("unit_code", "string"),
    Column("unit_name_en", "string"), Column("unit_kind", "string", "region | organisation"),
    Column("period", "string", "the cell's own period"),
    Column("rating_period", "string", "the period asked for (METHODOLOGY.md 2: period rule)"),
    Column("ytd", "boolean", "a cumulative indicator's year to date"), Column("plan", "number"),
    Column("fact", "number"), Column("plan_source", "string"), Column("unit_of_measure", "string"),
    Column("direction", "string"), Column("delta", "number", "fact - plan"), Column("delta_pct", "number"),
    Column("ratio", "number", "achievement ratio A"), Column("achieved", "boolean"), Column("score", "number"),
    Column("rag", "string", "green | amber | red | grey"), Column("scored", "boolean"),
    Column("methodology_version", "integer"),
)
RATING_COLUMNS = (
    Column("period", "string"), Column("unit_code", "string", "KATO"), Column("iso", "string"),
    Column("name_en", "string"), Column("name_ru", "string"), Column("name_kk", "string"),
    Column("region_kind", "string", "region | city"), Column("rated", "boolean"),
    Column("rank", "integer", "competition rank (ties share it)"), Column("rank_label", "string", "'=11' on a tie"),
    Column("score", "number"), Column("score_rounded", "number"), Column("coverage", "number", "0..1"),
    Column("n_indicators", "integer"), Column("n_in_play", "integer"),
    Column("rank_p05", "integer", "robustness band"), Column("rank_p95", "integer"), Column("band", "string"),
    Column("rank_prev", "integer"), Column("movement", "integer", "places moved up (negative: down)"),
    Column("territory_change", "string", "territory_changed | new | ended"),
    Column("not_rated_reason", "string"), Column("kind", "string"), Column("aggregation", "string"),
    Column("normalisation", "string"),
    Column("methodology_version", "integer", "the methodology version the rating was computed with"),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/openapi.json", get_openapi, "This description (OpenAPI 3.1)", public=True, tag="meta"),
    Endpoint("GET", "/me", get_me, "Who the token is: role, units, permissions, expiry", tag="meta"),
    Endpoint(
        "POST", "/uploads", post_upload, "Upload a file: dry run (default) or commit",
        "The body is the file (CSV, XLSX or Parquet). The answer is the upload page's report: counts (inserted, "
        "updated, unchanged, rejected, totals, warnings), the header row and columns read, and every problem with "
        "row, column and value. A dry run writes nothing (200, also when the file has errors: `ok` false); a commit "
        "answers 201 with `batch_id`, or 422 `upload_rejected` (nothing written) with the report. A project "
        "office's rows of other units are errors, as on the page. Limits: SAC_MAX_UPLOAD_MB (413), rows, "
        "columns, cells, workbook size and read time (errors in the report).",
        params=(Param("kind", required=True, choices=tuple(ingest.KINDS), description="what the file holds"),
                Param("dry_run", "boolean", default=True, description="false: commit (one transaction)"),
                Param("filename", description="the file's name (kept in the batch history; the extension helps "
                                              "tell CSV from XLSX)"),
                Param("sheet", description="XLSX: the sheet to read (default: the first)"),
                Param("force", "boolean", default=False,
                      description="commit a file already committed once (same SHA-256)")),
        permission="upload", body="file", errors=("upload_rejected", "payload_too_large"), tag="uploads"),
    Endpoint("GET", "/batches", get_batches, "Upload batches, newest first",
             "A project office sees its own uploads and those of its units' offices and akimats.",
             params=(Param("limit", "integer", default=100, minimum=1, maximum=100_000),
                     Param("status", choices=("committed", "rolled_back"))),
             permission="view", columns=BATCH_COLUMNS, tag="uploads"),
    Endpoint("POST", "/batches/{batch_id}/rollback", post_rollback, "Roll a batch back",
             "Restores exactly what was stored before the batch. Refused (409) when it is rolled back already or a "
             "later committed batch changed the same rows (roll that back first).",
             params=(Param("batch_id", "integer", where="path", required=True, minimum=1),),
             permission="rollback", errors=("rollback_refused",), tag="uploads"),
    Endpoint("GET", "/indicators", get_indicators, "Indicator passports",
             params=(Param("node", description="only indicators attached to this goal-map node"),),
             permission="view", columns=INDICATOR_COLUMNS),
    Endpoint("GET", "/indicators/{indicator_id}/values", get_values, "Stored values of one indicator",
             "Every stored row (each source document), by unit and period. A project office reads its own units "
             "only (asking for another's is 403).",
             params=(Param("indicator_id", where="path", required=True),
                     Param("unit", description="one region KATO code or org_id"),
                     Param("from", "period", description=f"periods starting on or after this one ({_PERIOD_HELP})"),
                     Param("to", "period", description=f"periods ending on or before this one ({_PERIOD_HELP})")),
             permission="view", columns=VALUE_COLUMNS),
    Endpoint("GET", "/plan-fact", get_plan_fact, "Plan-fact cells of a period, scored",
             "The cells that count for the period under the period rule (METHODOLOGY.md section 2), scored with the "
             "current methodology. A project office reads its own units only.",
             params=(Param("period", "period", description=f"{_PERIOD_HELP} (default: the latest year with a fact)"),
                     Param("indicator", description="one indicator code"),
                     Param("unit", description="one region KATO code or org_id"),
                     Param("node", description="indicators of this goal-map node and its subtree")),
             permission="view", columns=PLAN_FACT_COLUMNS),
    Endpoint("GET", "/ratings", get_ratings, "The regional rating of a period",
             "The 20 regions, rated first by rank, then those not rated (with the reason). Each row carries the "
             "methodology version it was computed with. A project office sees its own regions' rows.",
             params=(Param("period", "period", description="a year (default: the latest year most regions are "
                                                           "rated in)"),
                     Param("kind", choices=_rating.KINDS, description="default: the methodology's (level when the "
                                                                      "year has facts but no plans)"),
                     Param("set", default=_rating.ALL, description="'all' or a national priority / program node id"),
                     Param("aggregation", choices=_rating.AGGREGATIONS, default=_rating.AGGREGATIONS[0])),
             permission="view", columns=RATING_COLUMNS),
)
