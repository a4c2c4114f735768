"""Indicator quality audit (METHODOLOGY.md section 8; seed 001 ch. 2.1, Tables 2 and 9)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sac.metrics.quality import (
    modified_z,
    passport_completeness,
    reporting,
    several_targets,
    several_targets_in_store,
    upload_outliers,
    wrong_way,
    wrong_way_targets,
)
from sac.store import Store


def _plans(direction, series, doc="SP", unit="KZ"):
    return pd.DataFrame([dict(indicator_id="POV", unit_code=unit, source_document=doc, year=y, plan=p,
                              direction=direction) for y, p in series.items()])


def test_seed_table2_poverty_share_planned_from_4_to_8_is_wrong_way():
    # seed 001 Table 2, MLSP Strategic Plan 2017-2021: 4.0, 8.0, 8.0, 8.0, 7.0 for a "lower is better" share
    out = wrong_way(_plans("down", {2017: 4.0, 2018: 8.0, 2019: 8.0, 2020: 8.0, 2021: 7.0})).iloc[0]
    assert out["wrong_way"]
    assert out["slope"] == pytest.approx(0.6)        # least squares over 2017-2021
    assert out["n_wrong_steps"] == 1 and out["worst_step"] == pytest.approx(4.0)
    assert (out["first_plan"], out["last_plan"]) == (4.0, 7.0)


def test_seed_table2_2020_2024_plan_moves_the_right_way():
    out = wrong_way(_plans("down", {2020: 4.5, 2021: 4.5, 2022: 4.4, 2023: 4.4, 2024: 4.3})).iloc[0]
    assert not out["wrong_way"] and out["n_wrong_steps"] == 0 and math.isnan(out["worst_step"])


def test_seed_table2_2011_2015_single_rebound_is_listed_not_flagged():
    out = wrong_way(_plans("down", {2011: 6.4, 2012: 5.2, 2013: 5.1, 2014: 5.0, 2015: 6.0})).iloc[0]
    assert not out["wrong_way"]           # slope is negative overall
    assert out["n_wrong_steps"] == 1 and out["worst_step"] == pytest.approx(1.0)


def test_wrong_way_up_indicator_and_documents_apart():
    df = pd.concat([_plans("up", {2020: 10, 2021: 9, 2022: 8}, doc="A"),
                    _plans("up", {2020: 10, 2021: 11}, doc="B"),
                    _plans("up", {2020: 10}, doc="C")])           # one year: no trend, not listed
    out = wrong_way(df).set_index("source_document")
    assert out["wrong_way"].to_dict() == {"A": True, "B": False}


def test_seed_table9_sme_growth_two_documents_listed_each():
    # seed 001 Table 9: growth of active SMEs, % a year: MNE Strategic Plan 3 %, "Enbek" 9 % (2020), 10 % (2021)
    values = pd.DataFrame([
        dict(indicator_id="SME", unit_code="KZ", period=str(y), source_document=doc, plan=p)
        for doc, plans in {"MNE SP 2020-2024": {2020: 3.0, 2021: 3.0, 2022: 3.0},
                           "Enbek": {2018: 5.0, 2019: 7.0, 2020: 9.0, 2021: 10.0}}.items()
        for y, p in plans.items()
    ] + [dict(indicator_id="SME", unit_code="KZ", period="2022", source_document="Copy", plan=3.0)])
    out = several_targets(values)
    assert out["period"].unique().tolist() == ["2020", "2021"]      # 2022 agrees across documents
    y2020 = out[out["period"] == "2020"].set_index("source_document")
    assert y2020["plan"].to_dict() == {"Enbek": 9.0, "MNE SP 2020-2024": 3.0}
    assert (y2020["n_documents"] == 2).all() and (y2020["spread"] == 6.0).all()


def test_passport_gaps():
    from sac.metrics.quality import passport_gaps

    df = pd.DataFrame([
        dict(indicator_id="A", name_en="a", name_ru="a", name_kk="a", unit_of_measure="%", direction="up",
             baseline_value=1.0, baseline_year=2020, target_value=2.0, target_year=2025, source_document="SP",
             responsible_official="O1"),
        dict(indicator_id="B", name_en="b", name_ru="b", name_kk="b", unit_of_measure=" ", direction=None,
             baseline_value=1.0, baseline_year=None, target_value=2.0, target_year=2025, source_document=None,
             responsible_official="O1"),
    ])
    out = passport_gaps(df).set_index("indicator_id")
    assert out.loc["A", "completeness"] == 1.0 and out.loc["A", "missing"] == []
    assert out.loc["B", "missing"] == ["unit", "direction", "baseline", "source"]
    assert out.loc["B", "completeness"] == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    "history, x, expected",
    [
        # MAD > 0: 0.6745 * (x - median) / MAD; history 10, 11, 12, 13, 50 -> median 12, MAD 1
        ([10, 11, 12, 13, 50], 50, 0.6745 * 38 / 1),
        # MAD = 0 (most values equal): mean absolute deviation fallback; |dev| = 0,0,0,0,5 -> MeanAD 1
        ([7, 7, 7, 7, 12], 12, 5 / (1.253314 * 1.0)),
        # all equal: z = 0, never a division by zero
        ([7, 7, 7, 7], 7, 0.0),
    ],
)
def test_modified_z(history, x, expected):
    s = pd.Series(history, dtype=float)
    med = s.median()
    row = pd.DataFrame([dict(fact=float(x), median=med, mad=(s - med).abs().median(),
                             meanad=(s - med).abs().mean())])
    assert modified_z(row).iloc[0] == pytest.approx(expected)


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "q.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, unit_of_measure, direction,
                           periodicity, source_document)
            VALUES ('POV','Poverty','Poverty','Poverty','%','down','year','SP 2017-2021'),
                   ('JOB','Jobs','Jobs','Jobs',NULL,'up','year',NULL)""")
        cur.execute("""INSERT INTO upload_batches (batch_id, kind, file_name, sha256, uploaded_by, uploaded_at)
            VALUES (1,'kni','a.xlsx','x','u','2024-01-20 10:00:00'), (2,'kni','b.xlsx','y','u','2024-03-15 10:00:00')""")
        rows = [("POV", "75", str(y), "SP 2017-2021", p, None, None)
                for y, p in {2017: 4.0, 2018: 8.0, 2019: 8.0, 2020: 8.0, 2021: 7.0}.items()]
        rows += [("POV", "75", "2020", "SP 2020-2024", 4.5, None, None)]
        rows += [("JOB", "75", str(y), "", None, f, None) for y, f in
                 {2018: 100.0, 2019: 102.0, 2020: 101.0, 2021: 103.0}.items()]
        rows += [("JOB", "75", "2022", "", 100.0, 400.0, 2)]          # a misplaced digit: outlier, batch 2
        rows += [("JOB", "75", "2023", "", 100.0, 104.0, 1),          # on time (period ended 2023-12-31)
                 ("JOB", "71", "2023", "", 100.0, None, None)]         # expected, not reported
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, source_document, plan, fact, "
                        "batch_id) VALUES (?,?,?,?,?,?,?)", rows)
    yield s
    s.close()


