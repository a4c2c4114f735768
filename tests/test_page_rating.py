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
    (pd.NA, pd.NA, "—"),     # not rated before: no arrow, never "= 0" (issue 9: and never blank, never a number)
    (pd.NA, 4, "—"),         # not rated now
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
    # nor is another region named in the 'not clearly apart' list (it named every region's pairs)
    said = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    from sac.store import Store
    with Store(app_env["SAC_DB_PATH"]) as s:
        others = [n for n in s.df("SELECT name_en FROM regions WHERE kato <> '75'")["name_en"]]
    assert not [n for n in others if n in said.replace("Almaty Region", "")], said


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


# -- issue 9: edge cases of the view functions, movement from a thin period, a store with facts and no plans ------

RATING_TABLE_EXTRA = ["iso", "region_kind", "movement_arrow", "band", "coverage_pct", "position"]


def test_view_helpers_on_empty_input():
    empty_int = pd.Series([], dtype="Int64")
    assert views.movement_arrow(empty_int, empty_int).tolist() == []
    assert views.band_text(empty_int, empty_int).tolist() == []
    assert views.position(empty_int, pd.Series([], dtype=bool)).tolist() == []
    assert views.position(pd.Series([1], dtype="Int64"), pd.Series([True])).tolist() == [100.0]   # one unit
    cols = ["unit_a", "unit_b", "rank_a", "rank_b", "band_a", "band_b", "name_a", "name_b"]
    assert list(views.not_clearly_apart(pd.DataFrame()).columns) == cols
    empty_rated = pd.DataFrame({c: pd.Series([], dtype=object) for c in
                                ("rank", "name_en", "score_rounded", "coverage_pct", "movement", "rank_prev", "band",
                                 "n_indicators")})
    got = views.export_table(empty_rated)
    assert got.empty and list(got.columns) == ["Rank", "Region", "Score", "Coverage", "Movement", "Previous rank",
                                               "Rank band (5–95%)", "Indicators with data"]
    hist = views.history_export(pd.DataFrame(columns=["period", "unit_code", "rank", "name_en"]))
    assert hist.empty and list(hist.columns) == ["Region"]


