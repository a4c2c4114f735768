"""Projects (METHODOLOGY.md section 6; Rules para 64, 68.10, 79)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sac.metrics.projects import (
    best_and_worst,
    load_projects,
    manager_conflicts,
    manager_rating,
    off_track,
    off_track_summary,
    para64_ratios,
    people_rating,
    project_metrics,
)
from sac.store import Store

TODAY = "2024-07-01"
CONFIG = {"projects": {"ev_red": 0.8, "ev_amber": 0.95}}


def project(**kw) -> dict:
    base = dict(project_id="P1", planned_start="2024-01-01", planned_end="2024-12-31", actual_start=None,
                actual_end=None, forecast_end="2024-12-31", budget=100.0, cost_to_date=50.0, forecast_cost=100.0,
                percent_complete=0.5, status_reported="green", is_active=True)
    base.update(kw)
    return base


def metrics(*rows) -> pd.DataFrame:
    return project_metrics(pd.DataFrame(list(rows)), TODAY, CONFIG)


def test_on_plan_project_is_green_with_spi_cpi_near_one():
    r = metrics(project()).iloc[0]
    # 182 of 365 days elapsed at 2024-07-01
    assert r["planned_share"] == pytest.approx(182 / 365)
    assert r["PV"] == pytest.approx(100 * 182 / 365)
    assert r["EV"] == 50.0 and r["AC"] == 50.0
    assert r["SPI"] == pytest.approx(50 / (100 * 182 / 365))
    assert r["CPI"] == 1.0
    assert r["status_computed"] == "green"
    assert not r["status_disagrees"]
    assert r["slip_days"] == 0 and r["on_terms"] and r["within_budget"]


@pytest.mark.parametrize(
    "kw, share, spi",
    [
        # zero duration, start already passed: wholly due
        (dict(planned_start="2024-03-01", planned_end="2024-03-01", percent_complete=1.0), 1.0, 1.0),
        # zero duration, start in the future: nothing due, SPI undefined
        (dict(planned_start="2024-09-01", planned_end="2024-09-01", percent_complete=0.0), 0.0, math.nan),
        # not yet started: share clipped to 0
        (dict(planned_start="2024-08-01", planned_end="2025-08-01"), 0.0, math.nan),
        # past the planned end: share clipped to 1
        (dict(planned_start="2023-01-01", planned_end="2024-01-01", percent_complete=0.9), 1.0, 0.9),
        # no planned start: no schedule
        (dict(planned_start=None), math.nan, math.nan),
    ],
)
def test_planned_share_edges(kw, share, spi):
    r = metrics(project(**kw)).iloc[0]
    if math.isnan(share):
        assert math.isnan(r["planned_share"])
    else:
        assert r["planned_share"] == share
    if math.isnan(spi):
        assert math.isnan(r["SPI"])
    else:
        assert r["SPI"] == pytest.approx(spi)


def test_zero_cost_to_date_leaves_cpi_undefined_not_infinite():
    r = metrics(project(cost_to_date=0.0)).iloc[0]
    assert math.isnan(r["CPI"])
    assert r["SPI"] == pytest.approx(50 / (100 * 182 / 365))


def test_unknown_percent_complete_gives_no_ev_and_no_computed_status():
    r = metrics(project(percent_complete=None)).iloc[0]
    assert math.isnan(r["EV"]) and math.isnan(r["SPI"]) and math.isnan(r["CPI"])
    assert pd.isna(r["status_computed"])
    assert pd.isna(r["status_disagrees"])


@pytest.mark.parametrize(
    "kw, expected",
    [
        (dict(percent_complete=0.35), "red"),            # SPI = 0.35/0.4986 = 0.70
        (dict(percent_complete=0.45), "amber"),          # SPI = 0.90
        (dict(cost_to_date=60.0), "amber"),              # CPI = 50/60 = 0.83: >= 0.8 but < 0.95
        (dict(planned_end="2024-06-01", forecast_end="2024-09-01", percent_complete=0.99,
              cost_to_date=99.0), "red"),                # overdue beats good indices
    ],
)
def test_computed_status(kw, expected):
    assert metrics(project(**kw)).iloc[0]["status_computed"] == expected


def test_self_reported_green_but_computed_red_is_flagged():
    r = metrics(project(percent_complete=0.2, status_reported="green")).iloc[0]
    assert r["status_computed"] == "red"
    assert r["status_disagrees"]


def test_off_track_is_running_and_red_computed_or_self_reported():
    # the one definition of "projects off track" (situation room, Projects page, decision list; issue 11)
    df = metrics(
        project(project_id="LATE", planned_end="2024-03-31", forecast_end="2024-10-31"),   # computed red: overdue
        project(project_id="SAYS", status_reported="red"),                                 # self-reported red
        project(project_id="FINE"),                                                        # green both ways
        project(project_id="DONE", planned_end="2024-03-31", actual_end="2024-05-31",      # red once, finished
                status_reported="red"),
        project(project_id="STOP", status_reported="red", is_active=False),                # not active
        project(project_id="AMBR", percent_complete=0.45),                                 # SPI 0.9: amber
        project(project_id="NONE", percent_complete=None, status_reported=None))           # no evidence
    assert df.loc[off_track(df), "project_id"].tolist() == ["LATE", "SAYS"]
    assert off_track_summary(df) == {"running": 5, "off_track": 2, "at_risk": 1, "on_track": 1, "no_status": 1,
                                     "overdue": 1}


def test_finished_project_terms_and_budget():
    late = metrics(project(actual_end="2025-01-10", cost_to_date=120.0, forecast_cost=None,
                           percent_complete=1.0)).iloc[0]
    assert late["finished"] and not late["overdue"]
    assert late["slip_days"] == 10
    assert not late["on_terms"]
    assert late["cost"] == 120.0 and late["budget_variance_pct"] == pytest.approx(20.0)
    assert not late["within_budget"]


def test_running_project_judged_on_forecast():
    r = metrics(project(forecast_end="2025-02-01", forecast_cost=90.0)).iloc[0]
    assert r["slip_days"] == 32 and not r["on_terms"]
    assert r["within_budget"] and r["budget_variance_pct"] == pytest.approx(-10.0)
    missing = metrics(project(forecast_end=None, forecast_cost=None, budget=None)).iloc[0]
    assert pd.isna(missing["on_terms"]) and pd.isna(missing["within_budget"])
    assert math.isnan(missing["budget_variance_pct"])


def test_para64_ratios_carry_numerators_and_denominators():
    df = pd.DataFrame([
        dict(program="PR1", stakeholder_expectations_met=True, on_terms=True, within_budget=True,
             consultant_involved=True, staff_total=10, staff_certified=4),
        dict(program="PR1", stakeholder_expectations_met=False, on_terms=False, within_budget=None,
             consultant_involved=None, staff_total=5, staff_certified=1),
        dict(program="PR1", stakeholder_expectations_met=None, on_terms=True, within_budget=False,
             consultant_involved=False, staff_total=None, staff_certified=3),
        dict(program="PR2", stakeholder_expectations_met=True, on_terms=None, within_budget=None,
             consultant_involved=None, staff_total=0, staff_certified=0),
    ])
    out = para64_ratios(df, by="program").set_index("program")
    pr1 = out.loc["PR1"]
    assert pr1["n_projects"] == 3
    assert (pr1["stakeholder_num"], pr1["stakeholder_den"]) == (1, 2)
    assert pr1["stakeholder_pct"] == pytest.approx(50.0)
    assert (pr1["on_terms_num"], pr1["on_terms_den"]) == (2, 3)
    assert (pr1["within_budget_num"], pr1["within_budget_den"]) == (1, 2)
    assert (pr1["consultants_num"], pr1["consultants_den"]) == (1, 2)
    # certified = sum certified / sum staff over projects reporting both: (4 + 1) / (10 + 5)
    assert (pr1["certified_num"], pr1["certified_den"]) == (5, 15)
    assert pr1["certified_pct"] == pytest.approx(100 * 5 / 15)
    pr2 = out.loc["PR2"]
    assert pr2["on_terms_den"] == 0 and math.isnan(pr2["on_terms_pct"])
    assert math.isnan(pr2["certified_pct"])  # 0 staff: undefined, not 0 %


def _mgr(pid, mgr, start, end, **kw):
    return dict(project_id=pid, manager_id=mgr, manager_name=mgr, planned_start=start, planned_end=end,
                actual_start=None, forecast_end=None, actual_end=kw.get("actual_end"),
                is_active=kw.get("is_active", True))


def test_manager_with_two_overlapping_active_projects_is_listed_sequential_is_not():
    df = pd.DataFrame([
        _mgr("A1", "M1", "2024-01-01", "2024-06-30"),
        _mgr("A2", "M1", "2024-06-01", "2024-12-31"),   # overlaps A1 for 30 days
        _mgr("B1", "M2", "2024-01-01", "2024-03-31"),
        _mgr("B2", "M2", "2024-04-01", "2024-12-31"),   # sequential: no overlap
        _mgr("C1", "M3", "2024-01-01", "2024-12-31"),
        _mgr("C2", "M3", "2024-02-01", "2024-05-31", actual_end="2024-05-20"),  # finished: not active
        _mgr("D1", "M4", "2024-01-01", "2024-12-31"),
        _mgr("D2", "M4", "2024-02-01", "2024-05-31", is_active=False),
    ])
    out = manager_conflicts(df)
    assert out["manager_id"].tolist() == ["M1"]
    row = out.iloc[0]
    assert (row["project_a"], row["project_b"]) == ("A1", "A2")
    assert row["overlap_days"] == 30
    assert row["n_active_projects"] == 2


def _rated(pid, person, on_terms, within, stake):
    return dict(project_id=pid, manager_id=person, on_terms=on_terms, within_budget=within,
                stakeholder_expectations_met=stake)


def test_people_rating_ties_and_coverage():
    projects = pd.DataFrame([
        _rated("P1", "A", True, True, True),       # A: 100, 100, 100, S 80 -> 95
        _rated("P2", "B", True, True, True),       # B: same as A -> tie "=1"
        _rated("P3", "C", False, True, True),      # C: 0, 100, 100, S 40 -> 60
        _rated("P4", "D", None, None, True),       # D: 1 of 3 items known, no indicators -> not rated
        _rated("P5", "E", True, False, None),      # E: 2 of 3 + 1 indicator of 1 -> 3/4 = 0.75 -> not rated
    ])
    contributions = pd.DataFrame([
        dict(project_id="P1", indicator_id="K1", unit_code="75"),
        dict(project_id="P2", indicator_id="K1", unit_code="75"),
        dict(project_id="P3", indicator_id="K2", unit_code="75"),
        dict(project_id="P5", indicator_id="K1", unit_code="75"),
    ])
    scores = pd.DataFrame([dict(indicator_id="K1", unit_code="75", score=80.0),
                           dict(indicator_id="K2", unit_code="75", score=40.0)])
    out = people_rating(projects, contributions, scores).set_index("person_id")
    assert out.loc["A", "rating"] == pytest.approx(95.0)
    assert out.loc["A", "rank_label"] == "=1" and out.loc["B", "rank_label"] == "=1"
    assert out.loc["C", "rank"] == 3 and out.loc["C", "rank_label"] == "3"
    assert out.loc["C", "rating"] == pytest.approx(60.0)
    assert not out.loc["D", "rated"] and math.isnan(out.loc["D", "rating"])
    assert out.loc["D", "coverage"] == pytest.approx(1 / 3)
    assert out.loc["E", "coverage"] == pytest.approx(0.75) and not out.loc["E", "rated"]
    best, worst = best_and_worst(out.reset_index(), n=2)
    assert best["person_id"].tolist() == ["A", "B"]
    assert worst["person_id"].tolist() == ["C"]            # B is among the best: never also listed as worst


# --- a small real store --------------------------------------------------------

@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "p.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO officials VALUES ('O1','Aigerim S.',NULL,NULL,TRUE),('O2','Bolat K.',NULL,NULL,FALSE),"
                    "('O9','Head of group',NULL,NULL,TRUE)")
        for node, parent, level, head in [("NP", None, "national_priority", None), ("PR", "NP", "program", None),
                                          ("BD", "PR", "basic_direction", None), ("GP", "BD", "project_group", "O9")]:
            cur.execute("INSERT INTO goal_nodes (node_id, parent_id, level, name_en, name_ru, name_kk, "
                        "responsible_official) VALUES (?, ?, ?, ?, ?, ?, ?)", [node, parent, level, node, node, node, head])
        cur.execute("""INSERT INTO projects (project_id, name_en, node_id, region_kato, manager_id, status_reported,
                planned_start, planned_end, forecast_end, budget, cost_to_date, forecast_cost, percent_complete,
                stakeholder_expectations_met, consultant_involved, staff_total, staff_certified)
            VALUES ('X1','x1','GP','75','O1','green','2024-01-01','2024-12-31','2024-12-31',100,50,100,0.5,TRUE,TRUE,10,5),
                   ('X2','x2','GP','71','O2','green','2024-01-01','2024-12-31','2025-03-31',100,50,130,0.2,FALSE,FALSE,4,0)
        """)
    yield s
    s.close()


def test_load_projects_walks_the_goal_map_and_filters(store):
    df = load_projects(store, today=TODAY)
    assert df[["project_group", "basic_direction", "program", "national_priority"]].iloc[0].tolist() == \
        ["GP", "BD", "PR", "NP"]
    assert df["group_head_id"].tolist() == ["O9", "O9"]
    assert df.set_index("project_id")["status_computed"].to_dict() == {"X1": "green", "X2": "red"}
    assert df["methodology_version"].eq(1).all()
    assert load_projects(store, today=TODAY, region="71")["project_id"].tolist() == ["X2"]
    assert len(load_projects(store, today=TODAY, node_id="BD")) == 2
    assert len(load_projects(store, today=TODAY, node_id="ELSEWHERE")) == 0
    ratios = para64_ratios(df, by="region").set_index("region_kato")
    assert ratios.loc["71", "within_budget_num"] == 0 and ratios.loc["71", "within_budget_den"] == 1


def test_manager_rating_from_store(store):
    scores = pd.DataFrame(columns=["indicator_id", "unit_code", "score"])
    out = manager_rating(store, "2024", today=TODAY, scores=scores).set_index("person_id")
    assert out.loc["O1", "rating"] == pytest.approx(100.0) and out.loc["O1", "full_name"] == "Aigerim S."
    assert out.loc["O2", "rating"] == pytest.approx(0.0)
    assert out.loc["O2", "rank"] == 2
    heads = manager_rating(store, "2024", role="group_head", today=TODAY, scores=scores)
    assert heads["person_id"].tolist() == ["O9"] and heads["rating"].iloc[0] == pytest.approx(50.0)
    assert heads["methodology_version"].iloc[0] == 1


# --- invariants (hypothesis) ---------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_bool = st.one_of(st.none(), st.booleans())


@settings(max_examples=15, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), _bool, _bool, _bool), min_size=1, max_size=12),
       seed=st.integers(0, 1000))
def test_people_rating_ignores_row_order_and_rewards_improvement(rows, seed):
    projects = pd.DataFrame([_rated(f"P{i}", who, a, b, c) for i, (who, a, b, c) in enumerate(rows)])
    empty = pd.DataFrame(columns=["project_id", "indicator_id", "unit_code"])
    scores = pd.DataFrame(columns=["indicator_id", "unit_code", "score"])
    base = people_rating(projects, empty, scores).set_index("person_id").sort_index()
    shuffled = people_rating(projects.sample(frac=1, random_state=seed), empty, scores)
    pd.testing.assert_frame_equal(base, shuffled.set_index("person_id").sort_index())
    # turning one project's "not on time" into "on time" never lowers its person's rating
    late = projects.index[projects["on_terms"].eq(False).fillna(False)]
    if len(late):
        better = projects.copy()
        better.loc[late[0], "on_terms"] = True
        who = better.loc[late[0], "manager_id"]
        after = people_rating(better, empty, scores).set_index("person_id")
        if base.loc[who, "rated"]:
            assert after.loc[who, "rating"] >= base.loc[who, "rating"]


@settings(max_examples=15, deadline=None)
@given(pc=st.floats(0, 1), ac=st.floats(0, 200), days=st.integers(-400, 800), seed=st.integers(0, 100))
def test_more_progress_never_worsens_computed_status(pc, ac, days, seed):
    order = {"green": 0, "amber": 1, "red": 2}
    today = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=days)).date()
    lo = project_metrics(pd.DataFrame([project(percent_complete=pc, cost_to_date=ac)]), today, CONFIG).iloc[0]
    hi = project_metrics(pd.DataFrame([project(percent_complete=min(1.0, pc + 0.1), cost_to_date=ac)]),
                         today, CONFIG).iloc[0]
    if pd.notna(lo["status_computed"]) and pd.notna(hi["status_computed"]):
        assert order[hi["status_computed"]] <= order[lo["status_computed"]]


def test_empty_store_gives_empty_frames_with_columns(tmp_path):
    s = Store(tmp_path / "empty.duckdb")
    df = load_projects(s, today=TODAY)
    assert df.empty and {"SPI", "CPI", "status_computed", "program"} <= set(df.columns)
    assert para64_ratios(df).empty and manager_conflicts(df).empty
    rating = manager_rating(s, "2024", today=TODAY)
    assert rating.empty and {"person_id", "rating", "rank_label", "methodology_version"} <= set(rating.columns)
    s.close()


def test_demo_manager_with_two_overlapping_projects(demo_store):
    from tests.conftest import TODAY as DEMO_TODAY

    df = load_projects(demo_store, today=DEMO_TODAY)
    conflicts = manager_conflicts(df)
    assert conflicts["manager_id"].nunique() == 1 and (conflicts["overlap_days"] > 0).all()
    ratios = para64_ratios(df, by="program")
    assert (ratios["n_projects"].sum() == len(df)) and (ratios["on_terms_num"] <= ratios["on_terms_den"]).all()
    rating = manager_rating(demo_store, "2025", today=DEMO_TODAY, projects=df)
    best, worst = best_and_worst(rating)
    assert len(best) == 5 and len(worst) == 5 and best["rating"].min() >= worst["rating"].max()


def test_thresholds_come_from_the_configuration():
    row = pd.DataFrame([project(percent_complete=0.45)])          # SPI 0.90
    assert project_metrics(row, TODAY, None).iloc[0]["status_computed"] == "amber"
    stricter = project_metrics(row, TODAY, {"projects": {"ev_red": 0.95, "ev_amber": 0.99}})
    assert stricter.iloc[0]["status_computed"] == "red"


# -- review findings ---------------------------------------------------------------

@pytest.mark.parametrize("pc, ac, expected", [
    (0.57, 60.0, "green"),     # CPI = 57/60 = 0.95 exactly (0.9499999999999998 in floating point)
    (0.29, 36.25, "amber"),    # CPI = 29/36.25 = 0.8 exactly (0.7999999999999999)
])
def test_cpi_exactly_at_a_threshold_is_graded_at_it(pc, ac, expected):
    # planned start in the future: PV = 0, SPI undefined, so CPI alone decides
    r = metrics(project(planned_start="2024-08-01", planned_end="2025-08-01", forecast_end="2025-08-01",
                        percent_complete=pc, cost_to_date=ac)).iloc[0]
    assert r["CPI"] == pytest.approx({"green": 0.95, "amber": 0.8}[expected])
    assert r["status_computed"] == expected


def test_people_rating_ties_round_half_up():
    # ratings 95.25 and 95.35 -> 95.3 and 95.4 (half up; np.round would give 95.2 and 95.4)
    projects = pd.DataFrame([_rated("P1", "A", True, True, True), _rated("P2", "B", True, True, True)])
    contributions = pd.DataFrame([dict(project_id="P1", indicator_id="K1", unit_code="75"),
                                  dict(project_id="P2", indicator_id="K2", unit_code="75")])
    scores = pd.DataFrame([dict(indicator_id="K1", unit_code="75", score=81.0),     # A: (300 + 81)/4 = 95.25
                           dict(indicator_id="K2", unit_code="75", score=81.2)])    # B: (300 + 81.2)/4 = 95.3
    out = people_rating(projects, contributions, scores).set_index("person_id")
    assert out.loc["A", "rating"] == pytest.approx(95.25)
    # half up: A rounds to 95.3, tied with B's 95.3 -> both "=1" (half to even gives 95.2: A second)
    assert out.loc["A", "rank_label"] == "=1" and out.loc["B", "rank_label"] == "=1"
