"""The level rating on real published statistics (issue 9, defect 4): /work/shared/realdata as the Bureau publishes it.

Life expectancy (up), the unemployment rate (down) and emissions from stationary sources (down) are read with the
importer's own reader for published tables (:mod:`sac.ingest.wide`: '-' is "not reported", never a value) and stored
as facts without plans, for the current 20 units. Their gaps are real: Abai, Zhetysu and Ulytau exist only from 2022;
Turkistan region and Shymkent are reported from 2018 in some tables and earlier in others; each table starts in a
different year (the first year of data has no previous year to move against).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_pages import open_page

from sac.metrics import ratings

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
TABLES = {  # indicator: (workbook, direction)
    "LE": ("life_expectancy.xlsx", "up"),
    "UNEMP": ("unemployment_rate.xlsx", "down"),
    "EMIS": ("air_emissions_stationary.xls", "down"),
}
NEW_IN_2022 = {"10", "33", "62"}        # Abai, Zhetysu, Ulytau

pytestmark = pytest.mark.skipif(not all((REALDATA / f).exists() for f, _ in TABLES.values()),
                                reason="the workbooks of /work/shared/realdata are not here")


def _facts(store) -> pd.DataFrame:
    """(indicator_id, unit_code, period, fact) of the three tables: current units, calendar years, reported cells."""
    from sac.ingest import wide
    from sac.ingest.units import UnitLookup

    cur = store.cursor()
    try:
        lookup = UnitLookup.load(cur)
    finally:
        cur.close()
    regions = set(store.df("SELECT kato FROM regions")["kato"])
    years = set(store.df("SELECT code FROM periods WHERE kind = 'year'")["code"])
    frames = []
    for ind, (name, _) in TABLES.items():
        data = (REALDATA / name).read_bytes()
        grid = wide.read_grid(data, name)
        layout = wide.understand(grid, wide.resolver(lookup))
        block = layout.block()
        long = wide.to_long(grid, layout, block, periodicity="year").frame
        # the years a current unit's row carries for South Kazakhstan (the note under 'Туркестанская*') are not its
        spans = wide.former_spans(block, lookup, wide.workbook_notes(data, name, grid, {"*", "1", "2", "3"}))
        long = long[[not (n in spans and spans[n].covers(p)) for n, p in zip(long["name"], long["period"],
                                                                              strict=True)]]
        frames.append(pd.DataFrame({
            "indicator_id": ind, "unit_code": [lookup.resolve(n, allow_orgs=False) for n in long["name"]],
            "period": long["period"], "fact": [wide.readers_number(v) for v in long["value"]]}))
    facts = pd.concat(frames, ignore_index=True)
    return facts[facts["unit_code"].isin(regions) & facts["period"].isin(years)].reset_index(drop=True)


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    from sac.store import Store
    from tests.conftest import demo_accounts

    path = tmp_path_factory.mktemp("realdata") / "sac.duckdb"
    with Store(path) as s:
        facts = _facts(s)
        with s.write() as cur:
            cur.executemany("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity) "
                            "VALUES (?, ?, ?, ?, ?, 'year')",
                            [(i, i, i, i, d) for i, (_, d) in TABLES.items()])
            cur.executemany("INSERT INTO indicator_values (indicator_id, unit_code, period, fact) VALUES (?, ?, ?, ?)",
                            facts[["indicator_id", "unit_code", "period", "fact"]].values.tolist())
            cur.execute("UPDATE meta SET value = ? WHERE key = 'data_version'",
                        [str(2 * 10**9 + uuid.uuid4().int % 10**9)])
        demo_accounts(s)
    return path


@pytest.fixture(scope="module")
def real_store(real_db):
    from sac.store import Store

    s = Store(real_db)
    yield s
    s.close()


@pytest.fixture(scope="module")
def facts(real_store) -> pd.DataFrame:
    return real_store.df("SELECT indicator_id, unit_code, period, fact FROM indicator_values WHERE fact IS NOT NULL")


def test_the_real_tables_have_the_gaps_this_file_is_about(facts):
    have = facts.groupby("period")["unit_code"].nunique()
    assert have["2022"] == 20 and have["2021"] == 17
    assert not set(facts.loc[facts["period"] < "2022", "unit_code"]) & NEW_IN_2022
    first = facts.groupby("indicator_id")["period"].min()
    assert first["UNEMP"] == "2001" and first["EMIS"] == "2005"      # each table starts in another year


def test_every_year_and_every_indicator_rates_without_raising(real_store, facts):
    # the first year of each table has no previous year with cells for it: the level rating crashed there
    sets = [None] + [[i] for i in TABLES]
    for period in sorted(facts["period"].unique()):
        for ids in sets:
            r = ratings.rate_units(real_store, period, ids, kind="level", bands=False)
            assert len(r) == 20, (period, ids)
            assert (r["rank"].notna() == r["rated"]).all(), (period, ids)
            assert (r["not_rated_reason"].isna() == r["rated"]).all(), (period, ids)
            assert (r["movement"].isna() | r["rank_prev"].notna()).all(), (period, ids)


def _expected_level(facts: pd.DataFrame, period: str) -> pd.Series:
    """Min-max per indicator over the units that reported it, oriented by direction; mean over what a unit has."""
    f = facts[facts["period"] == period].copy()
    g = f.groupby("indicator_id")["fact"]
    lo, hi = g.transform("min"), g.transform("max")
    up = f["indicator_id"].map({i: d for i, (_, d) in TABLES.items()}) == "up"
    f["n"] = np.where(up, 100 * (f["fact"] - lo) / (hi - lo), 100 * (hi - f["fact"]) / (hi - lo))
    return f.groupby("unit_code")["n"].mean()


@pytest.mark.parametrize("period", ["2012", "2017", "2021", "2022"])
def test_missing_stays_missing_in_the_level_rating(real_store, facts, period):
    r = ratings.rate_units(real_store, period, kind="level", bands=False).set_index("unit_code")
    expected = _expected_level(facts, period)
    np.testing.assert_allclose(r.loc[expected.index, "score"].to_numpy(dtype=float), expected.to_numpy(), rtol=1e-12)
    # and nobody without a figure got one
    assert r.loc[~r.index.isin(expected.index), "score"].isna().all()


@pytest.mark.parametrize("period", ["2012", "2017", "2021"])
def test_coverage_rule_on_the_real_gaps_and_the_reason_for_each_region_not_rated(real_store, facts, period):
    r = ratings.rate_units(real_store, period, kind="level", bands=False).set_index("unit_code")
    n = facts[facts["period"] == period].groupby("unit_code")["indicator_id"].nunique()
    n = n.reindex(r.index, fill_value=0)
    assert r["coverage"].to_numpy() == pytest.approx((n / 3).to_numpy())
    assert (r["rated"] == (n / 3 >= 0.8)).all()
    reason = pd.Series(np.select([n / 3 >= 0.8, n > 0], [None, "insufficient_coverage"], "no_data"), index=r.index)
    assert r["not_rated_reason"].fillna("rated").to_dict() == reason.fillna("rated").to_dict()
    assert set(r.index[r["not_rated_reason"] == "no_data"]) >= NEW_IN_2022


def test_turkistan_region_has_no_life_expectancy_before_2017_the_notes_south_kazakhstan_years(facts):
    """'Туркестанская*' of life_expectancy.xlsx is South Kazakhstan region for 1999-2016 by the workbook's note."""
    le = facts[(facts["indicator_id"] == "LE") & (facts["unit_code"] == "61")]
    assert le["period"].min() == "2017"