def test_quality_from_store(store):
    pc = passport_completeness(store).set_index("indicator_id")
    assert pc.loc["JOB", "missing"] == ["unit", "baseline", "target", "source", "responsible"]
    assert pc.index[0] == "JOB"                        # least complete first

    ww = wrong_way_targets(store)
    assert ww[["indicator_id", "source_document"]].values.tolist() == [["POV", "SP 2017-2021"]]
    assert ww["methodology_version"].iloc[0] == 1

    st = several_targets_in_store(store)
    assert st["source_document"].tolist() == ["SP 2017-2021", "SP 2020-2024"]
    assert st["plan"].tolist() == [8.0, 4.5] and st["is_passport_source"].tolist() == [True, False]

    out = upload_outliers(store)
    assert out[["indicator_id", "period", "fact"]].values.tolist() == [["JOB", "2022", 400.0]]
    assert out["z"].iloc[0] > 3.5 and out["batch_id"].iloc[0] == 2
    assert upload_outliers(store, batch_id=1).empty


def test_reporting_completeness_and_timeliness(store):
    rep = reporting(store, period="2023").set_index("unit_code")
    assert rep.loc["75", "completeness"] == 1.0 and rep.loc["71", "completeness"] == 0.0
    # batch 1 uploaded 2024-01-20: within 30 days of 2023-12-31
    assert rep.loc["75", "timeliness"] == 1.0
    assert math.isnan(rep.loc["71", "timeliness"])
    # 2022: uploaded 2024-03-15, far past 2022-12-31 + 30 days
    assert reporting(store, period="2022").set_index("unit_code").loc["75", "timeliness"] == 0.0
    # with a longer grace the same upload counts as on time
    assert reporting(store, period="2022", grace_days=500).iloc[0]["timeliness"] == 1.0


