"""Region profile page (issue 4, page 3) on the demo, and its view helpers (sac.views.region)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_pages import open_page

from sac.auth import User
from sac.views import rating as rating_views
from sac.views import region as views

PAGE = "pages/region.py"
OFFICE = User(username="po", display_name="PO Astana", role="project_office", units=frozenset({"71"}))


# -- pure helpers -------------------------------------------------------------------------------------------------

def _cells(rows):
    return pd.DataFrame(rows, columns=["indicator_id", "unit_code", "fact", "direction", "unit_kind"])


def test_indicator_ranks_are_direction_aware_competition_ranks_and_skip_missing():
    cells = _cells([
        ("up", "10", 5.0, "up", "region"), ("up", "11", 7.0, "up", "region"), ("up", "15", 7.0, "up", "region"),
        ("up", "19", None, "up", "region"),                       # no fact: no rank, not last place
        ("dn", "10", 1.0, "down", "region"), ("dn", "11", 3.0, "down", "region"),
        ("up", "ORG1", 99.0, "up", "organisation"),               # organisations are not peers of regions
    ])
    r = views.indicator_ranks(cells).set_index(["indicator_id", "unit_code"])
    assert r.loc[("up", "11"), "level_rank"] == 1 and r.loc[("up", "15"), "level_rank"] == 1
    assert r.loc[("up", "10"), "level_rank"] == 3
    assert np.isnan(r.loc[("up", "19"), "level_rank"])
    assert (r.xs("up")["n_ranked"] == 3).all()
    assert r.loc[("dn", "10"), "level_rank"] == 1          # lower is better
    assert r.loc[("dn", "11"), "percentile"] == 1.0
    assert ("up", "ORG1") not in r.index


def test_indicator_ranks_of_an_empty_frame():
    assert views.indicator_ranks(_cells([])).empty


def test_strongest_and_weakest_never_share_an_indicator():
    ind = pd.DataFrame({"indicator_id": list("abcd"), "percentile": [0.0, 0.5, 1.0, np.nan],
                        "score": [100.0, 90.0, 50.0, 80.0]})
    best, worst = views.strongest_weakest(ind, n=3)
    assert best["indicator_id"].tolist() == ["a", "b", "c"]
    assert worst.empty
    best, worst = views.strongest_weakest(ind, n=1)
    assert (best["indicator_id"].tolist(), worst["indicator_id"].tolist()) == (["a"], ["c"])


def test_fact_trends_keep_the_indicators_own_periodicity_oldest_first():
    cells = pd.DataFrame({
        "indicator_id": ["q"] * 4, "unit_code": ["75"] * 4, "fact": [3.0, 1.0, np.nan, 9.0],
        "periodicity": ["quarter"] * 4, "period_kind": ["quarter", "quarter", "quarter", "year"],
        "period": ["2024-Q2", "2024-Q1", "2024-Q3", "2024"],
        "start_date": pd.to_datetime(["2024-04-01", "2024-01-01", "2024-07-01", "2024-01-01"]),
    })
    t = views.fact_trends(cells)
    assert t["trend"].iloc[0] == [1.0, 3.0]
    assert t["trend_periods"].iloc[0] == ["2024-Q1", "2024-Q2"]


@pytest.mark.parametrize("plan,spent,expected", [
    ([100.0, 100.0], [50.0, 100.0], 75.0),
    ([100.0, np.nan], [50.0, 80.0], 50.0),     # a line without a plan is left out of both sums
    ([np.nan], [10.0], np.nan),                # no plan: no data, not 0%
])
def test_execution_share(plan, spent, expected):
    got = views.execution_share(pd.DataFrame({"plan": plan, "spent": spent}))
    assert (np.isnan(got) and np.isnan(expected)) or got == pytest.approx(expected)


def test_region_indicators_of_almaty(demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    ind = views.region_indicators(demo_store, "75", period)
    assert len(ind) > 5
    assert set(ind["rag"]) <= {"green", "amber", "red", "grey"}
    ranked = ind[ind["level_rank"].notna()]
    assert ((ranked["level_rank"] >= 1) & (ranked["level_rank"] <= ranked["n_ranked"])).all()
    assert (ranked["n_ranked"] <= 20).all()


# -- the page -----------------------------------------------------------------------------------------------------

def test_region_in_the_url_opens_almaty(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"region": "75", "period": period})
    assert not at.exception
    assert at.title[0].value == "Region profile"
    assert at.header[0].value == "Almaty"
    rating = rating_views.rating_table(demo_store, period).set_index("unit_code")
    rank = dict((m.label, m.value) for m in at.metric)["Rating place"]
    assert rank == f"{rating.loc['75', 'rank_label']} of {int(rating['rated'].sum())}"


def test_indicator_table_has_status_words_with_icons_and_places(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"region": "75", "period": period})
    table = next(d.value for d in at.dataframe if "Indicator" in d.value.columns)
    expected = views.region_indicators(demo_store, "75", period)
    assert len(table) == len(expected)
    assert set(table["Status"]) <= {"✓ achieved", "! close", "✗ lagging", "○ no data"}
    assert table["Place among regions"].str.fullmatch(r"\d+ of \d+|—").all()


def test_budget_projects_and_history_sections(app_env, demo_store):
    at = open_page(PAGE, params={"region": "75"})
    frames = [d.value for d in at.dataframe]
    assert any("Budget program" in f.columns for f in frames)
    projects = next(f for f in frames if "Project" in f.columns)
    assert projects["Project"].str.contains("Almaty").any()
    assert len(at.get("plotly_chart")) >= 3        # rank history, budget execution, project timeline
    back = [pl for pl in at.get("page_link") if pl.proto.page.endswith("rating")]
    assert back


def test_russian_name_of_almaty(app_env):
    at = open_page(PAGE, lang="ru", params={"region": "75"})
    assert at.header[0].value == "г. Алматы"


def test_project_office_is_kept_to_its_region(app_env):
    at = open_page(PAGE, user=OFFICE, params={"region": "75"})
    assert not at.exception
    assert at.header[0].value == "Astana"
    assert at.selectbox(key="url_region").options == ["Astana"]


def test_budget_figure_is_for_the_chosen_years_budget(app_env, demo_store):
    at = open_page("pages/region.py", params={"region": "10", "period": "2025"})
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Budget execution 2025" in labels and "Budget execution 2026" not in labels
    assert len(at.metric) == 5


# -- territorial reforms (issue 9) ----------------------------------------------------------------------------------

@pytest.fixture
def reform_db(tmp_path, monkeypatch):
    """2021 and 2022 facts of three indicators, no plans (the rating page's reform store): a reform year."""
    import test_page_rating
    return test_page_rating.reform_db.__wrapped__(tmp_path, monkeypatch)


@pytest.mark.parametrize("region, lang, flag, note", [
    ("63", "en", "⚑ territory changed", "East Kazakhstan Region: territory changed in 2022 (territorial reform), "
                                        "so its place in 2022 is not compared with 2021"),
    ("19", "ru", "⚑ территория изменилась", "Алматинская область: территория изменилась в 2022 году"),
    ("10", "kk", "жаңа", "2022 жылдан бастап жаңа"),
])
def test_headline_place_says_the_territory_changed_instead_of_no_movement(reform_db, region, lang, flag, note):
    """East Kazakhstan gave Abai its territory in 2022: its place in 2022 has no movement against 2021's, and the
    headline says why instead of showing nothing (the rating table's flag, in the reader's language)."""
    at = open_page(PAGE, lang=lang, params={"region": region, "period": "2022"})
    assert not at.exception
    place = at.metric[0]
    assert place.delta == flag
    if lang == "en":   # no plans in the store: the level rating, and the history says so
        assert any(c.value.startswith("Level against peers on all indicators") for c in at.caption)
    assert any(note in c.value for c in at.caption), [c.value for c in at.caption]


def test_headline_of_a_region_no_reform_touched_moves_and_says_nothing_of_territory(reform_db):
    at = open_page(PAGE, params={"region": "11", "period": "2022"})
    assert not at.exception
    assert at.metric[0].delta and at.metric[0].delta[0] in "+-−"
    assert not any("territory" in c.value for c in at.caption)
