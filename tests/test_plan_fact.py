"""Plan-fact cells (METHODOLOGY.md section 2) and the period rule of sac.metrics.plan_fact."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sac.metrics.plan_fact import cells_for_period, latest_period, load_cells, plan_fact, previous_period, score_cells
from sac.store import Store

NAN = float("nan")


def one(plan, fact, direction, **extra):
    df = pd.DataFrame({"indicator_id": ["k"], "unit_code": ["75"], "period": ["2024"], "plan": [plan],
                       "fact": [fact], "direction": [direction], **{k: [v] for k, v in extra.items()}})
    return score_cells(df).iloc[0]


# plan, fact, direction -> ratio, form, achieved, score, rag
CASES = [
    pytest.param(100, 90, "up", 0.9, "ratio", False, 90.0, "amber", id="up-90pct-amber-boundary"),
    pytest.param(100, 89, "up", 0.89, "ratio", False, 89.0, "red", id="up-just-red"),
    pytest.param(100, 130, "up", 1.3, "ratio", True, 100.0, "green", id="up-overachieved-capped-score"),
    pytest.param(10, 8, "down", 1.25, "ratio", True, 100.0, "green", id="down-below-plan"),
    pytest.param(10, 12.5, "down", 0.8, "ratio", False, 80.0, "red", id="down-above-plan"),
    pytest.param(10, 0, "down", 1.0, "ratio", True, 100.0, "green", id="down-fact-zero-is-met-not-infinity"),
    pytest.param(0, 0, "down", 1.0, "binary", True, 100.0, "green", id="down-plan-zero-fact-zero"),
    pytest.param(0, 3, "down", 0.0, "binary", False, 0.0, "red", id="down-plan-zero-missed"),
    pytest.param(0, 5, "up", 1.0, "binary", True, 100.0, "green", id="up-plan-zero-achieved"),
    pytest.param(0, -1, "up", 0.0, "binary", False, 0.0, "red", id="up-plan-zero-missed"),
    pytest.param(10, -2, "up", 0.0, "binary", False, 0.0, "red", id="sign-change-plan-pos-fact-neg"),
    pytest.param(-5, 3, "up", 1.0, "binary", True, 100.0, "green", id="sign-change-plan-neg-fact-pos"),
    pytest.param(-5, -8, "down", 1.0, "binary", True, 100.0, "green", id="both-negative-down-binary"),
    pytest.param(50, 0, "up", 0.0, "ratio", False, 0.0, "red", id="up-fact-zero"),
]


@pytest.mark.parametrize("plan, fact, direction, ratio, form, achieved, score, rag", CASES)
def test_cell_edge_cases(plan, fact, direction, ratio, form, achieved, score, rag):
    r = one(plan, fact, direction)
    assert r["ratio"] == pytest.approx(ratio)
    assert r["ratio_form"] == form
    assert bool(r["achieved"]) is achieved
    assert r["score"] == pytest.approx(score)
    assert r["rag"] == rag
    assert r["scored"]
    assert r["delta"] == fact - plan


def test_delta_pct_undefined_when_plan_zero():
    assert math.isnan(one(0, 5, "up")["delta_pct"])
    assert one(-50, -40, "up")["delta_pct"] == pytest.approx(20.0)   # relative to |P|


@pytest.mark.parametrize("plan, fact, direction", [
    pytest.param(100, NAN, "up", id="missing-fact-is-no-data"),
    pytest.param(NAN, 80, "up", id="fact-without-plan-shown-not-scored"),
    pytest.param(NAN, NAN, "down", id="nothing"),
    pytest.param(100, 80, None, id="no-direction"),
])
def test_not_scored_cells_are_grey_and_missing_not_zero(plan, fact, direction):
    r = one(plan, fact, direction)
    assert not r["scored"]
    assert r["rag"] == "grey"
    assert r["ratio_form"] is None
    assert pd.isna(r["achieved"])
    assert math.isnan(r["score"]) and math.isnan(r["ratio"])


def test_fact_without_plan_keeps_the_fact():
    r = one(NAN, 80, "up")
    assert r["fact"] == 80


def test_per_indicator_rag_overrides_and_nan_falls_back_to_default():
    df = pd.DataFrame({"indicator_id": ["a", "b"], "unit_code": ["1", "1"], "period": ["2024"] * 2,
                       "plan": [100, 100], "fact": [95, 95], "direction": ["up", "up"],
                       "rag_green": [0.95, NAN], "rag_amber": [0.8, NAN]})
    assert score_cells(df)["rag"].tolist() == ["green", "amber"]


def test_config_thresholds_used_and_version_named():
    from sac.methodology import DEFAULT_CONFIG, Methodology, merge
    m = Methodology(version=4, config=merge(DEFAULT_CONFIG, {"plan_fact": {"rag_amber": 0.8}}))
    df = pd.DataFrame({"indicator_id": ["a"], "unit_code": ["1"], "period": ["2024"], "plan": [100.0],
                       "fact": [85.0], "direction": ["up"]})
    r = score_cells(df, m).iloc[0]
    assert r["rag"] == "amber" and r["methodology_version"] == 4


def test_empty_frame():
    df = pd.DataFrame({c: [] for c in ["indicator_id", "unit_code", "period", "plan", "fact", "direction"]})
    out = score_cells(df)
    assert len(out) == 0 and "score" in out and "rag" in out


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.just(NAN)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite, st.sampled_from(["up", "down"])), min_size=1, max_size=30))
def test_deviation_is_fact_minus_plan_and_score_in_range(rows):
    df = pd.DataFrame(rows, columns=["plan", "fact", "direction"])
    df["indicator_id"], df["unit_code"], df["period"] = "k", [str(i) for i in range(len(df))], "2024"
    out = score_cells(df)
    both = df["plan"].notna() & df["fact"].notna()
    np.testing.assert_array_equal(out.loc[both, "delta"], df.loc[both, "fact"] - df.loc[both, "plan"])
    assert out.loc[~both, "delta"].isna().all()
    s = out.loc[out["scored"], "score"]
    assert ((s >= 0) & (s <= 100)).all()
    assert out["scored"].eq(both).all()
    # achieved cells score exactly 100, and score 100 means achieved
    assert (out.loc[out["scored"], "achieved"].astype(bool) == (s == 100)).all()


# -- store: load, period rule, latest period ------------------------------------------

@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        for node, parent, level in [("NP1", None, "national_priority"), ("P1", "NP1", "program"),
                                    ("BD1", "P1", "basic_direction"), ("NP2", None, "national_priority")]:
            cur.execute("INSERT INTO goal_nodes (node_id, parent_id, level, name_en, name_ru, name_kk) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [node, parent, level, node, node, node])
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity,
                       cumulative, node_id, source_document) VALUES
            ('A', 'annual', 'a', 'a', 'up', 'year', false, 'BD1', 'doc1'),
            ('Q', 'quarterly level', 'q', 'q', 'down', 'quarter', false, 'P1', NULL),
            ('C', 'quarterly cumulative', 'c', 'c', 'up', 'quarter', true, 'NP2', NULL),
            ('M', 'monthly', 'm', 'm', 'up', 'month', false, 'NP2', NULL)""")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, source_document, plan, fact) VALUES
            ('A', '75', '2024', 'doc1', 100, 90), ('A', '75', '2024', 'doc2', 120, NULL),
            ('A', '79', '2024', 'doc1', 100, NULL),
            ('A', '75', '2025', 'doc1', 110, NULL),
            ('Q', '75', '2024-Q2', '', 10, 9), ('Q', '75', '2024-Q3', '', 10, 11),
            ('Q', '79', '2024-Q3', '', 10, NULL), ('Q', '79', '2024-Q2', '', 10, 8),
            ('C', '75', '2024-Q1', '', 25, 20), ('C', '75', '2024-Q2', '', 50, 55),
            ('C', '75', '2025-Q1', '', 30, 31),
            ('M', '75', '2024-12', '', 1, 1), ('M', '75', '2025-02', '', 1, 2)""")
    yield s
    s.close()


def test_load_cells_joins_passport_and_names_and_prefers_own_source(store):
    df = load_cells(store, period="2024", indicator_ids=["A"])
    r = df.set_index("unit_code").loc["75"]
    assert r["plan"] == 100 and r["plan_source"] == "doc1"   # indicator's own source document wins
    assert r["unit_name_en"] == "Almaty" and r["unit_kind"] == "region"
    assert r["direction"] == "up" and r["period_kind"] == "year" and r["year"] == 2024


def test_node_filter_takes_the_subtree(store):
    got = set(load_cells(store, node_id="NP1")["indicator_id"])
    assert got == {"A", "Q"}      # A on BD1 (grandchild), Q on P1 (child); C, M on NP2 excluded
    assert set(load_cells(store, node_id="P1")["indicator_id"]) == {"A", "Q"}
    assert set(load_cells(store, node_id="BD1")["indicator_id"]) == {"A"}


def test_period_rule_for_a_year(store):
    c = cells_for_period(store, "2024").set_index(["indicator_id", "unit_code"])
    # annual: the year itself
    assert c.loc[("A", "75"), "period"] == "2024"
    # quarterly level: latest quarter with any fact (Q3); unit 79 has none in Q3 -> no data, NOT its Q2 value
    assert c.loc[("Q", "75"), "period"] == "2024-Q3" and c.loc[("Q", "75"), "fact"] == 11
    assert c.loc[("Q", "79"), "period"] == "2024-Q3" and pd.isna(c.loc[("Q", "79"), "fact"])
    # cumulative: latest quarter (Q2) = year to date
    assert c.loc[("C", "75"), "period"] == "2024-Q2" and bool(c.loc[("C", "75"), "ytd"])
    assert c.loc[("M", "75"), "period"] == "2024-12"
    assert (c["rating_period"] == "2024").all()
    assert not c.index.duplicated().any()


def test_period_rule_for_a_quarter_ignores_coarser_indicators(store):
    c = cells_for_period(store, "2024-Q2")
    assert set(c["indicator_id"]) == {"Q", "C"}     # annual A is not a quarter's result; no monthly data in Q2


def test_plans_only_period_returns_plans_grey(store):
    pf = plan_fact(store, "2025", indicator_ids=["A"])
    assert pf["rag"].tolist() == ["grey"] and pf["plan"].tolist() == [110]


def test_latest_period_counts_finer_facts(store):
    assert latest_period(store, "year") == "2025"               # C 2025-Q1, M 2025-02
    assert latest_period(store, "year", indicator_ids=["A", "Q"]) == "2024"
    assert latest_period(store, "quarter") == "2025-Q1"
    assert latest_period(store, "quarter", indicator_ids=["A"]) is None   # annual facts never make a quarter
    assert latest_period(store, "month") == "2025-02"


def test_previous_period(store):
    assert previous_period(store, "2024") == "2023"
    assert previous_period(store, "2024-Q1") == "2023-Q4"
    assert previous_period(store, "2024-01") == "2023-12"


def test_plan_fact_default_latest_and_version(store):
    pf = plan_fact(store, indicator_ids=["A", "Q"])
    assert set(pf["rating_period"]) == {"2024"}
    assert (pf["methodology_version"] == 1).all()
    a = pf.set_index(["indicator_id", "unit_code"]).loc[("A", "75")]
    assert a["score"] == 90 and a["rag"] == "amber"
