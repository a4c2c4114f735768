"""Plan-fact for one cell (indicator, unit, period): METHODOLOGY.md section 2.

Pure core: :func:`score_cells` (frame in, frame out, vectorised, no row loops).
Store readers: :func:`load_cells`, :func:`cells_for_period`, :func:`latest_period`,
and the convenience :func:`plan_fact` (load + score).

Period rule (which cell an indicator contributes to a chosen period P)
----------------------------------------------------------------------
Periods are calendar rows (year, quarter, month) with start and end dates
(001_core.sql). For a chosen period P and one indicator, :func:`cells_for_period`
takes, in this order:

1. **Same period.** Cells stored at P itself, when at least one unit has a fact there.
2. **Finer periods inside P** (P a year and the indicator quarterly or monthly; P a
   quarter and the indicator monthly): the *latest* sub-period inside P in which at
   least one unit has a fact; every unit is compared on that same sub-period (a unit
   without a fact there is "no data", it is never carried over from an earlier
   sub-period, so units are never compared across different dates). For a
   ``cumulative`` indicator that sub-period's values are the year-to-date values, so
   Q4 / December is the full year and an earlier sub-period is "YTD so far"; for a
   non-cumulative one they are the level in that latest sub-period. On equal end
   dates the longer period wins (Q4 before December).
3. **Coarser periods are not used** (P a quarter, the indicator annual): an annual
   value is not a quarter's result, and the previous year's would mix periods. Such
   an indicator simply has no cell for P.
4. No fact in P at all: the cells stored at P itself (plans only) are returned, so
   plans without facts show as grey; they are not scored. When P itself has no cell, the
   latest sub-period inside P with a plan (plans only): a quarterly indicator planned for a
   year that has no fact yet is still *expected* in that year (the rating's coverage
   denominator, METHODOLOGY.md 3.4).

Every returned cell keeps its own ``period`` and gets ``rating_period`` = P, so a
page can say "Q3 2024 (year to date)".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac import methodology as _methodology

RAG_COLOURS = ("green", "amber", "red", "grey")


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def score_cells(cells: pd.DataFrame, config=None) -> pd.DataFrame:
    """Score plan-fact cells (METHODOLOGY.md section 2). Pure; returns a new frame.

    Input columns: ``indicator_id, unit_code, period, plan, fact, direction`` ('up'|'down';
    anything else, including missing, means the cell cannot be scored), optional
    ``rag_green, rag_amber`` (per-indicator cut-points, NaN = the configured default).
    Other columns pass through unchanged.

    Added columns:

    - ``delta`` = fact - plan (NaN when either is missing)
    - ``delta_pct`` = 100 * (fact - plan) / |plan| (NaN when plan is 0 or missing)
    - ``achieved`` (nullable boolean): fact >= plan (up) or fact <= plan (down); NA when not scored
    - ``ratio`` (A): up F/P; down P/F, with A = 1 when F = 0 and P >= 0 (target met, never
      infinity); when P <= 0 or F < 0 (which covers every sign change) the binary form
      A = 1 if achieved else 0. NaN when not scored.
    - ``ratio_form``: 'ratio' | 'binary' | None (not scored); object dtype
    - ``score`` S = 100 * min(A, 1): over-achievement never compensates another indicator
    - ``rag``: 'green' A >= rag_green, 'amber' A >= rag_amber, 'red' below, 'grey' not scored; object dtype
    - ``scored`` (bool): plan and fact both present and direction known. A fact without
      a plan is kept (shown) but not scored; a missing fact is "no data", never zero.
    - ``methodology_version``
    """
    cfg, version = _methodology.resolve(config)
    out = cells.copy()
    n = len(out)
    plan = _num(out["plan"]) if "plan" in out else np.full(n, np.nan)
    fact = _num(out["fact"]) if "fact" in out else np.full(n, np.nan)
    up, down = _direction_masks(out["direction"] if "direction" in out else pd.Series([None] * n))

    has_plan, has_fact = ~np.isnan(plan), ~np.isnan(fact)
    scored = has_plan & has_fact & (up | down)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        delta = fact - plan
        delta_pct = np.where(has_plan & (plan != 0), 100.0 * delta / np.abs(plan), np.nan)
        achieved = np.where(up, fact >= plan, fact <= plan)
        binary = scored & ((plan <= 0) | (fact < 0))
        ratio_up = fact / plan
        # down: F = 0 with P >= 0 is "target met" (A = 1), not infinity
        ratio_down = np.where(fact == 0, 1.0, plan / fact)
        ratio = np.where(up, ratio_up, ratio_down)
        ratio = np.where(binary, achieved.astype(float), ratio)
        ratio = np.where(scored, ratio, np.nan)
        score = 100.0 * np.minimum(ratio, 1.0)

    g_default = float(cfg["plan_fact"]["rag_green"])
    a_default = float(cfg["plan_fact"]["rag_amber"])
    green = _num(out["rag_green"]) if "rag_green" in out else np.full(n, np.nan)
    amber = _num(out["rag_amber"]) if "rag_amber" in out else np.full(n, np.nan)
    green = np.where(np.isnan(green), g_default, green)
    amber = np.where(np.isnan(amber), a_default, amber)
    a_cmp = np.round(ratio, 12)  # 0.9 computed as 9/10 must be amber, not 0.8999999 red
    # codes into RAG_COLOURS, then one take: cheap on 500 000 cells
    rag_codes = np.select([~scored, a_cmp >= green, a_cmp >= amber], [3, 0, 1], default=2).astype(np.int8)

    out["delta"] = delta
    out["delta_pct"] = delta_pct
    out["ratio"] = ratio
    form_codes = np.select([binary, scored], [1, 0], default=-1).astype(np.int8)
    out["ratio_form"] = pd.Series(np.array(["ratio", "binary", None], dtype=object)[form_codes],
                                  index=out.index, dtype=object)
    out["achieved"] = pd.array(np.where(scored, achieved, False), dtype="boolean")
    out.loc[~scored, "achieved"] = pd.NA
    out["score"] = score
    out["rag"] = pd.Series(np.array(RAG_COLOURS, dtype=object)[rag_codes], index=out.index, dtype=object)
    out["scored"] = scored
    out["methodology_version"] = version
    return out


def _direction_masks(direction: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(up, down) boolean masks; case-insensitive; lowers only the distinct values."""
    codes, uniques = pd.factorize(direction)
    low = np.array([str(u).strip().lower() for u in uniques], dtype=object)
    up_codes, down_codes = np.flatnonzero(low == "up"), np.flatnonzero(low == "down")
    return np.isin(codes, up_codes), np.isin(codes, down_codes)


