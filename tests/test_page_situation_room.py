"""Situation room (issue 4, page 1) on the demo, and its view helpers (sac.views.situation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from test_pages import open_page

from sac.auth import User
from sac.metrics import exceptions as exc_metrics
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


def test_exceptions_are_listed_most_severe_first_with_links_to_their_pages(app_env, demo_store):
    period = rating_views.periods_with_data(demo_store)[1]
    at = open_page(PAGE, params={"period": period})
    assert not at.exception
    exc = exc_metrics.exceptions(demo_store, period, today=dt.date.today())
    assert len(exc) > 0
    first = exc.iloc[0]
    text = md_unescape("\n".join(m.value for m in at.markdown))   # names are escaped Markdown: read as shown
    assert first["title_en"] in text
    links = [pl for pl in at.get("page_link") if pl.value == "Open"]
    linkable = exc.head(25)[[(ROOT / p).exists() for p in exc.head(25)["page"]]]
    assert len(links) == len(linkable)
    if len(linkable):
        want = "&".join(f"{k}={v}" for k, v in linkable.iloc[0]["params"].items())
        assert links[0].proto.query_string == want


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
