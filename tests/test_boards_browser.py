"""The Boards page in a real browser: leadership opens the archive and st.pdf draws the board's pages
(streamlit-pdf renders each page on a canvas); no build form for leadership. Real server, real chromium."""

from __future__ import annotations

import datetime as dt
import shutil

from browser import browser_page, screenshot, streamlit_server, wait_idle
from test_e2e_browser import shot_on_failure, sign_in

from sac import boards
from sac.auth.accounts import DEMO_ACCOUNTS
from sac.i18n import t
from sac.store import Store


def test_leadership_views_a_board_in_the_page(demo_db_path, tmp_path):
    db = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    with Store(db) as s:
        row = boards.build(s, "P-ENBEK", "2026-W48", "en", built_by="analyst", today=dt.date(2026, 11, 23))
    with streamlit_server({"SAC_DB_PATH": str(db)}) as url, browser_page() as page, \
            shot_on_failure(page, "boards_browser"):
        sign_in(page, url, "leadership", DEMO_ACCOUNTS["leadership"][0])
        page.goto(f"{url}/boards")
        wait_idle(page)
        page.get_by_role("heading", name=t("boards.page_title", "en")).wait_for()
        assert page.get_by_role("button", name=t("boards.build_button", "en")).count() == 0
        page.get_by_text(t("boards.download_pdf", "en")).wait_for()
        viewer = page.locator("[data-testid='stBidiComponentIsolated']")
        viewer.scroll_into_view_if_needed()
        viewer.locator("canvas").first.wait_for(timeout=30_000)     # the PDF's first page is drawn
        assert f"Board {row['board_id']}" in page.get_by_role("heading").all_inner_texts()[-1]
        screenshot(page, "boards_viewer")
