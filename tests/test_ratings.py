"""Comparative rating (METHODOLOGY.md section 3): worked example, edge cases, invariants, bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sac.methodology import DEFAULT_CONFIG, Methodology, merge
from sac.metrics.ratings import clearly_apart, competition_ranks, overlapping_pairs, rank_history, rate, rate_units
from sac.store import Store

PASSPORT = {"i1": ("up", 100.0), "i2": ("down", 10.0), "i3": ("up", 50.0)}


def cells_from(facts: dict[str, list], passport=PASSPORT, weights=None) -> pd.DataFrame:
    rows = []
    for unit, fs in facts.items():
        for (ind, (direction, plan)), fact in zip(passport.items(), fs, strict=True):
            rows.append({"unit_code": unit, "indicator_id": ind, "plan": plan, "fact": fact, "direction": direction,
                         "weight": (weights or {}).get(ind, 1.0)})
    return pd.DataFrame(rows)


def by_unit(r: pd.DataFrame) -> pd.DataFrame:
    return r.set_index("unit_code")


def test_worked_example_4_regions_3_indicators():
    # i1 up, plan 100 | i2 DOWN, plan 10 | i3 up, plan 50
    # A: 110 -> A=1.10 -> S=100 | 12 -> 10/12=0.8333 -> S=83.33 | 40 -> 0.80 -> S=80   R=(100+83.33+80)/3 = 87.78
    # B:  90 -> 0.90   -> S=90  |  8 -> 10/8=1.25   -> S=100   | 50 -> 1.00 -> S=100  R=(90+100+100)/3 = 96.67
    # C:  80 -> 0.80   -> S=80  | 10 -> 1.00       -> S=100   | missing (no data)    coverage 2/3 < 0.8: not rated
    # D: 100 -> 1.00   -> S=100 | 20 -> 10/20=0.50  -> S=50    | 45 -> 0.90 -> S=90   R=(100+50+90)/3 = 80.00
    # ranks: B 1, A 2, D 3; C listed with coverage 0.667 and its (unranked) mean 90 of what it has
    r = by_unit(rate(cells_from({"A": [110, 12, 40], "B": [90, 8, 50], "C": [80, 10, None], "D": [100, 20, 45]})))
    assert r.loc["A", "score"] == pytest.approx(263.3333333 / 3)
    assert r.loc["B", "score"] == pytest.approx(290 / 3)
    assert r.loc["D", "score"] == pytest.approx(80.0)
    assert r["score_rounded"].to_dict() == {"B": 96.7, "A": 87.8, "D": 80.0, "C": 90.0}
    assert r.loc[["B", "A", "D"], "rank"].tolist() == [1, 2, 3]
    assert r.loc[["B", "A", "D"], "rank_label"].tolist() == ["1", "2", "3"]
    assert not r.loc["C", "rated"] and pd.isna(r.loc["C", "rank"]) and r.loc["C", "rank_label"] is None
    assert r.loc["C", "coverage"] == pytest.approx(2 / 3)
    assert r.loc["C", "n_indicators"] == 2 and r.loc["C", "n_in_play"] == 3
    # unrated listed last
    assert rate(cells_from({"A": [110, 12, 40], "C": [80, 10, None]}))["unit_code"].tolist()[-1] == "C"


def test_weights_change_the_mean():
    # A: S = 100, 83.33, 80 with weights 2, 1, 1 -> (200 + 83.33 + 80) / 4 = 90.83
    r = by_unit(rate(cells_from({"A": [110, 12, 40], "B": [90, 8, 50]}, weights={"i1": 2.0})))
    assert r.loc["A", "score"] == pytest.approx((200 + 250 / 3 + 80) / 4)


def test_geometric_aggregation_floors_at_one():
    # A: i2 down 10/20000 -> S = 0.05, floored to 1 -> geometric mean (100 * 1 * 100)^(1/3) = 21.544
    r = by_unit(rate(cells_from({"A": [100, 20000, 50], "B": [100, 10, 50]}), aggregation="geometric"))
    assert r.loc["A", "score"] == pytest.approx(10000 ** (1 / 3))
    assert r.loc["B", "score"] == pytest.approx(100.0)
    assert (r["aggregation"] == "geometric").all()


@pytest.mark.parametrize("n_have, n_total, rated", [
    (4, 5, True),    # exactly 0.8: rated
    (3, 4, False),   # 0.75: just under
    (5, 5, True),
    (7, 9, False),   # 0.778
    (0, 5, False),
])
def test_coverage_threshold(n_have, n_total, rated):
    passport = {f"k{i}": ("up", 10.0) for i in range(n_total)}
    full = [10.0] * n_total
    part = [10.0] * n_have + [None] * (n_total - n_have)
    r = by_unit(rate(cells_from({"full": full, "part": part}, passport=passport)))
    assert bool(r.loc["part", "rated"]) is rated
    assert r.loc["part", "coverage"] == pytest.approx(n_have / n_total)


def test_coverage_weighted():
    # k0 weight 4 present, k1 weight 1 missing -> coverage 4/5 = 0.8 -> rated
    passport = {"k0": ("up", 10.0), "k1": ("up", 10.0)}
    r = by_unit(rate(cells_from({"a": [10, None], "b": [10, 10]}, passport=passport, weights={"k0": 4.0})))
    assert r.loc["a", "coverage"] == pytest.approx(0.8) and r.loc["a", "rated"]


def test_ties_after_rounding_to_one_decimal_competition_ranking():
    # scores 95.04 and 94.96 both round to 95.0 -> "=1", "=1"; next is 3, not 2
    passport = {"k": ("up", 100.0)}
    r = by_unit(rate(cells_from({"a": [95.04], "b": [94.96], "c": [90.0], "d": [90.0], "e": [80.0]},
                                passport=passport)))
    assert r["rank"].to_dict() == {"a": 1, "b": 1, "c": 3, "d": 3, "e": 5}
    assert r["rank_label"].to_dict() == {"a": "=1", "b": "=1", "c": "=3", "d": "=3", "e": "5"}


def test_competition_ranks_matrix():
    v = np.array([[3.0, 1.0], [3.0, np.nan], [1.0, 2.0]])
    np.testing.assert_array_equal(competition_ranks(v), [[1, 2], [1, 0], [3, 1]])


def test_single_unit_is_rank_one():
    r = rate(cells_from({"only": [90, 10, 50]}))
    assert r["rank"].tolist() == [1] and r["rank_label"].tolist() == ["1"]
    assert r["rank_p05"].tolist() == [1] and r["rank_p95"].tolist() == [1]


@pytest.mark.parametrize("normalisation", ["minmax", "zscore"])
def test_all_units_equal_level_is_100_and_all_tied(normalisation):
    r = rate(cells_from({"a": [5, 5, 5], "b": [5, 5, 5], "c": [5, 5, 5]}), kind="level", normalisation=normalisation)
    assert (r["score"] == 100).all()
    assert r["rank_label"].tolist() == ["=1", "=1", "=1"]


def test_level_minmax_oriented_by_direction():
    # i1 up: a 10 -> 0, b 20 -> 50, c 30 -> 100; i2 down: a 1 -> 100, b 2 -> 50, c 3 -> 0
    passport = {"i1": ("up", None), "i2": ("down", None)}
    r = by_unit(rate(cells_from({"a": [10, 1], "b": [20, 2], "c": [30, 3]}, passport=passport), kind="level"))
    assert r["score"].to_dict() == {"a": 50.0, "b": 50.0, "c": 50.0}
    r2 = by_unit(rate(cells_from({"a": [10, 1], "b": [20, 1], "c": [30, 3]}, passport=passport), kind="level"))
    assert r2.loc["b", "score"] == pytest.approx(75.0)


def test_level_zscore_uses_normal_cdf():
    # values 0, 10 -> mean 5, population sd 5 -> z = -1, +1 -> Phi = 0.1587, 0.8413
    passport = {"i1": ("up", None)}
    r = by_unit(rate(cells_from({"a": [0], "b": [10]}, passport=passport), kind="level", normalisation="zscore"))
    assert r.loc["a", "score"] == pytest.approx(15.8655, abs=1e-3)
    assert r.loc["b", "score"] == pytest.approx(84.1345, abs=1e-3)


def test_level_goalposts_clip_and_direction():
    df = cells_from({"a": [0, 0], "b": [25, 50], "c": [150, 100]}, passport={"u": ("up", None), "d": ("down", None)})
    df["goalpost_low"], df["goalpost_high"] = 0.0, 100.0
    r = by_unit(rate(df, kind="level", normalisation="goalposts"))
    # a: u 0 -> 0, d 0 -> 100 => 50 | b: 25, 50 => 37.5 | c: 150 clipped 100, d 100 -> 0 => 50
    assert r["score"].to_dict() == {"a": 50.0, "c": 50.0, "b": 37.5}


def test_one_cell_per_unit_and_indicator_required():
    df = pd.concat([cells_from({"a": [1, 2, 3]})] * 2)
    with pytest.raises(ValueError, match="more than one cell"):
        rate(df)


def test_methodology_version_and_config_coverage_used():
    m = Methodology(version=3, config=merge(DEFAULT_CONFIG, {"rating": {"coverage_min": 0.6}}))
    r = by_unit(rate(cells_from({"A": [110, 12, 40], "C": [80, 10, None]}), m))
    assert bool(r.loc["C", "rated"]) and (r["methodology_version"] == 3).all()


# -- robustness bands --------------------------------------------------------------

def random_cells(seed, n_units=30, n_ind=8, missing=0.05):
    rng = np.random.default_rng(seed)
    u = np.repeat([f"u{i:03d}" for i in range(n_units)], n_ind)
    i = np.tile([f"k{j}" for j in range(n_ind)], n_units)
    plan = rng.uniform(50, 150, n_units * n_ind)
    fact = plan * rng.uniform(0.6, 1.3, n_units * n_ind)
    fact[rng.random(n_units * n_ind) < missing] = np.nan
    direction = np.where(np.tile(rng.random(n_ind) < 0.3, n_units), "down", "up")
    weight = np.tile(rng.uniform(0.5, 2, n_ind), n_units)
    return pd.DataFrame({"unit_code": u, "indicator_id": i, "plan": plan, "fact": fact, "direction": direction,
                         "weight": weight})


@pytest.mark.parametrize("seed", range(5))
def test_band_contains_point_rank_and_is_reproducible(seed):
    df = random_cells(seed)
    r = rate(df)
    rr = r[r["rated"]]
    assert ((rr["rank_p05"] <= rr["rank"]) & (rr["rank"] <= rr["rank_p95"])).all()
    assert ((rr["rank_p05"] <= rr["rank_median"]) & (rr["rank_median"] <= rr["rank_p95"])).all()
    pd.testing.assert_frame_equal(r, rate(df))        # fixed seed


def test_clearly_apart_and_overlaps():
    # two far-apart units and two nearly equal ones
    passport = {"k1": ("up", 100.0), "k2": ("up", 100.0)}
    r = rate(cells_from({"top": [100, 100], "x": [80, 70], "y": [70, 80], "low": [10, 10]}, passport=passport))
    assert clearly_apart(r, "top", "low") is True
    assert clearly_apart(r, "x", "y") is False           # 75 v 75, weights decide: not clearly apart
    pairs = overlapping_pairs(r)
    assert {tuple(sorted(p)) for p in pairs[["unit_a", "unit_b"]].to_numpy()} == {("x", "y")}
    assert by_unit(r)["overlaps_with"].to_dict() == {"top": 0, "x": 1, "y": 1, "low": 0}


def test_bands_off_leaves_band_columns_missing():
    r = rate(random_cells(1), bands=False)
    assert r["rank_p05"].isna().all() and r["rank_median"].isna().all()


# -- invariants of section 3.8 (hypothesis) ----------------------------------------

@st.composite
def rating_frames(draw):
    n_units = draw(st.integers(1, 6))
    n_ind = draw(st.integers(1, 4))
    vals = st.one_of(st.none(), st.floats(1, 1000, allow_nan=False))
    rows = []
    for u in range(n_units):
        for i in range(n_ind):
            rows.append({"unit_code": f"u{u}", "indicator_id": f"k{i}",
                         "plan": draw(st.floats(1, 1000, allow_nan=False)), "fact": draw(vals),
                         "direction": "up" if i % 2 == 0 else "down"})
    return pd.DataFrame(rows)


def _point(df, **kw):
    return rate(df, bands=False, **kw).set_index("unit_code").sort_index()


@settings(max_examples=60, deadline=None)
@given(rating_frames(), st.randoms())
def test_shuffling_rows_changes_nothing(df, rnd):
    idx = list(df.index)
    rnd.shuffle(idx)
    pd.testing.assert_frame_equal(rate(df), rate(df.loc[idx]))


@settings(max_examples=60, deadline=None)
@given(rating_frames(), st.floats(1.0, 5.0))
def test_raising_a_fact_on_up_never_lowers_that_units_score(df, factor):
    target = df[(df["direction"] == "up") & df["fact"].notna()]
    if target.empty:
        return
    row = target.index[0]
    better = df.copy()
    better.loc[row, "fact"] = df.loc[row, "fact"] * factor
    unit = df.loc[row, "unit_code"]
    assert _point(better).loc[unit, "score"] >= _point(df).loc[unit, "score"] - 1e-9
    # and lowering a fact on a down indicator likewise
    target = df[(df["direction"] == "down") & df["fact"].notna()]
    if not target.empty:
        row = target.index[0]
        better = df.copy()
        better.loc[row, "fact"] = df.loc[row, "fact"] / factor
        unit = df.loc[row, "unit_code"]
        assert _point(better).loc[unit, "score"] >= _point(df).loc[unit, "score"] - 1e-9


@settings(max_examples=60, deadline=None)
@given(rating_frames())
def test_missing_is_not_zero(df):
    # the score of a unit with a missing fact equals the mean of its other scores, not a mean with a 0 in it
    from sac.metrics.plan_fact import score_cells
    s = score_cells(df)
    expected = s.groupby("unit_code")["score"].mean()          # pandas skips NaN
    got = _point(df)["score"]
    has = expected.notna()
    np.testing.assert_allclose(got[has.index[has]].to_numpy(), expected[has].to_numpy())
    # and dropping the missing rows entirely gives the same score
    pd.testing.assert_series_equal(_point(df[df["fact"].notna()])["score"], got[has.index[has]], check_names=False)


@settings(max_examples=60, deadline=None)
@given(rating_frames(), st.floats(0.01, 1000), st.integers(0, 3))
def test_scaling_an_indicator_leaves_plan_fulfilment_unchanged(df, factor, k):
    scaled = df.copy()
    sel = scaled["indicator_id"] == f"k{k}"
    scaled.loc[sel, ["plan", "fact"]] = scaled.loc[sel, ["plan", "fact"]] * factor
    a, b = _point(df), _point(scaled)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-9)
    assert a["rank"].equals(b["rank"])


@settings(max_examples=40, deadline=None)
@given(rating_frames(), rating_frames())
def test_a_units_plan_fulfilment_is_independent_of_other_units(df, other):
    other = other.assign(unit_code="z" + other["unit_code"])       # different units, same indicators k*
    alone = _point(df)
    together = _point(pd.concat([df, other[other["indicator_id"].isin(df["indicator_id"])]]))
    np.testing.assert_allclose(together.loc[alone.index, "score"], alone["score"])


# -- store wrappers ----------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) VALUES
            ('i1', 'i1', 'i1', 'i1', 'up', 'year'), ('i2', 'i2', 'i2', 'i2', 'down', 'year')""")
        # 2023: 75 best, 79 second; 2024: 79 best, 75 second; 10 only in 2024
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('i1', '75', '2023', 100, 100), ('i2', '75', '2023', 10, 10),
            ('i1', '79', '2023', 100, 80),  ('i2', '79', '2023', 10, 10),
            ('i1', '75', '2024', 100, 70),  ('i2', '75', '2024', 10, 10),
            ('i1', '79', '2024', 100, 100), ('i2', '79', '2024', 10, 8),
            ('i1', '10', '2024', 100, 90),  ('i2', '10', '2024', 10, 10),
            ('i1', 'ORG', '2024', 100, 10), ('i2', 'ORG', '2024', 10, 50)""")
    yield s
    s.close()


def test_rate_units_with_movement_and_names(store):
    r = rate_units(store).set_index("unit_code")
    assert len(r) == 20 and "ORG" not in r.index                # every region listed; 'ORG' is not a region
    assert set(r.index[r["rated"]]) == {"75", "79", "10"}
    assert (r["period"] == "2024").all()
    assert r["rank"].dropna().to_dict() == {"79": 1, "10": 2, "75": 3}
    assert r.loc["79", "rank_prev"] == 2 and r.loc["79", "movement"] == 1
    assert r.loc["75", "rank_prev"] == 1 and r.loc["75", "movement"] == -2
    assert pd.isna(r.loc["10", "movement"])                    # not rated in 2023
    assert r.loc["75", "name_en"] == "Almaty"
    assert (r["methodology_version"] == 1).all()


def test_rank_history(store):
    h = rank_history(store, ["2023", "2024"])
    got = h.set_index(["period", "unit_code"])["rank"].to_dict()
    assert got[("2023", "75")] == 1 and got[("2024", "75")] == 3 and got[("2024", "79")] == 1


def test_demo_rating_of_the_20_regions(demo_store):
    # 2026 is still being reported in the demo (coverage counts every planned indicator): rate the latest rated year
    from sac.metrics.ratings import latest_rated_period
    assert latest_rated_period(demo_store) == "2025"
    assert not rate_units(demo_store, "2026", bands=False)["rated"].any()
    r = rate_units(demo_store, latest_rated_period(demo_store))
    assert len(r) == 20 and r["name_en"].notna().all()
    rated = r[r["rated"]]
    assert (rated["coverage"] >= 0.8).all() and (r.loc[~r["rated"], "coverage"] < 0.8).all()
    assert ((rated["rank_p05"] <= rated["rank"]) & (rated["rank"] <= rated["rank_p95"])).all()
    assert rated["rank"].min() == 1 and (r["methodology_version"] == 1).all()
    # ranks follow the rounded scores
    assert rated.sort_values("rank")["score_rounded"].is_monotonic_decreasing
    assert r["movement"].notna().any()


# -- review findings: unit set, coverage denominator, latest rated period ------------

def _insert_values(s, rows):
    with s.write() as cur:
        cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES "
                        "(?, ?, ?, ?, ?)", rows)


def test_every_region_is_listed_regions_without_cells_not_rated_with_coverage_0(tmp_path):
    # 20 regions; 3 report both indicators, '11' has plans only: all 20 listed, 16 with coverage 0 (spec 3.4)
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) VALUES
            ('i1', 'i1', 'i1', 'i1', 'up', 'year'), ('i2', 'i2', 'i2', 'i2', 'down', 'year')""")
    _insert_values(s, [(i, u, "2024", p, f) for u, f1, f2 in [("75", 100, 10), ("79", 90, 10), ("10", 80, 12)]
                       for i, p, f in [("i1", 100, f1), ("i2", 10, f2)]]
                   + [("i1", "11", "2024", 100, None), ("i2", "11", "2024", 10, None)])
    n_regions = s.scalar("SELECT count(*) FROM regions")
    assert n_regions == 20
    r = rate_units(s, "2024").set_index("unit_code")
    assert len(r) == 20
    assert r["rated"].sum() == 3 and r.loc[["75", "79", "10"], "rated"].all()
    unrated = r[~r["rated"]]
    assert len(unrated) == 17                     # 16 without cells + '11' with plans only
    assert (unrated["coverage"] == 0).all() and unrated["rank"].isna().all()
    assert unrated["name_en"].notna().all()
    s.close()