def test_2017_turkistan_and_shymkent_have_two_of_three_indicators_and_are_not_rated(real_store):
    r = ratings.rate_units(real_store, "2017", kind="level", bands=False).set_index("unit_code")
    for unit in ("61", "79"):                     # no emissions figure before 2018
        assert r.loc[unit, "coverage"] == pytest.approx(2 / 3)
        assert not r.loc[unit, "rated"] and r.loc[unit, "not_rated_reason"] == "insufficient_coverage"
        assert pd.notna(r.loc[unit, "score"])     # its mean of what it has, shown, not ranked


def test_2022_movement_against_2021_for_the_units_rated_in_both(real_store):
    now = ratings.rate_units(real_store, "2022", kind="level", bands=False).set_index("unit_code")
    before = ratings.rate_units(real_store, "2021", kind="level", bands=False, previous=False).set_index("unit_code")
    assert now["rated"].all()
    assert now.loc[sorted(NEW_IN_2022), "rank_prev"].isna().all() and now.loc[sorted(NEW_IN_2022), "movement"].isna().all()
    both = before.index[before["rated"]]
    assert len(both) == 17
    assert now.loc[both, "rank_prev"].tolist() == before.loc[both, "rank"].tolist()
    assert (now.loc[both, "movement"] == now.loc[both, "rank_prev"] - now.loc[both, "rank"]).all()


def test_the_page_on_real_data_lists_the_regions_not_rated_with_the_reason(real_db, monkeypatch):
    monkeypatch.setenv("SAC_DB_PATH", str(real_db))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    at = open_page("pages/rating.py", params={"period": "2017"})
    assert not at.exception
    assert at.radio(key="url_kind").value == "level"                 # no plans in published statistics
    table = next(d.value for d in at.dataframe if "Rank" in d.value.columns)
    not_rated = next(d.value for d in at.dataframe if "Reason" in d.value.columns).set_index("Region")
    assert len(table) + len(not_rated) == 20
    assert not_rated.loc["Abai Region", "Reason"] == "No data for the period"
    assert not_rated.loc["Turkistan Region", "Reason"] == "Data on too few of the indicators"
    assert "Turkistan Region" not in set(table["Region"])
