"""Data quality page (issue 4, page 7) on the demo, and its view helpers (sac.views.data_quality)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_pages import ROOT, open_page

from sac.auth import User
from sac.i18n import t
from sac.metrics import quality
from sac.views import data_quality as views

PAGE = "pages/data_quality.py"
OFFICE = User(username="po", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))


# -- pure helpers -------------------------------------------------------------------------------------------------

def test_rollup_reporting_sums_counts_and_recomputes_shares():
    df = pd.DataFrame({"office_id": ["A", "A", "B"], "unit_code": ["1", "2", "3"], "period": ["2025"] * 3,
                       "expected": [10, 0, 4], "reported": [8, 0, 4], "with_upload_time": [8, 0, 0],
                       "on_time": [2, 0, 0]})
    got = views.rollup_reporting(df, "office_id").set_index("office_id")
    assert got.loc["A", "completeness"] == pytest.approx(0.8)   # 8/10, not the mean of 0.8 and NaN
    assert got.loc["A", "timeliness"] == pytest.approx(0.25)
    assert got.loc["A", "n_units"] == 2
    assert pd.isna(got.loc["B", "timeliness"])                  # no upload time known: no data, not 0%


def test_wrong_way_summary_counts_units_per_document():
    df = pd.DataFrame({"indicator_id": ["POV"] * 3 + ["INF"], "source_document": ["D1", "D1", "D2", "D1"],
                       "unit_code": ["10", "11", "10", "10"], "ind_name_en": ["Poverty"] * 3 + ["Inflation"],
                       "ind_name_ru": ["Бедность"] * 3 + ["Инфляция"], "ind_name_kk": ["Кедейлік"] * 3 + ["Инфляция"],
                       "unit_of_measure": ["%"] * 4, "direction": ["down"] * 4, "first_year": [2017, 2017, 2018, 2020],
                       "last_year": [2021, 2021, 2021, 2022], "first_plan": [4.0, 5.0, 3.0, 6.0],
                       "last_plan": [8.0, 9.0, 4.0, 7.0]})
    got = views.wrong_way_summary(df)
    assert got[["indicator_id", "source_document", "n_units"]].values.tolist() == [
        ["POV", "D1", 2], ["POV", "D2", 1], ["INF", "D1", 1]]   # D2: 3 -> 4 (+33%) before 6 -> 7 (+17%)
    assert got.iloc[0]["first_plan"] == 4.5 and got.iloc[0]["last_plan"] == 8.5
    assert got.iloc[0]["wrong_move"] == pytest.approx(4 / 4.5)     # a "down" indicator planned up by 89%


def test_the_poverty_plans_of_seed_table_2_come_first_in_the_demo(demo_store):
    got = views.wrong_way_summary(views.wrong_way(demo_store))
    assert got["indicator_id"].iloc[0] == "POVERTY"                 # same regions as inflation, larger move


def test_several_targets_summary_puts_the_passport_document_first():
    df = pd.DataFrame({"indicator_id": ["SME"] * 4, "unit_code": ["10", "10", "11", "11"],
                       "period": ["2020"] * 4, "source_document": ["Enbek", "MNE", "Enbek", "MNE"],
                       "plan": [109.0, 103.0, 110.0, 103.0], "plan_min": [103.0, 103.0, 103.0, 103.0],
                       "spread": [6.0, 6.0, 7.0, 7.0], "is_passport_source": [False, True, False, True],
                       "ind_name_en": ["SME"] * 4, "ind_name_ru": ["МСП"] * 4, "ind_name_kk": ["ШОБ"] * 4,
                       "unit_of_measure": ["units"] * 4})
    got = views.several_targets_summary(df)
    assert got["source_document"].tolist() == ["MNE", "Enbek"]
    assert got["n_cells"].tolist() == [2, 2]
    assert got.iloc[0]["median_rel_spread"] == pytest.approx((6 / 103 + 7 / 103) / 2)


def test_reporting_by_office_covers_every_region_once(demo_store):
    period = views.reporting_periods(demo_store, "year")[0]
    by_region = views.reporting_table(demo_store, period, "region")
    by_office = views.reporting_table(demo_store, period, "office")
    assert by_office["n_units"].sum() == len(by_region) == 20
    assert by_office["expected"].sum() == by_region["expected"].sum()
    assert by_office["office_id"].iloc[-1] == "—"   # regions without an office of their own, last
    almaty = by_office[by_office["office_id"] == "PO-ADC"].iloc[0]
    assert almaty["regions_en"] == "Almaty"


# -- the page -----------------------------------------------------------------------------------------------------

def _table(at, *cols) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if all(c in d.value.columns for c in cols))


def test_reporting_table_and_map_for_the_period_in_the_url(app_env, demo_store):
    at = open_page(PAGE, params={"kind": "year", "period": "2024"})
    assert not at.exception
    assert at.title[0].value == "Data quality"
    assert at.selectbox(key="url_period").value == "2024"
    expected = views.reporting_table(demo_store, "2024", "region")
    table = _table(at, "Region", "Completeness", "Timeliness")
    assert table["Region"].tolist() == expected["unit_name_en"].tolist()   # lowest completeness first
    worst = expected.iloc[0]
    assert table["Completeness"].iloc[0] == f"{100 * worst['completeness']:.1f}%"
    assert [c.key for c in at.get("plotly_chart")] == ["rep_map", "ww_chart"]  # tile map, a wrong-way series
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Facts missing"] == str(int(expected["expected"].sum() - expected["reported"].sum()))


def test_quarters_by_project_office(app_env, demo_store):
    at = open_page(PAGE, params={"kind": "quarter", "by": "office"})
    assert not at.exception
    period = views.reporting_periods(demo_store, "quarter")[0]
    assert at.selectbox(key="url_period").value == period
    table = _table(at, "Project office", "Regions")
    assert table["Project office"].iloc[-1] == "No regional project office"
    assert table["Regions"].astype(int).sum() == 20


def test_passport_gaps_name_the_missing_fields(app_env, demo_store):
    at = open_page(PAGE)
    gaps = quality.passport_completeness(demo_store)
    gaps = gaps[gaps["n_missing"] > 0]
    table = _table(at, "Missing", "Passport complete")
    assert table["Code"].tolist() == gaps["indicator_id"].tolist()
    trees = table[table["Code"] == "TREES"].iloc[0]
    assert trees["Missing"] == "unit of measure, baseline, target and year, responsible official"
    assert trees["Passport complete"] == "33.3%"


def test_wrong_way_poverty_and_several_targets_sme(app_env, demo_store):
    at = open_page(PAGE)
    ww = _table(at, "Better when", "First plan (median)")
    poverty = ww[ww["Code"] == "POVERTY"].iloc[0]
    assert poverty["Better when"] == "↓ lower"
    assert int(poverty["Regions"]) == 20
    sev = _table(at, "Passport document", "Cells in conflict")
    assert set(sev["Code"]) == {"SME_ACTIVE"}
    assert sev["Passport document"].iloc[0] == "✓ yes"


def test_outliers_listed_with_links_to_the_cell(app_env, demo_store):
    at = open_page(PAGE)
    out = quality.upload_outliers(demo_store)
    assert any(w.value == f"Figures awaiting confirmation: {len(out)}." for w in at.warning)
    table = _table(at, "Modified z", "History median")
    assert table["Code"].tolist() == out["indicator_id"].tolist()
    links = [pl for pl in at.get("page_link") if pl.proto.page.endswith("indicators")]
    assert len(links) == 5
    first = out.iloc[0]
    assert links[0].proto.query_string == (f"indicator={first['indicator_id']}&region={first['unit_code']}"
                                           f"&period={first['period']}")
    name = demo_store.scalar("SELECT name_en FROM indicators WHERE indicator_id = ?", [first["indicator_id"]])
    assert links[0].proto.label.startswith(f"{name}, ")          # the indicator's name, not its code alone


def test_project_office_sees_only_its_regions(app_env, demo_store):
    at = open_page(PAGE, user=OFFICE)
    assert not at.exception
    assert set(_table(at, "Region", "Completeness")["Region"]) == {"Almaty"}
    assert "rep_map" not in [c.key for c in at.get("plotly_chart")]  # no map where 19 of 20 tiles read "no data"
    out = quality.upload_outliers(demo_store)
    mine = out[out["unit_code"] == "75"]
    assert any(w.value == f"Figures awaiting confirmation: {len(mine)}." for w in at.warning)


def test_opened_directly_without_sign_in_shows_nothing(app_env):
    # Streamlit runs pages/<x>.py without app.py for a deep link to a freshly started server (MPA v1 mode)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("common.not_allowed", "en")]
    assert not at.dataframe and not at.title


def test_leadership_may_not_open_data_quality(app_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state["sac_user"] = User(username="lead", display_name="Akim's office", role="leadership")
    at.run()
    assert at.error and not at.dataframe


def test_kazakh_labels_and_numbers(app_env, demo_store):
    at = open_page(PAGE, lang="kk", params={"period": "2024"})
    assert not at.exception
    assert at.title[0].value == "Деректер сапасы"
    table = _table(at, "Өңір", "Толықтық")
    worst = views.reporting_table(demo_store, "2024", "region").iloc[0]
    assert table["Өңір"].iloc[0] == worst["unit_name_kk"]
    assert table["Толықтық"].iloc[0] == f"{100 * worst['completeness']:.1f}%".replace(".", ",")


def test_wrong_way_chart_draws_the_plans_of_the_series_in_the_url(app_env, demo_store):
    import json

    at = open_page(PAGE, params={"ww_indicator": "POVERTY", "ww_region": "75"})
    assert not at.exception
    assert at.selectbox(key="url_ww_region").value == "75"
    doc = quality.wrong_way_targets(demo_store).query("indicator_id == 'POVERTY' and unit_code == '75'")
    expected = views.plan_series(demo_store, "POVERTY", "75", doc["source_document"].iloc[0])
    assert expected["plan"].iloc[-2] > expected["plan"].iloc[0]       # a "down" indicator planned to rise
    import base64

    import numpy as np

    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "ww_chart").proto.spec)
    y = next(t for t in spec["data"] if t.get("name") == "plan")["y"]   # plotly 7: typed array, base64
    y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else np.asarray(y)
    assert y.tolist() == expected["plan"].tolist()
    assert "Almaty" in spec["layout"]["title"]["text"] and "better when ↓ lower" in spec["layout"]["title"]["text"]