def _no_plans_store(path, *, previous_fact: bool = True, newest_single: bool = False):
    """Three indicators with direction and weight, a fact for all 20 regions in 2024, no plan anywhere;
    ``previous_fact``: one 2023 fact (Astana); ``newest_single``: one 2025 fact (Almaty)."""
    import uuid

    from sac.store import Store
    s = Store(path)
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity, weight)
            VALUES ('LE', 'Life expectancy', 'ОПЖ', 'ӨҰ', 'up', 'year', 2),
                   ('UN', 'Unemployment', 'Безработица', 'Жұмыссыздық', 'down', 'year', 1),
                   ('SC', 'Schools', 'Школы', 'Мектептер', 'up', 'year', 1)""")
        rows = [(i, u, "2024", None, 60.0 + k + j) for k, u in enumerate(regions)
                for j, i in enumerate(("LE", "UN", "SC"))]
        if previous_fact:
            rows.append(("LE", "71", "2023", None, 75.0))
        if newest_single:
            rows.append(("LE", "75", "2025", None, 76.0))
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) "
                        "VALUES (?, ?, ?, ?, ?)", rows)
        # cache keys are (data version, methodology version, args): no other test's cached frames
        cur.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", [str(10**9 + uuid.uuid4().int % 10**9)])
    return s


@pytest.mark.parametrize("kind", views.KINDS)
def test_view_functions_on_an_empty_store(tmp_path, kind):
    from sac.store import Store
    s = Store(tmp_path / "sac.duckdb")
    assert views.periods_with_data(s) == [] and views.default_period(s) is None
    assert views.indicator_sets(s)["code"].tolist() == [views.ALL]
    t = views.rating_table(s, None, kind=kind)
    assert len(t) == 20 and not t["rated"].any() and (t["movement_arrow"] == "—").all()
    assert set(RATING_TABLE_EXTRA) <= set(t.columns) and (t["methodology_version"] == 1).all()
    assert views.rank_history(s, ["2023", "2024"], kind=kind).empty
    assert views.not_clearly_apart(t).empty
    assert views.default_kind(s, None) == "plan_fulfilment"
    s.close()


def test_a_period_with_facts_and_no_plans_defaults_to_the_level_rating(tmp_path, demo_store):
    s = _no_plans_store(tmp_path / "sac.duckdb")
    assert views.facts_without_plans(s, "2024") and views.default_kind(s, "2024") == "level"
    assert not views.facts_without_plans(s, "2022")                 # no facts either: nothing to say
    assert views.default_kind(demo_store, views.default_period(demo_store)) == "plan_fulfilment"
    assert not views.facts_without_plans(demo_store, views.default_period(demo_store))
    s.close()


def test_one_fact_in_the_previous_year_shows_no_movement(tmp_path):
    s = _no_plans_store(tmp_path / "sac.duckdb")
    t = views.rating_table(s, "2024", kind="level")
    assert t["rated"].all() and t["rank_prev"].isna().all()
    assert (t["movement_arrow"] == "—").all()
    exported = views.export_table(t)
    assert exported["Movement"].isna().all() and exported["Previous rank"].isna().all()
    s.close()


def test_default_period_without_plans_is_the_newest_year_the_level_rating_rates(tmp_path):
    # 2025 holds one fact (Almaty): opening there would rate Almaty alone, 'rank 1 of 1'
    s = _no_plans_store(tmp_path / "sac.duckdb", newest_single=True)
    assert views.periods_with_data(s)[0] == "2025"
    assert views.default_period(s) == "2024"
    s.close()


@pytest.fixture
def no_plans_db(tmp_path, monkeypatch):
    from pathlib import Path

    from sac.auth import accounts
    path = tmp_path / "sac.duckdb"
    s = _no_plans_store(path)
    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", 4)
    accounts.ensure_demo_accounts(s)      # as the demo: no first admin whose password must be changed
    s.close()
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return path


def test_page_on_facts_without_plans_opens_on_the_level_rating_of_all_20_regions(no_plans_db):
    at = open_page(PAGE)
    assert not at.exception
    assert at.radio(key="url_kind").value == "level"
    assert at.query_params["period"] in ("2024", ["2024"])
    table = _table(at)
    assert len(table) == 20
    # nothing approved in this store (issue 12): every rank rests on provisional figures and says so
    assert table["Rank"].str.endswith(" ◐").all()
    assert any(c.value.startswith("Provisional: ") and c.value.endswith("(marked ◐): 20.") for c in at.caption)
    assert sorted(table["Rank"].str.removesuffix(" ◐").astype(int)) == list(range(1, 21))
    assert any("Methodology version 1" in c.value for c in at.caption)
    assert any("no plans for 2024" in c.value and "level" in c.value for c in at.caption)
    # one 2023 fact: no movement numbers, no previous ranks
    assert (table["Movement"] == "—").all() and (table["Previous rank"] == "—").all()


def test_an_explicit_plan_fulfilment_choice_in_the_url_wins_and_says_why_there_is_no_rating(no_plans_db):
    at = open_page(PAGE, params={"kind": "plan_fulfilment"})
    assert not at.exception
    assert at.radio(key="url_kind").value == "plan_fulfilment"
    assert not any("Rank" in d.value.columns for d in at.dataframe)
    assert any("no plans for 2024" in i.value for i in at.info)
    link = next(pl for pl in at.get("page_link") if pl.proto.label.startswith("Open the level rating"))
    assert "kind=level" in link.proto.query_string and "period=2024" in link.proto.query_string


# -- issue 9: territorial reforms -------------------------------------------------------------------------------

@pytest.mark.parametrize("change,lang,expected", [
    ("territory_changed", "en", "⚑ territory changed"),
    ("territory_changed", "ru", "⚑ территория изменилась"),
    ("new", "en", "new"),
    ("new", "kk", "жаңа"),
    (None, "en", "▲ 2"),
])
def test_movement_arrow_says_territory_changed_instead_of_an_arrow(change, lang, expected):
    # a previous rank and even a movement number given: the flag wins
    got = views.movement_arrow(pd.Series([2], dtype="Int64"), pd.Series([5], dtype="Int64"),
                               pd.Series([change], dtype=object), lang)
    assert got.tolist() == [expected]


def test_territory_changes_lists_new_then_changed_by_name():
    table = pd.DataFrame({"unit_code": ["63", "10", "11", "19", "33"],
                          "name_en": ["East Kazakhstan Region", "Abai Region", "Akmola Region", "Almaty Region",
                                      "Zhetysu Region"],
                          "territory_change": ["territory_changed", "new", None, "territory_changed", "new"]})
    got = views.territory_changes(table)
    assert got["name"].tolist() == ["Abai Region", "Zhetysu Region", "Almaty Region", "East Kazakhstan Region"]
    assert got["territory_change"].tolist() == ["new", "new", "territory_changed", "territory_changed"]
    assert views.territory_changes(table.assign(territory_change=None)).empty
    assert views.territory_changes(pd.DataFrame()).empty


def _reform_store(path):
    """Three indicators without plans; a fact for every region in 2022 and for the 17 units of 2021 (not Abai,
    Zhetysu, Ulytau), 2021 in the reverse order of 2022 so that every comparable region moves."""
    import uuid

    from sac.store import Store
    s = Store(path)
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity)
            VALUES ('LE', 'Life expectancy', 'ОПЖ', 'ӨҰ', 'up', 'year'),
                   ('UN', 'Unemployment', 'Безработица', 'Жұмыссыздық', 'down', 'year'),
                   ('SC', 'Schools', 'Школы', 'Мектептер', 'up', 'year')""")
        rows = [(i, u, "2022", None, 60.0 + k + j) for k, u in enumerate(regions)
                for j, i in enumerate(("LE", "UN", "SC"))]
        rows += [(i, u, "2021", None, 90.0 - k - j) for k, u in enumerate(regions) if u not in ("10", "33", "62")
                 for j, i in enumerate(("LE", "UN", "SC"))]
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) "
                        "VALUES (?, ?, ?, ?, ?)", rows)
        cur.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", [str(10**9 + uuid.uuid4().int % 10**9)])
    return s


