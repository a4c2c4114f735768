"""Data shaping for the Budget page (issue 4): filter options and frames ready for tables and charts.

Thin store readers and pure shaping; the metrics themselves (execution, spikes, efficiency, conflicts;
METHODOLOGY.md section 5) come from :mod:`sac.metrics.budget`. No streamlit. Amounts are million tenge
(budget_lines, 001_core.sql).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def year_options(store) -> list[int]:
    """Years that have any budget line, newest first."""
    df = store.df("""
        SELECT DISTINCT p.year FROM budget_lines b JOIN periods p ON p.code = b.period ORDER BY p.year DESC
    """)
    return [int(y) for y in df["year"]]


def program_options(store) -> pd.DataFrame:
    """Budget programs that have lines. Columns: program_code, name_en, name_ru, name_kk, node_id."""
    return store.df("""
        SELECT bp.program_code, bp.name_en, bp.name_ru, bp.name_kk, bp.node_id
        FROM budget_programs bp
        WHERE EXISTS (SELECT 1 FROM budget_lines b WHERE b.program_code = bp.program_code)
        ORDER BY bp.program_code
    """)


def region_options(store) -> pd.DataFrame:
    """Regions that have budget lines. Columns: kato, name_en, name_ru, name_kk."""
    return store.df("""
        SELECT r.kato, r.name_en, r.name_ru, r.name_kk FROM regions r
        WHERE EXISTS (SELECT 1 FROM budget_lines b WHERE b.unit_code = r.kato)
        ORDER BY r.name_en
    """)


def latest_month(store, year: int) -> str | None:
    """The latest month (or quarter, or the year) of ``year`` with any spending, e.g. '2026-10'; None if none."""
    return store.scalar("""
        SELECT p.code FROM budget_lines b JOIN periods p ON p.code = b.period
        WHERE p.year = ? AND b.spent IS NOT NULL
        ORDER BY p.end_date DESC, p.start_date DESC LIMIT 1
    """, [int(year)])


# -- METHODOLOGY.md section 5, computed here until sac.metrics.budget offers the same -------------------------
#
# Which lines count: one value per (program, subprogram, unit, period) — the first source document by name
# that carries it (the rule of v_indicator_cells for indicators); documents that disagree are listed by
# :func:`conflicts`, not averaged. Within a (program, subprogram, unit, year) only the finest periodicity
# present is summed (months, else quarters, else the year row), so monthly and annual rows never add up twice.

_LINES = """
WITH one AS (
    SELECT b.program_code, b.subprogram_code, b.unit_code, b.period, p.kind, p.year, p.quarter, p.month,
           p.end_date,
           arg_min(b.plan, b.source_document) FILTER (WHERE b.plan IS NOT NULL) AS plan,
           arg_min(b.revised, b.source_document) FILTER (WHERE b.revised IS NOT NULL) AS revised,
           arg_min(b.allocated, b.source_document) FILTER (WHERE b.allocated IS NOT NULL) AS allocated,
           arg_min(b.spent, b.source_document) FILTER (WHERE b.spent IS NOT NULL) AS spent
    FROM budget_lines b JOIN periods p ON p.code = b.period
    WHERE p.year = ? {where}
    GROUP BY ALL
),
finest AS (
    SELECT *, min(CASE kind WHEN 'month' THEN 1 WHEN 'quarter' THEN 2 ELSE 3 END)
                  OVER (PARTITION BY program_code, subprogram_code, unit_code, year) AS finest_rank
    FROM one
)
SELECT * EXCLUDE (finest_rank) FROM finest
WHERE CASE kind WHEN 'month' THEN 1 WHEN 'quarter' THEN 2 ELSE 3 END = finest_rank
"""


def lines(store, year: int, program: str | None = None, region: str | None = None) -> pd.DataFrame:
    """The budget lines that count for ``year`` (rule above), optionally one program and one region.

    Columns: program_code, subprogram_code, unit_code, period, kind, year, quarter, month, end_date, plan,
    revised, allocated, spent (million tenge; NaN = not reported, never zero).
    """
    where, params = [], [int(year)]
    if program:
        where.append("b.program_code = ?")
        params.append(str(program))
    if region:
        where.append("b.unit_code = ?")
        params.append(str(region))
    sql = _LINES.format(where=" ".join("AND " + w for w in where))
    return store.df(sql, params)


def _ratios(g: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        g["execution"] = (g["spent"] / g["plan"]).where(g["plan"] > 0)
        g["execution_ytd"] = (g["spent"] / g["plan_ytd"]).where(g["plan_ytd"] > 0)
        g["financing"] = (g["allocated"] / g["plan"]).where(g["plan"] > 0)
        g["spent_of_allocated"] = (g["spent"] / g["allocated"]).where(g["allocated"] > 0)
    g["deviation"] = g["spent"] - g["plan"]
    g["unspent"] = g["plan"] - g["spent"]
    return g


def execution(store, year: int, by: str = "program", program: str | None = None,
              region: str | None = None) -> pd.DataFrame:
    """Execution per program or per region for ``year`` (METHODOLOGY.md section 5), best-known data to date.

    ``by``: 'program' or 'region'. Columns: key (program code or KATO), name_en, name_ru, name_kk, plan (the
    year's plan), revised, allocated, spent, plan_ytd (plan of the periods up to the latest one with
    spending), execution (spent / plan), execution_ytd (spent / plan_ytd), financing (allocated / plan),
    spent_of_allocated, deviation (spent - plan), unspent (plan - spent), latest_period. Ratios are NaN
    when the denominator is missing or not positive. Sorted by key.
    """
    if by not in ("program", "region"):
        raise ValueError("by must be 'program' or 'region'")
    df = lines(store, year, program, region)
    cols = ["key", "name_en", "name_ru", "name_kk", "plan", "revised", "allocated", "spent", "plan_ytd",
            "execution", "execution_ytd", "financing", "spent_of_allocated", "deviation", "unspent", "latest_period"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    key = "program_code" if by == "program" else "unit_code"
    latest = df[df["spent"].notna()].sort_values("end_date").groupby(key)[["end_date", "period"]].last()
    df = df.merge(latest.rename(columns={"end_date": "latest_end", "period": "latest_period"}),
                  left_on=key, right_index=True, how="left")
    df["plan_ytd"] = df["plan"].where(df["end_date"] <= df["latest_end"])
    g = df.groupby(key).agg(plan=("plan", "sum"), revised=("revised", "sum"), allocated=("allocated", "sum"),
                            spent=("spent", "sum"), plan_ytd=("plan_ytd", "sum"),
                            latest_period=("latest_period", "first"),
                            n_plan=("plan", "count"), n_revised=("revised", "count"),
                            n_allocated=("allocated", "count"), n_spent=("spent", "count"))
    for c in ("plan", "revised", "allocated", "spent"):  # nothing reported is missing, not zero
        g[c] = g[c].where(g[f"n_{c}"] > 0)
    g["plan_ytd"] = g["plan_ytd"].where(g["n_plan"] > 0)
    g = _ratios(g).reset_index().rename(columns={key: "key"})
    names = (store.df("SELECT program_code AS key, name_en, name_ru, name_kk FROM budget_programs") if by == "program"
             else store.df("SELECT kato AS key, name_en, name_ru, name_kk FROM regions"))
    g = g.merge(names, on="key", how="left")
    for c in ("name_en", "name_ru", "name_kk"):
        g[c] = g[c].fillna(g["key"])
    return g[cols].sort_values("key").reset_index(drop=True)


def cumulative_by_month(store, year: int, program: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Cumulative spending through ``year`` as a share of the year's plan, per program, by month.

    Quarterly lines count at the quarter's last month. Columns: program_code, month (1-12), spent (in the
    month), cum_spent, plan_year, cum_share_spent (cum_spent / plan_year; NaN after the latest month with
    spending and when the plan is missing), elapsed_share (month / 12). Programs with only annual lines are
    left out (there is no "through the year" to show).
    """
    df = lines(store, year, program, region)
    df = df[df["kind"] != "year"]
    cols = ["program_code", "month", "spent", "cum_spent", "plan_year", "cum_share_spent", "elapsed_share"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.assign(m=df["month"].fillna(df["quarter"] * 3).astype(int))
    plan = df.groupby("program_code")["plan"].sum(min_count=1)
    last = df[df["spent"].notna()].groupby("program_code")["m"].max()
    spent = df.groupby(["program_code", "m"])["spent"].sum(min_count=1)
    grid = pd.MultiIndex.from_product([plan.index, range(1, 13)], names=["program_code", "month"])
    out = spent.rename_axis(["program_code", "month"]).reindex(grid).rename("spent").reset_index()
    out["cum_spent"] = out.groupby("program_code")["spent"].transform(lambda s: s.fillna(0).cumsum())
    out["plan_year"] = out["program_code"].map(plan)
    out["last"] = out["program_code"].map(last)
    out["cum_share_spent"] = (out["cum_spent"] / out["plan_year"]).where(
        (out["month"] <= out["last"]) & (out["plan_year"] > 0))
    out["elapsed_share"] = out["month"] / 12.0
    return out[cols]


def cumulative_total(store, year: int, program: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Like :func:`cumulative_by_month` but all the chosen programs together (program_code '*')."""
    df = cumulative_by_month(store, year, program, region)
    if df.empty:
        return df
    last = df[df["cum_share_spent"].notna()]["month"].max()
    g = df.groupby("month", as_index=False).agg(spent=("spent", "sum"), plan_year=("plan_year", "first"))
    plans = df.drop_duplicates("program_code")["plan_year"].sum(min_count=1)
    g["cum_spent"] = g["spent"].cumsum()
    g["plan_year"] = plans
    g["cum_share_spent"] = (g["cum_spent"] / plans).where(g["month"] <= last) if plans and plans > 0 else np.nan
    g["elapsed_share"] = g["month"] / 12.0
    g["program_code"] = "*"
    return g[["program_code", "month", "spent", "cum_spent", "plan_year", "cum_share_spent", "elapsed_share"]]


def year_end_spikes(store, year: int, spike_share: float, region: str | None = None) -> pd.DataFrame:
    """Share of each program's spending in ``year`` made in Q4 (months 10-12 / the Q4 row), seed 000.

    Only a year whose data reach December (or Q4) is judged: before that the share is NaN ("no data yet").
    Columns: program_code, spent_year, spent_q4, q4_share, flagged (q4_share > spike_share), complete.
    """
    df = lines(store, year, None, region)
    df = df[df["kind"] != "year"]
    cols = ["program_code", "spent_year", "spent_q4", "q4_share", "flagged", "complete"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.assign(m=df["month"].fillna(df["quarter"] * 3).astype(int))
    df["q4"] = df["spent"].where(df["m"] >= 10)
    g = df.groupby("program_code").agg(spent_year=("spent", "sum"), spent_q4=("q4", "sum"),
                                       last=("m", lambda s: s[df.loc[s.index, "spent"].notna()].max()))
    g["complete"] = g["last"] >= 12
    with np.errstate(divide="ignore", invalid="ignore"):
        g["q4_share"] = (g["spent_q4"] / g["spent_year"]).where(g["complete"] & (g["spent_year"] > 0))
    g["flagged"] = (g["q4_share"] > float(spike_share)).fillna(False).astype(bool)
    return g.reset_index()[cols]


def efficiency(store, year: int, bands, region: str | None = None) -> pd.DataFrame:
    """Spending efficiency E and effectiveness K per program linked to indicators (METHODOLOGY.md section 5).

    mean_score = mean S of the linked indicators' plan-fact cells for the year (sac.metrics.plan_fact, the
    region's cells only when ``region`` is given); E = (mean_score / 100) / execution; K = (mean_score / 100)
    * min(E, 1); band of K: 'high' >= bands['high'], 'medium' >= bands['medium'], 'satisfactory' >=
    bands['satisfactory'], else 'unsatisfactory'; None when K is unknown.
    Columns: program_code, n_indicators, mean_score, execution, efficiency, effectiveness, band.
    """
    from sac.metrics import plan_fact as _pf

    bands = dict(bands)  # a dict or its items (hashable, for the cache)
    links = store.df("SELECT program_code, indicator_id FROM budget_program_indicators")
    cols = ["program_code", "n_indicators", "mean_score", "execution", "efficiency", "effectiveness", "band"]
    if links.empty:
        return pd.DataFrame(columns=cols)
    cells = _pf.plan_fact(store, str(int(year)), indicator_ids=sorted(links["indicator_id"].unique()),
                          unit_codes=[region] if region else None)
    scored = cells[cells["scored"].astype(bool)] if not cells.empty else cells
    per_ind = scored.groupby("indicator_id")["score"].mean().rename("ind_score").reset_index()
    m = links.merge(per_ind, on="indicator_id", how="left")
    g = m.groupby("program_code").agg(n_indicators=("indicator_id", "nunique"), mean_score=("ind_score", "mean"))
    ex = execution(store, year, "program", region=region).set_index("key")["execution"]
    g["execution"] = g.index.map(ex)
    with np.errstate(divide="ignore", invalid="ignore"):
        g["efficiency"] = (g["mean_score"] / 100.0) / g["execution"].where(g["execution"] > 0)
    g["effectiveness"] = (g["mean_score"] / 100.0) * np.minimum(g["efficiency"], 1.0)
    k = g["effectiveness"]
    g["band"] = np.select([k >= bands["high"], k >= bands["medium"], k >= bands["satisfactory"], k.notna()],
                          ["high", "medium", "satisfactory", "unsatisfactory"], default=None)
    g["band"] = g["band"].astype(object).where(k.notna(), None)
    return g.reset_index()[cols]


def conflicts(store, year: int | None = None, program: str | None = None) -> pd.DataFrame:
    """The same program and year carried with different amounts in different source documents (seed 001 Table 11).

    Amounts per (program, year, source document) are summed over the document's lines. A program-year is a
    conflict when two or more documents carry a plan (or, without plans, a spent amount) and the amounts
    differ. Columns: program_code, year, source_document, plan, allocated, spent, n_documents, spread
    (max - min of the plans), one row per document, every amount kept.
    """
    where, params = [], []
    if year is not None:
        where.append("p.year = ?")
        params.append(int(year))
    if program:
        where.append("b.program_code = ?")
        params.append(str(program))
    return store.df(f"""
        WITH docs AS (
            SELECT b.program_code, p.year, b.source_document,
                   sum(b.plan) AS plan, sum(b.allocated) AS allocated, sum(b.spent) AS spent
            FROM budget_lines b JOIN periods p ON p.code = b.period
            {'WHERE ' + ' AND '.join(where) if where else ''}
            GROUP BY ALL
        ),
        judged AS (
            SELECT *, count(*) OVER w AS n_documents,
                   max(coalesce(plan, spent)) OVER w - min(coalesce(plan, spent)) OVER w AS spread
            FROM docs WINDOW w AS (PARTITION BY program_code, year)
        )
        SELECT program_code, year, source_document, plan, allocated, spent, n_documents, spread
        FROM judged WHERE n_documents > 1 AND spread > 0
        ORDER BY year DESC, program_code, source_document
    """, params)
