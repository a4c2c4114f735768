"""End to end in a real browser: `streamlit run app.py` on a copy of the demo database, Debian's chromium.

An analyst signs in, opens the situation room, follows an exception to its detail, changes the period on
the rating page and sees the table change, uploads a file on the upload page and sees the dry-run summary.
Screenshots of every page in English, and of the situation room in Russian and Kazakh, are saved to
test-artifacts/ (not committed).
"""

from __future__ import annotations

import re
import shutil

import pytest
from browser import browser_page, screenshot, streamlit_server, wait_idle

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


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    wait_idle(page)
    page.get_by_label(t("auth.username", "en")).fill(username)
    page.get_by_label(t("auth.password", "en")).fill(password)
    page.get_by_role("button", name=t("auth.sign_in", "en")).click()
    wait_idle(page)
    page.get_by_role("heading", name=t("situation.title", "en")).wait_for()


def table_rows(page, index: int = 0) -> list[str]:
    """The visible rows of the index-th st.dataframe, as text (from the grid's accessible table)."""
    rows = page.locator("[data-testid='stDataFrame']").nth(index).locator("table tr")
    return [rows.nth(i).inner_text() for i in range(1, min(rows.count(), 25))]


def choose(page, label: str, option: str) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_analyst_journey(server, tmp_path):
    with browser_page() as page:
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
        page.goto(f"{server}/rating?period=2025")
        wait_idle(page)
        before = table_rows(page)
        assert before, "the rating table is empty"
        choose(page, t("rating.period", "en"), "2024")
        assert "period=2024" in page.url
        after = table_rows(page)
        assert after and after != before, "changing the period did not change the rating table"

        # Upload: a small CSV with Russian headers goes through the dry run and shows its summary.
        csv = tmp_path / "facts.csv"
        csv.write_text("Показатель;Регион;Период;План;Факт\nKNI-01;г. Алматы;2026-Q4;5,0;\n", encoding="utf-8")
        page.goto(f"{server}/upload")
        wait_idle(page)
        page.locator("input[type='file']").set_input_files(str(csv))
        wait_idle(page)
        page.wait_for_timeout(1000)
        wait_idle(page)
        screenshot(page, "en-upload-summary")
        text = page.locator("[data-testid='stMain']").inner_text()
        assert re.search(r"insert|update|unchanged|reject", text, re.I), "no dry-run summary after the upload"


def test_screenshots_of_every_page(server):
    with browser_page() as page:
        sign_in(page, server, "admin", "admin-demo")
        for spec in PAGES:
            slug = spec.path.split("/")[1][:-3]
            page.goto(f"{server}/{slug}")
            wait_idle(page)
            assert not page.locator("[data-testid='stException']").count(), f"{slug} shows a traceback"
            screenshot(page, f"en-{slug}")
        for code in ("ru", "kk"):
            page.goto(f"{server}/situation_room?lang={code}")
            wait_idle(page)
            assert not page.locator("[data-testid='stException']").count()
            screenshot(page, f"{code}-situation_room")
