"""Territorial reforms: which units' values may be compared across periods (issue 9).

The reforms are data, ``sac/reference/territorial_reforms.csv``: ``date, kind, from_kato, to_kato, note``,
one row per (from, to) pair; ``kind`` is ``split`` (a unit gives territory to a new one; the row
``63 -> 63`` says the remainder keeps its code but not its territory), ``merge``, ``boundary`` (territory
moves between two units that both go on) or ``rename`` (a new code for the same territory). Pure: no
store, no Streamlit.

Rules this module commits to:

- **The reform year.** A reform dated D in year Y applies, for every kind of period, from the first period
  of year Y: the year Y, its quarters and its months are on the new territory; Y-1 and before (and their
  quarters and months) on the old. So a mid-year reform (8 June 2022, 19 June 2018, 17 April 2014) moves
  the whole year. Why: the Bureau publishes the reform year on the new boundaries, quarters included (its
  unemployment table gives Abai, Zhetysu and Ulytau for Q1 2022, before 8 June, and no South Kazakhstan
  for any quarter of 2018); and one rule for every kind keeps a year and its quarters on the same side
  (a year is rated on its latest quarter under the period rule of :mod:`sac.metrics.plan_fact`). What it
  costs: a source that reported January-May 2022 on the old boundaries, without recalculating, is read
  as new territory, and two periods inside the reform year are never flagged against each other.
- **Break years** of a unit (:func:`break_years`): the years of the reforms it takes part in, as ``from``
  or ``to``: its values from Y on are not comparable with those before Y. That includes the year a unit
  begins (Abai 2022; Turkistan region and Shymkent 2018: the Bureau's figures for them before 2018 are
  estimates for a territory that was not a unit then) and the year a unit ends (South Kazakhstan 2018).
- **Existence** (:func:`existed`): a unit that is a ``to`` of a split, merge or rename and not a ``from``
  of the same reform begins in its year; a ``from`` that is not also a ``to`` ends then (exists until
  Y-1). A boundary change neither creates nor ends a unit. A code the table does not name (any other
  region, an organisation) always existed and never changed.
- **Comparable** (:func:`comparable`): the unit existed in both periods and no break year Y lies between
  them (``min(year) < Y <= max(year)``). Symmetric; a period with itself is comparable when the unit
  existed then.
- **Periods** are codes ('2022', '2022-Q3', '2022-07'), years as int, or dates: only the calendar year
  counts (see the reform year).
"""

from __future__ import annotations

import datetime as _dt
from functools import cache
from pathlib import Path

import pandas as pd

REFORMS_CSV = Path(__file__).resolve().parent.parent / "reference" / "territorial_reforms.csv"
REGIONS_CSV = Path(__file__).resolve().parent.parent / "reference" / "regions.csv"
KINDS = ("split", "merge", "boundary", "rename")
#: what :func:`change` says about a unit between two periods (None: comparable)
CHANGES = ("new", "ended", "territory_changed")
_CREATING = ("split", "merge", "rename")


@cache
def _table() -> pd.DataFrame:
    t = pd.read_csv(REFORMS_CSV, dtype=str, keep_default_na=False)
    t["date"] = pd.to_datetime(t["date"], format="%Y-%m-%d")
    t["year"] = t["date"].dt.year.astype(int)
    for c in ("from_kato", "to_kato", "kind", "note"):
        t[c] = t[c].str.strip()
    bad = sorted(set(t["kind"]) - set(KINDS))
    if bad:
        raise ValueError(f"territorial_reforms.csv: unknown kind {bad}; known {KINDS}")
    return t.sort_values(["date", "from_kato", "to_kato"]).reset_index(drop=True)[
        ["date", "year", "kind", "from_kato", "to_kato", "note"]]


def reforms() -> pd.DataFrame:
    """The reforms table: date (datetime64), year (int), kind, from_kato, to_kato (text codes), note; by date."""
    return _table().copy()


@cache
def _lifespans() -> dict[str, tuple[int | None, int | None]]:
    """kato -> (first year it exists, first year it no longer exists); None = open."""
    t = _table()
    first: dict[str, int] = {}
    gone: dict[str, int] = {}
    for (_, year), ev in t[t["kind"].isin(_CREATING)].groupby(["date", "year"]):
        froms, tos = set(ev["from_kato"]), set(ev["to_kato"])
        for k in tos - froms:
            first[k] = min(first.get(k, year), year)
        for k in froms - tos:
            gone[k] = min(gone.get(k, year), year)
    return {k: (first.get(k), gone.get(k)) for k in set(first) | set(gone)}