def _facts_store(tmp_path, facts: dict[str, float]) -> Store:
    s = Store(tmp_path / "o.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) "
                    "VALUES ('CPI','Inflation','Инфляция','Инфляция','down','month')")
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, fact) VALUES ('CPI','75',?,?)",
                        [[p, f] for p, f in facts.items()])
    return s


def test_lasting_change_of_level_is_history_but_a_one_month_slip_stands_out(tmp_path):
    months = [f"{y}-{m:02d}" for y in (2021, 2022, 2023) for m in range(1, 13)]
    level = {p: (8.0 if p < "2022-01" else 18.0 if p < "2023-01" else 9.0) + 0.1 * (i % 3)
             for i, p in enumerate(months)}
    level["2023-06"] = 90.0                      # a misplaced decimal point
    s = _facts_store(tmp_path, level)
    out = upload_outliers(s)
    assert out["period"].tolist() == ["2023-06"]
    assert out["median"].iloc[0] == pytest.approx(9.1) and out["n_history"].iloc[0] == 13
    s.close()


def test_materiality_floor(tmp_path):
    # near-identical values: MAD 0.01, so 3.69 scores |z| > 3.5 although it is 3 % off the median
    s = _facts_store(tmp_path, {"2024-01": 3.80, "2024-02": 3.81, "2024-03": 3.80, "2024-04": 3.82,
                                "2024-05": 3.69, "2024-06": 3.81})
    assert upload_outliers(s).empty
    bare = upload_outliers(s, min_rel_dev=0)
    assert bare["period"].tolist() == ["2024-05"] and abs(bare["z"].iloc[0]) > 3.5
    s.close()


def test_flat_plan_is_not_wrong_way_despite_rounding_noise():
    out = wrong_way(_plans("up", {2022: 96.3, 2023: 96.3, 2024: 96.3, 2025: 96.3, 2026: 96.3})).iloc[0]
    assert out["slope"] == 0.0 and not out["wrong_way"]


# --- on the shared demo database ----------------------------------------------

def test_demo_planted_quality_problems_are_found(demo_store):
    from sac.demo import OUTLIERS

    out = upload_outliers(demo_store)
    found = set(zip(out["indicator_id"], out["unit_code"], out["period"], strict=True))
    assert {(i, u, p) for i, u, p, _ in OUTLIERS} <= found
    assert len(out) < 0.01 * demo_store.scalar("SELECT count(*) FROM indicator_values WHERE fact IS NOT NULL")
    ww = wrong_way_targets(demo_store)
    assert (ww["indicator_id"] == "POVERTY").any()           # seed 001 Table 2
    st = several_targets_in_store(demo_store)
    assert (st["indicator_id"] == "SME_ACTIVE").any()         # seed 001 Table 9
    assert st.groupby(["indicator_id", "unit_code", "period"])["source_document"].nunique().min() >= 2


def test_outlier_floor_and_window_come_from_the_methodology(tmp_path):
    from sac.methodology import save_new_version
    s = _facts_store(tmp_path, {"2024-01": 3.80, "2024-02": 3.81, "2024-03": 3.80, "2024-04": 3.82,
                                "2024-05": 3.69, "2024-06": 3.81})
    assert upload_outliers(s).empty                                   # version 1: 10 % floor
    save_new_version(s, {"quality": {"outlier_min_rel_dev": 0.0}}, "analyst1")
    out = upload_outliers(s)
    assert out["period"].tolist() == ["2024-05"] and out["methodology_version"].tolist() == [2]
    s.close()


def test_outlier_window_years_from_the_methodology(tmp_path):
    from sac.methodology import save_new_version
    s = Store(tmp_path / "w.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) "
                    "VALUES ('J','J','J','J','up','year')")
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, fact) VALUES ('J','75',?,?)",
                        [[str(y), f] for y, f in {2015: 100, 2016: 101, 2017: 102, 2018: 101, 2019: 500}.items()])
    # +-3 years: 2019's history is 2016-2019 (4 facts, enough): flagged
    assert upload_outliers(s)["period"].tolist() == ["2019"]
    # +-1 year: 2019's history is 2018-2019, fewer than 4 facts: no z, not flagged
    save_new_version(s, {"quality": {"outlier_window_years": 1}}, "analyst1")
    assert upload_outliers(s).empty
    s.close()
