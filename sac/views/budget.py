"""Data shaping for the Budget page (issue 4): filter options and frames ready for tables and charts.

Thin store readers and pure shaping; the metrics themselves (execution, spikes, efficiency, conflicts;
METHODOLOGY.md section 5) come from :mod:`sac.metrics.budget`. No streamlit. Amounts are million tenge
(budget_lines, 001_core.sql).
"""

from __future__ import annotations

import pandas as pd

from sac.metrics import budget as _b


def year_options(store) -> list[int]:
    """Years that have any budget line, newest first."""
    df = store.df("""
        SELECT DISTINCT p.year FROM budget_lines b JOIN periods p ON p.code = b.period ORDER BY p.year DESC
    """)
    return [int(y) for y in df["year"]]


def program_options(store) -> pd.DataFrame:
    """Every budget program that has lines, named or not. Columns: program_code, name_en, name_ru, name_kk,
    node_id, named (False for a program uploaded with its lines before its name: its names are then its code,
    never missing). Sorted by code."""
    return store.df("""
        SELECT c.program_code, coalesce(bp.name_en, c.program_code) AS name_en,
               coalesce(bp.name_ru, c.program_code) AS name_ru, coalesce(bp.name_kk, c.program_code) AS name_kk,
               bp.node_id, bp.program_code IS NOT NULL AS named
        FROM (SELECT DISTINCT program_code FROM budget_lines) c
        LEFT JOIN budget_programs bp ON bp.program_code = c.program_code
        ORDER BY c.program_code
    """)


def program_label(code, name, sep: str = " ") -> str:
    """A program as a reader sees it: '068 Enbek' (``sep`` between), or the code alone while it has no name
    (its name is its code, or missing)."""
    code = "" if code is None else str(code)
    if not isinstance(name, str) or not name.strip() or name == code:
        return code
    return f"{code}{sep}{name}"


def _program_names(store) -> pd.DataFrame:
    """program_code, name_en, name_ru, name_kk of every program with lines (the code where it has no name)."""
    return program_options(store)[["program_code", "name_en", "name_ru", "name_kk"]]


def unit_names(store) -> pd.DataFrame:
    """Every unit a budget line may name: regions and cities (KATO) and organisations (org_id).
    Columns: unit_code, name_en, name_ru, name_kk."""
    return store.df("""
        SELECT kato AS unit_code, name_en, name_ru, name_kk FROM regions
        UNION ALL
        SELECT org_id, name_en, name_ru, name_kk FROM organisations WHERE org_id NOT IN (SELECT kato FROM regions)
    """)


def _with_names(store, df: pd.DataFrame, *, units: bool = False) -> pd.DataFrame:
    """``df`` with its program's names (name_en/ru/kk) and, with ``units``, its unit's (unit_name_en/ru/kk); a
    code without a name is its own name, so nothing shown is ever missing."""
    out = df.merge(_program_names(store), on="program_code", how="left")
    for c in ("name_en", "name_ru", "name_kk"):
        out[c] = out[c].fillna(out["program_code"])
    if units:
        u = unit_names(store).rename(columns={c: f"unit_{c}" for c in ("name_en", "name_ru", "name_kk")})
        out = out.merge(u, on="unit_code", how="left")
        for c in ("unit_name_en", "unit_name_ru", "unit_name_kk"):
            out[c] = out[c].fillna(out["unit_code"])
    return out


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


def period_label(code) -> str:
    """A period code as a reader writes it: months '2026-10' as '10.2026' (the app's dd.mm.yyyy order);
    years and quarters ('2026', '2026-Q3') unchanged; missing as an em dash."""
    if not isinstance(code, str) or not code:
        return "—"
    year, _, rest = code.partition("-")
    return f"{rest}.{year}" if rest.isdigit() else code


# -- METHODOLOGY.md section 5 via sac.metrics.budget -------------------------------------------------------

def _units(region) -> list[str] | None:
    """``region`` may be one KATO code, several (a project office's scope), or None (all units)."""
    if region is None or region == "":
        return None
    return [str(region)] if isinstance(region, str) else [str(r) for r in region]


