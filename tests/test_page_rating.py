"""Regional rating page (issue 4, page 2) on the demo, and its view helpers (sac.views.rating)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_pages import open_page

from sac.auth import User
from sac.views import rating as views

PAGE = "pages/rating.py"
OFFICE = User(username="po", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))
PUBLIC = User(username="anonymous", display_name="Public", role="public", source="public")


# -- pure helpers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("movement,rank_prev,expected", [
    (2, 5, "▲ 2"),
    (-1, 1, "▼ 1"),
    (0, 3, "= 0"),
    (pd.NA, pd.NA, ""),      # not rated before: no arrow, never "= 0"
    (pd.NA, 4, ""),          # not rated now
])
def test_movement_arrow(movement, rank_prev, expected):
    got = views.movement_arrow(pd.Series([movement], dtype="Int64"), pd.Series([rank_prev], dtype="Int64"))
    assert got.tolist() == [expected]


@pytest.mark.parametrize("p05,p95,expected", [(2, 5, "2–5"), (3, 3, "3"), (pd.NA, pd.NA, "")])
def test_band_text(p05, p95, expected):
    got = views.band_text(pd.Series([p05], dtype="Int64"), pd.Series([p95], dtype="Int64"))
    assert got.tolist() == [expected]


def test_periods_and_indicator_sets_of_the_demo(demo_store):
    periods = views.periods_with_data(demo_store)
    assert periods == sorted(periods, reverse=True) and len(periods) >= 3
    sets = views.indicator_sets(demo_store)
    assert sets["code"].iloc[0] == views.ALL
    assert set(sets["level"].iloc[1:]) <= {"national_priority", "program"}
    assert (sets["n_indicators"] > 0).all()


def test_rating_table_has_every_region_once_and_names_the_methodology(demo_store):
    t = views.rating_table(demo_store, views.periods_with_data(demo_store)[1])
    assert sorted(t["unit_code"].astype(str)) == sorted(demo_store.df("SELECT kato FROM regions")["kato"])
    assert (t["methodology_version"] == 1).all()
    rated = t[t["rated"]]
    assert rated["rank"].is_monotonic_increasing
    shared = rated[rated["rank"].duplicated(keep=False)]
    assert all(lbl.startswith("=") for lbl in shared["rank_label"])


# -- the page -----------------------------------------------------------------------------------------------------

def _table(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Rank" in d.value.columns and "Region" in d.value.columns)


def test_table_shows_the_domain_rating_for_the_period_in_the_url(app_env, demo_store):
    period = views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    assert not at.exception
    expected = views.rating_table(demo_store, period)
    expected = expected[expected["rated"]]
    table = _table(at)
    assert table["Region"].tolist() == expected["name_en"].tolist()
    assert table["Rank"].tolist() == expected["rank_label"].tolist()
    assert at.query_params["period"] == period
    assert any("Methodology version 1" in c.value for c in at.caption)


def test_changing_the_period_changes_the_table_and_the_url(app_env, demo_store):
    periods = views.periods_with_data(demo_store)
    at = open_page(PAGE, params={"period": periods[1]})  # periods[0] is still being reported: nobody rated
    before = _table(at)
    at.selectbox(key="url_period").set_value(periods[2]).run()
    assert not at.exception
    after = _table(at)
    assert at.query_params["period"] == periods[2]
    assert not before.equals(after)
    expected = views.rating_table(demo_store, periods[2])
    assert after["Region"].iloc[0] == expected[expected["rated"]]["name_en"].iloc[0]


def test_controls_come_from_the_url(app_env, demo_store):
    period = views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period, "kind": "level", "agg": "geometric"})
    assert not at.exception
    assert at.radio(key="url_kind").value == "level"
    assert at.radio(key="url_agg").value == "geometric"
    expected = views.rating_table(demo_store, period, kind="level", aggregation="geometric")
    assert _table(at)["Region"].iloc[0] == expected[expected["rated"]]["name_en"].iloc[0]


def test_map_dots_and_history_charts_and_the_overlap_statement(app_env, demo_store):
    at = open_page(PAGE)
    charts = at.get("plotly_chart")
    assert len(charts) == 3                      # tile map, scores with bands, rank history
    texts = [m.value for m in at.markdown] + [w.value for w in at.warning] + [s.value for s in at.success]
    assert any("not clearly apart" in t or "clearly apart" in t for t in texts)


def test_selecting_a_row_opens_that_regions_profile(app_env, demo_store):
    period = views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    second = _table(at)["Region"].iloc[1]
    at.session_state["rating_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Region profile"
    assert at.header[0].value == second


def test_profile_link_names_the_leader_and_carries_the_region(app_env, demo_store):
    period = views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    links = [pl for pl in at.get("page_link") if pl.proto.page.endswith("region")]
    leader = views.rating_table(demo_store, period).iloc[0]
    assert links and links[0].value == f"Open profile: {leader['name_en']}"
    assert f"region={leader['unit_code']}" in links[0].proto.query_string


def test_project_office_sees_its_regions_only(app_env):
    at = open_page(PAGE, user=OFFICE)
    assert not at.exception
    assert set(_table(at)["Region"]) <= {"Almaty"}


def test_public_reader_gets_no_profile_links(app_env):
    at = open_page(PAGE, user=PUBLIC)
    assert not at.exception
    assert len(_table(at)) > 0
    assert not [pl for pl in at.get("page_link") if pl.proto.page.endswith("region")]


def test_russian_labels(app_env):
    at = open_page(PAGE, lang="ru")
    assert at.title[0].value == "Рейтинг регионов"
    cols = next(d.value for d in at.dataframe if "Место" in d.value.columns).columns
    assert "Регион" in cols


def test_pairs_not_clearly_apart_write_ranks_and_bands_as_the_table_does():
    table = pd.DataFrame({
        "unit_code": ["a", "b", "c", "d"], "name_en": ["A", "B", "C", "D"], "rank": [1, 2, 2, 4],
        "rank_label": ["1", "=2", "=2", "4"], "rank_p05": [1.0, 1.0, 2.0, 4.0], "rank_p95": [2.0, 3.0, 3.0, 4.0],
        "rated": [True, True, True, True], "score": [90.0, 80.0, 80.0, 70.0]})
    table["band"] = views.band_text(table["rank_p05"], table["rank_p95"])
    pairs = views.not_clearly_apart(table).set_index("unit_a")
    assert pairs.loc["a", ["rank_a", "rank_b", "band_a", "band_b"]].tolist() == ["1", "=2", "1–2", "1–3"]
    assert "d" not in pairs.index and "d" not in set(pairs["unit_b"])   # a one-rank band of its own: apart


def test_pages_open_on_the_newest_year_with_a_rating_not_on_one_still_being_reported(app_env, demo_store):
    newest = views.periods_with_data(demo_store)[0]
    default = views.default_period(demo_store)
    table = views.rating_table(demo_store, default)
    assert table["rated"].sum() >= len(table) / 2
    if views.rating_table(demo_store, newest)["rated"].sum() < len(table) / 2:
        assert default != newest
    for page in (PAGE, "pages/situation_room.py", "pages/region.py"):
        at = open_page(page)
        assert not at.exception
        assert at.query_params["period"] in ([default], default), page


def test_a_period_nobody_is_rated_in_says_so_instead_of_an_empty_table(app_env, demo_store):
    newest = views.periods_with_data(demo_store)[0]
    assert not views.rating_table(demo_store, newest)["rated"].any()    # the demo's newest year is still partial
    at = open_page(PAGE, params={"period": newest})
    assert not at.exception
    assert any(f"to be rated for {newest}" in w.value for w in at.warning)
    assert not any(s.value == "Every pair of neighbouring places is clearly apart." for s in at.success)
    assert not any("Rank" in d.value.columns for d in at.dataframe)          # no empty rating table
    assert any(d.value.columns[0] == "Region" for d in at.dataframe)         # the not-rated list with coverage
    link = next(pl for pl in at.get("page_link") if pl.proto.label.startswith("Open the rating for"))
    assert link.proto.query_string == f"period={views.default_period(demo_store)}"
