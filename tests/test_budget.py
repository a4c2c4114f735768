"""Budget (METHODOLOGY.md section 5): execution, YTD, year-end spike, efficiency, conflicts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sac.metrics.budget import (
    conflicts,
    cumulative_by_month,
    efficiency,
    efficiency_core,
    execution,
    execution_ytd,
    load_lines,
    year_end_spike,
)
from sac.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) VALUES
            ('k1', 'k1', 'k1', 'k1', 'up', 'year'), ('k2', 'k2', 'k2', 'k2', 'down', 'year')""")
        cur.execute("""INSERT INTO budget_programs (program_code, name_en, name_ru, name_kk) VALUES
            ('068', 'Roads', 'Дороги', 'Жолдар'), ('099', 'Schools', 'Школы', 'Мектептер')""")
        cur.execute("INSERT INTO budget_program_indicators VALUES ('068', 'k1'), ('068', 'k2')")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('k1', '75', '2024', 100, 90), ('k2', '75', '2024', 10, 10), ('k1', '79', '2024', 100, 50)""")
        # 068 in 75: quarterly, plan 100 per quarter, spent 10, 20, 30, 60 -> year 120/400, Q4 share 60/120 = 0.5
        # also an annual row in doc 'A' that must not be double counted, and a conflicting amount in doc 'B'
        cur.execute("""INSERT INTO budget_lines (program_code, unit_code, period, source_document, plan, allocated, spent)
            VALUES
            ('068', '75', '2024-Q1', '', 100, 100, 10), ('068', '75', '2024-Q2', '', 100, 100, 20),
            ('068', '75', '2024-Q3', '', 100, 100, 30), ('068', '75', '2024-Q4', '', 100, 80, 60),
            ('068', '75', '2024', 'A', 400, NULL, NULL), ('068', '75', '2024', 'B', 450, NULL, NULL),
            ('099', '79', '2024-11', '', 50, 50, 45), ('099', '79', '2024-12', '', 50, 50, 5),
            ('099', '79', '2024-10', '', 0, 0, NULL)""")
    yield s
    s.close()


def test_execution_by_program_no_double_counting(store):
    lines = load_lines(store)
    ex = execution(lines).set_index(["program_code", "unit_code", "year"])
    r = ex.loc[("068", "75", 2024)]
    # quarterly rows are finest: plan 400 (not 400 + 400 + 450), spent 120, allocated 380
    assert r["plan"] == 400 and r["spent"] == 120 and r["allocated"] == 380
    assert r["execution"] == pytest.approx(0.30)
    assert r["financing"] == pytest.approx(0.95)
    assert r["spent_of_allocated"] == pytest.approx(120 / 380)
    assert r["deviation"] == -280 and r["unspent"] == 260


def test_zero_plan_gives_no_ratio_and_missing_stays_missing():
    lines = pd.DataFrame({"program_code": ["p"], "subprogram_code": [""], "unit_code": ["u"], "period": ["2024"],
                          "source_document": [""], "plan": [0.0], "revised": [None], "allocated": [None],
                          "spent": [None], "kind": ["year"], "year": [2024]})
    r = execution(lines).iloc[0]
    assert math.isnan(r["execution"]) and math.isnan(r["spent"]) and math.isnan(r["financing"])


def test_ytd_against_ytd_and_annual_plan(store):
    y = execution_ytd(load_lines(store), "2024-06-30").set_index("program_code").loc["068"]
    assert y["spent"] == 30 and y["plan"] == 200 and y["execution"] == pytest.approx(0.15)
    assert y["annual_plan"] == 400 and y["execution_of_annual"] == pytest.approx(0.075)


def test_year_end_spike_quarterly_and_monthly(store):
    s = year_end_spike(load_lines(store)).set_index("program_code")
    assert s.loc["068", "spike_share"] == pytest.approx(0.5) and bool(s.loc["068", "flagged"])
    assert s.loc["068", "granularity"] == "quarter"
    # monthly: December share 5 / 50 = 0.1
    assert s.loc["099", "spike_share"] == pytest.approx(0.1) and not s.loc["099", "flagged"]
    assert s.loc["099", "granularity"] == "month"


def test_spike_threshold_from_config(store):
    from sac.methodology import DEFAULT_CONFIG, merge
    s = year_end_spike(load_lines(store), merge(DEFAULT_CONFIG, {"budget": {"spike_share": 0.6}}))
    assert not s["flagged"].any()


def test_cumulative_by_month(store):
    c = cumulative_by_month(load_lines(store), 2024).set_index(["program_code", "month"])
    assert c.loc[("068", 3), "spent_cum"] == 10 and c.loc[("068", 12), "spent_cum"] == 120
    assert c.loc[("068", 6), "cum_execution"] == pytest.approx(30 / 400)
    assert c.loc[("068", 9), "elapsed_share"] == pytest.approx(0.75)


@pytest.mark.parametrize("mean_s, execution_, e, k, band", [
    # K = (S/100) * min(E, 1), E = (S/100) / execution
    (90.0, 0.9, 1.0, 0.9, "high"),          # boundary: K = 0.9 exactly
    (90.0, 0.5, 1.8, 0.9, "high"),          # E capped at 1 in K
    (90.0, 1.0, 0.9, 0.81, "medium"),
    (80.0, 0.8, 1.0, 0.8, "medium"),
    (85.0, 1.0, 0.85, 0.7225, "satisfactory"),
    (60.0, 0.8, 0.75, 0.6 * 0.75, "unsatisfactory"),
    (None, 1.0, None, None, None),
    (80.0, 0.0, None, None, None),           # no spending: E undefined
])
def test_efficiency_bands(mean_s, execution_, e, k, band):
    r = efficiency_core(pd.DataFrame({"program_code": ["p"], "year": [2024], "execution": [execution_]}),
                        pd.DataFrame({"program_code": ["p"], "year": [2024], "mean_score": [mean_s]})).iloc[0]
    if e is None:
        assert math.isnan(r["efficiency"]) and r["band"] is None
    else:
        assert r["efficiency"] == pytest.approx(e) and r["effectiveness"] == pytest.approx(k) and r["band"] == band


def test_efficiency_from_store(store):
    r = efficiency(store, 2024).set_index("program_code").loc["068"]
    # linked k1 (S = 90) and k2 (S = 100) in unit 75 where 068 spends (unit 79's k1 not counted): mean 95
    assert r["mean_score"] == pytest.approx(95.0)
    assert r["execution"] == pytest.approx(0.30)
    assert r["efficiency"] == pytest.approx(0.95 / 0.30)
    assert r["effectiveness"] == pytest.approx(0.95) and r["band"] == "high"


def test_conflicts_list_every_amount_and_source(store):
    c = conflicts(load_lines(store))
    # default document '' (quarters summed to the year: 400), 'A' 400, 'B' 450 -> flagged, all three listed
    assert c["source_document"].tolist() == ["", "A", "B"]
    assert c["amount"].tolist() == [400, 400, 450]
    assert (c["spread"] == 50).all() and (c["n_documents"] == 3).all()
    assert set(c["program_code"]) == {"068"}


def test_equal_amounts_in_two_documents_are_not_a_conflict():
    lines = pd.DataFrame({"program_code": ["p", "p"], "subprogram_code": ["", ""], "unit_code": ["u", "u"],
                          "year": [2024, 2024], "source_document": ["A", "B"], "plan": [10.0, 10.0]})
    assert conflicts(lines).empty


# -- review findings ---------------------------------------------------------------

def _lines(rows):
    """rows: (program, period, kind, year, quarter, month, plan, spent)."""
    df = pd.DataFrame(rows, columns=["program_code", "period", "kind", "year", "quarter", "month", "plan", "spent"])
    return df.assign(subprogram_code="", unit_code="75", source_document="", revised=None, allocated=None)


def test_cumulative_execution_stops_after_the_last_month_with_spending():
    # Q1 10, Q2 20 spent; Q3 and Q4 planned, nothing reported yet: months 9 and 12 are unknown, not a flat 30
    lines = _lines([("p", f"2024-Q{q}", "quarter", 2024, q, None, 100.0, s)
                    for q, s in [(1, 10.0), (2, 20.0), (3, None), (4, None)]])
    c = cumulative_by_month(lines, 2024).set_index("month")
    assert c.loc[6, "spent_cum"] == 30 and c.loc[6, "cum_execution"] == pytest.approx(0.075)
    assert math.isnan(c.loc[9, "spent_cum"]) and math.isnan(c.loc[12, "spent_cum"])
    assert math.isnan(c.loc[9, "cum_execution"]) and math.isnan(c.loc[12, "cum_execution"])
    assert c.loc[12, "elapsed_share"] == 1.0


def test_execution_takes_the_annual_plan_when_finer_rows_carry_only_spending():
    # the year row carries the plan 1200; monthly rows carry spending only: execution 300 / 1200
    lines = _lines([("p", "2024", "year", 2024, None, None, 1200.0, None)]
                   + [("p", f"2024-0{m}", "month", 2024, 1, m, None, 100.0) for m in (1, 2, 3)])
    r = execution(lines).iloc[0]
    assert r["plan"] == 1200 and r["spent"] == 300 and r["execution"] == pytest.approx(0.25)
    # finer rows with their own plan keep it (no double counting with the year row)
    lines2 = _lines([("p", "2024", "year", 2024, None, None, 1200.0, None)]
                    + [("p", f"2024-0{m}", "month", 2024, 1, m, 100.0, 100.0) for m in (1, 2, 3)])
    assert execution(lines2).iloc[0]["plan"] == 300


# -- issue 9: defects found on real data ----------------------------------------------------------------------------

def _docs(rows):
    """rows: (source_document, period, kind, quarter, plan, revised, allocated, spent) of program p in unit u."""
    df = pd.DataFrame(rows, columns=["source_document", "period", "kind", "quarter", "plan", "revised", "allocated",
                                     "spent"])
    return df.assign(program_code="p", subprogram_code="", unit_code="u", year=2024, month=None)


def test_conflicts_check_every_phase_and_name_the_one_that_disagrees():
    # both documents agree on the plan; the treasury report and the akimat's report disagree on the spending
    lines = _docs([("Akimat report", "2024", "year", None, 100.0, 110.0, 90.0, 80.0),
                   ("Treasury report", "2024", "year", None, 100.0, 110.0, 90.0, 85.0)])
    c = conflicts(lines)
    assert c["phase"].tolist() == ["spent", "spent"]
    assert c["source_document"].tolist() == ["Akimat report", "Treasury report"]
    assert c["amount"].tolist() == [80.0, 85.0] and (c["spread"] == 5.0).all()


def test_conflicts_list_each_disagreeing_phase_separately():
    lines = _docs([("A", "2024", "year", None, 100.0, None, 90.0, 80.0),
                   ("B", "2024", "year", None, 100.0, 120.0, 95.0, 80.0)])
    c = conflicts(lines)
    # revised is carried by B alone (nothing to compare); allocated differs; plan and spent agree
    assert c[["phase", "source_document", "amount"]].values.tolist() == [["allocated", "A", 90.0],
                                                                       ["allocated", "B", 95.0]]


def test_conflicts_of_one_phase_only_when_asked():
    lines = _docs([("A", "2024", "year", None, 100.0, None, None, 80.0),
                   ("B", "2024", "year", None, 150.0, None, None, 85.0)])
    assert set(conflicts(lines, "plan")["phase"]) == {"plan"}
    assert set(conflicts(lines)["phase"]) == {"plan", "spent"}


def test_a_document_with_a_year_row_and_its_quarters_is_not_counted_twice():
    # document A carries the annual plan 400 and the same plan by quarter; B the annual plan 400: they agree
    lines = _docs([("A", "2024", "year", None, 400.0, None, None, None)]
                  + [("A", f"2024-Q{q}", "quarter", q, 100.0, None, None, 10.0 * q) for q in (1, 2, 3, 4)]
                  + [("B", "2024", "year", None, 400.0, None, None, 100.0)])
    assert conflicts(lines).empty


def test_conflicts_on_an_empty_frame():
    assert conflicts(_docs([])).empty


def test_a_programme_without_a_row_in_budget_programs_is_named_by_its_code(store):
    with store.write() as cur:
        cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, plan) VALUES ('777', '75', '2024', 5)")
    got = load_lines(store, program_codes=["777"])
    assert got[["program_name_en", "program_name_ru", "program_name_kk"]].iloc[0].tolist() == ["777", "777", "777"]
    known = load_lines(store, program_codes=["068"])
    assert set(known["program_name_ru"]) == {"Дороги"}
