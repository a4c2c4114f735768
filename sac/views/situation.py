"""Situation room (issue 4, page 1): headline figures for a period and the exceptions list.

Each figure is computed by the engine that owns it (plan-fact, ratings, projects,
instructions, exceptions in ``sac.metrics``); this module gathers them in the shapes
the page shows. Budget execution against the elapsed share of the year is METHODOLOGY.md
section 5; when ``sac.metrics.budget`` is not available it is read from ``budget_lines``
directly (same definition: spent / plan).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from sac.metrics import budget as _budget
from sac.metrics import decisions as _decisions
from sac.metrics import instructions as _instructions
from sac.metrics import plan_fact as _pf
from sac.metrics import projects as _projects


def achievement(store, period: str, units=None) -> dict:
    """Share of region-level indicator cells achieved in ``period`` (METHODOLOGY.md section 2).

    Only scored cells (plan and fact present, direction known) count; "no data" is reported
    separately, never as not achieved. ``units``: KATO codes to keep (a project office's regions),
    None = all. Keys: ``scored``, ``achieved``, ``share`` (percent, NaN when nothing is scored),
    ``green``, ``amber``, ``red``, ``grey`` (cell counts), ``methodology_version``.
    """
    cells = _pf.plan_fact(store, period)
    cells = cells[cells["unit_kind"] == "region"]
    if units is not None:
        cells = cells[cells["unit_code"].astype("string").isin([str(u) for u in units]).fillna(False).astype(bool)]
    rag = cells["rag"].value_counts()
    scored = int(cells["scored"].astype(bool).sum())
    achieved = int(cells["achieved"].fillna(False).astype(bool).sum())
    version = int(cells["methodology_version"].iloc[0]) if len(cells) else None
    return {"scored": scored, "achieved": achieved, "share": 100.0 * achieved / scored if scored else float("nan"),
            **{k: int(rag.get(k, 0)) for k in ("green", "amber", "red", "grey")}, "methodology_version": version}


def leaders_laggards(rating: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first ``n`` and the last ``n`` rated units of a rating (``sac.views.rating.rating_table``).

    With fewer than ``2n`` rated units the two lists do not overlap (laggards hold what is
    left). Laggards are listed worst first.
    """
    rated = rating[rating["rated"].astype(bool)].sort_values(["rank", "unit_code"])
    top = rated.head(n)
    rest = rated.drop(top.index)
    bottom = rest.sort_values(["rank", "unit_code"], ascending=[False, True]).head(n)
    return top.reset_index(drop=True), bottom.reset_index(drop=True)


def elapsed_share(year: int, today: _dt.date) -> float:
    """Share of calendar year ``year`` elapsed on ``today`` (end of day), 0-1: 1 for past years, 0 for future ones."""
    start, end = _dt.date(year, 1, 1), _dt.date(year, 12, 31)
    if today >= end:
        return 1.0
    if today < start:
        return 0.0
    return ((today - start).days + 1) / ((end - start).days + 1)


def budget_execution(store, year: int, today: _dt.date, units=None) -> dict:
    """Budget execution for ``year`` against the elapsed share of the year (METHODOLOGY.md section 5).

    Year to date (through ``today``, or the whole year when it is over) from
    :func:`sac.metrics.budget.execution_ytd` summed over programs and units (``units``: KATO /
    org codes to keep, None = all). Amounts in million tenge.

    Keys: ``annual_plan``, ``spent`` (to date), ``execution`` (percent: spent to date / annual
    plan; NaN without a plan), ``elapsed`` (percent of the year elapsed), ``gap`` (execution -
    elapsed, percentage points; negative = spending behind the calendar).
    """
    lines = _budget.load_lines(store, year=int(year), unit_codes=None if units is None else list(units))
    elapsed = 100.0 * elapsed_share(int(year), today)
    empty = {"annual_plan": np.nan, "spent": np.nan, "execution": np.nan, "elapsed": elapsed, "gap": np.nan}
    if lines.empty:
        return empty
    end = min(today, _dt.date(int(year), 12, 31))
    ytd = _budget.execution_ytd(lines, end, by=())
    if ytd.empty:
        return empty
    row = ytd.iloc[0]
    execution = 100.0 * float(row["execution_of_annual"]) if pd.notna(row["execution_of_annual"]) else np.nan
    return {"annual_plan": float(row["annual_plan"]) if pd.notna(row["annual_plan"]) else np.nan,
            "spent": float(row["spent"]) if pd.notna(row["spent"]) else np.nan,
            "execution": execution, "elapsed": elapsed,
            "gap": execution - elapsed if not np.isnan(execution) else np.nan}


def gap_colour(gap: float) -> str:
    """Colour of the budget gap (execution - elapsed, p.p.): spending behind the calendar is red, on or ahead
    of it green, no gap (no plan) grey. Given explicitly because the page prints the gap with a typographic
    minus, which Streamlit's automatic colouring would read as a gain."""
    if gap is None or pd.isna(gap):
        return "off"
    return "red" if gap < 0 else "green"


def gap_arrow(gap: float) -> str:
    """Arrow of the budget gap: down when behind the calendar, up when ahead, none when unknown or zero."""
    if gap is None or pd.isna(gap) or gap == 0:
        return "off"
    return "down" if gap < 0 else "up"


def projects_summary(store, today: _dt.date, units=None) -> dict:
    """Running projects and how many are off track: ``sac.metrics.projects.off_track_summary`` (running =
    active and not finished; off track = computed or self-reported status red, METHODOLOGY.md sections 6
    and 9), the same function the Projects page counts with. ``units``: KATO codes to keep, None = all.

    Keys: ``running``, ``off_track``, ``at_risk`` (amber, not off track), ``on_track`` (green, not off
    track), ``no_status`` (no evidence either way), ``overdue``.
    """
    p = _projects.load_projects(store, today=today)
    if units is not None:
        p = p[p["region_kato"].astype("string").isin([str(u) for u in units]).fillna(False).astype(bool)]
    return _projects.off_track_summary(p)


def instructions_summary(store, today: _dt.date, units=None) -> dict:
    """Instructions on control (METHODOLOGY.md section 10): keys of ``sac.metrics.instructions.summary``
    (``total``, ``on_control``, ``overdue``, ``max_days_overdue``, ``on_time_share``, ``escalated_open``),
    restricted to ``units`` (by ``region_kato``) when given."""
    if units is None:
        return _instructions.summary(store, today=today)
    df = _instructions.load_instructions(store, today=today)
    df = df[df["region_kato"].astype("string").isin([str(u) for u in units]).fillna(False).astype(bool)]
    return _instructions.summarise(df)


def instruction_detail(store, instruction_id: str, today: _dt.date) -> pd.DataFrame:
    """One instruction (the target of the exceptions' instruction links), with its status as of ``today``.

    Columns of ``sac.metrics.instructions.load_instructions``; empty when there is no such id.
    """
    df = _instructions.load_instructions(store, today=today)
    return df[df["instruction_id"] == str(instruction_id)].reset_index(drop=True)


def exception_counts(exc: pd.DataFrame) -> pd.DataFrame:
    """Exceptions (or decision items) per kind and severity. Columns: kind, high, medium, low, total (kinds with
    none left out), kinds in the order of ``sac.metrics.decisions.PRIORITY``."""
    if exc.empty:
        return pd.DataFrame(columns=["kind", "high", "medium", "low", "total"])
    t = pd.crosstab(exc["kind"], exc["severity"])
    out = pd.DataFrame({"kind": t.index,
                        "high": t.get(3, pd.Series(0, index=t.index)).to_numpy(),
                        "medium": t.get(2, pd.Series(0, index=t.index)).to_numpy(),
                        "low": t.get(1, pd.Series(0, index=t.index)).to_numpy()})
    out["total"] = out[["high", "medium", "low"]].sum(axis=1)
    # in the decision list's order of kinds (escalated, overdue instructions, red indicators, ...)
    order = {k: i for i, k in enumerate(_decisions.PRIORITY)}
    out = out.sort_values("kind", key=lambda k: k.map(order).fillna(len(order)), kind="mergesort")
    return out.reset_index(drop=True)
