"""Budget page (issue 4) on the demo, and its view helpers (sac.views.budget)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from test_pages import open_directly as open_page

from sac.auth import User
from sac.store import Store
from sac.views import budget as views

PAGE = "pages/budget.py"
OFFICE = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
OFFICE_UNITS = {"75", "AKM-75", "PO-ADC", "AGP"}   # Almaty and the organisations of Almaty in the demo


def _table(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_seed_001_table_11_conflict_lists_every_amount_with_its_source(demo_store):
    conf = views.conflicts(demo_store, "068")
    c2021 = conf[conf["year"] == 2021]
    assert sorted(c2021["amount"].tolist()) == [27472.0, 76952.0, 80043.0]
    assert c2021["spread"].iloc[0] == 80043.0 - 27472.0
    assert c2021["source_document"].nunique() == 3


def test_execution_by_region_is_regions_only_and_ratios_match(demo_store):
    ex = views.execution(demo_store, 2025, "region")
    assert len(ex) == 20 and "MLSP" not in set(ex["key"])
    row = ex.set_index("key").loc["75"]
    assert row["execution"] == row["spent"] / row["plan"]


def test_incomplete_year_is_not_judged_for_spikes(demo_store):
    sp = views.year_end_spikes(demo_store, 2026)          # demo data reach October 2026
    assert not sp["complete"].any()
    assert sp["q4_share"].isna().all() and not sp["flagged"].any()
    full = views.year_end_spikes(demo_store, 2025)
    assert full["complete"].all() and full["flagged"].any()
    assert (full.loc[full["flagged"], "q4_share"] > 0.40).all()


def test_page_shows_the_068_conflict_in_million_tenge(app_env):
    at = open_page(PAGE, params={"program": "068", "year": "2025"})
    assert not at.exception
    conf = _table(at, "Source document")
    amounts = set(conf["Plan, mln KZT"])
    assert {"76,952", "27,472", "80,043"} <= amounts
    assert at.query_params["program"] in (["068"], "068")


def test_headline_figures_match_the_domain_for_a_region(app_env, demo_store):
    at = open_page(PAGE, "ru", params={"year": "2025", "region": "75"})
    assert not at.exception
    tot = views.totals(demo_store, 2025, None, "75").iloc[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Исполнение (освоено / план)"] == f"{100 * tot['execution']:.1f}%".replace(".", ",")
    assert "Освоено, млн тг" in metrics
    regions = next(d.value for d in at.dataframe if "75" in set(d.value.iloc[:, 0].astype(str)))
    assert regions.set_index(regions.columns[0]).loc["75", "Наименование"] == "г. Алматы"
    assert len(at.get("plotly_chart")) >= 3               # execution bars, cumulative, spikes


def test_spike_flags_appear_for_a_complete_year(app_env, demo_store):
    at = open_page(PAGE, params={"year": "2025"})
    assert not at.exception
    flagged = views.year_end_spikes(demo_store, 2025)
    assert flagged["flagged"].any()
    eff = _table(at, "Band")
    assert set(eff["Band"]) <= {"✓ High", "✓ Medium", "! Satisfactory", "✗ Unsatisfactory", "○ No data"}


def test_project_office_sees_only_its_regions(app_env):
    office = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
    at = open_page(PAGE, user=office, params={"year": "2025"})
    assert not at.exception
    regions = next(d.value for d in at.dataframe if "Name" in d.value.columns and "75" in set(d.value.iloc[:, 0]))
    assert regions.iloc[:, 0].tolist() == ["75"]


def test_all_programs_together_add_up_every_program_and_stop_at_the_last_month(demo_store):
    # Abai region, 2026: the demo's spending reaches October
    together = views.cumulative_by_month(demo_store, 2026, None, "10", True)
    tot = views.totals(demo_store, 2026, None, "10").iloc[0]
    assert together["month"].max() == 10                  # no flat November and December
    last = together.iloc[-1]
    assert last["annual_plan"] == pytest.approx(tot["plan"])            # every program's plan, not the first one's
    assert last["spent_cum"] == pytest.approx(tot["spent"])
    assert last["cum_share_spent"] == pytest.approx(tot["execution"])    # the line ends where the headline figure says
    per_program = views.cumulative_by_month(demo_store, 2026, None, "10")
    assert per_program.groupby("program_code")["month"].max().le(10).all()


@pytest.mark.parametrize("code,label", [("2026-10", "10.2026"), ("2026-03", "03.2026"), ("2026", "2026"),
                                        ("2026-Q3", "2026-Q3"), (None, "—")])
def test_period_label(code, label):
    assert views.period_label(code) == label


def test_an_unfinished_year_says_why_there_is_no_spike_chart(app_env):
    at = open_page(PAGE, params={"year": "2026"})
    assert not at.exception
    assert any("2026 is not over: the data reach 10.2026" in i.value for i in at.info)
    assert any("data up to 10.2026" in c.value for c in at.caption)
    assert not any("seed" in c.value for c in at.caption)


# -- a project office's scope covers every table and download (issue 8, finding 8) ------------------------------------

@pytest.fixture
def conflicts_env(demo_db_path, tmp_path, monkeypatch):
    """The demo plus program 068 planned with different amounts in two documents in Almaty and in Astana
    (the demo's own conflicts are the ministry's, MLSP)."""
    path = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    with Store(path) as s, s.write() as cur:
        for unit in ("75", "71"):
            cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, source_document, plan) VALUES "
                        "('068', ?, '2024', 'Akimat plan', 100), ('068', ?, '2024', 'Budget program 068', 150)",
                        [unit, unit])
        cur.execute("UPDATE meta SET value = '7100000' WHERE key = 'data_version'")   # no other test's cache
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return path


@pytest.fixture
def media(monkeypatch) -> list:
    """The media storages AppTest creates for its runs (each run's mock runtime has one): the last one holds the
    files behind the last run's download buttons."""
    made = []
    init = MemoryMediaFileStorage.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MemoryMediaFileStorage, "__init__", record)
    return made


