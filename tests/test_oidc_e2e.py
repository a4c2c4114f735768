"""OpenID Connect sign-in END TO END: a real identity provider, a real `streamlit run`, a real browser.

- the provider is `oidc-provider-mock` (a real OIDC server: discovery, authorize form, token endpoint,
  signed ID tokens) started as its own process on a free port, with predefined identities whose claims
  carry groups and regions;
- the app is `streamlit run sac/server.py` with a secrets file written to a temp dir (passed by
  `--secrets.files`, nothing committed): `[auth]` for st.login and `[sac_oidc]` mapping claims to roles;
- Debian's chromium (Playwright) follows "Sign in with Mock IdP" on the /sign-in page (it starts st.login through
  the app, `/?sac_oidc=start`), picks the identity on the provider's
  form, comes back through /oauth2callback, and we assert the mapped role: the sidebar names it and the
  navigation shows (or hides) the admin-only pages. Afterwards the audit log holds the OIDC sign-ins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import ARTIFACTS, browser_page, free_port, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.e2e

IDENTITIES = [
    {"sub": "aigerim", "email": "aigerim@gov.kz", "name": "Aigerim Admin", "groups": ["sac-admins", "staff"]},
    {"sub": "berik", "email": "berik@almaty.gov.kz", "name": "Berik Office", "groups": ["akimat-office"],
     "sac_regions": ["75"]},
    {"sub": "stranger", "email": "stranger@example.com", "name": "Stranger", "groups": ["guests"]},
]


def start_provider() -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"oidc-provider-{port}.log"
    log = open(log_path, "w")
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1"]
    for identity in IDENTITIES:
        cmd += ["--user-claims", json.dumps(identity)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"oidc-provider-mock exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=2) as r:
                if json.load(r).get("authorization_endpoint"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"oidc-provider-mock did not answer in 30 s; see {log_path}")
        time.sleep(0.2)
    return proc, base, log_path


def write_secrets(directory: Path, provider: str) -> Path:
    path = directory / "secrets.toml"
    path.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "e2e-only-cookie-secret-{os.getpid()}-0123456789"
client_id = "sac-e2e"
client_secret = "sac-e2e-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[sac_oidc]
label = "Mock IdP"
username_claim = "email"
role_claim = "groups"
units_claim = "sac_regions"

[sac_oidc.role_map]
sac-admins = "admin"
akimat-office = "project_office"
""", encoding="utf-8")
    return path


def sign_in_through_provider(page, url: str, identity: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_role("link", name="Sign in with Mock IdP").click()
    # the provider's authorization form: one button per predefined identity
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_role("button", name=identity, exact=True).click()
    page.wait_for_url(f"{url}/**")
    page.wait_for_selector("[data-testid='stApp']")
    wait_idle(page)


def nav_labels(page) -> list[str]:
    """The page titles in the sidebar navigation (each link's text ends with its title, after the icon)."""
    more = page.locator("[data-testid='stSidebarNavViewButton']")
    if more.count() and "more" in more.inner_text().lower():
        more.click()
        wait_idle(page)
    return [t.strip().splitlines()[-1].strip() for t in page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()]


@pytest.fixture(scope="module")
def provider():
    proc, base, _ = start_provider()
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_oidc_sign_in_maps_claims_to_roles_end_to_end(provider, tmp_path):
    from sac.auth import accounts as acc
    from sac.store import Store

    db = tmp_path / "e2e.duckdb"
    with Store(db) as s:
        acc.ensure_demo_accounts(s)
    secrets = write_secrets(tmp_path, provider)
    env = {"SAC_DB_PATH": str(db), "SAC_BCRYPT_ROUNDS": "4", "SAC_PUBLIC_VIEWS": "0"}
    with streamlit_server(env, extra_args=["--secrets.files", str(secrets)]) as url:
        # an identity in the admins group becomes an admin: the sidebar says so, admin pages are listed
        with browser_page() as page:
            page.goto(url)
            wait_idle(page)
            page.locator("a[data-testid='sac-sign-in-link']").first.click()     # signed out: to /sign-in
            page.wait_for_url("**/sign-in**")
            assert page.get_by_role("link", name="Sign in with Mock IdP").is_visible()
            sign_in_through_provider(page, url, "aigerim")
            screenshot(page, "oidc-admin")
            sidebar = page.locator("[data-testid='stSidebar']")
            assert sidebar.get_by_text("Aigerim Admin").is_visible()
            assert sidebar.get_by_text("Administrator · aigerim@gov.kz").is_visible()
            labels = nav_labels(page)
            assert "Users" in labels and "Audit log" in labels, labels

        # an identity in the akimat's office group becomes Almaty's project office: no admin pages
        with browser_page() as page:
            sign_in_through_provider(page, url, "berik")
            screenshot(page, "oidc-office")
            sidebar = page.locator("[data-testid='stSidebar']")
            assert sidebar.get_by_text("Project office · berik@almaty.gov.kz").is_visible()
            labels = nav_labels(page)
            assert "Upload" in labels and "Users" not in labels and "Audit log" not in labels, labels

        # an identity whose groups map to no role is refused and is asked to sign in
        with browser_page() as page:
            sign_in_through_provider(page, url, "stranger")
            screenshot(page, "oidc-refused")
            assert page.get_by_text("Sign-in through the identity provider was refused").is_visible()
            assert page.locator("a[data-testid='sac-sign-in-link']").first.is_visible()
            assert "Users" not in nav_labels(page)

    # the server has stopped and released the file: the audit log holds what happened
    with Store(db) as s:
        log = s.df("SELECT actor, action, target, details FROM audit_log WHERE action = 'sign_in' ORDER BY entry_id")
        users = acc.list_users(s).set_index("username")
    assert log[["actor", "target"]].to_dict("records") == [
        {"actor": "aigerim@gov.kz", "target": "aigerim@gov.kz"},
        {"actor": "berik@almaty.gov.kz", "target": "berik@almaty.gov.kz"},
    ]
    assert [json.loads(d)["role"] for d in log["details"]] == ["admin", "project_office"]
    assert users.loc["berik@almaty.gov.kz", ["role", "source", "units"]].tolist() == ["project_office", "oidc", "75"]
    assert "stranger@example.com" not in users.index
    with Store(db) as s:
        refused = s.df("SELECT actor, target, details FROM audit_log WHERE action = 'sign_in_failed'")
    assert refused[["actor", "target"]].to_dict("records") == [{"actor": "anonymous", "target": "stranger@example.com"}]
    assert json.loads(refused["details"].iloc[0])["reason"] == "oidc_refused"