def test_rating_table_and_export_of_a_reform_year(tmp_path):
    s = _reform_store(tmp_path / "sac.duckdb")
    t = views.rating_table(s, "2022", kind="level").set_index("unit_code")
    assert t["rated"].all()
    assert t.loc["63", "movement_arrow"] == "⚑ territory changed" and t.loc["10", "movement_arrow"] == "new"
    assert t.loc["11", "movement_arrow"][0] in "▲▼="
    exported = views.export_table(t.reset_index(), "ru").set_index("Регион")
    assert exported.loc["Восточно-Казахстанская область", "Территория с прошлого периода"] == "территория изменилась"
    assert exported.loc["Абайская область", "Территория с прошлого периода"] == "новый"
    assert exported.loc["Акмолинская область", "Территория с прошлого периода"] == ""
    assert pd.isna(exported.loc["Восточно-Казахстанская область", "Изменение места"])
    assert pd.notna(exported.loc["Восточно-Казахстанская область", "Прежнее место"])   # the old unit's rank
    assert pd.notna(exported.loc["Акмолинская область", "Изменение места"])
    s.close()


@pytest.fixture
def reform_db(tmp_path, monkeypatch):
    from pathlib import Path

    from sac.auth import accounts
    path = tmp_path / "sac.duckdb"
    s = _reform_store(path)
    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", 4)
    accounts.ensure_demo_accounts(s)
    s.close()
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return path


