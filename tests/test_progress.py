"""Progress to target (METHODOLOGY.md section 4)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sac.metrics.progress import NATIONAL, progress
from sac.store import Store


def run(values: dict[int, float], direction="up", baseline=(None, None), target=(None, None), **kw):
    series = pd.DataFrame({"indicator_id": "k", "unit_code": "75", "year": list(values), "value": list(values.values())})
    targets = pd.DataFrame({"indicator_id": ["k"], "unit_code": ["75"], "direction": [direction],
                            "baseline_value": [baseline[1]], "baseline_year": [baseline[0]],
                            "target_value": [target[1]], "target_year": [target[0]]})
    return progress(series, targets, **kw).iloc[0]


def test_growth_rates_and_q_hand_checked():
    # baseline 100 (2020), latest 121 (2022): g_obs = sqrt(1.21) - 1 = 0.10
    # target 200 in 2030 from 100 in 2020: g_req = 2^(1/10) - 1 = 0.071773
    r = run({2020: 100, 2021: 110, 2022: 121}, target=(2030, 200))
    assert r["g_obs"] == pytest.approx(0.10)
    assert r["g_req"] == pytest.approx(2 ** 0.1 - 1)
    assert r["q"] == pytest.approx(0.10 / (2 ** 0.1 - 1))
    assert r["status"] == "on_track" and r["reason"] is None
    assert r["baseline_year"] == 2020 and r["latest_year"] == 2022 and r["n_points"] == 3


@pytest.mark.parametrize("latest, status", [
    (100 * (1 + 0.9501 * (2 ** 0.1 - 1)), "on_track"),
    (100 * (1 + 0.94 * (2 ** 0.1 - 1)), "acceleration_needed"),
    (100 * (1 + 0.6001 * (2 ** 0.1 - 1)), "acceleration_needed"),
    (100 * (1 + 0.59 * (2 ** 0.1 - 1)), "limited_progress"),
    (100.0, "limited_progress"),                                                  # Q = 0
    (99.0, "moving_away"),
    (250.0, "achieved"),
])
def test_status_bands(latest, status):
    # one year after the baseline: g_obs = latest/100 - 1; g_req = 2^(1/10) - 1
    assert run({2020: 100, 2021: latest}, target=(2030, 200))["status"] == status


def test_down_indicator_signs_carry_direction():
    # poverty share 10% -> target 5% by 2030; 9% in 2022: both growths negative, Q positive
    r = run({2020: 10, 2022: 9}, direction="down", target=(2030, 5))
    assert r["g_obs"] < 0 and r["g_req"] < 0 and r["q"] > 0
    # Q = (0.9^0.5 - 1)/(0.5^0.1 - 1) = -0.05132/-0.06697 = 0.766
    assert r["status"] == "acceleration_needed"
    assert r["q"] == pytest.approx((0.9 ** 0.5 - 1) / (0.5 ** 0.1 - 1))


def test_down_rising_is_moving_away_and_below_target_is_achieved():
    assert run({2020: 10, 2022: 11}, direction="down", target=(2030, 5))["status"] == "moving_away"
    assert run({2020: 10, 2022: 4.5}, direction="down", target=(2030, 5))["status"] == "achieved"
    # up indicator above target -> achieved, even with a zero baseline
    r = run({2020: 0, 2022: 12}, target=(2030, 10))
    assert r["status"] == "achieved" and bool(r["achieved"])


@pytest.mark.parametrize("values, target, baseline, reason", [
    ({2020: 100}, (2030, 200), (None, None), "fewer than two points"),
    ({}, (2030, 200), (2020, 100), "fewer than two points"),
    ({2020: 0, 2022: 5}, (2030, 200), (None, None), "baseline not positive"),
    ({2020: -3, 2022: 5}, (2030, 200), (None, None), "baseline not positive"),
    ({2020: 100, 2022: 120}, (2030, 100), (None, None), None),   # target = baseline, already met: achieved
    ({2020: 100, 2022: 90}, (2030, 100), (None, None), "required growth is zero"),
    ({2020: 100, 2022: 120}, (None, None), (None, None), "no target"),
])
def test_no_status_reasons(values, target, baseline, reason):
    r = run(values, target=target, baseline=baseline)
    if reason is None:
        assert r["status"] == "achieved"
    else:
        assert r["status"] is None and r["reason"] == reason


def test_passport_baseline_used_and_earlier_values_ignored():
    r = run({2018: 50, 2019: 60, 2021: 110}, baseline=(2020, 100), target=(2030, 200))
    assert r["baseline_value"] == 100 and r["n_points"] == 2 and r["g_obs"] == pytest.approx(0.10)


def test_projection_least_squares_last_five_points():
    # 2016..2023 with a kink: last five points 2019..2023 lie on y = 10*(year-2019) + 50 -> at 2030: 160
    vals = {2016: 999, 2017: 0, 2018: 7, 2019: 50, 2020: 60, 2021: 70, 2022: 80, 2023: 90}
    r = run(vals, baseline=(2016, 999), target=(2030, 150))
    assert r["projected_value"] == pytest.approx(160.0)
    assert bool(r["projected_achieved"])
    r2 = run(vals, baseline=(2016, 999), target=(2030, 170))
    assert not bool(r2["projected_achieved"])


def test_projection_points_configurable():
    from sac.methodology import DEFAULT_CONFIG, merge
    vals = {2020: 0.0, 2021: 10, 2022: 20, 2023: 100}
    cfg = merge(DEFAULT_CONFIG, {"progress": {"projection_points": 2}})
    r = run(vals, baseline=(2020, 1), target=(2024, 500), config=cfg)
    assert r["projected_value"] == pytest.approx(180.0)      # line through (2022, 20), (2023, 100)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("UPDATE regions SET population = CASE kato WHEN '75' THEN 3000 WHEN '79' THEN 1000 END")
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity,
                       cumulative, aggregation, baseline_value, baseline_year, target_value, target_year) VALUES
            ('JOBS', 'jobs', 'j', 'j', 'up', 'year', false, 'sum', 300, 2020, 600, 2030),
            ('RATE', 'rate', 'r', 'r', 'down', 'year', false, 'pop_weighted_mean', 8, 2020, 4, 2030),
            ('CUM', 'cum', 'c', 'c', 'up', 'quarter', true, 'sum', 100, 2020, 200, 2030),
            ('NOT', 'no target', 'n', 'n', 'up', 'year', false, 'mean', NULL, NULL, NULL, NULL)""")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('JOBS', '75', '2020', NULL, 200), ('JOBS', '75', '2022', NULL, 242),
            ('JOBS', '79', '2020', NULL, 100), ('JOBS', '79', '2022', NULL, 121), ('JOBS', '79', '2030', 200, NULL),
            ('RATE', '75', '2020', NULL, 10), ('RATE', '79', '2020', NULL, 2),
            ('RATE', '75', '2022', NULL, 8),  ('RATE', '79', '2022', NULL, 4),
            ('CUM', '75', '2020-Q4', NULL, 100), ('CUM', '75', '2021-Q4', NULL, 110), ('CUM', '75', '2022-Q2', NULL, 60),
            ('NOT', '75', '2020', NULL, 1), ('NOT', '75', '2022', NULL, 2)""")
    yield s
    s.close()


def test_store_national_and_unit_rules(store):
    p = progress(store).set_index(["indicator_id", "unit_code"])
    assert "NOT" not in p.index.get_level_values(0)                 # no target: not listed
    # national JOBS = sum: 300 (2020) -> 363 (2022), passport baseline 300/2020
    nat = p.loc[("JOBS", NATIONAL)]
    assert nat["latest_value"] == 363 and nat["g_obs"] == pytest.approx(0.10)
    # region 79: own plan 200 for 2030 is its target; region 75: 'sum' indicator, no own plan -> no target
    assert p.loc[("JOBS", "79"), "target_value"] == 200 and p.loc[("JOBS", "79"), "baseline_value"] == 100
    assert p.loc[("JOBS", "75"), "reason"] == "no target"
    # RATE pop-weighted: 2022 = (8*3000 + 4*1000)/4000 = 7.0; national target applies to regions (a rate)
    assert p.loc[("RATE", NATIONAL), "latest_value"] == pytest.approx(7.0)
    assert p.loc[("RATE", "75"), "target_value"] == 4
    # cumulative quarterly: 2022-Q2 (half year YTD) is not a year's value; latest complete year 2021
    assert p.loc[("CUM", "75"), "latest_year"] == 2021 and p.loc[("CUM", "75"), "latest_value"] == 110
    assert (p["methodology_version"] == 1).all()
    assert math.isnan(p.loc[("JOBS", "75"), "g_req"])


# -- review findings ---------------------------------------------------------------

def test_q_exactly_at_the_on_track_threshold_is_on_track():
    # baseline 100 (2020), target 121 (2022) -> g_req = 0.10; 109.5 in 2021 -> g_obs = 0.095, Q = 0.95 exactly
    # (in floating point 0.9499999999999988): graded on_track, not acceleration_needed
    r = run({2020: 100, 2021: 109.5}, target=(2022, 121))
    assert r["q"] == pytest.approx(0.95)
    assert r["status"] == "on_track"
    # and 0.6 exactly: baseline 100, target 200 (2021): g_req = 1.0; 160 -> g_obs = 0.6
    assert run({2020: 100, 2021: 160}, target=(2021, 200))["status"] == "acceleration_needed"


def test_national_sum_is_missing_when_a_planned_region_did_not_report():
    from sac.metrics.progress import national_series
    passport = pd.DataFrame({"indicator_id": ["JOBS", "RATE"], "aggregation": ["sum", "pop_weighted_mean"]})
    regions = pd.DataFrame({"unit_code": ["75", "79", "10"], "population": [3000, 1000, None]})
    yearly = pd.DataFrame({
        "indicator_id": ["JOBS"] * 4 + ["RATE"] * 3,
        "unit_code": ["75", "79", "75", "79", "75", "79", "10"],
        "year": [2021, 2021, 2022, 2022, 2022, 2022, 2022],
        "value": [200.0, 100.0, 242.0, None, 8.0, 4.0, 5.0],
        "plan": [210.0, 105.0, 250.0, 120.0, None, None, None],
    })
    n = national_series(yearly, passport, regions).set_index(["indicator_id", "year"])
    assert n.loc[("JOBS", 2021), "value"] == 300 and bool(n.loc[("JOBS", 2021), "complete"])
    # 79 had a plan for 2022 and no fact: the national sum is unknown, never 242 (79 counted as zero)
    assert math.isnan(n.loc[("JOBS", 2022), "value"]) and not bool(n.loc[("JOBS", 2022), "complete"])
    assert n.loc[("JOBS", 2022), "n_units"] == 1 and n.loc[("JOBS", 2022), "n_expected"] == 2
    # a reporting region without a population: the weighted mean is unknown, not the mean of the others
    assert math.isnan(n.loc[("RATE", 2022), "value"])


def test_national_progress_ignores_an_incomplete_year(store):
    with store.write() as cur:   # 2023: both regions planned, only 75 reported
        cur.execute("INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES "
                    "('JOBS', '75', '2023', 250, 260), ('JOBS', '79', '2023', 130, NULL)")
    nat = progress(store).set_index(["indicator_id", "unit_code"]).loc[("JOBS", NATIONAL)]
    assert nat["latest_year"] == 2022 and nat["latest_value"] == 363


# -- issue 9: territorial reforms ----------------------------------------------------------------------------------

def run_unit(unit, values: dict[int, float], baseline=(None, None), target=(2030, 200), **kw):
    series = pd.DataFrame({"indicator_id": "k", "unit_code": unit, "year": list(values),
                           "value": list(values.values())})
    targets = pd.DataFrame({"indicator_id": ["k"], "unit_code": [unit], "direction": ["up"],
                            "baseline_value": [baseline[1]], "baseline_year": [baseline[0]],
                            "target_value": [target[1]], "target_year": [target[0]]})
    return progress(series, targets, **kw).iloc[0]


def test_a_baseline_before_the_territory_changed_moves_to_the_first_value_after_it():
    # East Kazakhstan: 2020 100, 2021 110 (old territory), 2022 60 (Abai left), 2023 66
    vals = {2020: 100, 2021: 110, 2022: 60, 2023: 66}
    r = run_unit("63", vals, baseline=(2020, 100))
    assert r["territory_break_year"] == 2022
    assert r["baseline_year"] == 2022 and r["baseline_value"] == 60
    assert r["latest_year"] == 2023 and r["n_points"] == 2
    assert r["g_obs"] == pytest.approx(0.10)                      # 60 -> 66, never 100 -> 66 ("moving away")
    assert r["g_req"] == pytest.approx((200 / 60) ** (1 / 8) - 1)
    assert r["status"] is not None and r["status"] != "moving_away"
    # Akmola with the same numbers: no break, the fall from 110 to 60 is a fall
    r11 = run_unit("11", vals, baseline=(2020, 100))
    assert pd.isna(r11["territory_break_year"]) and r11["baseline_year"] == 2020 and r11["status"] == "moving_away"


def test_projection_uses_only_the_new_territory():
    # old territory 2017-2021 far above; from 2022: 50, 60, 70 -> 50 + 10 a year -> 130 in 2030 (with the old
    # points among the last five the line would fall)
    vals = {2017: 500, 2018: 500, 2019: 500, 2020: 500, 2021: 500, 2022: 50, 2023: 60, 2024: 70}
    r = run_unit("63", vals)
    assert r["territory_break_year"] == 2022 and r["projected_value"] == pytest.approx(130.0)


def test_one_value_after_the_break_gives_no_status_with_the_reason():
    r = run_unit("19", {2020: 100, 2021: 110, 2022: 60}, baseline=(2020, 100))
    assert r["status"] is None and r["reason"] == "territory changed"
    assert r["territory_break_year"] == 2022 and r["n_points"] == 1


def test_a_break_in_or_before_the_baseline_year_changes_nothing():
    r = run_unit("63", {2022: 60, 2023: 66})                      # baseline 2022 = the reform year: new territory
    assert pd.isna(r["territory_break_year"]) and r["baseline_year"] == 2022 and r["g_obs"] == pytest.approx(0.10)
    r75 = run_unit("75", {2015: 100, 2016: 110}, baseline=(2015, 100))   # Almaty's 2014 change is before
    assert pd.isna(r75["territory_break_year"])


def test_the_latest_break_counts_and_breaks_after_the_latest_value_do_not():
    # Almaty region: 2014 and 2022. Baseline 2010, values to 2021 -> rebased at 2014 (2022 is after the latest)
    r = run_unit("19", {2010: 100, 2013: 110, 2014: 80, 2021: 120}, baseline=(2010, 100))
    assert r["territory_break_year"] == 2014 and r["baseline_value"] == 80
    r = run_unit("19", {2010: 100, 2014: 80, 2021: 120, 2022: 90, 2023: 99}, baseline=(2010, 100))
    assert r["territory_break_year"] == 2022 and r["baseline_value"] == 90


def test_the_country_and_an_explicit_breaks_mapping():
    vals = {2020: 100, 2021: 110, 2022: 60, 2023: 66}
    assert pd.isna(run_unit(NATIONAL, vals, baseline=(2020, 100))["territory_break_year"])
    assert pd.isna(run_unit("63", vals, baseline=(2020, 100), breaks={})["territory_break_year"])
    assert run_unit("11", vals, baseline=(2020, 100), breaks={"11": [2022]})["territory_break_year"] == 2022


def test_store_progress_of_a_region_across_the_reform(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity,
                       cumulative, aggregation, baseline_value, baseline_year, target_value, target_year) VALUES
            ('LE', 'life', 'l', 'l', 'up', 'year', false, 'mean', 70, 2020, 75, 2030)""")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('LE', '63', '2020', NULL, 72), ('LE', '63', '2021', NULL, 71), ('LE', '63', '2022', NULL, 70),
            ('LE', '63', '2023', NULL, 70.7), ('LE', '11', '2020', NULL, 70), ('LE', '11', '2023', NULL, 71)""")
    p = progress(s).set_index(["indicator_id", "unit_code"])
    assert p.loc[("LE", "63"), "territory_break_year"] == 2022 and p.loc[("LE", "63"), "baseline_year"] == 2022
    assert p.loc[("LE", "63"), "g_obs"] == pytest.approx(0.01)
    assert pd.isna(p.loc[("LE", "11"), "territory_break_year"]) and p.loc[("LE", "11"), "baseline_year"] == 2020
    assert pd.isna(p.loc[("LE", NATIONAL), "territory_break_year"])
    s.close()
