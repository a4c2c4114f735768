"""Situation room (issue 4, page 1) on the demo, and its view helpers (sac.views.situation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from test_pages import open_page

from sac.auth import User
from sac.metrics import decisions
from sac.metrics import projects as proj_metrics
from sac.store import Store
from sac.ui.text import md_unescape
from sac.views import rating as rating_views
from sac.views import situation as views

PAGE = "pages/situation_room.py"
ROOT = Path(__file__).resolve().parent.parent
PUBLIC = User(username="anonymous", display_name="Public", role="public", source="public")


# -- pure helpers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("year,today,expected", [
    (2024, dt.date(2025, 3, 1), 1.0),          # a past year is wholly elapsed
    (2026, dt.date(2025, 3, 1), 0.0),          # a future one not at all
    (2025, dt.date(2025, 1, 1), 1 / 365),      # first day counts as elapsed at its end
    (2024, dt.date(2024, 12, 31), 1.0),
    (2024, dt.date(2024, 7, 1), 183 / 366),    # leap year
])
def test_elapsed_share(year, today, expected):
    assert views.elapsed_share(year, today) == pytest.approx(expected)


def test_leaders_and_laggards_do_not_overlap_and_laggards_are_worst_first():
    rating = pd.DataFrame({"unit_code": list("abcde"), "rank": [1, 2, 2, 4, None], "rated": [1, 1, 1, 1, 0]})
    rating["rated"] = rating["rated"].astype(bool)
    top, bottom = views.leaders_laggards(rating, n=3)
    assert top["unit_code"].tolist() == ["a", "b", "c"]
    assert bottom["unit_code"].tolist() == ["d"]


def test_exception_counts_by_kind_and_severity():
    exc = pd.DataFrame({"kind": ["red_indicator", "red_indicator", "escalated"], "severity": [3, 2, 3]})
    c = views.exception_counts(exc).set_index("kind")
    assert c.loc["red_indicator", ["high", "medium", "low", "total"]].tolist() == [1, 1, 0, 2]
    assert c.loc["escalated", "total"] == 1


def test_budget_execution_against_the_elapsed_year(tmp_path):
    s = Store(tmp_path / "b.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO budget_programs VALUES ('068', 'P', 'П', 'Б', NULL, NULL)")
        # annual plan 1200 for region 75; spent monthly Jan-Jun 100 each (600); one more region without a plan
        cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, plan) VALUES ('068', '75', '2025', 1200)")
        for m in range(1, 7):
            cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, plan, spent) VALUES "
                        "('068', '75', ?, 100, 100)", [f"2025-{m:02d}"])
    got = views.budget_execution(s, 2025, dt.date(2025, 6, 30))
    assert got["annual_plan"] == pytest.approx(1200)
    assert got["spent"] == pytest.approx(600)
    assert got["execution"] == pytest.approx(50.0)
    assert got["elapsed"] == pytest.approx(100 * 181 / 365)
    assert got["gap"] == pytest.approx(50.0 - 100 * 181 / 365)
    none = views.budget_execution(s, 2024, dt.date(2025, 6, 30))
    assert pd.isna(none["execution"]) and none["elapsed"] == 100.0      # no lines: missing, not 0%
    s.close()


def test_achievement_counts_only_scored_cells(demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    a = views.achievement(demo_store, period)
    assert a["scored"] == a["green"] + a["amber"] + a["red"]
    assert a["achieved"] == a["green"]
    assert a["share"] == pytest.approx(100 * a["achieved"] / a["scored"])


# -- the page -----------------------------------------------------------------------------------------------------

def test_headline_figures_match_the_domain(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    assert not at.exception
    assert at.title[0].value == "Situation room"
    metrics = {m.label: m.value for m in at.metric}
    a = views.achievement(demo_store, period)
    assert metrics["Indicators achieved"] == f"{a['share']:.1f}%"
    today = dt.date.today()
    instr = views.instructions_summary(demo_store, today)
    assert metrics["Instructions overdue"] == f"{instr['overdue']} of {instr['on_control']}"
    proj = views.projects_summary(demo_store, today)
    assert metrics["Projects off track"] == f"{proj['off_track']} of {proj['running']}"
    assert metrics[f"Budget execution {period}"].endswith("%")


def test_leaders_and_laggards_name_the_rating(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    rating = rating_views.rating_table(demo_store, period)
    leader = rating[rating["rated"]].iloc[0]
    text = "\n".join(m.value for m in at.markdown)
    assert f"{leader['name_en']} — " in text and f"(rank {leader['rank_label']})" in text
    assert any(pl.proto.page.endswith("rating") for pl in at.get("page_link"))


def _items(at) -> list[str]:
    """The decision items shown, in order, as read (each item's Markdown starts with its severity icon)."""
    return [md_unescape(m.value) for m in at.markdown if m.value.startswith(":material/")]


def test_first_screen_shows_escalated_issues_and_overdue_instructions_and_inflation_once(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    assert not at.exception
    shown = _items(at)
    assert len(shown) == decisions.FIRST_SCREEN
    # issue 11: before, the first 25 were 20 red indicators (18 of them inflation) and no escalated issue
    assert sum("· Escalated issues ·" in t for t in shown) >= 2
    assert sum("· Instructions overdue ·" in t for t in shown) >= 2
    assert all(k in "\n".join(shown) for k in ("Red indicators", "Projects off track", "Year-end spending spikes",
                                                "Projects insufficient for a target"))
    inflation = [t for t in shown if "Consumer price inflation" in t]
    dec = decisions.decision_list(demo_store, period, today=dt.date.today())
    line = dec[(dec["subject_id"] == "INFLATION") & (dec["kind"] == "red_indicator")].iloc[0]
    assert len(inflation) == 1 and f"Consumer price inflation: red in {line['region_count']} regions" in inflation[0]
    assert line["region_count"] > 10
    # the line expands to its regions, worst first, as text
    exp = next(e for e in at.expander if e.label.startswith(f"Regions ({line['region_count']})"))
    listed = md_unescape(exp.markdown[0].value).splitlines()
    assert len(listed) == line["region_count"]
    assert listed[0].startswith(f"- {line['members'][0]['name_en']} — achievement ")
    # the order on the screen is the ranking's, and each item links to its detail with the item's parameters
    for text, (_, r) in zip(shown, dec.head(decisions.FIRST_SCREEN).iterrows(), strict=True):
        assert f"No. {r['rank']}" in text and r["title_en"] in text
    links = [pl for pl in at.get("page_link") if pl.value == "Open"]
    linkable = dec.head(decisions.FIRST_SCREEN)
    linkable = linkable[[(ROOT / p).exists() for p in linkable["page"]]]
    assert [pl.proto.query_string for pl in links] == \
        ["&".join(f"{k}={v}" for k, v in p.items()) for p in linkable["params"]]
    # what is left is said, kind by kind, and more can be shown
    left = next(c.value for c in at.caption if c.value.startswith("Showing 10 of "))
    assert left.startswith(f"Showing 10 of {len(dec)}. Not shown: Escalated issues ")
    at.button(key="btn_situation_more_all").click().run()
    assert len(_items(at)) == 2 * decisions.FIRST_SCREEN
    assert next(c.value for c in at.caption if c.value.startswith("Showing ")).startswith(f"Showing 20 of {len(dec)}")


def test_kind_filter_keeps_one_kind(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period, "show": "instruction_overdue"})
    assert not at.exception
    shown = _items(at)
    dec = decisions.decision_list(demo_store, period, today=dt.date.today())
    n = dec.attrs["counts"]["instruction_overdue"]
    assert len(shown) == min(n, decisions.FIRST_SCREEN) and all("· Instructions overdue ·" in t for t in shown)
    assert at.selectbox[1].value == "instruction_overdue"
    assert f"Instructions overdue ({n})" in at.selectbox[1].options
    # the headline counts all overdue instructions; the note says where the escalated ones are
    merged = dec.attrs["merged_overdue"]
    instr = views.instructions_summary(demo_store, dt.date.today())
    assert n + merged == instr["overdue"]
    assert any(c.value == f"{merged} of the {instr['overdue']} overdue instructions are escalated: each is listed "
               "once, as escalated." for c in at.caption)


def test_projects_off_track_and_overdue_instructions_are_the_same_on_both_pages(app_env, demo_store):
    # issue 11: the situation room read 59 of 230, Projects 65 of 320; one definition now
    room = open_page(PAGE)
    projects = open_page("pages/projects.py")
    assert not room.exception and not projects.exception
    on_room = {m.label: m.value for m in room.metric}
    on_projects = {m.label: m.value for m in projects.metric}
    p = proj_metrics.load_projects(demo_store, today=dt.date.today())
    want = proj_metrics.off_track_summary(p)
    assert on_room["Projects off track"] == on_projects["Projects off track"] == \
        f"{want['off_track']} of {want['running']}"
    assert want["off_track"] == int((proj_metrics.off_track(p)).sum()) and want["running"] < len(p)
    instr = views.instructions_summary(demo_store, dt.date.today())
    assert on_room["Instructions overdue"] == f"{instr['overdue']} of {instr['on_control']}"
    assert any(h.value == f"Overdue instructions ({instr['overdue']})" for h in projects.subheader)


def test_instruction_link_shows_that_instruction(app_env, demo_store):
    row = demo_store.df("SELECT instruction_id, title FROM instructions ORDER BY instruction_id LIMIT 1").iloc[0]
    at = open_page(PAGE, params={"instruction": row["instruction_id"]})
    assert not at.exception
    assert any(h.value == f"Instruction {row['instruction_id']}" for h in at.subheader)
    assert any(row["title"] in md_unescape(m.value) for m in at.markdown)


def test_public_reader_sees_figures_but_not_the_exceptions(app_env):
    at = open_page(PAGE, user=PUBLIC)
    assert not at.exception
    assert len(at.metric) == 4
    assert any("signed-in" in i.value for i in at.info)
    assert not [pl for pl in at.get("page_link") if pl.value == "Open"]


@pytest.mark.parametrize("gap,colour,arrow", [
    (-19.0, "red", "down"),     # spending behind the calendar is bad news, whatever minus sign is printed
    (-0.04, "red", "down"),
    (0.0, "green", "off"),
    (3.2, "green", "up"),
    (float("nan"), "off", "off"),  # no plan: no judgement
])
def test_budget_gap_colour_and_arrow(gap, colour, arrow):
    assert views.gap_colour(gap) == colour
    assert views.gap_arrow(gap) == arrow


def test_budget_delta_is_red_when_spending_is_behind_the_calendar(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    budget = views.budget_execution(demo_store, int(period[:4]), dt.date.today())
    metric = next(m for m in at.metric if m.label == f"Budget execution {period}")
    assert metric.proto.delta.startswith("−" if budget["gap"] < 0 else "")
    assert metric.proto.delta.endswith("p.p. vs calendar")
    red = metric.proto.MetricColor.RED if budget["gap"] < 0 else metric.proto.MetricColor.GREEN
    assert metric.proto.color == red


def test_project_office_sees_the_achievement_of_its_own_regions(app_env, demo_store):
    office = User(username="po", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, user=office, params={"period": period})
    assert not at.exception
    own = views.achievement(demo_store, period, ("75",))
    everyone = views.achievement(demo_store, period)
    assert own["scored"] < everyone["scored"]
    metric = next(m for m in at.metric if m.label == "Indicators achieved")
    assert metric.value == f"{own['share']:.1f}%"
    assert metric.proto.delta == f"{own['red']} lagging"


def test_project_office_sees_the_decisions_of_its_own_regions(app_env, demo_store):
    from sac.auth.permissions import allowed_units

    office = User(username="po", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, user=office, params={"period": period})
    assert not at.exception
    own = decisions.decision_list(demo_store, period, today=dt.date.today(),
                                  units=frozenset(allowed_units(office, demo_store)))
    assert 0 < len(own) and all(r == ["75"] for r in own["regions"])
    shown = _items(at)
    assert len(shown) == min(len(own), decisions.FIRST_SCREEN)
    for text, title in zip(shown, own["title_en"], strict=False):
        assert title in text
    assert not any("red in 18 regions" in t for t in shown)        # the office's own line, not the country's