@cache
def _breaks() -> dict[str, tuple[int, ...]]:
    t = _table()
    out: dict[str, set[int]] = {}
    for col in ("from_kato", "to_kato"):
        for k, y in zip(t[col], t["year"], strict=True):
            out.setdefault(k, set()).add(int(y))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _code(kato) -> str:
    return str(kato).strip()


def period_year(period) -> int:
    """The calendar year of a period code ('2022', '2022-Q3', '2022-07'), an int year, or a date."""
    if isinstance(period, (_dt.date, pd.Timestamp)):
        return int(period.year)
    if isinstance(period, int) and not isinstance(period, bool):
        return period
    text = str(period).strip()
    if len(text) >= 4 and text[:4].isdigit() and (len(text) == 4 or text[4] == "-"):
        return int(text[:4])
    raise ValueError(f"not a period: {period!r} (expected '2022', '2022-Q3', '2022-07', a year or a date)")


def break_years(kato) -> list[int]:
    """The years from which ``kato``'s territory differs from the year before (module rules): every reform
    year it takes part in, its beginning and end included. [] for a unit no reform touched."""
    return list(_breaks().get(_code(kato), ()))


def first_year(kato) -> int | None:
    """The first year ``kato`` exists (Abai 2022, Shymkent 2018), None when it existed before every reform."""
    return _lifespans().get(_code(kato), (None, None))[0]


def end_year(kato) -> int | None:
    """The first year ``kato`` no longer exists (South Kazakhstan 2018), None when it still exists."""
    return _lifespans().get(_code(kato), (None, None))[1]


def existed(kato, period) -> bool:
    """Whether ``kato`` was a unit in ``period`` (under the reform-year rule)."""
    y = period_year(period)
    begins, ends = _lifespans().get(_code(kato), (None, None))
    return (begins is None or y >= begins) and (ends is None or y < ends)


def comparable(kato, period_a, period_b) -> bool:
    """Whether ``kato``'s values for the two periods are of the same territory (module rules)."""
    ya, yb = sorted((period_year(period_a), period_year(period_b)))
    if not (existed(kato, ya) and existed(kato, yb)):
        return False
    return not any(ya < y <= yb for y in break_years(kato))


def change(kato, period_a, period_b) -> str | None:
    """Why ``kato`` is not comparable between two periods, the later one being "now": 'new' (it did not exist
    in the earlier one), 'ended' (it does not exist in the later one), 'territory_changed' (it existed in both,
    with a break between). None when comparable, or when it existed in neither (nothing to compare)."""
    ya, yb = sorted((period_year(period_a), period_year(period_b)))
    before, after = existed(kato, ya), existed(kato, yb)
    if not before and not after:
        return None
    if not before:
        return "new"
    if not after:
        return "ended"
    return None if comparable(kato, ya, yb) else "territory_changed"


@cache
def known_units() -> tuple[str, ...]:
    """The regions and cities of ``regions.csv`` and every code of the reforms table (the former 51)."""
    regions = pd.read_csv(REGIONS_CSV, dtype=str)["kato"].str.strip().tolist()
    t = _table()
    return tuple(sorted(set(regions) | set(t["from_kato"]) | set(t["to_kato"])))


def changes(period_a, period_b, units=None) -> pd.DataFrame:
    """Units whose values are not comparable between the two periods: kato, change ('new' | 'ended' |
    'territory_changed': :func:`change`), break_year (the latest break between them, or the year the unit
    began or ended). ``units``: the codes to look at, default :func:`known_units`. Ordered by kato."""
    ya, yb = sorted((period_year(period_a), period_year(period_b)))
    rows = []
    for k in sorted({_code(u) for u in (known_units() if units is None else units)}):
        c = change(k, ya, yb)
        if c is not None:
            between = [y for y in break_years(k) if ya < y <= yb]
            rows.append((k, c, max(between) if between else pd.NA))
    return pd.DataFrame({"kato": pd.Series([r[0] for r in rows], dtype=object),
                         "change": pd.Series([r[1] for r in rows], dtype=object),
                         "break_year": pd.array([r[2] for r in rows], dtype="Int64")})


def not_comparable_units(period_a, period_b, units=None) -> list[str]:
    """The codes of :func:`changes`: units that existed in at least one of the periods and whose values in
    the two are not of the same territory. 2021 vs 2022: 10, 19, 33, 35, 62, 63."""
    return changes(period_a, period_b, units)["kato"].tolist()
