"""Approve and lock in a real browser (issue 12): the Almaty project office submits its 2026-Q3 facts on the
Submissions page, an analyst approves them in another browser, and the office's next upload for that quarter
is refused on the upload page with the message naming the set and its state. Real server, real chromium."""

from __future__ import annotations

import shutil

import pytest
from browser import browser_page, metric_values, screenshot, streamlit_server, wait_idle
from test_e2e_browser import choose, shot_on_failure, sign_in

from sac.i18n import t

pytestmark = pytest.mark.e2e
QUARTER = "2026-Q3"   # the demo: Almaty's Q3 facts are in, not yet submitted, late


@pytest.fixture(scope="module")
def server(demo_db_path, tmp_path_factory):
    db = tmp_path_factory.mktemp("submissions") / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with streamlit_server({"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "0"}) as url:
        yield url


def _success(page) -> str:
    alert = page.locator("[data-testid='stAlertContentSuccess']").first
    alert.wait_for()
    return alert.inner_text()


def test_office_submits_analyst_approves_and_the_next_upload_is_refused(server, tmp_path):
    with browser_page() as office, shot_on_failure(office, "submissions_office"):
        sign_in(office, server, "office", "office-demo", next_path="/submissions?year=2026")
        office.get_by_role("heading", name=t("submissions.title", "en")).wait_for()
        choose(office, t("submissions.period", "en"), QUARTER)
        office.get_by_role("button", name=t("submissions.submit", "en")).click()
        wait_idle(office)
        assert "now submitted" in _success(office)
        screenshot(office, "submissions-office-submitted")

    with browser_page() as analyst, shot_on_failure(analyst, "submissions_analyst"):
        sign_in(analyst, server, "analyst", "analyst-demo", next_path="/submissions?year=2026")
        analyst.get_by_role("heading", name=t("submissions.title", "en")).wait_for()
        unit = analyst.locator("[data-testid='stSelectbox']").filter(has_text=t("submissions.col_unit", "en")).first
        unit.get_by_role("combobox").click()
        unit.get_by_role("combobox").fill("Almaty (75)")   # twenty-odd units: typed, as a user would
        analyst.get_by_role("option", name="Almaty (75)", exact=True).click()
        wait_idle(analyst)
        choose(analyst, t("submissions.period", "en"), QUARTER)
        analyst.get_by_role("button", name=t("submissions.approve", "en"), exact=True).click()
        wait_idle(analyst)
        assert "now approved" in _success(analyst)
        screenshot(analyst, "submissions-analyst-approved")

    # the office's next upload for that quarter: refused for the row, with the set and its state named
    csv = tmp_path / "facts.csv"
    csv.write_text("Показатель;Регион;Период;План;Факт\nUNEMP;г. Алматы;3 кв. 2026;4,5;9,99\n", encoding="utf-8")
    with browser_page() as office, shot_on_failure(office, "submissions_office_upload"):
        sign_in(office, server, "office", "office-demo", next_path="/upload")
        office.locator("input[type='file']").wait_for(state="attached")
        office.locator("input[type='file']").set_input_files(str(csv))
        office.locator("[data-testid='stMetric']").first.wait_for()
        wait_idle(office)
        screenshot(office, "submissions-office-upload-refused")
        summary = metric_values(office)
        assert summary[t("upload.count_rejected", "en")] == "1"
        assert "75 · 2026-Q3: approved" in office.locator("[data-testid='stMain']").text_content()
        commit = office.get_by_role("button", name=t("upload.commit", "en"))
        assert commit.count() == 0 or not commit.is_enabled()   # nothing to save: the file is refused
