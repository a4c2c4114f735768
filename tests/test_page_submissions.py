"""The Submissions page (issue 12) for a project office and for an analyst: the matrix shows each set's state
and figures, the office submits its own, the analyst approves (one or every submitted set of a quarter) and
returns with a comment; leadership reads without moves. AppTest on a copy of the demo."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from test_pages import open_page

from sac import datasets
from sac.auth import User
from sac.i18n import t
from sac.store import ServingStore
from sac.views import submissions as v

PAGE = "pages/submissions.py"
ANALYST = User("analyst", "Analyst", "analyst")
LEADER = User("leadership", "Leader", "leadership")
OFFICE = User("office", "Almaty office", "project_office", units=frozenset({"75"}))
YEAR = 2026   # the demo (built as of 23.11.2026): Q1-Q2 approved, Q3 submitted by half the regions, late for the rest


@pytest.fixture
def db(demo_db_path, tmp_path, monkeypatch):
    path = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(demo_db_path.parent)   # nothing relative depends on the cwd
    from test_pages import ROOT

    monkeypatch.chdir(ROOT)
    return path


def _matrix(at) -> dict:
    df = at.dataframe[0].value   # the matrix is the first table of the page
    return df.set_index(df.columns[0]).to_dict(orient="index")   # the unit code column, in any language


def _press(at, label: str):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_matrix_counts_each_sets_figures_and_the_office_sees_only_its_own(db):
    store = ServingStore(db)
    try:
        grid = v.matrix(store, "indicator_values", YEAR, dt.date(2026, 12, 2))
        stored = store.scalar(
            "SELECT count(*) FROM indicator_values v JOIN periods p ON p.code = v.period "
            f"WHERE v.unit_code = '75' AND p.start_date >= DATE '{YEAR}-07-01' AND p.end_date <= DATE '{YEAR}-09-30'")
        last_year = v.matrix(store, "indicator_values", YEAR - 1, dt.date(2026, 12, 2))
    finally:
        store.close()
    cell = grid.set_index(["unit_code", "period"])
    q3 = cell.loc[("75", f"{YEAR}-Q3")]
    assert stored > 0 and q3["rows"] == stored
    assert q3["state"] == "open" and q3["turn"] == "office" and bool(q3["late"])   # due 20.10, still open
    assert cell.loc[("10", f"{YEAR}-Q3"), "state"] == "submitted"                   # the first half submitted
    assert cell.loc[("75", f"{YEAR}-Q2"), "state"] == "approved"
    q4 = cell.loc[("75", f"{YEAR}-Q4")]
    assert q4["state"] == "open" and not bool(q4["late"])                          # due 20.01 next year
    assert len(grid[grid["unit_kind"] == "region"]) == 20 * 4
    # last year's quarters are approved through the year's own set
    assert set(last_year["state"]) == {"approved"} and set(last_year["via"]) == {str(YEAR - 1)}

    at = open_page(PAGE, user=OFFICE, params={"year": str(YEAR)})
    assert not at.exception
    rows = _matrix(at)
    assert set(rows) == {"75"}                                  # its own region only
    assert rows["75"][f"{YEAR}-Q3"] == f"○ open · {stored} · late"
    assert rows["75"][f"{YEAR}-Q2"].startswith("● approved · ")


def test_office_submits_analyst_returns_then_approves_all_and_leadership_only_reads(db):
    at = open_page(PAGE, user=OFFICE, params={"year": str(YEAR)})
    at.selectbox(key="sub_period").set_value(f"{YEAR}-Q3").run()
    at = _press(at, t("submissions.submit", "en"))
    assert not at.exception
    assert any("now submitted" in s.value for s in at.success)
    assert _matrix(at)["75"][f"{YEAR}-Q3"].startswith("◐ submitted")

    at = open_page(PAGE, user=ANALYST, params={"year": str(YEAR)})
    at.selectbox(key="sub_unit").set_value("75").run()
    at.selectbox(key="sub_period").set_value(f"{YEAR}-Q3").run()
    at = _press(at, t("submissions.return", "en"))              # no comment: refused, nothing changed
    assert [e.value for e in at.error] == [t("submissions.refused_reason_required", "en")]
    at.text_input(key="sub_reason").input("Q3 unemployment differs from the Bureau").run()
    at = _press(at, t("submissions.return", "en"))
    assert _matrix(at)["75"][f"{YEAR}-Q3"].startswith("○ open")

    store = ServingStore(db)
    try:
        datasets.transition(store, OFFICE, "75", "indicator_values", f"{YEAR}-Q3", "submit")
        waiting = v.matrix(store, "indicator_values", YEAR, dt.date.today())
    finally:
        store.close()
    waiting = waiting[(waiting["period"] == f"{YEAR}-Q3") & (waiting["state"] == "submitted")]
    assert "75" in set(waiting["unit_code"]) and len(waiting) == 11   # 10 from the demo, and Almaty
    at = open_page(PAGE, user=ANALYST, params={"year": str(YEAR)})
    before = int(at.metric[1].value)                            # the "Approved" card
    at.selectbox(key="sub_period").set_value(f"{YEAR}-Q3").run()
    at = _press(at, t("submissions.approve_all", "en", n=11, period=f"{YEAR}-Q3"))
    assert not at.exception
    rows = _matrix(at)
    assert all(rows[u][f"{YEAR}-Q3"].startswith("● approved") for u in waiting["unit_code"])
    assert int(at.metric[1].value) == before + 11

    at = open_page(PAGE, user=LEADER, params={"year": str(YEAR)})
    assert not at.exception
    assert _matrix(at)["75"][f"{YEAR}-Q3"].startswith("● approved")
    assert [i.value for i in at.info] == [t("submissions.read_only", "en")]
    assert not [b for b in at.button if b.label in (t("submissions.approve", "en"), t("submissions.submit", "en"))]


def test_the_page_speaks_kazakh(db):
    at = open_page(PAGE, lang="kk", user=ANALYST, params={"year": str(YEAR)})
    assert not at.exception
    assert at.title[0].value == t("submissions.title", "kk")
    assert _matrix(at)["75"][f"{YEAR}-Q3"].startswith("○ ашық")


def test_a_quarter_closed_by_its_years_set_points_to_the_year_where_the_analyst_can_lock(db):
    at = open_page(PAGE, user=ANALYST, params={"year": str(YEAR - 1)})
    at.selectbox(key="sub_unit").set_value("75").run()
    at.selectbox(key="sub_period").set_value(f"{YEAR - 1}-Q2").run()
    assert any(c.value == t("submissions.decided_by", "en", via=str(YEAR - 1), state="approved") for c in at.caption)
    assert not [b for b in at.button if b.label == t("submissions.lock", "en")]
    at.selectbox(key="sub_period").set_value(str(YEAR - 1)).run()
    at = _press(at, t("submissions.lock", "en"))
    assert not at.exception
    assert _matrix(at)["75"][f"{YEAR - 1}-Q2"].startswith(f"🔒 locked ({YEAR - 1})")
