"""Sessions that survive a reload (issue 10, part 1), in a real browser and over plain HTTP against a real server.

`streamlit run sac/server.py` on a copy of the demo database (public views off), Debian's chromium through
Playwright, and urllib for what a browser would never send (no CSRF token, a foreign Origin, an old cookie).
Screenshots of /sign-in (en, kk) and of the "Sign in to see this page" state go to test-artifacts/.
"""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest
from browser import CHROMIUM_ARGS, chromium_path, screenshot, streamlit_server, wait_idle
from test_e2e_browser import choose, fill_sign_in, open_from_sidebar, shot_on_failure, sign_in

from sac.auth.sessions import COOKIE
from sac.i18n import t

pytestmark = pytest.mark.e2e

DEEP_LINK = "/rating?period=2023&set=NP2"


def _copy_demo(demo_db_path, directory):
    from sac.auth.accounts import ensure_demo_accounts
    from sac.store import Store

    db = directory / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with Store(db) as s:
        ensure_demo_accounts(s)
    return db


@pytest.fixture(scope="module")
def server(demo_db_path, tmp_path_factory):
    db = _copy_demo(demo_db_path, tmp_path_factory.mktemp("sessions"))
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def fresh_page(browser, cookies: list[dict] | None = None):
    """A new browser context (no cookies unless given: another browser, as far as the server can tell)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def session_cookie(page) -> dict:
    found = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert len(found) == 1, page.context.cookies()
    return found[0]


def sidebar(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def asked_to_sign_in(page) -> None:
    page.get_by_role("heading", name=t("auth.sign_in_to_see", "en")).wait_for()
    assert page.locator("a[data-testid='sac-sign-in-link']").count()


# -- plain HTTP ---------------------------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, *, data: dict | bytes | None = None, headers: dict | None = None, jar=None):
    """(status, headers, body) of one request, redirects not followed."""
    handlers = [_NoRedirect()] + ([urllib.request.HTTPCookieProcessor(jar)] if jar is not None else [])
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=30) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def form_of(url: str, jar) -> dict[str, str]:
    """GET /sign-in with a cookie jar: the hidden fields of its form (the jar now holds the CSRF cookie)."""
    status, _, body = fetch(f"{url}/sign-in", jar=jar)
    assert status == 200
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))


def set_cookies(headers) -> dict[str, str]:
    out = {}
    for line in headers.get_all("set-cookie") or []:
        name, _, rest = line.partition("=")
        out[name] = rest.split(";")[0]
    return out


# -- the browser ----------------------------------------------------------------------------------------------------
def test_signed_in_reader_reloads_and_stays_signed_in_on_the_same_page(server, browser):
    with fresh_page(browser) as page, shot_on_failure(page, "sessions_reload"):
        sign_in(page, server, "analyst", "analyst-demo")           # no next: the role's default page
        assert urllib.parse.urlsplit(page.url).path == "/" and page.url.startswith(server)
        open_from_sidebar(page, t("nav.rating", "en"))
        picked = choose(page, t("rating.period", "en"), "2022")
        assert "period=2022" in page.url
        before = page.url
        page.reload()
        wait_idle(page)
        assert page.url == before
        page.get_by_role("heading", name=t("nav.rating", "en")).first.wait_for()
        assert "Demo analyst" in sidebar(page)
        box = page.locator("[data-testid='stSelectbox']").filter(has_text=t("rating.period", "en")).first
        assert box.get_by_role("combobox").input_value().strip() == picked
        assert not page.get_by_role("heading", name=t("auth.sign_in_to_see", "en")).count()


def test_a_deep_link_opened_signed_out_lands_on_its_page_and_query_after_sign_in(server, browser):
    with fresh_page(browser) as page, shot_on_failure(page, "sessions_deep_link"):
        page.goto(server + DEEP_LINK)
        wait_idle(page)
        asked_to_sign_in(page)
        assert "Page not found" not in page.content()
        assert t("nav.rating", "en") in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "sessions-sign-in-to-see-rating")
        page.locator("a[data-testid='sac-sign-in-link']").first.click()
        page.wait_for_url("**/sign-in?**")
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["next"] == [DEEP_LINK]
        fill_sign_in(page, "leadership", "leadership-demo")
        assert urllib.parse.urlsplit(page.url).path == "/rating"
        assert "period=2023" in page.url and "set=NP2" in page.url
        box = page.locator("[data-testid='stSelectbox']").filter(has_text=t("rating.period", "en")).first
        assert box.get_by_role("combobox").input_value().strip() == "2023"


def test_an_admin_page_signed_out_says_sign_in_not_page_not_found(server, browser):
    with fresh_page(browser) as page, shot_on_failure(page, "sessions_audit"):
        page.goto(f"{server}/audit?lang=kk")
        wait_idle(page)
        page.get_by_role("heading", name=t("auth.sign_in_to_see", "kk")).wait_for()
        screenshot(page, "sessions-sign-in-to-see-audit-kk")
        href = page.locator("a[data-testid='sac-sign-in-link']").first.get_attribute("href")
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(href).query) == {"lang": ["kk"], "next": ["/audit?lang=kk"]}


def test_sign_in_page_screenshots_in_english_and_kazakh(server, browser):
    with fresh_page(browser) as page:
        page.goto(f"{server}/sign-in?lang=en")
        page.get_by_role("heading", name=t("auth.sign_in_title", "en")).wait_for()
        screenshot(page, "sessions-sign-in-en")
        page.get_by_role("link", name="Қазақша").click()
        page.get_by_role("heading", name=t("auth.sign_in_title", "kk")).wait_for()
        assert page.locator("html").get_attribute("lang") == "kk"
        screenshot(page, "sessions-sign-in-kk")
        fill = page.get_by_label(t("auth.username", "kk"), exact=True)
        fill.fill("office")
        page.get_by_label(t("auth.password", "kk"), exact=True).fill("wrong-password")
        page.locator("form[action='/sign-in'] button[type=submit]").click()
        page.get_by_role("alert").wait_for()
        assert page.get_by_role("alert").inner_text() == t("auth.error_bad_credentials", "kk")
        screenshot(page, "sessions-sign-in-kk-refused")


def test_sign_out_ends_the_session_and_the_old_cookie_signs_nobody_in(server, browser):
    with fresh_page(browser) as page, shot_on_failure(page, "sessions_sign_out"):
        sign_in(page, server, "office", "office-demo")
        cookie = session_cookie(page)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
        plain = {"Cookie": f"{COOKIE}={cookie['value']}"}
        assert 'data-testid="signed-in"' in fetch(f"{server}/sign-in", headers=plain)[2]   # the cookie works
        page.locator("[data-testid='stSidebar']").get_by_role("button", name=t("auth.sign_out", "en")).click()
        page.wait_for_url("**/sign-in**")
        page.get_by_role("heading", name=t("auth.sign_in_title", "en")).wait_for()
        assert not [c for c in page.context.cookies() if c["name"] == COOKIE]     # /sign-in cleared the dead one
    # the old cookie, put back into another browser, signs nobody in
    with fresh_page(browser, [cookie]) as page:
        page.goto(server + DEEP_LINK)
        wait_idle(page)
        asked_to_sign_in(page)
        assert t("auth.session_ended", "en") in page.locator("[data-testid='stMain']").inner_text()
        assert "Almaty project office" not in sidebar(page)
    # nor does it over plain HTTP
    status, headers, body = fetch(f"{server}/sign-in", headers=plain)
    assert status == 200 and 'data-testid="signed-in"' not in body
    assert set_cookies(headers).get(COOKIE) in ("", '""')                     # told to forget it


def test_an_admin_ends_a_users_sessions_and_the_open_page_signs_out_at_its_next_click(server, browser):
    with fresh_page(browser) as office, fresh_page(browser) as admin, shot_on_failure(office, "sessions_ended"):
        sign_in(office, server, "office", "office-demo")
        replay = session_cookie(office)
        sign_in(admin, server, "admin", "admin-demo")
        admin.goto(f"{server}/users")                                  # a typed URL: the session carries over
        wait_idle(admin)
        admin.get_by_role("tab", name=t("auth.edit_user", "en")).click()
        choose(admin, t("auth.username", "en"), "office", scope=admin.locator("[data-testid='stMain']"))
        admin.get_by_text(re.compile(r"\d+ active sessions")).wait_for()
        admin.get_by_role("button", name=t("auth.end_sessions", "en")).click()
        wait_idle(admin)
        admin.get_by_text(re.compile("Sessions of office ended")).wait_for()
        # the office's open page: the next click asks for a sign-in
        open_from_sidebar(office, t("nav.rating", "en"))
        office.get_by_text(t("auth.session_ended", "en")).first.wait_for()
        assert "Almaty project office" not in sidebar(office)
    with fresh_page(browser, [replay]) as page:                       # the cookie replayed elsewhere: nothing
        page.goto(f"{server}/situation_room")
        wait_idle(page)
        asked_to_sign_in(page)


def test_next_never_leaves_the_site(server, browser):
    with fresh_page(browser) as page:
        page.goto(f"{server}/sign-in?next=" + urllib.parse.quote("//evil.example/x", safe=""))
        fill_sign_in(page, "analyst", "analyst-demo")
        assert urllib.parse.urlsplit(page.url).path == "/" and page.url.startswith(server)
    for hostile in ("//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
                    "/%0d%0aSet-Cookie:x=1", "javascript:alert(1)", "/\t/evil.example"):
        jar = http.cookiejar.CookieJar()
        fields = form_of(server, jar)
        status, headers, _ = fetch(f"{server}/sign-in", jar=jar, data={
            **fields, "next": hostile, "username": "analyst", "password": "analyst-demo"})
        assert status == 303, hostile
        assert headers["location"] in ("/", "/%250d%250aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"), hostile
        assert "evil" not in headers["location"]


# -- plain HTTP against the running server: CSRF, Origin, size ------------------------------------------------------
def test_a_post_without_the_csrf_token_or_from_another_origin_is_refused(server):
    jar = http.cookiejar.CookieJar()
    fields = form_of(server, jar)
    good = {**fields, "username": "analyst", "password": "analyst-demo"}
    # no token at all (a forged form on another site: no cookie, no field)
    status, headers, _ = fetch(f"{server}/sign-in", data={"username": "analyst", "password": "analyst-demo"})
    assert status == 403 and COOKIE not in set_cookies(headers)
    # the cookie but no field, and the field but a different cookie
    assert fetch(f"{server}/sign-in", jar=jar, data={**good, "csrf": ""})[0] == 403
    other = http.cookiejar.CookieJar()
    form_of(server, other)
    assert fetch(f"{server}/sign-in", jar=other, data=good)[0] == 403
    # the right token from another origin
    for origin in ("http://evil.example", "null", f"{server}.evil.example"):
        status, headers, _ = fetch(f"{server}/sign-in", jar=jar, data=good, headers={"Origin": origin})
        assert status == 403 and COOKIE not in set_cookies(headers), origin
    status, _, _ = fetch(f"{server}/sign-in", jar=jar, data=good, headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    # too big a body; not a form
    assert fetch(f"{server}/sign-in", jar=jar, data=b"a=" + b"x" * 20_000)[0] == 413
    assert fetch(f"{server}/sign-in", jar=jar, data=b'{"username": "analyst"}',
                headers={"Content-Type": "application/json"})[0] == 415
    # the same request from this origin, with the token: signed in
    status, headers, _ = fetch(f"{server}/sign-in", jar=jar, data=good, headers={"Origin": server})
    assert status == 303 and headers["location"] == "/"
    token = set_cookies(headers)[COOKIE]
    signed = {"Cookie": f"{COOKIE}={token}"}
    assert 'data-testid="signed-in"' in fetch(f"{server}/sign-in", headers=signed)[2]
    # sign-out is CSRF-checked too: without the token the session stays
    assert fetch(f"{server}/sign-out", data={"csrf": "x" * 43}, headers=signed)[0] == 403
    assert 'data-testid="signed-in"' in fetch(f"{server}/sign-in", headers=signed)[2]
    csrf = fields["csrf"]
    status, headers, _ = fetch(f"{server}/sign-out", data={"csrf": csrf},
                              headers={"Cookie": f"{COOKIE}={token}; sac_csrf={csrf}", "Origin": server})
    assert status == 303 and headers["location"] == "/sign-in"
    assert 'data-testid="signed-in"' not in fetch(f"{server}/sign-in", headers=signed)[2]


def test_sign_in_is_there_with_public_views_on_and_the_page_escapes_what_it_is_given(demo_db_path, tmp_path,
                                                                                      browser):
    db = _copy_demo(demo_db_path, tmp_path)
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "1"}) as url:
        with fresh_page(browser) as page, shot_on_failure(page, "sessions_public"):
            page.goto(f"{url}/audit")                     # not a published page: sign in, not "Page not found"
            wait_idle(page)
            asked_to_sign_in(page)
            nav = page.locator("[data-testid='stSidebarNav']").inner_text()
            assert t("nav.rating", "en") in nav and t("nav.audit", "en") not in nav
            screenshot(page, "sessions-public-sign-in-to-see-audit")
        status, headers, body = fetch(f"{url}/sign-in?next=" + urllib.parse.quote('/rating?x="><script>alert(1)</script>'))
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "<script>" not in body and "&lt;script&gt;" in body
        assert t("auth.continue_public", "en") in body
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        status, _, body = fetch(f"{url}/sign-in", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
        assert '<html lang="ru">' in body and t("auth.sign_in_title", "ru") in body


# -- the idle time-out ----------------------------------------------------------------------------------------------
def test_an_idle_session_asks_for_a_sign_in_again(demo_db_path, tmp_path, browser):
    db = _copy_demo(demo_db_path, tmp_path)
    idle_s = 12
    env = {"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0", "SAC_SESSION_IDLE_MINUTES": str(idle_s / 60)}
    with streamlit_server(env) as url, fresh_page(browser) as page, shot_on_failure(page, "sessions_idle"):
        sign_in(page, url, "analyst", "analyst-demo")
        assert "Demo analyst" in sidebar(page)
        time.sleep(idle_s + 3)
        page.reload()
        wait_idle(page)
        asked_to_sign_in(page)
        assert t("auth.session_ended", "en") in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "sessions-idle-ended")
        page.locator("a[data-testid='sac-sign-in-link']").first.click()
        page.wait_for_url("**/sign-in**")
        fill_sign_in(page, "analyst", "analyst-demo")              # and a new sign-in works at once
        assert "Demo analyst" in sidebar(page)
