"""Territorial reforms (issue 9): the table, break years, existence and comparability of a unit's values."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sac.metrics import territory as T


def test_the_table_is_consistent():
    t = T.reforms()
    assert list(t.columns) == ["date", "year", "kind", "from_kato", "to_kato", "note"]
    regions = set(pd.read_csv(T.REGIONS_CSV, dtype=str)["kato"])
    assert set(t["from_kato"]) | set(t["to_kato"]) <= regions | {"51"}
    assert set(t["kind"]) <= set(T.KINDS)
    assert not t.duplicated(["date", "from_kato", "to_kato"]).any()         # one row per (from, to) pair
    assert (t["note"].str.len() > 0).all()
    # the known reforms, with their real dates
    pairs = {(str(d.date()), k, f, to) for d, k, f, to in t[["date", "kind", "from_kato", "to_kato"]].itertuples(
        index=False)}
    assert {("2022-06-08", "split", "63", "10"), ("2022-06-08", "split", "63", "63"),
            ("2022-06-08", "split", "19", "33"), ("2022-06-08", "split", "19", "19"),
            ("2022-06-08", "split", "35", "62"), ("2022-06-08", "split", "35", "35"),
            ("2018-06-19", "split", "51", "61"), ("2018-06-19", "split", "51", "79")} <= pairs
    assert any(d.year == 2014 and k == "boundary" and f == "19" and to == "75" for d, k, f, to in
               t[["date", "kind", "from_kato", "to_kato"]].itertuples(index=False))


def test_the_table_returned_is_a_copy():
    t = T.reforms()
    t.loc[0, "from_kato"] = "99"
    assert T.reforms().loc[0, "from_kato"] != "99" and len(T.reforms()) == 9


@pytest.mark.parametrize("kato, years", [
    ("63", [2022]), ("35", [2022]), ("19", [2014, 2022]), ("75", [2014]),
    ("10", [2022]), ("33", [2022]), ("62", [2022]),       # the year they begin
    ("61", [2018]), ("79", [2018]), ("51", [2018]),       # begin, begin, end
    ("11", []), ("71", []), ("ORG1", []),
])
def test_break_years(kato, years):
    assert T.break_years(kato) == years


def test_break_years_accept_an_int_code():
    assert T.break_years(63) == [2022]


@pytest.mark.parametrize("kato, period, existed", [
    ("10", "2021", False), ("10", "2022", True), ("33", "2021-Q4", False), ("33", "2022-Q1", True),
    ("62", "2021-12", False), ("62", "2022-01", True),
    ("61", "2017", False), ("61", "2018", True), ("79", "2017-Q4", False), ("79", "2018-Q1", True),
    ("51", "2017", True), ("51", "2017-12", True), ("51", "2018", False), ("51", "2018-06", False),
    ("63", "2010", True), ("63", "2025", True), ("75", "2013", True), ("11", 1995, True),
    ("10", dt.date(2022, 3, 1), True),
])
def test_existed(kato, period, existed):
    assert T.existed(kato, period) is existed


@pytest.mark.parametrize("kato, a, b, expected", [
    ("63", "2021", "2022", False),
    ("11", "2021", "2022", True),
    ("63", "2022", "2021", False),                  # symmetric
    ("63", "2022", "2023", True),
    ("63", "2019", "2021", True),
    ("19", "2013", "2014", False), ("75", "2013", "2014", False), ("75", "2014", "2021", True),
    ("19", "2014", "2021", True), ("19", "2014", "2022", False),
    ("10", "2021", "2022", False), ("10", "2022", "2024", True),
    ("51", "2016", "2017", True), ("51", "2017", "2018", False),
    ("61", "2017", "2018", False), ("79", "2018", "2019", True),
    # quarters and months: the reform year's quarters and months are on the new territory, all of them
    ("63", "2021-Q4", "2022-Q1", False),
    ("63", "2022-Q1", "2022-Q3", True),             # 8 June falls inside: the rule moves the whole year
    ("63", "2021-12", "2022-01", False),
    ("63", "2022-05", "2022-07", True),
    ("63", "2021-Q4", "2022", False),               # a quarter and a year
    ("11", "2021-Q4", "2022-Q1", True),
])
def test_comparable(kato, a, b, expected):
    assert T.comparable(kato, a, b) is expected


@pytest.mark.parametrize("kato, a, b, expected", [
    ("63", "2021", "2022", "territory_changed"), ("10", "2021", "2022", "new"), ("51", "2017", "2018", "ended"),
    ("11", "2021", "2022", None), ("51", "2021", "2022", None), ("10", "2022-Q1", "2021-Q4", "new"),
])
def test_change(kato, a, b, expected):
    assert T.change(kato, a, b) == expected


def test_not_comparable_units_2022_against_2021():
    assert T.not_comparable_units("2021", "2022") == ["10", "19", "33", "35", "62", "63"]
    got = T.changes("2022", "2021").set_index("kato")
    assert got.loc[["10", "33", "62"], "change"].eq("new").all()
    assert got.loc[["19", "35", "63"], "change"].eq("territory_changed").all()
    assert (got["break_year"] == 2022).all()


@pytest.mark.parametrize("a, b, expected", [
    ("2017", "2018", ["51", "61", "79"]),
    ("2013", "2014", ["19", "75"]),
    ("2013-Q4", "2014-Q2", ["19", "75"]),
    ("2023", "2024", []),
    ("2022-Q1", "2022-Q2", []),
    ("2012", "2023", ["10", "19", "33", "35", "51", "61", "62", "63", "75", "79"]),
])
def test_not_comparable_units(a, b, expected):
    assert T.not_comparable_units(a, b) == expected


def test_not_comparable_units_of_a_given_set():
    assert T.not_comparable_units("2021", "2022", units=["11", "63", "ORG1"]) == ["63"]


@pytest.mark.parametrize("period, year", [("2022", 2022), ("2022-Q3", 2022), ("2022-07", 2022), (2014, 2014),
                                          (dt.date(2018, 6, 19), 2018), (pd.Timestamp("2021-12-31"), 2021)])
def test_period_year(period, year):
    assert T.period_year(period) == year


@pytest.mark.parametrize("bad", ["", "Q3", "22", "20221", None, "latest"])
def test_period_year_rejects_what_is_not_a_period(bad):
    with pytest.raises(ValueError):
        T.period_year(bad)
