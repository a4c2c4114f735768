"""The Submissions page's figures (issue 12): the matrix unit × quarter of one kind and year, with each data
set's state, how many rows it holds, whether it is late, and whose turn it is. Pure functions of a store."""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from sac import datasets
from sac.methodology import current

# whose move a state waits for
TURN = {"open": "office", "submitted": "analyst", "approved": "analyst", "locked": None}
_DATA = {  # kind -> (table, unit column, period column or None: project status belongs to its upload quarter)
    "indicator_values": ("indicator_values", "unit_code", "period"),
    "budget": ("budget_lines", "unit_code", "period"),
    "projects": ("projects", "region_kato", None),
}


def years(store, kind: str) -> list[int]:
    """Years with rows of ``kind`` or with data sets, newest first (the current year always offered)."""
    table, _, period_col = _DATA[kind]
    found = set()
    if period_col:
        found |= set(store.df(f"SELECT DISTINCT p.year FROM {table} t JOIN periods p ON p.code = t.{period_col}")
                     ["year"].astype(int))
    found |= set(store.df("SELECT DISTINCT p.year FROM data_sets d JOIN periods p ON p.code = d.period "
                          "WHERE d.kind = ?", [kind])["year"].astype(int))
    found.add(_dt.date.today().year)
    return sorted(found, reverse=True)


def matrix(store, kind: str, year: int, today: _dt.date, units=None) -> pd.DataFrame:
    """One row per (unit, quarter of ``year``): unit_code, name_en/ru/kk, unit_kind, period, state, rows (figures
    of the kind in that quarter, months included; project status: the unit's running projects, shown for the
    quarter of today), due (date), late (open after its due date), turn ('office', 'analyst' or None),
    changed_by, changed_at, comment, via (the longer period whose set decides the state, e.g. '2025', else None). Units: the 20 regions and the organisations that report this kind;
    ``units`` narrows to a reader's scope."""
    table, unit_col, period_col = _DATA[kind]
    days = current(store).config["submission"]["days_after_period"][kind]
    quarters = store.df("SELECT code AS period, start_date, end_date FROM periods WHERE kind = 'quarter' AND year = ? "
                        "ORDER BY start_date", [int(year)])
    unit_frame = store.df(
        "SELECT kato AS unit_code, name_en, name_ru, name_kk, 'region' AS unit_kind FROM regions "
        f"UNION ALL SELECT o.org_id, o.name_en, o.name_ru, o.name_kk, 'organisation' FROM organisations o "
        f"WHERE o.org_id IN (SELECT DISTINCT {unit_col} FROM {table}) "
        "OR o.org_id IN (SELECT unit_code FROM data_sets WHERE kind = ?) ORDER BY unit_kind DESC, unit_code", [kind])
    if units is not None:
        unit_frame = unit_frame[unit_frame["unit_code"].astype(str).isin({str(u) for u in units})]
    if period_col:
        counts = store.df(
            f"SELECT t.{unit_col} AS unit_code, q.code AS period, count(*) AS rows FROM {table} t "
            f"JOIN periods p ON p.code = t.{period_col} JOIN periods q ON q.kind = 'quarter' AND q.year = ? "
            "AND p.start_date >= q.start_date AND p.end_date <= q.end_date GROUP BY ALL", [int(year)])
    else:
        counts = store.df(
            f"SELECT {unit_col} AS unit_code, (SELECT code FROM periods WHERE kind = 'quarter' AND year = ? "
            "AND ? BETWEEN start_date AND end_date) AS period, count(*) AS rows FROM projects "
            "WHERE is_active AND actual_end IS NULL GROUP BY ALL", [int(year), today])
        counts = counts.dropna(subset=["period"])
    sets = store.df("SELECT unit_code, period, state, changed_by, changed_at, comment FROM data_sets WHERE kind = ?",
                    [kind])
    # a set of the whole year (or any longer period) closes its quarters too: the state shown is the most closed
    # of the quarter's own set and the sets covering it (``via``: the covering set's period, when it decides)
    covering = store.df(
        "SELECT d.unit_code, q.code AS period, d.state AS cover_state, d.period AS via FROM data_sets d "
        "JOIN periods dp ON dp.code = d.period JOIN periods q ON q.kind = 'quarter' AND q.year = ? "
        "AND q.start_date >= dp.start_date AND q.end_date <= dp.end_date AND d.period <> q.code "
        "WHERE d.kind = ? AND d.state <> 'open'", [int(year), kind])
    rank = {s: i for i, s in enumerate(datasets.STATES)}
    covering = (covering.assign(_r=covering["cover_state"].map(rank)).sort_values("_r", ascending=False)
                .drop_duplicates(["unit_code", "period"]).drop(columns="_r"))
    grid = unit_frame.merge(quarters, how="cross")
    grid = grid.merge(counts, on=["unit_code", "period"], how="left").merge(sets, on=["unit_code", "period"],
                                                                              how="left")
    grid = grid.merge(covering, on=["unit_code", "period"], how="left")
    grid["rows"] = grid["rows"].fillna(0).astype(int)
    grid["state"] = grid["state"].fillna("open")
    wider = grid["cover_state"].map(rank).fillna(-1) > grid["state"].map(rank)
    grid["via"] = grid["via"].where(wider, None)
    grid["state"] = grid["state"].mask(wider, grid["cover_state"])
    grid = grid.drop(columns="cover_state")
    grid["due"] = [datasets.deadline(kind, e.date() if hasattr(e, "date") else e, {kind: days})
                   for e in grid["end_date"]]
    grid["late"] = (grid["state"] == "open") & (grid["due"] < today)
    grid["turn"] = grid["state"].map(TURN)
    return grid.drop(columns=["start_date", "end_date"]).reset_index(drop=True)


def summary(grid: pd.DataFrame) -> dict:
    """Counts of the matrix: per state, late, and waiting for an analyst."""
    states = grid["state"].value_counts()
    return {**{s: int(states.get(s, 0)) for s in datasets.STATES}, "late": int(grid["late"].sum()),
            "awaiting_analyst": int((grid["state"] == "submitted").sum())}
