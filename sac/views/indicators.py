"""Data shaping for the Indicators page (issue 4): options, the plan-fact matrix, one indicator's series and passport.

Pure functions and thin store readers; no streamlit. The page calls them through ``sac.ui.cache.call`` (the
store is the first argument). Scoring comes from :mod:`sac.metrics.plan_fact` (METHODOLOGY.md section 2);
nothing here re-implements a metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac.i18n import fmt_number
from sac.metrics import plan_fact as _pf

#: Passport fields in the order of METHODOLOGY.md section 1 (the page translates each key).
PASSPORT_FIELDS = (
    "indicator_id", "name_en", "name_ru", "name_kk", "unit_of_measure", "direction", "tier", "periodicity",
    "cumulative", "aggregation", "weight", "rag_green", "rag_amber", "baseline_value", "baseline_year",
    "target_value", "target_year", "responsibility_level", "node", "responsible_official", "source_document",
)


# -- options for the filters ----------------------------------------------------------

def period_options(store) -> list[str]:
    """Codes of the years and quarters that have at least one fact (own or of a finer period inside), newest first.

    Years come before the quarters of the same year ('2026', '2026-Q3', '2026-Q2', ..., '2025', ...).
    """
    df = store.df("""
        SELECT DISTINCT q.code, q.kind, q.start_date, q.end_date
        FROM v_indicator_cells c
        JOIN periods p ON p.code = c.period
        JOIN periods q ON q.kind IN ('year', 'quarter')
             AND p.start_date >= q.start_date AND p.end_date <= q.end_date
        WHERE c.fact IS NOT NULL
        ORDER BY q.start_date DESC, q.end_date DESC
    """)
    if df.empty:
        return []
    df["year"] = df["start_date"].astype("datetime64[ns]").dt.year
    df["is_year"] = df["kind"] == "year"
    df = df.sort_values(["year", "is_year", "end_date"], ascending=[False, False, False])
    return df["code"].astype(str).tolist()


def default_period(store) -> str | None:
    """The latest year whose facts number at least 80% of the best-reported year's (facts of finer periods
    inside count): a year still being reported (2026 with facts up to Q3) does not open as mostly grey."""
    return store.scalar("""
        WITH n AS (
            SELECT q.code, q.start_date, count(*) AS facts
            FROM v_indicator_cells c
            JOIN periods p ON p.code = c.period
            JOIN periods q ON q.kind = 'year' AND q.year = p.year
            WHERE c.fact IS NOT NULL
            GROUP BY q.code, q.start_date
        )
        SELECT code FROM n WHERE facts >= 0.8 * (SELECT max(facts) FROM n) ORDER BY start_date DESC LIMIT 1
    """)


def indicator_options(store) -> pd.DataFrame:
    """Indicators that have any value, ordered by code.

    Columns: indicator_id, name_en, name_ru, name_kk, unit_of_measure, direction, node_id.
    """
    return store.df("""
        SELECT i.indicator_id, i.name_en, i.name_ru, i.name_kk, i.unit_of_measure, i.direction, i.node_id
        FROM indicators i
        WHERE EXISTS (SELECT 1 FROM indicator_values v WHERE v.indicator_id = i.indicator_id)
        ORDER BY i.indicator_id
    """)


def node_options(store) -> pd.DataFrame:
    """National priorities and programs for the matrix filter, each program after its priority.

    Columns: node_id, parent_id, level ('national_priority' | 'program'), code, name_en, name_ru, name_kk, depth
    (0 priority, 1 program).
    """
    return store.df("""
        SELECT g.node_id, g.parent_id, g.level, g.code, g.name_en, g.name_ru, g.name_kk,
               CASE g.level WHEN 'national_priority' THEN 0 ELSE 1 END AS depth,
               coalesce(CASE WHEN g.level = 'national_priority' THEN g.node_id END, g.parent_id) AS priority_id
        FROM goal_nodes g
        WHERE g.level IN ('national_priority', 'program')
        ORDER BY priority_id, depth, g.code NULLS LAST, g.node_id
    """)


def region_options(store) -> pd.DataFrame:
    """The 20 regions and cities. Columns: kato, name_en, name_ru, name_kk, kind."""
    return store.df("SELECT kato, name_en, name_ru, name_kk, kind FROM regions ORDER BY name_en")


# -- plan-fact matrix ---------------------------------------------------------------------

def matrix_cells(store, period: str, node_id: str | None = None) -> pd.DataFrame:
    """Scored plan-fact cells of the regions for ``period`` (the plan_fact period rule), optionally one node's subtree.

    Columns: those of :func:`sac.metrics.plan_fact.plan_fact` (indicator_id, unit_code, period, plan, fact, ratio,
    score, rag, scored, unit_name_*, name_*, unit_of_measure, direction, ytd, methodology_version, ...), regions
    only (organisations are not rows of the matrix).
    """
    cells = _pf.plan_fact(store, period, node_id=node_id)
    if "unit_kind" in cells:
        cells = cells[cells["unit_kind"] == "region"]
    return cells.reset_index(drop=True)


def pivot_matrix(cells: pd.DataFrame, lang: str, icons: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regions x indicators: (text, rag), two frames of the same shape, index = region KATO code.

    ``text`` has a first column ``region`` (the region's name in ``lang``) and then one column per indicator
    code, each cell the icon and the achievement ratio A in percent with one decimal ("✓ 102.3%",
    "✗ 84.0%"), "○ —" for a cell without a score (no fact, no plan, or unknown direction): colour never
    carries the meaning alone. ``rag`` has the same index and columns, holding 'green' | 'amber' | 'red' |
    'grey' (and None in ``region``) for styling. A region or indicator without any cell is not a row or
    column. Regions are sorted by their mean score (best first, regions with no score last), then by name.
    """
    from sac.i18n import fmt_pct

    if cells.empty:
        empty = pd.DataFrame()
        return empty, empty
    name = f"unit_name_{lang}"
    c = cells[["unit_code", name, "indicator_id", "ratio", "rag", "score"]].copy()
    ratio_txt = (100.0 * pd.to_numeric(c["ratio"], errors="coerce")).map(lambda x: fmt_pct(x, lang))
    c["text"] = c["rag"].map(icons).fillna("") + " " + ratio_txt
    text = c.pivot_table(index="unit_code", columns="indicator_id", values="text", aggfunc="first")
    rag = c.pivot_table(index="unit_code", columns="indicator_id", values="rag", aggfunc="first")
    summary = c.groupby("unit_code").agg(region=(name, "first"), mean=("score", "mean"))
    summary["missing"] = summary["mean"].isna()
    order = summary.sort_values(["missing", "mean", "region"], ascending=[True, False, True]).index
    text = text.reindex(order).fillna(icons.get("grey", "") + " —").astype(object)
    rag = rag.reindex(order).fillna("grey").astype(object)
    text.insert(0, "region", summary.loc[order, "region"].astype(object))
    rag.insert(0, "region", None)
    text.index.name = rag.index.name = "unit_code"
    text.columns.name = rag.columns.name = None
    return text, rag