def lines(store, year: int | None, program: str | None = None, region=None) -> pd.DataFrame:
    """sac.metrics.budget.load_lines for ``year`` (None: all years), one program and/or region(s)."""
    return _b.load_lines(store, program_codes=[program] if program else None, unit_codes=_units(region),
                         year=None if year is None else int(year))


def totals(store, year: int, program: str | None = None, region=None) -> pd.DataFrame:
    """One row for the chosen filters: plan, revised, allocated, spent, execution, financing,
    spent_of_allocated, deviation, unspent (sac.metrics.budget.execution), latest_period (the latest
    period with spending, e.g. '2026-10'). Empty when there are no lines."""
    x = lines(store, year, program, region)
    if x.empty:
        return pd.DataFrame()
    out = _b.execution(x.assign(all="all"), by=("all",)).drop(columns="all")
    spent = x[x["spent"].notna()]
    out["latest_period"] = spent.sort_values(["end_date", "start_date"])["period"].iloc[-1] if len(spent) else None
    return out


def execution(store, year: int, by: str = "program", program: str | None = None, region=None) -> pd.DataFrame:
    """Execution per program or per region for ``year`` (sac.metrics.budget.execution, its rules).

    ``by``: 'program' or 'region' (regions and cities only; organisations' lines count in programs, not here).
    Columns: key (program code or KATO), name_en, name_ru, name_kk, plan, revised, allocated, spent,
    execution, financing, spent_of_allocated, deviation, unspent. Sorted by key.
    """
    if by not in ("program", "region"):
        raise ValueError("by must be 'program' or 'region'")
    x = lines(store, year, program, region)
    cols = ["key", "name_en", "name_ru", "name_kk", "plan", "revised", "allocated", "spent", "execution",
            "financing", "spent_of_allocated", "deviation", "unspent"]
    if by == "region":
        kato = store.df("SELECT kato AS key, name_en, name_ru, name_kk FROM regions")
        x = x[x["unit_code"].isin(kato["key"])]
    if x.empty:
        return pd.DataFrame(columns=cols)
    key = "program_code" if by == "program" else "unit_code"
    g = _b.execution(x, by=(key,)).rename(columns={key: "key"})
    names = (store.df("SELECT program_code AS key, name_en, name_ru, name_kk FROM budget_programs")
             if by == "program" else kato)
    g = g.merge(names, on="key", how="left")
    for c in ("name_en", "name_ru", "name_kk"):
        g[c] = g[c].fillna(g["key"])
    return g[cols].sort_values("key").reset_index(drop=True)


def cumulative_by_month(store, year: int, program: str | None = None, region=None,
                        together: bool = False) -> pd.DataFrame:
    """Cumulative execution through ``year`` against elapsed time (sac.metrics.budget.cumulative_by_month).

    Per program, or all the chosen programs as one line (``together``; program_code '*').
    Columns: program_code, month (1-12), spent_cum, annual_plan, cum_share_spent (spent_cum / annual plan),
    elapsed_share (month / 12).
    """
    x = lines(store, year, program, region)
    cols = ["program_code", "month", "spent_cum", "annual_plan", "cum_share_spent", "elapsed_share"]
    if x.empty or (x["kind"] == "year").all():
        return pd.DataFrame(columns=cols)
    out = _b.cumulative_by_month(x, int(year), by=("program_code",))
    out = out.rename(columns={"month_end": "month", "cum_execution": "cum_share_spent"})
    # Months after a program's latest spending are "not yet", not a flat line at the last total.
    seen = x[x["spent"].notna() & (x["kind"] != "year")]
    last = seen.assign(m=seen["month"].fillna(seen["quarter"] * 3)).groupby("program_code")["m"].max()
    out = out[out["month"] <= out["program_code"].map(last)]
    if together:
        # Summed per program first: relabelling every line '*' before the metric would let its one-document
        # rule keep a single program's lines (the line showed program 015 alone as "all programs").
        out = (out.groupby("month", as_index=False)[["spent_cum", "annual_plan"]].sum(min_count=1)
               .assign(program_code="*"))
        # a month counts only while every program still has data, so the sum never dips at a data edge
        n = seen["program_code"].nunique()
        have = out["month"].map(lambda m: int((last >= m).sum()))
        out = out[have == n]
        out["cum_share_spent"] = out["spent_cum"] / out["annual_plan"]
        out["elapsed_share"] = out["month"] / 12.0
    return out[out["spent_cum"].notna()][cols].reset_index(drop=True)


