"""Projects page (issue 4, page 6) on the demo, and its view helpers (sac.views.projects)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from test_pages import ROOT, open_page

from sac.auth import User
from sac.i18n import t
from sac.metrics import instructions as instr_metrics
from sac.metrics import projects as proj_metrics
from sac.views import projects as views

PAGE = "pages/projects.py"
OFFICE = User(username="po", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))


def _today() -> dt.date:
    return dt.date.today()  # the page's "as of" day


# -- pure helpers -------------------------------------------------------------------------------------------------

def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "project_id": ["P1", "P2", "P3", "P4"],
        "region_kato": ["75", "75", "71", None],
        "program": ["A", "B", "A", "A"],
        "basic_direction": ["A1", "B1", "A2", "A1"],
        "manager_id": ["M1", "M2", "M1", None],
        "status_computed": pd.array(["red", "green", None, "amber"], dtype="string"),
    })


@pytest.mark.parametrize("filters,expected", [
    ({}, ["P1", "P2", "P3", "P4"]),
    ({"region": "75"}, ["P1", "P2"]),
    ({"region": "75", "program": "A"}, ["P1"]),
    ({"direction": "A1"}, ["P1", "P4"]),
    ({"manager": "M1"}, ["P1", "P3"]),
    ({"status": "red"}, ["P1"]),
    ({"status": "none"}, ["P3"]),            # no computed status is its own choice, not "green"
    ({"status": ""}, ["P1", "P2", "P3", "P4"]),
    ({"region": "19"}, []),
])
def test_filter_portfolio(filters, expected):
    assert views.filter_portfolio(_frame(), **filters)["project_id"].tolist() == expected


def test_timeline_takes_all_when_few_else_the_most_slipped():
    df = pd.DataFrame({"project_id": [f"P{i}" for i in range(5)],
                       "planned_start": pd.to_datetime(["2025-05-01", "2025-01-01", "2025-03-01", None, "2025-02-01"]),
                       "slip_days": [10.0, np.nan, 300.0, 5.0, 40.0]})
    assert views.timeline_rows(df, limit=5)["project_id"].tolist() == ["P1", "P4", "P2", "P0", "P3"]
    assert views.timeline_rows(df, limit=3)["project_id"].tolist() == ["P2", "P4", "P0"]  # unknown slip last


def test_short_label_is_cut_with_an_ellipsis():
    got = views.short_label(pd.Series(["PRJ-1", "PRJ-2"]), pd.Series(["Short", "A very long project name indeed"]),
                            width=20)
    assert got.tolist() == ["PRJ-1 Short", "PRJ-2 A very long p…"]  # 20 characters


def test_ratios_long_keeps_numerator_denominator_and_no_data():
    wide = pd.DataFrame({"program": ["A", "B"], "n_projects": [3, 2],
                         **{f"{r}_num": [1, 0] for r in views.RATIOS}, **{f"{r}_den": [2, 0] for r in views.RATIOS}})
    names = pd.DataFrame({"node_id": ["A"], "name_en": ["Alpha"], "name_ru": ["Альфа"], "name_kk": ["Альфа"]})
    got = views.ratios_long(wide, "program", names)
    assert len(got) == 10
    assert got["ratio"].tolist()[:2] == ["stakeholder", "stakeholder"]
    a = got[(got["key"] == "A") & (got["ratio"] == "on_terms")].iloc[0]
    assert (a["numerator"], a["denominator"], a["share"], a["name_ru"]) == (1, 2, 0.5, "Альфа")
    b = got[got["key"] == "B"]
    assert b["share"].isna().all()           # denominator 0 is no data, not 0%
    assert (b["name_en"] == "B").all()       # no name: the code


@pytest.mark.parametrize("ranks,expected", [
    ([1, 2, 3, 4, 5, 6], 5),
    ([1, 1, 1, 1, 1, 1, 1, 8], 7),     # seven share first place: more than five hold the top places
    ([1, 2, 3, 4, 5, 5, 7], 6),        # fifth place shared
    ([1, 2], 2),
    ([], 0),
])
def test_n_sharing_top(ranks, expected):
    rating = pd.DataFrame({"rank": pd.array(ranks + [pd.NA], dtype="Int64"), "rated": [True] * len(ranks) + [False]})
    assert views.n_sharing_top(rating, 5) == expected


def test_status_counts():
    df = _frame().assign(status_disagrees=pd.array([True, False, None, True], dtype="boolean"),
                         overdue=[True, False, False, False])
    assert views.status_counts(df) == {"red": 1, "amber": 1, "green": 1, "none": 1, "disagree": 2, "overdue": 1,
                                       "total": 4}


def test_portfolio_names_and_office_scope(demo_store):
    p = views.portfolio(demo_store, _today())
    assert len(p) == demo_store.scalar("SELECT count(*) FROM projects")
    assert p["region_name_en"].notna().all() and p["program_name_en"].notna().any()
    mine = views.portfolio(demo_store, _today(), units=("75",))
    assert len(mine) > 0 and set(mine["region_kato"]) == {"75"}


# -- the page -----------------------------------------------------------------------------------------------------

def _table(at, *cols) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if all(c in d.value.columns for c in cols))


def test_portfolio_shows_every_project_and_the_status_counts(app_env, demo_store):
    at = open_page(PAGE)
    assert not at.exception
    assert at.title[0].value == "Projects"
    expected = proj_metrics.load_projects(demo_store, today=_today())
    table = _table(at, "Code", "Computed status")
    assert table["Code"].tolist() == expected["project_id"].tolist()
    metrics = {m.label: m.value for m in at.metric}
    # projects off track: running ones, computed or self-reported red (the situation room's figure, issue 11)
    running = proj_metrics.running(expected)
    assert metrics["Projects off track"] == f"{int(proj_metrics.off_track(expected).sum())} of {int(running.sum())}"
    assert metrics["Projects"] == str(len(expected))
    assert metrics["Status disagrees"] == str(int(expected["status_disagrees"].astype("boolean").fillna(False).sum()))
    # every status is a word with its icon, never a colour alone
    assert set(table["Computed status"]) <= {"✓ on track", "! at risk", "✗ off track", "○ no status"}


def test_region_in_the_url_filters_to_almaty(app_env, demo_store):
    at = open_page(PAGE, params={"region": "75"})
    assert not at.exception
    assert at.selectbox(key="url_region").value == "75"
    table = _table(at, "Code", "Region")
    assert set(table["Region"]) == {"Almaty"}
    assert len(table) == demo_store.scalar("SELECT count(*) FROM projects WHERE region_kato = '75'")


def test_status_filter_and_url(app_env, demo_store):
    at = open_page(PAGE)
    at.selectbox(key="url_status").set_value("red").run()
    assert not at.exception
    assert at.query_params["status"] == ["red"] or at.query_params["status"] == "red"
    expected = proj_metrics.load_projects(demo_store, today=_today())
    table = _table(at, "Code", "Computed status")
    assert table["Code"].tolist() == expected.loc[expected["status_computed"] == "red", "project_id"].tolist()


def test_project_in_the_url_is_focused(app_env, demo_store):
    at = open_page(PAGE, params={"project": "PRJ-0004"})
    assert not at.exception
    assert at.subheader[0].value == "PRJ-0004 — Youth practice programme, wave 4, Pavlodar Region"
    p = proj_metrics.load_projects(demo_store, today=_today()).set_index("project_id").loc["PRJ-0004"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["SPI"] == f"{p['SPI']:.2f}"
    assert any("Berik Temirkhanov" in m.value for m in at.markdown)


def test_ratio_charts_timeline_and_ratio_table(app_env, demo_store):
    at = open_page(PAGE, params={"by": "region"})
    assert not at.exception
    assert len(at.get("plotly_chart")) == 5 + 1  # five para 64 ratios, the timeline
    table = _table(at, "Ratio", "Numerator", "Denominator")
    p = proj_metrics.load_projects(demo_store, today=_today())
    wide = proj_metrics.para64_ratios(p, by="region").set_index("region_kato")
    almaty = table[(table["Group"] == "75") & (table["Ratio"] == "Projects on the established terms")].iloc[0]
    assert almaty["Numerator"] == str(int(wide.loc["75", "on_terms_num"]))
    assert almaty["Denominator"] == str(int(wide.loc["75", "on_terms_den"]))


def test_para79_manager_and_best_five(app_env, demo_store):
    at = open_page(PAGE, params={"period": "2025"})
    assert not at.exception
    conflicts = proj_metrics.manager_conflicts(proj_metrics.load_projects(demo_store, today=_today()))
    table = _table(at, "Manager", "Overlapping project")
    assert table["Manager"].tolist() == conflicts["manager_name"].tolist()
    links = [pl for pl in at.get("page_link") if "PRJ-0004" in pl.proto.label]
    assert links and links[0].proto.page.endswith("projects")
    rating = proj_metrics.manager_rating(demo_store, "2025", today=_today())
    n_top = views.n_sharing_top(rating)
    assert n_top > 5  # the demo has more than five managers rated 100
    assert any(c.value.startswith(f"{n_top} people share the top places") for c in at.caption)
    best = _table(at, "Rank", "Rating")
    assert best["Name"].iloc[0] == rating["full_name"].iloc[0]
    assert best["Rank"].iloc[0] == rating["rank_label"].iloc[0]


def test_overdue_instructions_with_days(app_env, demo_store):
    at = open_page(PAGE)
    overdue = instr_metrics.overdue(demo_store, today=_today())
    assert any(s.value == f"Overdue instructions ({len(overdue)})" for s in at.subheader)
    table = _table(at, "Instruction", "Days overdue")
    assert table["Instruction"].tolist() == overdue["instruction_id"].tolist()
    assert table["Days overdue"].iloc[0] == f"{int(overdue['days_overdue'].iloc[0]):,}"
    bodies = _table(at, "Responsible body", "Share on time")
    assert len(bodies) == instr_metrics.by_responsible_body(
        instr_metrics.load_instructions(demo_store, today=_today()))["responsible_org"].nunique(dropna=False)


def test_project_office_sees_only_its_regions(app_env, demo_store):
    at = open_page(PAGE, user=OFFICE)
    assert not at.exception
    assert set(_table(at, "Code", "Region")["Region"]) == {"Almaty"}
    assert at.selectbox(key="url_region").options == ["All", "Almaty"]
    # a project of another region is not shown even by URL
    other = demo_store.scalar("SELECT min(project_id) FROM projects WHERE region_kato <> '75'")
    at = open_page(PAGE, user=OFFICE, params={"project": other})
    assert any(other in w.value for w in at.warning)


def test_russian_labels(app_env):
    at = open_page(PAGE, lang="ru")
    assert not at.exception
    assert at.title[0].value == "Проекты"
    assert "Расчётный статус" in _table(at, "Код").columns


def test_opened_directly_without_sign_in_shows_nothing(app_env):
    # Streamlit runs pages/<x>.py without app.py for a deep link to a freshly started server (MPA v1 mode)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("common.not_allowed", "en")]
    assert not at.dataframe and not at.title


def test_selecting_a_portfolio_row_focuses_that_project(app_env):
    at = open_page(PAGE, params={"region": "75"})
    third = _table(at, "Code", "Region")["Code"].iloc[2]
    at.session_state["portfolio_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params["project"] in (third, [third])
    assert at.subheader[0].value.startswith(f"{third} — ")


def test_closing_the_focused_project_removes_it_from_the_url(app_env):
    at = open_page(PAGE, params={"project": "PRJ-0004"})
    at.button(key="close_project").click().run()
    assert not at.exception
    assert "project" not in at.query_params
    assert not any(s.value.startswith("PRJ-0004") for s in at.subheader)


def test_para79_conflicts_name_the_projects_in_the_readers_language(app_env, demo_store):
    at = open_page(PAGE, "ru", params={"period": "2025"})
    assert not at.exception
    conf = views.manager_conflicts(demo_store, _today())
    table = next(d.value for d in at.dataframe if "Пересекающийся проект" in d.value.columns)
    first = conf.iloc[0]
    assert table["Проект"].iloc[0] == f"{first['project_a']} {first['name_a_ru']}"
    assert first["name_a_ru"] != first["name_a"]            # the demo's names differ by language
