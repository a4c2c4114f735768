"""End to end in a real browser: `streamlit run sac/server.py` on a copy of the demo database, Debian's chromium.

An analyst signs in, opens the situation room, follows an exception to its detail, changes the period on
the rating page and sees the table change, uploads a file on the upload page and sees the dry-run summary.
Screenshots of every page in English, and of the situation room in Russian and Kazakh, are saved to
test-artifacts/ (not committed).
"""

from __future__ import annotations

import contextlib
import re
import shutil
from urllib.parse import quote

import pytest
from browser import browser_page, metric_values, screenshot, streamlit_server, wait_idle

from sac.i18n import t
from sac.pages_registry import PAGES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(demo_db_path, tmp_path_factory):
    from sac.auth.accounts import ensure_demo_accounts
    from sac.store import Store

    db = tmp_path_factory.mktemp("e2e") / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with Store(db) as s:
        ensure_demo_accounts(s)
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0"}) as url:
        yield url


def fill_sign_in(page, username: str, password: str, lang: str = "en") -> None:
    """On the server-side /sign-in page: fill the form and send it; returns once the browser has left it."""
    page.get_by_label(t("auth.username", lang), exact=True).fill(username)
    page.get_by_label(t("auth.password", lang), exact=True).fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_url(lambda u: "/sign-in" not in u)
    page.wait_for_selector("[data-testid='stApp']")
    wait_idle(page)


def sign_in(page, url: str, username: str, password: str, next_path: str | None = None) -> None:
    """Sign in on /sign-in; with no ``next_path`` the browser lands on the role's default page (the situation
    room)."""
    page.goto(f"{url}/sign-in" + (f"?next={quote(next_path, safe='')}" if next_path else ""))
    fill_sign_in(page, username, password)
    if next_path is None:
        page.get_by_role("heading", name=t("situation.title", "en")).wait_for()


def table_rows(page, index: int = 0) -> list[str]:
    """The visible rows of the index-th st.dataframe, as text (from the grid's accessible table)."""
    rows = page.locator("[data-testid='stDataFrame']").nth(index).locator("table tr")
    return [rows.nth(i).text_content() for i in range(1, min(rows.count(), 25))]


def choose(page, label: str, option: str | None = None, *, scope=None) -> str:
    """Pick ``option`` (or the first option other than the current one) in the selectbox labelled ``label``."""
    box = (scope or page).locator("[data-testid='stSelectbox']").filter(has_text=label).first
    current = box.get_by_role("combobox").input_value().strip()
    box.get_by_role("button", name="Open").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    names = [options.nth(i).inner_text().strip() for i in range(options.count())]
    pick = option if option is not None else next(n for n in names if n != current)
    options.nth(names.index(pick)).click()
    wait_idle(page)
    return pick


@contextlib.contextmanager
def shot_on_failure(page, name: str):
    """Keep a screenshot of the moment a browser test failed (test-artifacts/failed-<name>.png)."""
    try:
        yield
    except BaseException:
        screenshot(page, f"failed-{name}")
        raise