def test_coverage_denominator_counts_planned_indicators_nobody_reported():
    # i3 has a plan for every unit but no fact anywhere: it is still expected, coverage 2/3 < 0.8 -> nobody rated
    r = by_unit(rate(cells_from({"A": [110, 12, None], "B": [90, 8, None]})))
    assert r["coverage"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert not r["rated"].any()
    assert (r["n_in_play"] == 3).all()


def test_coverage_denominator_counts_subperiod_plans_of_a_quarterly_indicator(tmp_path):
    # q1 is quarterly with plans for 2025-Q1..Q4 and no fact yet: expected in 2025, so coverage is 1/2
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) VALUES
            ('a1', 'a1', 'a1', 'a1', 'up', 'year'), ('q1', 'q1', 'q1', 'q1', 'up', 'quarter')""")
    _insert_values(s, [("a1", u, "2025", 100, 100) for u in ("75", "79")]
                   + [("q1", u, f"2025-Q{q}", 10, None) for u in ("75", "79") for q in range(1, 5)])
    r = rate_units(s, "2025").set_index("unit_code")
    assert r.loc["75", "coverage"] == pytest.approx(0.5) and not r["rated"].any()
    s.close()


def test_goalposts_without_valid_goalposts_drop_the_indicator_and_say_so():
    cells = cells_from({"a": [10, 1, 5], "b": [20, 2, 5]}).assign(goalpost_low=0.0, goalpost_high=100.0)
    cells.loc[cells["indicator_id"] == "i3", "goalpost_high"] = 0.0       # U <= L
    with pytest.warns(UserWarning, match="i3"):
        r = by_unit(rate(cells, kind="level", normalisation="goalposts"))
    assert (r["coverage"] == 1.0).all() and (r["n_in_play"] == 2).all()
    assert (r["dropped_indicators"] == "i3").all()


def test_latest_rated_period_skips_a_year_still_being_reported(tmp_path):
    from sac.metrics.ratings import latest_rated_period
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) VALUES
            ('i1', 'i1', 'i1', 'i1', 'up', 'year'), ('i2', 'i2', 'i2', 'i2', 'up', 'year')""")
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    rows = [(i, u, "2024", 100, 95) for u in regions for i in ("i1", "i2")]
    # 2025: all 20 have plans, only 12 reported both -> 12 of 20 rated (>= half): 2025
    rows += [(i, u, "2025", 100, 95 if k < 12 else None) for k, u in enumerate(regions) for i in ("i1", "i2")]
    # 2026: all have plans, 9 reported i1 only -> nobody rated: not 2026
    rows += [("i1", u, "2026", 100, 95 if k < 9 else None) for k, u in enumerate(regions)]
    rows += [("i2", u, "2026", 100, None) for u in regions]
    _insert_values(s, rows)
    assert latest_rated_period(s) == "2025"
    with s.write() as cur:   # 2025 down to 9 reporting: fewer than half -> 2024
        cur.execute("UPDATE indicator_values SET fact = NULL WHERE period = '2025' AND unit_code = ANY(?)",
                    [regions[9:12]])
    assert latest_rated_period(s) == "2024"
    assert latest_rated_period(s, kind="quarter") is None
    s.close()