def rag_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """How many cells of each RAG colour: columns rag, cells (always the four colours, zero counts kept)."""
    counts = cells["rag"].value_counts() if not cells.empty else pd.Series(dtype="int64")
    out = pd.DataFrame({"rag": list(_pf.RAG_COLOURS)})
    out["cells"] = out["rag"].map(counts).fillna(0).astype("int64")
    return out


# -- one indicator ------------------------------------------------------------------------

def passport(store, indicator_id: str) -> pd.DataFrame:
    """The passport of one indicator (METHODOLOGY.md section 1), one row; empty when the code is unknown.

    Columns: every column of ``indicators`` plus node_level, node_name_en/ru/kk (the goal-map node the
    indicator belongs to), official_name, official_position (the responsible official).
    """
    return store.df("""
        SELECT i.*, g.level AS node_level, g.name_en AS node_name_en, g.name_ru AS node_name_ru,
               g.name_kk AS node_name_kk, o.full_name AS official_name, o.position AS official_position
        FROM indicators i
        LEFT JOIN goal_nodes g ON g.node_id = i.node_id
        LEFT JOIN officials o ON o.official_id = i.responsible_official
        WHERE i.indicator_id = ?
    """, [str(indicator_id)])


def series(store, indicator_id: str, region: str | None = None) -> pd.DataFrame:
    """Plan and fact of one indicator over time, for one region or the whole country.

    For a region: its cells as stored (v_indicator_cells), one per period of the indicator's periodicity.
    For the country (``region=None``): per period, the regions' values combined by the passport's
    aggregation rule — ``sum``; ``mean``; ``pop_weighted_mean`` (weights regions.population, regions with
    unknown population left out); ``none``: no national value (empty frame). Plans and facts are each
    combined over the regions that report them (``n_plan``, ``n_fact`` say how many): a missing value is
    left out, never counted as zero.

    Columns: period, period_kind, year, start_date, end_date, plan, fact, n_plan, n_fact (and, for the
    country, complete: every region with a plan reported a fact). The country's value follows
    :func:`sac.metrics.progress.national_series`, so a sum with a region missing is shown as no value.
    """
    if region is not None:
        return store.df("""
            SELECT c.period, p.kind AS period_kind, p.year, p.start_date, p.end_date, c.plan, c.fact,
                   CAST(c.plan IS NOT NULL AS INTEGER) AS n_plan, CAST(c.fact IS NOT NULL AS INTEGER) AS n_fact
            FROM v_indicator_cells c JOIN periods p ON p.code = c.period
            WHERE c.indicator_id = ? AND c.unit_code = ?
            ORDER BY p.start_date, p.end_date
        """, [str(indicator_id), str(region)])
    from sac.metrics.progress import national_series

    columns = ["period", "period_kind", "year", "start_date", "end_date", "plan", "fact", "n_plan", "n_fact",
               "complete"]
    agg = store.scalar("SELECT aggregation FROM indicators WHERE indicator_id = ?", [str(indicator_id)])
    if agg is None or agg == "none":
        return pd.DataFrame(columns=columns)
    cells = store.df("""
        SELECT c.indicator_id, c.unit_code, c.period, c.plan, c.fact AS value, r.population
        FROM v_indicator_cells c JOIN regions r ON r.kato = c.unit_code
        WHERE c.indicator_id = ?
    """, [str(indicator_id)])
    if cells.empty:
        return pd.DataFrame(columns=columns)
    passport = pd.DataFrame({"indicator_id": [str(indicator_id)], "aggregation": [agg]})
    regions = cells[["unit_code", "population"]].drop_duplicates("unit_code")
    cells = cells.drop(columns=["population"])
    # One rule for the country's value (sac.metrics.progress): a sum with a region missing is no value.
    fact = national_series(cells, passport, regions, key="period")
    plan = national_series(cells.assign(value=cells["plan"]), passport, regions, key="period")
    out = plan[["period", "value", "n_units"]].rename(columns={"value": "plan", "n_units": "n_plan"}).merge(
        fact[["period", "value", "n_units", "complete"]].rename(columns={"value": "fact", "n_units": "n_fact"}),
        on="period", how="outer")
    periods = store.df("SELECT code AS period, kind AS period_kind, year, start_date, end_date FROM periods "
                       "WHERE code IN (SELECT DISTINCT period FROM v_indicator_cells WHERE indicator_id = ?)",
                       [str(indicator_id)])
    out = periods.merge(out, on="period").sort_values(["start_date", "end_date"]).reset_index(drop=True)
    return out[columns]