def open_from_sidebar(page, title: str) -> None:
    """Follow a navigation link (in-app: no page load, the Streamlit session and its widgets' state are kept)."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first
    more = page.locator("[data-testid='stSidebarNavViewButton']")
    if not link.count() and more.count() and "more" in more.inner_text().lower():
        more.click()                  # more than ten pages: the navigation shows the rest on demand
    link.click()
    wait_idle(page)


def test_analyst_journey(server, tmp_path):
    with browser_page() as page, shot_on_failure(page, "analyst_journey"):
        sign_in(page, server, "analyst", "analyst-demo")
        screenshot(page, "en-situation_room")

        # An exception leads to its detail page, with its filters in the URL.
        link = page.locator("[data-testid='stPageLink'] a").filter(has_text=t("situation.open", "en")).first
        href = link.get_attribute("href")
        assert href and "?" in href, "the first exception has no link with parameters"
        link.click()
        wait_idle(page)
        slug = href.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        assert slug in page.url
        assert not page.locator("[data-testid='stException']").count(), f"{slug} shows a traceback"
        for key, value in re.findall(r"[?&]([^=&]+)=([^&]+)", href):
            assert f"{key}={value}" in page.url, f"the detail page lost the filter {key}={value}"
        screenshot(page, "en-exception-detail")

        # The rating: change the period and the table changes.
        open_from_sidebar(page, t("nav.rating", "en"))
        page.locator("[data-testid='stDataFrame'] table tr").nth(1).wait_for(state="attached")
        before = table_rows(page)
        assert before, "the rating table is empty"
        picked = choose(page, t("rating.period", "en"))
        assert f"period={picked}" in page.url
        page.wait_for_timeout(500)
        after = table_rows(page)
        assert after and after != before, "changing the period did not change the rating table"

        # Upload: a CSV as an office writes it (Russian headers, a region's Russian name, "3 кв." period,
        # decimal comma) goes through the dry run, shows its summary, and is saved as a batch.
        csv = tmp_path / "facts.csv"
        csv.write_text("Показатель;Регион;Период;План;Факт\nUNEMP;г. Алматы;3 кв. 2030;4,5;\n", encoding="utf-8")
        open_from_sidebar(page, t("nav.upload", "en"))
        page.locator("input[type='file']").set_input_files(str(csv))
        page.get_by_role("button", name=t("upload.commit", "en")).wait_for()
        wait_idle(page)
        screenshot(page, "en-upload-summary")
        summary = metric_values(page)
        assert summary[t("upload.count_inserted", "en")] == "1"
        assert summary[t("upload.count_rejected", "en")] == "0"
        page.get_by_role("button", name=t("upload.commit", "en")).click()
        wait_idle(page)
        saved = page.locator("[data-testid='stAlert']").filter(has_text="Saved as batch")
        saved.wait_for()
        assert "new rows 1" in saved.inner_text()
        screenshot(page, "en-upload-saved")


def test_screenshots_of_every_page(server):
    with browser_page() as page, shot_on_failure(page, "every_page"):
        sign_in(page, server, "admin", "admin-demo")
        for spec in PAGES:
            slug = spec.path.split("/")[1][:-3]
            open_from_sidebar(page, t(spec.title_key, "en"))
            page.wait_for_timeout(500)
            wait_idle(page)
            assert not page.locator("[data-testid='stException']").count(), f"{slug} shows a traceback"
            screenshot(page, f"en-{slug}")
        open_from_sidebar(page, t("nav.situation_room", "en"))
        for code, name in (("ru", "Русский"), ("kk", "Қазақша")):
            choose(page, t("common.language", "en" if code == "ru" else "ru"), name,
                   scope=page.locator("[data-testid='stSidebar']"))
            page.get_by_role("heading", name=t("situation.title", code)).wait_for()
            assert not page.locator("[data-testid='stException']").count()
            screenshot(page, f"{code}-situation_room")


def test_a_typed_link_to_an_admin_page_asks_for_sign_in_first(demo_db_path, tmp_path):
    """A fresh server, and the very first request is a deep link: Streamlit's pages-folder mode would run
    pages/users.py directly, without app.py; the reader must be asked to sign in instead, and come back to it."""
    db = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0"}) as url, browser_page() as page, \
            shot_on_failure(page, "deep_link"):
        page.goto(f"{url}/users")
        wait_idle(page)
        page.get_by_role("heading", name=t("auth.sign_in_to_see", "en")).wait_for()
        assert not page.locator("[data-testid='stDataFrame']").count()        # no account is listed
        assert not page.get_by_role("button", name=t("auth.add_user", "en")).count()
        nav = page.locator("[data-testid='stSidebarNav']")
        assert not nav.count() or "users" not in nav.inner_text()       # no list of every page file
        page.locator("a[data-testid='sac-sign-in-link']").first.click()
        page.wait_for_url("**/sign-in?**")
        fill_sign_in(page, "admin", "admin-demo")
        assert page.url.split("?")[0] == f"{url}/users"
        page.get_by_role("heading", name=t("auth.users_title", "en")).wait_for()