def _download(at, media: list, key: str) -> pd.DataFrame:
    """The CSV behind the download button ``key``."""
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    data = media[-1].get_file(button.proto.url.rsplit("/", 1)[1]).content
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)


def test_conflicts_table_and_download_are_a_project_offices_own(conflicts_env, media):
    at = open_page(PAGE, user=OFFICE, params={"year": "2025"})
    assert not at.exception
    conf = _table(at, "Source document")
    assert set(conf["Unit"]) == {"75"}                                   # Almaty's conflict, not MLSP's or Astana's
    assert set(_download(at, media, "dl_conflicts_csv")["Unit"]) == {"75"}


def test_conflicts_table_shows_every_unit_to_an_analyst(conflicts_env, media):
    at = open_page(PAGE, user=User("analyst", "Analyst", "analyst"), params={"year": "2025"})
    assert not at.exception
    assert {"75", "71", "MLSP"} <= set(_table(at, "Source document")["Unit"])
    assert {"75", "71", "MLSP"} <= set(_download(at, media, "dl_conflicts_csv")["Unit"])


def test_every_budget_table_and_download_of_a_project_office_is_its_own(conflicts_env, media):
    at = open_page(PAGE, user=OFFICE, params={"year": "2025"})
    assert not at.exception
    for table in at.dataframe:
        df = table.value
        if "Unit" in df.columns:
            assert set(df["Unit"]) <= OFFICE_UNITS
    regions = next(d.value for d in at.dataframe if "Name" in d.value.columns and "75" in set(d.value.iloc[:, 0]))
    assert set(regions.iloc[:, 0]) <= OFFICE_UNITS
    assert set(_download(at, media, "dl_regions_csv").iloc[:, 0]) <= OFFICE_UNITS