# -- store readers -----------------------------------------------------------------

_CELL_COLUMNS = """
    c.indicator_id, c.unit_code, c.period, c.plan, c.fact, c.plan_source,
    i.direction, i.weight, i.rag_green, i.rag_amber, i.periodicity, i.cumulative, i.aggregation,
    i.unit_of_measure, i.tier, i.node_id, i.name_en, i.name_ru, i.name_kk,
    i.baseline_value, i.baseline_year, i.target_value, i.target_year, i.goalpost_low, i.goalpost_high,
    p.kind AS period_kind, p.year, p.quarter, p.month, p.start_date, p.end_date,
    coalesce(r.name_en, o.name_en) AS unit_name_en,
    coalesce(r.name_ru, o.name_ru) AS unit_name_ru,
    coalesce(r.name_kk, o.name_kk) AS unit_name_kk,
    CASE WHEN r.kato IS NOT NULL THEN 'region' WHEN o.org_id IS NOT NULL THEN 'organisation' END AS unit_kind
"""

_CELL_FROM = """
    FROM v_indicator_cells c
    JOIN indicators i USING (indicator_id)
    JOIN periods p ON p.code = c.period
    LEFT JOIN regions r ON r.kato = c.unit_code
    LEFT JOIN organisations o ON o.org_id = c.unit_code
"""

_SUBTREE = """
    WITH RECURSIVE subtree(node_id) AS (
        SELECT node_id FROM goal_nodes WHERE node_id = ?
        UNION ALL
        SELECT g.node_id FROM goal_nodes g JOIN subtree s ON g.parent_id = s.node_id
    )
"""


def _filters(indicator_ids, unit_codes, node_id) -> tuple[str, list, str, list]:
    """(WITH prefix, its params, extra WHERE clauses, their params)."""
    with_sql, with_params, where, params = "", [], [], []
    if node_id is not None:
        with_sql, with_params = _SUBTREE, [node_id]
        where.append("i.node_id IN (SELECT node_id FROM subtree)")
    if indicator_ids is not None:
        where.append("list_contains(?, c.indicator_id)")
        params.append([str(x) for x in indicator_ids])
    if unit_codes is not None:
        where.append("list_contains(?, c.unit_code)")
        params.append([str(x) for x in unit_codes])
    return with_sql, with_params, " AND ".join(where), params


def load_cells(store, *, period: str | None = None, indicator_ids=None, unit_codes=None,
               node_id: str | None = None) -> pd.DataFrame:
    """Plan-fact cells as stored, joined with the passport, the period and the unit's name.

    ``period`` filters on the cell's own period code exactly (see :func:`cells_for_period`
    for "the cells that count for period P"). ``node_id`` keeps indicators of that goal
    node and its whole subtree (recursive over goal_nodes.parent_id).

    Columns: indicator_id, unit_code, period, plan, fact, plan_source, direction, weight,
    rag_green, rag_amber, periodicity, cumulative, aggregation, unit_of_measure, tier, node_id,
    name_en/ru/kk (indicator), baseline_value, baseline_year, target_value, target_year,
    goalpost_low, goalpost_high, period_kind, year, quarter, month, start_date, end_date,
    unit_name_en/ru/kk, unit_kind ('region' | 'organisation' | None).
    """
    with_sql, with_params, where, params = _filters(indicator_ids, unit_codes, node_id)
    if period is not None:
        where = " AND ".join(x for x in (where, "c.period = ?") if x)
        params.append(str(period))
    sql = f"{with_sql} SELECT {_CELL_COLUMNS} {_CELL_FROM} {'WHERE ' + where if where else ''} " \
          "ORDER BY c.indicator_id, c.unit_code, p.start_date, p.end_date"
    return store.df(sql, with_params + params)