def test_ties_round_exact_halves_up():
    # R = 95.25 exactly (a 100, b 90.5) and 95.35 (100, 90.7): half up gives 95.3 and 95.4 (numpy: 95.2, 95.4)
    passport = {"k1": ("up", 100.0), "k2": ("up", 100.0)}
    r = by_unit(rate(cells_from({"a": [100, 90.5], "b": [100, 90.7], "c": [100, 90.6]}, passport=passport)))
    assert r.loc["a", "score"] == 95.25
    assert r["score_rounded"].to_dict() == {"b": 95.4, "a": 95.3, "c": 95.3}
    assert r["rank_label"].to_dict() == {"b": "1", "a": "=2", "c": "=2"}


# -- issue 9: edge cases of every function (empty, one unit, all equal, all missing) -------------------------------

RATE_COLUMNS = ["unit_code", "score", "score_rounded", "coverage", "rated", "rank", "rank_label", "n_indicators",
                "n_in_play", "dropped_indicators", "rank_median", "rank_p05", "rank_p95", "band_widened",
                "overlaps_with", "not_rated_reason", "kind", "aggregation", "normalisation", "methodology_version"]
KINDS_NORMS = [("plan_fulfilment", "minmax"), ("level", "minmax"), ("level", "zscore"), ("level", "goalposts")]
EMPTY_CELLS = pd.DataFrame({"unit_code": pd.Series(dtype="string"), "indicator_id": pd.Series(dtype="string"),
                            "plan": pd.Series(dtype=float), "fact": pd.Series(dtype=float),
                            "direction": pd.Series(dtype="string"), "weight": pd.Series(dtype=float),
                            "goalpost_low": pd.Series(dtype=float), "goalpost_high": pd.Series(dtype=float)})