def test_page_says_which_regions_history_is_not_comparable_with_the_previous_year(reform_db):
    at = open_page(PAGE, params={"period": "2022", "kind": "level"})
    assert not at.exception
    caption = next(c.value for c in at.caption if "not comparable" in c.value)
    assert caption.startswith("History not comparable with 2021")
    assert "Abai Region, Ulytau Region, Zhetysu Region (new)" in caption
    assert "Almaty Region, East Kazakhstan Region, Karaganda Region (territory changed)" in caption
    table = _table(at).set_index("Region")
    assert table.loc["East Kazakhstan Region", "Movement"] == "⚑ territory changed"
    assert table.loc["Karaganda Region", "Movement"] == "⚑ territory changed"
    assert table.loc["Abai Region", "Movement"] == "new"
    assert table.loc["Akmola Region", "Movement"][0] in "▲▼"
    assert "Territory since the previous period" not in table.columns     # the movement column says it


def test_page_names_the_regions_in_the_readers_language(reform_db):
    at = open_page(PAGE, lang="ru", params={"period": "2022", "kind": "level"})
    assert not at.exception
    caption = next(c.value for c in at.caption if "не сопоставима" in c.value)
    assert "Абайская область" in caption and "Восточно-Казахстанская область" in caption
    assert "(изменилась территория)" in caption
    table = next(d.value for d in at.dataframe if "Место" in d.value.columns).set_index("Регион")
    assert table.loc["Восточно-Казахстанская область", "Изменение места"] == "⚑ территория изменилась"


def test_no_territory_caption_for_years_without_a_reform(app_env, demo_store):
    at = open_page(PAGE, params={"period": views.periods_with_data(demo_store)[1]})
    assert not at.exception
    assert not any("not comparable" in c.value for c in at.caption)


def _figure(at, key: str) -> dict:
    import json
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def _runs(trace: dict) -> list[list[str]]:
    """The runs of periods a line joins (plotly breaks a line at a missing y when connectgaps is off)."""
    runs, run = [], []
    for x, y in zip(trace["x"], trace["y"], strict=True):
        if y is None:
            runs, run = runs + ([run] if run else []), []
        else:
            run.append(x)
    return runs + ([run] if run else [])


def test_rank_history_breaks_the_lines_of_the_reformed_regions_at_2022(reform_db):
    """East Kazakhstan, Almaty and Karaganda regions gave territory in 2022: their rank lines stop at 2021 and begin
    again at 2022, under one dashed 'territory changed 2022' line; Akmola's line goes on."""
    at = open_page(PAGE, params={"period": "2022", "kind": "level"})
    assert not at.exception
    fig = _figure(at, "rating_history")
    lines = {t["name"]: _runs(t) for t in fig["data"]}
    for name in ("East Kazakhstan Region", "Almaty Region", "Karaganda Region"):
        assert lines[name] == [["2021"], ["2022"]], name
    assert lines["Akmola Region"] == [["2021", "2022"]]
    assert lines["Abai Region"] == [["2022"]]
    notes = [a for a in fig["layout"]["annotations"] if "territory changed" in a["text"]]
    assert [a["text"] for a in notes] == ["territory changed 2022"]
    assert set(notes[0]["hovertext"].split("<br>")) == {"East Kazakhstan Region", "Almaty Region", "Karaganda Region"}
    assert [s["x0"] for s in fig["layout"]["shapes"] if s.get("line", {}).get("dash") == "dash"] == [0.5]
    assert any("line of each region whose territory changed" in c.value for c in at.caption)


def test_project_offices_map_shows_other_regions_as_not_in_its_scope_not_as_no_data(app_env):
    at = open_page(PAGE, user=OFFICE)
    assert not at.exception
    fig = _figure(at, "rating_map")
    by_name = {t.get("name", ""): t for t in fig["data"]}
    outside = next(t for n, t in by_name.items() if "not in your scope" in n)
    assert sorted(cd[0] for cd in outside["customdata"]) == sorted(set(CODES_20) - {"75"})
    no_data = [t for n, t in by_name.items() if "no data" in n]
    assert not no_data or not ({cd[0] for cd in no_data[0].get("customdata") or []} - {"75"})
    assert any("outside your project office" in c.value for c in at.caption)


CODES_20 = ["10", "11", "15", "19", "23", "27", "31", "33", "35", "39", "43", "47", "55", "59", "61", "62", "63",
            "71", "75", "79"]
