"""Region profile (issue 4, page 3): one region's indicators, position among the regions, budget, projects.

Pure cores (frames in, frames out): :func:`indicator_ranks`, :func:`strongest_weakest`,
:func:`fact_trends`. Store readers: :func:`regions`, :func:`region_indicators`,
:func:`region_budget`. Plan-fact scoring and the period rule come from
:mod:`sac.metrics.plan_fact` (METHODOLOGY.md section 2); nothing is re-derived here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac.metrics import budget as _budget
from sac.metrics import plan_fact as _pf


def regions(store) -> pd.DataFrame:
    """The 17 regions and 3 cities (table ``regions``), ordered by KATO code.

    Columns: kato, iso, kind ('region' | 'city'), name_en, name_ru, name_kk, centre_en, population.
    """
    return store.df("SELECT kato, iso, kind, name_en, name_ru, name_kk, centre_en, population "
                    "FROM regions ORDER BY kato")


def indicator_ranks(cells: pd.DataFrame) -> pd.DataFrame:
    """Each region's place among the regions on each indicator, by level of the fact (direction-aware).

    Input: scored or unscored plan-fact cells with ``indicator_id, unit_code, fact, direction``
    and ``unit_kind`` (only 'region' rows are ranked; organisations are not peers of regions).
    Ranking is competition ranking (1, 2, 2, 4) on the fact: highest first for 'up',
    lowest first for 'down'. A region without a fact, or an indicator without a direction,
    gets no rank (NaN), never the last place.

    Columns: indicator_id, unit_code, level_rank (float, NaN = not ranked), n_ranked (regions
    with a fact on that indicator), percentile (0 = best, 1 = worst; NaN when unranked or
    when only one region is ranked).
    """
    cols = ["indicator_id", "unit_code", "level_rank", "n_ranked", "percentile"]
    if cells.empty:
        return pd.DataFrame(columns=cols)
    df = cells
    if "unit_kind" in df:
        df = df[df["unit_kind"] == "region"]
    df = df[["indicator_id", "unit_code", "fact", "direction"]].copy()
    fact = pd.to_numeric(df["fact"], errors="coerce").astype("float64")
    direction = df["direction"].astype("string").str.lower()
    sign = np.select([direction.eq("up").fillna(False), direction.eq("down").fillna(False)], [1.0, -1.0],
                     default=np.nan)
    df["oriented"] = fact * sign
    df["level_rank"] = df.groupby("indicator_id")["oriented"].rank(method="min", ascending=False)
    df["n_ranked"] = df.groupby("indicator_id")["oriented"].transform("count").astype("int64")
    denom = (df["n_ranked"] - 1).where(df["n_ranked"] > 1)
    df["percentile"] = (df["level_rank"] - 1) / denom
    return df[cols].reset_index(drop=True)


def fact_trends(cells: pd.DataFrame) -> pd.DataFrame:
    """The series of facts of each (indicator, unit), oldest first, at the indicator's own periodicity.

    Input: :func:`sac.metrics.plan_fact.load_cells` rows (``indicator_id, unit_code, fact,
    periodicity, period_kind, start_date``). Only periods of the indicator's own periodicity
    count, so a quarterly indicator's trend is its quarters, not a mix with annual rows.
    Missing facts are left out of the series (a gap, not a zero).

    Columns: indicator_id, unit_code, trend (list of floats), trend_periods (list of period codes).
    """
    cols = ["indicator_id", "unit_code", "trend", "trend_periods"]
    if cells.empty:
        return pd.DataFrame(columns=cols)
    df = cells[(cells["period_kind"] == cells["periodicity"]) & cells["fact"].notna()]
    df = df.sort_values(["indicator_id", "unit_code", "start_date"])
    out = df.groupby(["indicator_id", "unit_code"], sort=True).agg(
        trend=("fact", lambda s: [float(x) for x in s]), trend_periods=("period", list)).reset_index()
    return out[cols]


def region_indicators(store, region: str, period: str | None = None, *, kind: str = "year") -> pd.DataFrame:
    """One region's indicators for period P with plan, fact, RAG, trend and its rank among the regions.

    ``period`` defaults to the latest ``kind`` period with data. Ranks are computed over every
    region's cell for the same period (:func:`indicator_ranks`).

    Columns: indicator_id, name_en, name_ru, name_kk, unit_of_measure, direction, weight, period
    (the cell's own period under the period rule), rating_period, ytd, plan, fact, delta,
    delta_pct, ratio, score, rag ('green'|'amber'|'red'|'grey'), scored, level_rank, n_ranked,
    percentile, trend (list), trend_periods (list), methodology_version.
    Empty frame (same columns) when there is no period with data.
    """
    cols = ["indicator_id", "name_en", "name_ru", "name_kk", "unit_of_measure", "direction", "weight", "period",
            "rating_period", "ytd", "plan", "fact", "delta", "delta_pct", "ratio", "score", "rag", "scored",
            "level_rank", "n_ranked", "percentile", "trend", "trend_periods", "methodology_version"]
    if period is None:
        period = _pf.latest_period(store, kind)
        if period is None:
            return pd.DataFrame(columns=cols)
    scored = _pf.plan_fact(store, period)
    ranks = indicator_ranks(scored)
    mine = scored[scored["unit_code"] == str(region)]
    trends = fact_trends(_pf.load_cells(store, unit_codes=[str(region)]))
    out = mine.merge(ranks, on=["indicator_id", "unit_code"], how="left")
    out = out.merge(trends, on=["indicator_id", "unit_code"], how="left")
    out["trend"] = out["trend"].map(lambda v: v if isinstance(v, list) else [])
    out["trend_periods"] = out["trend_periods"].map(lambda v: v if isinstance(v, list) else [])
    if "n_ranked" in out:
        out["n_ranked"] = out["n_ranked"].astype("Int64")
    return out[cols].sort_values("indicator_id").reset_index(drop=True)


def strongest_weakest(indicators: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The region's ``n`` strongest and ``n`` weakest indicators against the other regions.

    Input: :func:`region_indicators` output. Order: by ``percentile`` (its place among the
    regions, 0 = best), then by plan-fulfilment ``score``; indicators where the region is not
    ranked are left out. Strongest and weakest never share an indicator (with fewer than
    ``2n`` ranked indicators the weakest list holds what is left).
    """
    ranked = indicators[indicators["percentile"].notna()]
    ranked = ranked.sort_values(["percentile", "score", "indicator_id"], ascending=[True, False, True])
    best = ranked.head(n)
    rest = ranked.drop(best.index)
    worst = rest.sort_values(["percentile", "score", "indicator_id"], ascending=[False, True, True]).head(n)
    return best.reset_index(drop=True), worst.reset_index(drop=True)


def region_budget(store, region: str) -> pd.DataFrame:
    """The region's budget execution by year and budget program (METHODOLOGY.md section 5, million tenge).

    From :func:`sac.metrics.budget.execution` over the region's ``budget_lines`` (one source
    document per line, the finest periodicity within a year: no double counting).

    Columns: year, program_code, name_en, name_ru, name_kk, plan, allocated, spent,
    execution_pct (100 * spent / plan, NaN when plan is 0 or missing), unspent (allocated - spent).
    Newest year first.
    """
    cols = ["year", "program_code", "name_en", "name_ru", "name_kk", "plan", "allocated", "spent",
            "execution_pct", "unspent"]
    lines = _budget.load_lines(store, unit_codes=[str(region)])
    if lines.empty:
        return pd.DataFrame(columns=cols)
    ex = _budget.execution(lines, by=("program_code", "year"))
    names = lines.drop_duplicates("program_code")[["program_code", "program_name_en", "program_name_ru",
                                                   "program_name_kk"]]
    names.columns = ["program_code", "name_en", "name_ru", "name_kk"]
    out = ex.merge(names, on="program_code", how="left")
    out["execution_pct"] = 100.0 * out["execution"]
    return out[cols].sort_values(["year", "program_code"], ascending=[False, True]).reset_index(drop=True)


def execution_share(budget: pd.DataFrame) -> float:
    """Overall execution of :func:`region_budget` rows, in percent: 100 * sum(spent) / sum(plan).

    NaN when no row has a plan (or the plans sum to zero): no plan is "no data", not 0% executed.
    Rows missing either amount are left out of both sums.
    """
    both = budget[budget["plan"].notna() & budget["spent"].notna()]
    plan = float(both["plan"].sum())
    return 100.0 * float(both["spent"].sum()) / plan if plan else float("nan")
