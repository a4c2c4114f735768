"""Indicators page (issue 4) on the demo, and its view helpers (sac.views.indicators)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_pages import open_directly as open_page

from sac.auth import User
from sac.charts import RAG_ICONS
from sac.metrics import goalmap
from sac.views import indicators as views

PAGE = "pages/indicators.py"




# -- pure helpers -------------------------------------------------------------------------------------------------

def _cells():
    return pd.DataFrame({
        "unit_code": ["75", "75", "10", "10", "71"],
        "unit_name_en": ["Almaty", "Almaty", "Abai Region", "Abai Region", "Astana"],
        "indicator_id": ["A", "B", "A", "B", "A"],
        "ratio": [1.05, 0.95, 0.5, None, None],
        "score": [100.0, 95.0, 50.0, None, None],
        "rag": ["green", "amber", "red", "grey", "grey"],
    })


def test_matrix_cells_carry_icon_and_ratio_and_regions_are_best_first():
    text, rag = views.pivot_matrix(_cells(), "en", RAG_ICONS)
    assert text.index.tolist() == ["75", "10", "71"]          # mean score 97.5, 50, none
    assert text.loc["75", "A"] == "✓ 105.0%"
    assert text.loc["75", "B"] == "! 95.0%"
    assert text.loc["10", "A"] == "✗ 50.0%"
    assert text.loc["10", "B"] == "○ —"                       # no data is never 0%
    assert text.loc["71", "region"] == "Astana"
    assert rag.loc["71", "B"] == "grey"                       # a missing cell is grey, labelled
    assert text.shape == rag.shape


def test_matrix_ratio_uses_russian_decimal_comma():
    text, _ = views.pivot_matrix(_cells(), "en", RAG_ICONS)
    cells = _cells().assign(unit_name_ru=["Алматы", "Алматы", "Абай", "Абай", "Астана"])
    text_ru, _ = views.pivot_matrix(cells, "ru", RAG_ICONS)
    assert text_ru.loc["75", "A"] == "✓ 105,0%"
    assert text_ru.loc["75", "region"] == "Алматы"


def test_rag_counts_keep_every_colour():
    out = views.rag_counts(_cells().iloc[:1])
    assert dict(zip(out["rag"], out["cells"], strict=True)) == {"green": 1, "amber": 0, "red": 0, "grey": 0}


def test_gap_table_puts_insufficient_first_with_verdicts():
    gap = pd.DataFrame({
        "indicator_id": ["A", "B", "C", "D"], "unit_code": ["75", "75", "10", "10"],
        "name_en": ["a", "b", "c", "d"], "name_ru": ["а", None, "в", "г"], "name_kk": ["a", "b", "c", "d"],
        "unit_of_measure": ["%"] * 4, "target_value": [1, 2, 3, None], "target_year": [2026] * 4,
        "current_fact": [1, 1, 1, 1], "current_period": ["2025"] * 4, "required": [0, 1, 2, None],
        "planned": [0, 2, 1, 0], "n_projects": [0, 1, 1, 0], "shortfall": [0, 0, 1, None],
        "achieved": pd.array([True, False, False, None], dtype="boolean"),
        "insufficient": pd.array([False, False, True, None], dtype="boolean"),
    })
    out = views.gap_table(gap, "ru", {"75": "Алматы"})
    assert out["verdict"].tolist() == ["insufficient", "sufficient", "achieved", "unknown"]
    assert out["indicator_id"].tolist() == ["C", "B", "A", "D"]
    assert out.loc[1, "name"] == "b"                          # missing Russian name falls back to English
    assert out.loc[0, "region"] == "10" and out.loc[1, "region"] == "Алматы"


# -- the page on the demo -------------------------------------------------------------------------------------------

def _matrix(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "region" in d.value.columns)


def test_matrix_shows_every_region_with_labelled_rag_cells(app_env, demo_store):
    period = views.default_period(demo_store)
    at = open_page(PAGE, params={"period": period})
    assert not at.exception
    m = _matrix(at)
    assert len(m) == 20
    cells = views.matrix_cells(demo_store, period)
    assert set(m.columns) - {"region"} == set(cells["indicator_id"])
    # a cell is exactly the domain's achievement ratio, with its icon
    row = cells[cells["scored"]].iloc[0]
    expected = f"{RAG_ICONS[row['rag']]} {100 * row['ratio']:,.1f}%"
    assert m.loc[row["unit_code"], row["indicator_id"]] == expected
    values = m.drop(columns="region").to_numpy().ravel()
    assert all(str(v)[0] in RAG_ICONS.values() for v in values)
    counts = {mt.label: mt.value for mt in at.metric}
    assert counts["✓ Achieved"] == str(int((cells["rag"] == "green").sum()))


def test_indicator_and_region_from_the_url(app_env, demo_store):
    code = views.indicator_options(demo_store)["indicator_id"].iloc[-1]
    at = open_page(PAGE, params={"indicator": code, "region": "75"})
    assert not at.exception
    heading = [h.value for h in at.subheader]
    assert any(code in h and "Almaty" in h for h in heading), heading
    passport = next(d.value for d in at.dataframe if "Field" in d.value.columns)
    assert len(passport) == len(views.PASSPORT_FIELDS) == 21
    assert passport.set_index("Field").loc["Code", "Value"] == code
    assert at.query_params["region"] == ["75"] or at.query_params["region"] == "75"


def test_russian_page_has_russian_labels_and_a_goal_map(app_env):
    at = open_page(PAGE, "ru", params={"region": "75"})
    assert not at.exception
    assert at.title[0].value == "Показатели"
    assert any("г. Алматы" in h.value for h in at.subheader)
    charts = at.get("plotly_chart")
    assert len(charts) >= 2                                   # the series and the goal map


def test_gap_summary_matches_the_domain(app_env, demo_store):
    period = views.default_period(demo_store)
    at = open_page(PAGE, params={"period": period})
    gap = goalmap.gap_analysis(demo_store, period)
    n = int(gap["insufficient"].fillna(False).sum())
    assert n > 0
    texts = [w.value for w in at.warning]
    assert any(f"{n} indicator–region pairs" in t for t in texts), texts


def test_project_office_sees_only_its_regions(app_env):
    office = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
    at = open_page(PAGE, user=office)
    assert not at.exception
    m = _matrix(at)
    assert m["region"].tolist() == ["Almaty"]


@pytest.mark.parametrize("lang", ["en", "kk"])
def test_unknown_url_values_fall_back_without_error(app_env, lang):
    at = open_page(PAGE, lang, params={"indicator": "NO_SUCH", "region": "99", "period": "1999"})
    assert not at.exception
    assert len(_matrix(at)) == 20


@pytest.mark.parametrize("values,decimals", [
    ([104.8, 105.3], 1), ([14.3, 5.37], 2), ([20.0, 19.0], 0), ([1 / 3], 2), ([None, float("nan")], 0),
])
def test_value_decimals(values, decimals):
    assert views.value_decimals(pd.Series(values, dtype=float)) == decimals


def test_series_table_prints_a_missing_fact_as_a_dash_in_the_languages_number_format():
    t = pd.DataFrame({"Period": ["2025", "2026"], "Plan": [1234.5, 105.8], "Fact": [91.2, None]})
    ru = views.format_series_table(t, "ru")
    assert ru["Plan"].tolist() == ["1\u00a0234,5", "105,8"]
    assert ru["Fact"].tolist() == ["91,2", "—"]
    assert views.format_series_table(t, "en")["Plan"].tolist() == ["1,234.5", "105.8"]


def test_region_series_table_has_no_none_and_progress_figures_are_whole(app_env, demo_store):
    # AGRI_PROD in Abai Region: the 2026 fact is not in yet
    at = open_page(PAGE, params={"indicator": "AGRI_PROD", "region": "10", "period": "2025"})
    assert not at.exception
    series = next(d.value for d in at.dataframe if list(d.value.columns) == ["Period", "Plan", "Fact"])
    assert "2026" in series["Period"].tolist()
    assert not series.isna().any().any() and "None" not in series.to_numpy()
    assert series.set_index("Period").loc["2026", "Fact"] == "—"
    projected = next(m for m in at.metric if m.label.startswith("Projected value"))
    assert "%" not in projected.value and "year" not in projected.value   # the unit is in the help, not cut off


@pytest.mark.parametrize("region", [None, "10"])
def test_progress_is_the_chosen_indicators_own(demo_store, region):
    for code in ("AGRI_PROD", views.indicator_options(demo_store)["indicator_id"].iloc[-1]):
        prog = views.indicator_progress(demo_store, code, region)
        assert len(prog) <= 1
        assert set(prog["indicator_id"]) <= {code}
        target = demo_store.scalar("SELECT target_value FROM indicators WHERE indicator_id = ?", [code])
        if region is None and len(prog) and target is not None:   # a region's target may be its own plan
            assert prog["target_value"].iloc[0] == pytest.approx(target)


def test_country_sum_with_a_region_missing_is_no_value_not_a_smaller_total(demo_store):
    """Missing is missing: SME_ACTIVE (aggregation sum) in a year when a region has not reported has no
    national value, rather than the sum of the 19 that did (which would read as a fall)."""
    from sac.views import indicators as v

    s = v.series(demo_store, "SME_ACTIVE")
    incomplete = s[s["n_fact"].fillna(0) < s["n_plan"]]
    assert not incomplete.empty
    assert incomplete["fact"].isna().all()
    full = s[s["n_fact"] == s["n_plan"]]
    assert full["fact"].notna().all() and (full["fact"] > 1_000_000).all()


def test_project_office_goal_map_holds_only_its_regions_projects(app_env, demo_store):
    office = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
    at = open_page(PAGE, user=office)
    assert not at.exception
    goal_map = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("goal_map"))
    ids = [i for trace in json.loads(goal_map.proto.spec)["data"] for i in trace.get("ids") or []]
    projects = {i.removeprefix("project:") for i in ids if str(i).startswith("project:")}
    assert projects                                                   # Almaty has projects on the map
    region = demo_store.df("SELECT project_id, region_kato FROM projects").set_index("project_id")["region_kato"]
    assert {region[p] for p in projects} == {"75"}