def year_end_spikes(store, year: int, region=None) -> pd.DataFrame:
    """Q4 (December) share of each program's spending in ``year`` (sac.metrics.budget.year_end_spike).

    Columns: program_code, name_en, name_ru, name_kk (the code when the program has no name), year, granularity,
    spent_year, spent_last, q4_share, flagged, threshold, complete (the data reach December / Q4; before that
    the share is not judged: q4_share NaN, not flagged), methodology_version.
    """
    x = lines(store, year, None, region)
    x = x[x["kind"] != "year"]
    if x.empty:
        return pd.DataFrame(columns=["program_code", "name_en", "name_ru", "name_kk", "year", "granularity",
                                     "spent_year", "spent_last", "q4_share", "flagged", "threshold", "complete",
                                     "methodology_version"])
    out = _b.year_end_spike(x, _methodology_of(store), by=("program_code",))
    last = x[x["spent"].notna()].assign(m=lambda d: d["month"].fillna(d["quarter"] * 3))
    complete = last.groupby("program_code")["m"].max() >= 12
    out["complete"] = out["program_code"].map(complete).fillna(False).astype(bool)
    out = out.rename(columns={"spike_share": "q4_share"})
    out["q4_share"] = out["q4_share"].where(out["complete"])
    out["flagged"] = out["flagged"].astype(bool) & out["complete"]
    return _with_names(store, out)


def _methodology_of(store):
    from sac.methodology import current

    return current(store)


def efficiency(store, year: int, region=None) -> pd.DataFrame:
    """E and K with bands per program for ``year`` (sac.metrics.budget), over the chosen region(s) when given.

    Columns: program_code, name_en, name_ru, name_kk (the code when the program has no name), year, n_indicators
    (linked), execution, mean_score, efficiency, effectiveness, band, methodology_version. Programs linked to no
    indicator are absent.
    """
    m = _methodology_of(store)
    x = lines(store, year, None, region)
    links = store.df("SELECT program_code, count(*) AS n_indicators FROM budget_program_indicators GROUP BY 1")
    if x.empty or links.empty:
        return pd.DataFrame(columns=["program_code", "name_en", "name_ru", "name_kk", "year", "n_indicators",
                                     "execution", "mean_score", "efficiency", "effectiveness", "band",
                                     "methodology_version"])
    ex = _b.execution(x, by=("program_code", "year"))[["program_code", "year", "execution"]]
    sc = _b.linked_scores(store, int(year), x, m)
    out = _b.efficiency_core(ex, sc, m).merge(links, on="program_code")
    return _with_names(store, out).sort_values("program_code").reset_index(drop=True)


def conflicts(store, program: str | None = None, region=None) -> pd.DataFrame:
    """Amounts of one program, unit and year carried differently in different documents (seed 001 Table 11), in
    every phase: plan, revised, allocated, spent.

    sac.metrics.budget.conflicts over every year, one row per document and disagreeing phase: program_code,
    name_en, name_ru, name_kk (the program's; its code when it has no name), subprogram_code, unit_code,
    unit_name_en, unit_name_ru, unit_name_kk (the region's or organisation's; the code when unknown), year, phase,
    source_document, amount, n_documents, min_amount, max_amount, spread. Newest year first.
    ``region``: one unit code, several (a project office's scope: only its units' rows), or None (all).
    """
    cols = ["program_code", "name_en", "name_ru", "name_kk", "subprogram_code", "unit_code", "unit_name_en",
            "unit_name_ru", "unit_name_kk", "year", "phase", "source_document", "amount", "n_documents", "min_amount",
            "max_amount", "spread"]
    x = lines(store, None, program, region)
    out = _b.conflicts(x) if not x.empty else pd.DataFrame()
    if out.empty:
        return pd.DataFrame(columns=cols)
    out = _with_names(store, out, units=True)
    order = out["phase"].map({p: i for i, p in enumerate(_b.AMOUNTS)})
    out = out.assign(_desc=-out["year"], _order=order)
    return (out.sort_values(["_desc", "program_code", "subprogram_code", "unit_code", "_order", "source_document"])
            [cols].reset_index(drop=True))
