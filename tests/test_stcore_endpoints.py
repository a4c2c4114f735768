"""Issue 8, finding 12: what Streamlit's own /_stcore endpoints tell an anonymous caller (a real `streamlit run`).

Streamlit 1.67 registers /_stcore/health, /_stcore/metrics and /_stcore/host-config on every server
(streamlit/web/server/starlette/starlette_app.py) and has no option to switch metrics off, so the
decision (SECURITY.md, "/_stcore endpoints") is: they stay, each is pinned here to reveal only what is
listed below, and a deployment that does not want them public blocks /_stcore/metrics at its reverse
proxy. .streamlit/config.toml sets client.allowedOrigins = [] so no parent frame may script the app.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request

import pytest
from browser import browser_page, streamlit_server, wait_idle

from sac.auth.accounts import DEMO_ACCOUNTS
from sac.i18n import t

# What /_stcore/metrics may carry: Streamlit's process counters, nothing per user.
METRIC_FAMILIES = {"cache_memory_bytes", "cache_lookups", "cache_compute_duration_seconds", "cache_evictions",
                   "session_events", "session_duration_seconds", "active_sessions"}
METRIC_LABELS = {"cache", "cache_type", "le", "reason", "result", "trigger", "type"}
HOST_CONFIG = {"allowedOrigins": [], "useExternalAuthToken": False, "enableCustomParentMessages": False,
               "enforceDownloadInNewTab": False, "metricsUrl": "", "blockErrorDialogs": False,
               "resourceCrossOriginMode": None}


@pytest.fixture(scope="module")
def server(demo_db_path, tmp_path_factory):
    from sac.auth.accounts import ensure_demo_accounts
    from sac.store import Store

    db = tmp_path_factory.mktemp("stcore") / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with Store(db) as s:
        ensure_demo_accounts(s)
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0"}) as url:
        yield url


def get(url: str, *, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    """(status, headers, body) of one anonymous request: no cookie, no session."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def parse_metrics(text: str) -> tuple[set[str], dict[str, set[str]]]:
    """The metric families, and every label's values, of an OpenMetrics text."""
    families = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.M))
    labels: dict[str, set[str]] = {}
    for body in re.findall(r"^[a-z_]+\{(.*)\} \S+$", text, flags=re.M):
        for key, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', body):
            labels.setdefault(key, set()).add(value)
    return families, labels


def test_health_says_ok_and_nothing_else(server):
    status, headers, body = get(f"{server}/_stcore/health")
    assert (status, body) == (200, b"ok")
    assert headers["Content-Type"].startswith("text/plain")
    # Its only other output is Streamlit's XSRF cookie (a random token, no session, no user).
    assert [c.split("=", 1)[0] for c in headers.get_all("Set-Cookie") or []] == ["_streamlit_xsrf"]


def test_host_config_reveals_no_deployment_detail_and_trusts_no_parent_frame(server):
    status, headers, body = get(f"{server}/_stcore/host-config")
    assert status == 200
    # Streamlit's fixed flags; allowedOrigins is empty (config.toml), so no framing page on any origin
    # (Streamlit's default trusts *.streamlit.app) may send the app host messages such as rerun or stop.
    assert json.loads(body) == HOST_CONFIG


def test_metrics_expose_process_counters_only_even_while_someone_is_signed_in(server):
    status, headers, body = get(f"{server}/_stcore/metrics")
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert set(parse_metrics(body.decode())[0]) <= METRIC_FAMILIES

    password = DEMO_ACCOUNTS["analyst"][0]
    with browser_page() as page:
        page.goto(f"{server}/sign-in")                 # the server-side form; it answers with the app's default page
        page.get_by_role("textbox", name=t("auth.username", "en")).fill("analyst")
        page.get_by_label(t("auth.password", "en"), exact=True).fill(password)
        page.get_by_role("button", name=t("auth.sign_in", "en")).click()
        page.wait_for_url(lambda u: "/sign-in" not in u)
        wait_idle(page)
        page.get_by_role("heading", name=t("situation.title", "en")).wait_for()
        page.get_by_text("Almaty").first.wait_for()
        situation_room = page.locator("[data-testid='stMain']").inner_text()
        status, _, body = get(f"{server}/_stcore/metrics")
    text = body.decode()
    families, labels = parse_metrics(text)
    assert status == 200
    # What it reveals: that sessions exist and how busy the caches are, by the name of the cached function.
    assert re.search(r"^active_sessions 1$", text, flags=re.M)
    assert {"cache_lookups", "session_events", "active_sessions"} <= families <= METRIC_FAMILIES
    assert "user_session_events" not in families      # server.unsafeMetricsUserAttributes stays empty
    assert set(labels) <= METRIC_LABELS
    # Every label value comes from a closed vocabulary: nothing the users typed or the data held.
    assert all(v == "" or v.startswith("sac.ui.cache.") for v in labels["cache"])
    assert labels["cache_type"] <= {"st_cache_data", "st_cache_resource", "st_memory_media_file_storage",
                                    "st_session_state", "UploadedFileManager"}
    assert labels["type"] <= {"connect", "reconnect", "disconnect"}
    assert labels["result"] <= {"hit", "miss"}
    assert labels.get("trigger", set()) <= {"miss", "refresh"}
    assert labels.get("reason", set()) <= {"ttl", "max_entries", "max_size", "global_budget", "validate"}
    assert all(re.fullmatch(r"[0-9.]+|\+Inf", v) for v in labels.get("le", set()))
    # Not who is signed in, not the password, not a name the page showed.
    assert "Almaty" in situation_room or "Алматы" in situation_room
    for secret in ("analyst", password, DEMO_ACCOUNTS["analyst"][1], "Almaty", "Алматы"):
        assert secret not in text


def test_metrics_cannot_be_read_by_a_page_on_another_origin(server):
    """CORS stays on (server.enableCORS default): a foreign page cannot read the metrics through a visitor's
    browser; only a direct caller can, which the reverse proxy blocks (SECURITY.md)."""
    status, headers, _ = get(f"{server}/_stcore/metrics", headers={"Origin": "https://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_agent_api_is_off(server):
    """Streamlit 1.67's agent API (/_stcore/agent/*) would let an HTTP client drive the app; it is off."""
    status, _, body = get(f"{server}/_stcore/agent/openapi.json")
    assert status == 200 and json.loads(body)["info"]["x-streamlit-agent-api"] == "disabled"
    status, _, body = get(f"{server}/_stcore/agent/interact", method="POST", data=b"{}",
                          headers={"Content-Type": "application/json"})
    assert status == 403 and json.loads(body)["error"]["code"] == "not_available"
