"""`python -m sac import` while the app serves (issue 10, "writes while the app runs"): the import commits
at once (the server holds no lock between its own writes), and the page already open in the browser shows
the new figure at its next rerun. Real server, real CLI process, real chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from browser import browser_page, screenshot, streamlit_server, wait_idle
from test_e2e_browser import choose, shot_on_failure

from sac import datasets
from sac.auth import User
from sac.i18n import t
from sac.store import ServingStore
from sac.views import rating as rating_views
from sac.views import situation as views

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _achieved_card(page) -> float:
    card = page.locator("[data-testid='stMetric']").filter(has_text=t("situation.m_achieved", "en")).first
    card.wait_for()
    value = card.locator("[data-testid='stMetricValue']").inner_text()
    return float(re.sub(r"[^0-9.]", "", value.replace(",", ".")))


def _facts_that_meet_their_plans(store, period: str, n: int) -> str:
    """A CSV re-stating ``n`` not-achieved region cells of ``period`` with facts that achieve their plans."""
    cells = store.df(
        "SELECT v.indicator_id, v.unit_code, v.period, v.source_document, v.plan FROM indicator_values v "
        "JOIN indicators i USING (indicator_id) JOIN regions r ON r.kato = v.unit_code "
        "WHERE v.period LIKE ? || '%' AND i.direction = 'up' AND v.plan > 0 AND v.fact < 0.9 * v.plan "
        "ORDER BY 1, 2, 3 LIMIT ?", [period[:4], n])
    assert len(cells) == n, f"the demo has only {len(cells)} such cells in {period}"
    lines = ["indicator;region;period;document;plan;fact"]
    lines += [f"{r.indicator_id};{r.unit_code};{r.period};{r.source_document};{r.plan};{r.plan * 2}"
              for r in cells.itertuples()]
    return "\n".join(lines) + "\n"


def test_cli_import_while_the_app_serves_shows_on_the_open_page_at_its_next_rerun(demo_db_path, tmp_path):
    db = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, db)
    env = {"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "1", "SAC_LOCK_TIMEOUT": "5"}
    with streamlit_server(env) as url, browser_page() as page, shot_on_failure(page, "cli_while_serving"):
        page.goto(url)
        wait_idle(page)
        before = _achieved_card(page)

        reader = ServingStore(db)
        try:
            period = rating_views.default_period(reader)
            csv = tmp_path / "facts.csv"
            csv.write_text(_facts_that_meet_their_plans(reader, period, 12), encoding="utf-8")
            # the demo's 2025 is approved (issue 12): an admin reopens the regions the file corrects
            units = sorted({line.split(";")[1] for line in csv.read_text(encoding="utf-8").splitlines()[1:]})
            datasets.transition_many(reader, User("admin", "Admin", "admin"), units, "indicator_values", period[:4],
                                     "unlock", "corrected facts follow")
            proc = subprocess.run([sys.executable, "-m", "sac", "import", str(csv), "--kind", "indicator_values"],
                                  cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": ROOT},
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr   # not 3 (busy): the server holds no lock
            assert "COMMITTED" in proc.stdout
            expected = views.achievement(reader, period)["share"]
        finally:
            reader.close()
        assert round(expected, 1) > round(before, 1)

        # the open page reruns (a widget change, then back to the period it showed): the new figure
        label = t("situation.period", "en")
        other = choose(page, label)
        assert other != period
        choose(page, label, period)
        wait_idle(page)
        after = _achieved_card(page)
        screenshot(page, "cli-import-while-serving")
        assert abs(after - expected) < 0.051, (before, after, expected)