def indicator_progress(store, indicator_id: str, region: str | None = None) -> pd.DataFrame:
    """Progress to target of one indicator (METHODOLOGY.md section 4) for a region or the country ('KZ').

    One row (or none when the indicator has no target): the columns of
    :func:`sac.metrics.progress.progress_core` (g_obs, g_req, q, achieved, status, reason, projected_value,
    projected_achieved, latest_year, latest_value, target_value, target_year, methodology_version, ...).
    """
    from sac.metrics import progress as _progress

    out = _progress.progress(store, indicator_ids=[str(indicator_id)])
    unit = str(region) if region is not None else _progress.NATIONAL
    # filtered on the indicator too: the national rows come back for every indicator, and the country view
    # showed another indicator's baseline and target (4.90 -> 4.60 under AGRI_PROD's 100-105 chart)
    keep = (out["unit_code"].astype(str) == unit) & (out["indicator_id"].astype(str) == str(indicator_id))
    return out[keep].reset_index(drop=True)


#: sac.metrics.progress reasons -> catalogue keys of the indicators namespace
PROGRESS_REASONS = {
    "no target": "reason_no_target", "fewer than two points": "reason_fewer_points",
    "baseline not positive": "reason_baseline", "latest value not positive": "reason_latest",
    "target not positive": "reason_target", "target year not after baseline": "reason_target_year",
    "required growth is zero": "reason_zero_growth", "territory changed": "reason_territory",
}


def gap_table(gap: pd.DataFrame, lang: str, region_names: dict[str, str]) -> pd.DataFrame:
    """The gap analysis (sac.metrics.goalmap.gap_analysis) shaped for reading, insufficient first.

    Columns: indicator_id, name (in ``lang``), unit_code, region (name from ``region_names``, else the code),
    unit_of_measure, target_value, target_year, current_fact, current_period, required, planned, n_projects,
    shortfall, verdict ('insufficient' | 'sufficient' | 'achieved' | 'unknown'). Sorted: insufficient first,
    then by indicator and region.
    """
    g = gap.copy()
    verdict = np.select(
        [g["insufficient"].fillna(False).astype(bool), g["achieved"].fillna(False).astype(bool),
         g["insufficient"].notna()],
        ["insufficient", "achieved", "sufficient"], default="unknown")
    g["verdict"] = pd.Series(verdict, index=g.index, dtype=object)
    g["name"] = g[f"name_{lang}"].fillna(g["name_en"])
    g["region"] = g["unit_code"].map(region_names).fillna(g["unit_code"])
    g["_order"] = g["verdict"].map({"insufficient": 0, "sufficient": 1, "achieved": 2, "unknown": 3})
    g = g.sort_values(["_order", "indicator_id", "region"], kind="stable")
    cols = ["indicator_id", "name", "unit_code", "region", "unit_of_measure", "target_value", "target_year",
            "current_fact", "current_period", "required", "planned", "n_projects", "shortfall", "verdict"]
    return g[cols].reset_index(drop=True)


def value_decimals(values: pd.Series, most: int = 2) -> int:
    """How many decimals show every value of ``values`` exactly, at most ``most`` (0 for whole numbers)."""
    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    for d in range(most):
        if np.allclose(x, np.round(x, d), atol=10 ** -(most + 2), rtol=0):
            return d
    return most


def format_series_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The series table as text for display: the period column as it is, plans and facts with the decimals
    they need (one shared count per column) in the language's number format, counts as whole numbers,
    missing as an em dash (a raw frame showed 'None' for a fact not yet reported)."""
    out = table.copy()
    for i, c in enumerate(out.columns[1:], start=1):
        d = value_decimals(out[c]) if i <= 2 else 0
        out[c] = out[c].map(lambda x, d=d: fmt_number(x, lang, d))
    return out