NAN = np.nan


@pytest.fixture
def no_warnings():
    """Edge cases must not even warn (numpy's 'Mean of empty slice', 'All-NaN slice')."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("method, x, direction, expected", [
    # empty: no units (the previous period of the first year of data), with and without indicators
    ("minmax", np.empty((0, 2)), [1.0, -1.0], np.empty((0, 2))),
    ("zscore", np.empty((0, 2)), [1.0, -1.0], np.empty((0, 2))),
    ("goalposts", np.empty((0, 2)), [1.0, -1.0], np.empty((0, 2))),
    ("minmax", np.empty((0, 0)), [], np.empty((0, 0))),
    ("zscore", np.empty((3, 0)), [], np.empty((3, 0))),
    # one unit: every indicator is 'all equal' -> 100 (goalposts: against the posts 0 and 10)
    ("minmax", [[5.0, 3.0]], [1.0, -1.0], [[100.0, 100.0]]),
    ("zscore", [[5.0, 3.0]], [1.0, -1.0], [[100.0, 100.0]]),
    ("goalposts", [[5.0, 3.0]], [1.0, -1.0], [[50.0, 70.0]]),
    # all equal
    ("minmax", [[4.0], [4.0], [4.0]], [-1.0], [[100.0], [100.0], [100.0]]),
    ("zscore", [[4.0], [4.0], [4.0]], [1.0], [[100.0], [100.0], [100.0]]),
    # an indicator nobody has a value for stays missing and does not disturb the others
    ("minmax", [[NAN, 1.0], [NAN, 3.0]], [1.0, 1.0], [[NAN, 0.0], [NAN, 100.0]]),
    ("goalposts", [[NAN, 1.0], [NAN, 3.0]], [1.0, 1.0], [[NAN, 10.0], [NAN, 30.0]]),
    ("minmax", [[NAN], [NAN]], [1.0], [[NAN], [NAN]]),
    ("zscore", [[NAN], [NAN]], [1.0], [[NAN], [NAN]]),
    # a missing value is left out of min and max (never taken as 0)
    ("minmax", [[NAN], [2.0], [4.0]], [1.0], [[NAN], [0.0], [100.0]]),
    # no direction: no score
    ("minmax", [[1.0], [2.0]], [0.0], [[NAN], [NAN]]),
])
def test_normalise_edge_cases(no_warnings, method, x, direction, expected):
    from sac.metrics.ratings import normalise
    x = np.asarray(x, dtype=float).reshape(np.shape(expected))
    n_ind = x.shape[1]
    result = normalise(x, np.asarray(direction, dtype=float), method, np.zeros(n_ind), np.full(n_ind, 10.0))
    np.testing.assert_array_equal(result, np.asarray(expected, dtype=float))


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric"])
@pytest.mark.parametrize("kind, normalisation", KINDS_NORMS)
@pytest.mark.parametrize("cells", [EMPTY_CELLS, pd.DataFrame()], ids=["documented columns", "no columns"])
def test_rate_on_an_empty_frame_is_an_empty_rating_with_the_documented_columns(no_warnings, cells, kind,
                                                                               normalisation, aggregation):
    result = rate(cells, kind=kind, normalisation=normalisation, aggregation=aggregation)
    assert list(result.columns) == RATE_COLUMNS
    assert result.empty


def _level_cells(facts: dict[str, list], passport=None) -> pd.DataFrame:
    passport = passport or {"i1": ("up", 100.0), "i2": ("down", 10.0)}
    return cells_from(facts, passport=passport).assign(goalpost_low=0.0, goalpost_high=20.0)


POINT = ["unit_code", "score", "coverage", "rated", "rank", "rank_label", "not_rated_reason"]


def _expected(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=POINT)
    return df.astype({"unit_code": "string", "score": float, "coverage": float, "rated": bool, "rank": "Int64",
                      "rank_label": object, "not_rated_reason": object})


@pytest.mark.parametrize("kind, normalisation, score", [
    ("plan_fulfilment", "minmax", 95.0),    # i1 90/100 -> 90, i2 down 10/10 -> 100
    ("level", "minmax", 100.0),              # alone: every indicator 'all equal'
    ("level", "zscore", 100.0),
    ("level", "goalposts", 50.0),            # i1 up 10 -> 50 of 0-20, i2 down 10 -> 50
])
def test_rate_a_single_unit(no_warnings, kind, normalisation, score):
    result = rate(_level_cells({"only": [90 if kind == "plan_fulfilment" else 10, 10]}), kind=kind,
                  normalisation=normalisation)
    assert list(result.columns) == RATE_COLUMNS
    pd.testing.assert_frame_equal(result[POINT], _expected([["only", score, 1.0, True, 1, "1", None]]))
    assert result["rank_p05"].tolist() == [1] and result["rank_p95"].tolist() == [1]


@pytest.mark.parametrize("kind, normalisation, score", [
    ("plan_fulfilment", "minmax", 95.0), ("level", "minmax", 100.0), ("level", "zscore", 100.0),
    ("level", "goalposts", 50.0),
])
def test_rate_all_units_equal_are_tied_first(no_warnings, kind, normalisation, score):
    f = [90 if kind == "plan_fulfilment" else 10, 10]
    result = rate(_level_cells({"a": f, "b": f, "c": f}), kind=kind, normalisation=normalisation)
    expected = _expected([[u, score, 1.0, True, 1, "=1", None] for u in "abc"])
    pd.testing.assert_frame_equal(result[POINT], expected)


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "no plans"])
@pytest.mark.parametrize("kind, normalisation", KINDS_NORMS)
def test_rate_when_every_fact_is_missing_nobody_is_rated_and_coverage_is_zero(no_warnings, kind, normalisation,
                                                                              planned):
    # planned: both indicators are expected and nobody reported (coverage 0/2); no plans: none is in play (0/0)
    cells = _level_cells({"a": [None, None], "b": [None, None]})
    if not planned:
        cells["plan"] = NAN
    result = rate(cells, kind=kind, normalisation=normalisation)
    assert list(result.columns) == RATE_COLUMNS
    expected = _expected([[u, NAN, 0.0, False, pd.NA, None, "no_data"] for u in "ab"])
    pd.testing.assert_frame_equal(result[POINT], expected)
    assert result["n_indicators"].tolist() == [0, 0]
    assert result["n_in_play"].tolist() == ([2, 2] if planned else [0, 0])
    assert result["rank_p05"].isna().all() and result["overlaps_with"].isna().all()


def test_rate_gives_the_reason_a_unit_is_not_rated():
    # C has 1 of 3 indicators (coverage 1/3); D has none of the facts; E reported facts that have no plan
    passport = {"k1": ("up", 100.0), "k2": ("up", 100.0), "k3": ("up", 100.0)}
    cells = cells_from({"A": [90, 95, 100], "C": [90, None, None], "D": [None, None, None], "E": [80, 80, 80]},
                       passport=passport)
    cells.loc[cells["unit_code"] == "E", "plan"] = None
    r = by_unit(rate(cells))
    assert r["not_rated_reason"].to_dict() == {"A": None, "C": "insufficient_coverage", "D": "no_data",
                                               "E": "no_plans"}
    # every indicator without a direction: nothing can be rated at all
    with pytest.warns(UserWarning):
        r = rate(cells.assign(direction=None), kind="level")
    assert (r["not_rated_reason"] == "no_ratable_indicators").all()


def test_competition_ranks_and_rounding_of_nothing():
    assert competition_ranks(np.empty((0, 1))).shape == (0, 1)
    np.testing.assert_array_equal(competition_ranks(np.array([[NAN], [NAN]])), [[0], [0]])
    from sac.metrics.ratings import round_half_up
    assert round_half_up(np.empty(0), 1).shape == (0,)
    assert np.isnan(round_half_up(NAN, 1))


def test_clearly_apart_and_pairs_on_empty_or_unknown_units_say_nothing():
    empty = rate(EMPTY_CELLS)
    assert clearly_apart(empty, "a", "b") is None
    one = rate(cells_from({"a": [90, 10, 50]}))
    assert clearly_apart(one, "a", "zz") is None
    cols = ["unit_a", "unit_b", "rank_a", "rank_b", "band_a", "band_b"]
    for frame in (empty, pd.DataFrame(), one, rate(random_cells(2), bands=False)):
        for adjacent in (True, False):
            got = overlapping_pairs(frame, adjacent_only=adjacent)
            assert list(got.columns) == cols and got.empty


def _store_with(tmp_path, rows, indicators=(("i1", "up"), ("i2", "down"), ("i3", "up")), weights=None):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.executemany("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity, "
                        "weight) VALUES (?, ?, ?, ?, ?, 'year', ?)",
                        [(i, i, i, i, d, (weights or {}).get(i, 1.0)) for i, d in indicators])
    if rows:
        _insert_values(s, rows)
    return s


def _full_year(regions, period, plans=False, skip=()):
    """A fact for every (region, indicator) of ``period`` except ``skip`` (pairs); values differ by region."""
    return [(i, u, period, 100.0 if plans else None, 50.0 + 3 * k + j)
            for k, u in enumerate(regions) for j, i in enumerate(("i1", "i2", "i3")) if (u, i) not in skip]


@pytest.mark.parametrize("kind", ["level", "plan_fulfilment"])
def test_rate_units_on_an_empty_store_lists_every_region_not_rated(tmp_path, kind):
    s = _store_with(tmp_path, [])
    r = rate_units(s, kind=kind)
    assert len(r) == 20 and not r["rated"].any() and r["rank_prev"].isna().all() and r["movement"].isna().all()
    assert (r["kind"] == kind).all() and (r["methodology_version"] == 1).all()
    assert (r["aggregation"] == "arithmetic").all()
    assert (r["not_rated_reason"] == "no_data").all() and (r["coverage"] == 0).all()
    assert rank_history(s, ["2023", "2024"], kind=kind).empty
    s.close()


def test_level_rating_of_the_first_year_of_data_does_not_crash(tmp_path):
    # issue 9: facts only in 2024, so the previous year (2023) has no cells: normalise got an empty matrix
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    _insert_values(s, _full_year(regions, "2024"))
    r = rate_units(s, "2024", kind="level")
    assert r["rated"].all() and r["rank"].notna().all()
    assert r["rank_prev"].isna().all() and r["movement"].isna().all()
    h = rank_history(s, ["2023", "2024"], kind="level")
    assert set(h["period"]) == {"2024"} and h["rated"].all() and len(h) == 20     # 2023: nobody to list
    s.close()


@pytest.mark.parametrize("kind", ["level", "plan_fulfilment"])
def test_one_fact_in_the_previous_year_gives_no_movement(tmp_path, kind):
    # issue 9: one 2023 fact (Astana, 71) and full 2024: Astana was 'rank 1 of 1' in 2023 -> '▼ 12'. Not any more
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    plans = kind == "plan_fulfilment"
    _insert_values(s, _full_year(regions, "2024", plans) + [("i1", "71", "2023", 100.0 if plans else None, 99.0)])
    r = rate_units(s, "2024", kind=kind).set_index("unit_code")
    assert r["rated"].all()
    assert r["rank_prev"].isna().all() and r["movement"].isna().all()
    s.close()


def test_previous_period_on_one_indicator_of_three_gives_no_movement(tmp_path):
    # every region reported i1 in 2023, nobody i2 or i3: coverage on this year's set is 1/3 for all
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    _insert_values(s, _full_year(regions, "2024")
                   + [r for r in _full_year(regions, "2023") if r[0] == "i1"])
    r = rate_units(s, "2024", kind="level")
    assert r["rated"].all() and r["rank_prev"].isna().all() and r["movement"].isna().all()
    s.close()


def test_previous_rank_counts_only_for_units_that_met_the_coverage_rule_then(tmp_path):
    # 2023: Astana (71) reported one indicator of three; the other 19 reported all, in reverse order of 2024
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    before = [(i, u, p, pl, 200.0 - f) for i, u, p, pl, f in
              _full_year(regions, "2023", skip={("71", "i2"), ("71", "i3")})]
    _insert_values(s, _full_year(regions, "2024") + before)
    r = rate_units(s, "2024", kind="level").set_index("unit_code")
    assert pd.isna(r.loc["71", "rank_prev"]) and pd.isna(r.loc["71", "movement"])
    others = r.drop(index="71")
    assert others["rank_prev"].notna().all()
    assert sorted(others["rank_prev"]) == list(range(1, 20))          # ranked among the 19 who qualified
    assert (others["movement"] == others["rank_prev"] - others["rank"]).all()
    # and the same as rating 2023 on its own (same indicator set here)
    own = rate_units(s, "2023", kind="level", previous=False).set_index("unit_code")
    assert not own.loc["71", "rated"]
    assert others["rank_prev"].to_dict() == own.loc[others.index, "rank"].to_dict()
    s.close()


def test_two_units_rated_in_the_previous_period_are_enough_for_movement(tmp_path):
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    two = [r for r in _full_year(regions, "2023") if r[1] in ("71", "75")]
    _insert_values(s, _full_year(regions, "2024") + two)
    r = rate_units(s, "2024", kind="level").set_index("unit_code")
    assert r["rank_prev"].dropna().sort_values().tolist() == [1, 2]
    assert set(r.index[r["movement"].notna()]) == {"71", "75"}
    s.close()


@pytest.mark.parametrize("cells, expected", [
    (EMPTY_CELLS, {}),
    (cells_from({"a": [None, None, None]}), {"i1": 1.0, "i2": 1.0, "i3": 1.0}),     # planned: expected
    (cells_from({"a": [None, 5, None]}).assign(plan=None), {"i2": 1.0}),            # no plans: what has a value
    (cells_from({"a": [90, 10, 50]}, weights={"i1": 3.0}), {"i1": 3.0, "i2": 1.0, "i3": 1.0}),
])
def test_indicators_in_play(no_warnings, cells, expected):
    from sac.metrics.ratings import indicators_in_play
    got = indicators_in_play(cells, kind="level")
    assert got.to_dict() == expected


def test_rate_units_of_every_unit_kind_on_an_empty_store(tmp_path):
    s = _store_with(tmp_path, [])
    r = rate_units(s, units="all", kind="level")
    assert len(r) == 20 + int(s.scalar("SELECT count(*) FROM organisations"))
    assert not r["rated"].any() and (r["normalisation"] == "minmax").all()
    s.close()


# -- issue 9: territorial reforms -----------------------------------------------------------------------------------

def test_a_unit_whose_territory_changed_gets_a_flag_not_a_movement_number(tmp_path):
    # 2021 and 2022 for the 17 units of 2021, 2022 for the three new regions too; 2021 in reverse order of 2022
    s = _store_with(tmp_path, [])
    regions = s.df("SELECT kato FROM regions ORDER BY kato")["kato"].tolist()
    old = [u for u in regions if u not in ("10", "33", "62")]
    before = [(i, u, "2021", pl, 200.0 - f) for i, u, p, pl, f in _full_year(old, "2021")]
    _insert_values(s, _full_year(regions, "2022") + before)
    r = rate_units(s, "2022", kind="level").set_index("unit_code")
    assert r["rated"].all()
    # East Kazakhstan (63) was rated in both years: its previous rank is the old unit's, and no movement
    assert pd.notna(r.loc["63", "rank_prev"]) and pd.isna(r.loc["63", "movement"])
    assert bool(r.loc["63", "territory_break"]) and r.loc["63", "territory_change"] == "territory_changed"
    for k in ("19", "35"):
        assert pd.isna(r.loc[k, "movement"]) and r.loc[k, "territory_change"] == "territory_changed"
    for k in ("10", "33", "62"):
        assert pd.isna(r.loc[k, "movement"]) and bool(r.loc[k, "territory_break"])
        assert r.loc[k, "territory_change"] == "new"
    # Akmola (11) and the others: a number, no flag
    assert r.loc["11", "movement"] == r.loc["11", "rank_prev"] - r.loc["11", "rank"]
    assert not r.loc["11", "territory_break"] and r.loc["11", "territory_change"] is None
    unchanged = r.drop(index=["10", "19", "33", "35", "62", "63"])
    assert unchanged["movement"].notna().all() and not unchanged["territory_break"].any()
    s.close()


def test_no_territory_flags_between_years_without_a_reform(store):
    r = rate_units(store)                          # 2024 against 2023
    assert not r["territory_break"].any() and r["territory_change"].isna().all()
    assert rate_units(store, previous=False)["territory_change"].isna().all()


def test_territory_changes_helper():
    from sac.metrics.ratings import territory_changes
    units = pd.Series(["63", "10", "11", "ORG"], index=[5, 6, 7, 8])
    got = territory_changes(units, "2021", "2022")
    assert got.tolist() == ["territory_changed", "new", None, None] and list(got.index) == [5, 6, 7, 8]
    assert territory_changes(units, None, "2022").isna().all()