def cells_for_period(store, period: str, *, indicator_ids=None, unit_codes=None,
                     node_id: str | None = None) -> pd.DataFrame:
    """The cells that count for period P, one per (indicator, unit): the module's period rule.

    Columns: those of :func:`load_cells` plus ``rating_period`` (= P) and ``ytd`` (True when
    the cell is a cumulative indicator's sub-period of P, i.e. a year-to-date value).
    """
    with_sql, with_params, where, params = _filters(indicator_ids, unit_codes, node_id)
    sql = f"""
    {with_sql + ',' if with_sql else 'WITH'}
    target AS (SELECT code, start_date, end_date FROM periods WHERE code = ?),
    inside AS (
        SELECT c.indicator_id, c.unit_code, c.period, c.fact, c.plan, p.start_date, p.end_date,
               (c.period = t.code) AS exact
        FROM v_indicator_cells c
        JOIN indicators i USING (indicator_id)
        JOIN periods p ON p.code = c.period, target t
        WHERE p.start_date >= t.start_date AND p.end_date <= t.end_date
        {'AND ' + where if where else ''}
    ),
    chosen AS (
        -- per indicator: P itself if it has a fact, else the latest sub-period with a fact
        -- (longer period first on equal end dates), else P itself (plans only), else the
        -- latest sub-period with a plan (plans only)
        SELECT indicator_id,
               coalesce(
                   arg_max(period, (exact, end_date, -epoch(start_date))) FILTER (WHERE fact IS NOT NULL),
                   max(period) FILTER (WHERE exact),
                   arg_max(period, (end_date, -epoch(start_date))) FILTER (WHERE plan IS NOT NULL)) AS period
        FROM inside GROUP BY indicator_id
    )
    SELECT {_CELL_COLUMNS}, (SELECT code FROM target) AS rating_period,
           (i.cumulative AND c.period <> (SELECT code FROM target)) AS ytd
    {_CELL_FROM}
    JOIN chosen ch ON ch.indicator_id = c.indicator_id AND ch.period = c.period
    {'WHERE ' + where if where else ''}
    ORDER BY c.indicator_id, c.unit_code
    """
    return store.df(sql, with_params + [str(period)] + params + params)


_KIND_RANK = {"month": 1, "quarter": 2, "year": 3}


def latest_period(store, kind: str = "year", *, indicator_ids=None, unit_codes=None,
                  node_id: str | None = None) -> str | None:
    """The latest period of ``kind`` with at least one fact, counting facts of finer periods inside it.

    E.g. kind='year' with quarterly facts up to 2025-Q2 gives '2025' (whose cells are then
    the Q2 ones under the period rule); kind='quarter' ignores annual facts (coarser
    periods are never used). None when there is no fact at all.
    """
    if kind not in _KIND_RANK:
        raise ValueError(f"kind must be one of {tuple(_KIND_RANK)}")
    with_sql, with_params, where, params = _filters(indicator_ids, unit_codes, node_id)
    finer = [k for k, r in _KIND_RANK.items() if r <= _KIND_RANK[kind]]
    sql = f"""
    {with_sql}
    SELECT q.code
    FROM v_indicator_cells c
    JOIN indicators i USING (indicator_id)
    JOIN periods p ON p.code = c.period
    JOIN periods q ON q.kind = ? AND p.start_date >= q.start_date AND p.end_date <= q.end_date
    WHERE c.fact IS NOT NULL AND list_contains(?, p.kind) {'AND ' + where if where else ''}
    ORDER BY q.start_date DESC LIMIT 1
    """
    return store.scalar(sql, with_params + [kind, finer] + params)


def previous_period(store, period: str) -> str | None:
    """The period of the same kind just before ``period`` ('2024' -> '2023', '2024-Q1' -> '2023-Q4')."""
    return store.scalar(
        "SELECT q.code FROM periods p JOIN periods q ON q.kind = p.kind AND q.end_date < p.start_date "
        "WHERE p.code = ? ORDER BY q.start_date DESC LIMIT 1", [str(period)])


def plan_fact(store, period: str | None = None, *, kind: str = "year", indicator_ids=None, unit_codes=None,
              node_id: str | None = None, methodology=None) -> pd.DataFrame:
    """Scored cells for period P (default: the latest ``kind`` period with data) under the period rule.

    Columns: :func:`cells_for_period` + :func:`score_cells`; ``methodology_version`` is the
    store's current version unless ``methodology`` is given.
    """
    m = methodology if methodology is not None else _methodology.current(store)
    if period is None:
        period = latest_period(store, kind, indicator_ids=indicator_ids, unit_codes=unit_codes, node_id=node_id)
        if period is None:
            return score_cells(load_cells(store, period="__none__"), m)
    cells = cells_for_period(store, period, indicator_ids=indicator_ids, unit_codes=unit_codes, node_id=node_id)
    return score_cells(cells, m)
