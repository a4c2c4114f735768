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
YEAR = dt.date.today().year - 1   # the demo reports last year's quarters in full


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
        grid = v.matrix(store, "indicator_values", YEAR, dt.date.today())
        stored = store.scalar(
            "SELECT count(*) FROM indicator_values v JOIN periods p ON p.code = v.period "
            f"WHERE v.unit_code = '75' AND p.year = {YEAR} AND p.start_date >= DATE '{YEAR}-04-01' "
            f"AND p.end_date <= DATE '{YEAR}-06-30'")
    finally:
        store.close()
    q2 = grid[(grid["unit_code"] == "75") & (grid["period"] == f"{YEAR}-Q2")].iloc[0]
    assert stored > 0 and q2["rows"] == stored
    assert q2["state"] == "open" and q2["turn"] == "office" and bool(q2["late"])   # long past its due date
    assert len(grid[grid["unit_kind"] == "region"]) == 20 * 4

    at = open_page(PAGE, user=OFFICE, params={"year": str(YEAR)})
    assert not at.exception
    rows = _matrix(at)
    assert set(rows) == {"75"}                                  # its own region only
    cell = rows["75"][f"{YEAR}-Q2"]
    assert cell.startswith("○ open") and f"· {stored}" in cell and "late" in cell


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
        datasets.transition(store, ANALYST, "71", "indicator_values", f"{YEAR}-Q3", "submit")
    finally:
        store.close()
    at = open_page(PAGE, user=ANALYST, params={"year": str(YEAR)})
    at.selectbox(key="sub_period").set_value(f"{YEAR}-Q3").run()
    at = _press(at, t("submissions.approve_all", "en", n=2, period=f"{YEAR}-Q3"))
    assert not at.exception
    rows = _matrix(at)
    assert rows["75"][f"{YEAR}-Q3"].startswith("● approved") and rows["71"][f"{YEAR}-Q3"].startswith("● approved")
    assert at.metric[1].value == "2"                            # the "Approved" card

    at = open_page(PAGE, user=LEADER, params={"year": str(YEAR)})
    assert not at.exception
    assert _matrix(at)["75"][f"{YEAR}-Q3"].startswith("● approved")
    assert [i.value for i in at.info] == [t("submissions.read_only", "en")]
    assert not [b for b in at.button if b.label in (t("submissions.approve", "en"), t("submissions.submit", "en"))]


def test_the_page_speaks_kazakh(db):
    at = open_page(PAGE, lang="kk", user=ANALYST, params={"year": str(YEAR)})
    assert not at.exception
    assert at.title[0].value == t("submissions.title", "kk")
    assert _matrix(at)["75"][f"{YEAR}-Q1"].startswith("○ ашық")
