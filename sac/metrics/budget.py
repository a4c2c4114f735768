"""Budget: METHODOLOGY.md section 5. Amounts in million tenge (budget_lines).

Pure functions over a *lines* frame, store readers beside them. A lines frame has:
program_code, subprogram_code, unit_code, period, source_document, plan, revised,
allocated, spent, and the period's kind, year, quarter, month (from :func:`load_lines`).

Rules this module commits to:

- **One document per line.** budget_lines may carry the same program, subprogram, unit
  and period in several source documents; for execution one is used: the first by
  name (the empty default document first). Different amounts across documents, in any
  phase (plan, revised, allocated, spent), are surfaced by :func:`conflicts` (seed 001
  Table 11), never summed or averaged.
- **No double counting across periodicities.** Within one program, subprogram, unit and
  year, amounts come from the *finest* kind present (month, else quarter, else year).
  The *annual plan* is the year row's plan when there is one, else the sum of the
  sub-period plans. When the finest rows carry spending but no plan at all, execution is
  against the year row's plan (:func:`execution`).
- **Ratios** (execution = spent/plan, financing = allocated/plan, spent_of_allocated =
  spent/allocated) are NaN when the denominator is 0 or missing; sums of all-missing
  values stay missing, never 0. ``deviation`` = spent - plan; ``unspent`` = allocated - spent
  (money received and not spent).
- **Year-end spike** (seed 000): share of the year's spending made in Q4, or in December
  when the data are monthly; flagged above ``budget.spike_share`` (0.40).
- **Efficiency** per program and year: ``E = (mean S / 100) / execution`` where mean S is
  the mean plan-fact score of the program's linked indicators (budget_program_indicators)
  that year over the units the program spends in; ``K = (mean S / 100) * min(E, 1)``;
  bands high/medium/satisfactory/unsatisfactory by K.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac import methodology as _methodology

KEY = ["program_code", "subprogram_code", "unit_code"]
AMOUNTS = ["plan", "revised", "allocated", "spent"]
_KIND_ORDER = {"month": 0, "quarter": 1, "year": 2}


def _div(a, b):
    a = pd.to_numeric(a, errors="coerce").astype(float)
    b = pd.to_numeric(b, errors="coerce").astype(float)
    return a / b.where(b != 0)


def _sum(g, cols):
    return g[cols].sum(min_count=1)


def one_document(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (program, subprogram, unit, period): the first source document by name.

    Also coerces the amounts to float (None -> NaN) so sums of missing stay missing.
    """
    lines = lines.assign(**{c: pd.to_numeric(lines[c], errors="coerce").astype(float) for c in AMOUNTS if c in lines})
    if "source_document" not in lines:
        return lines
    ordered = lines.sort_values("source_document", kind="stable")
    return ordered.drop_duplicates(KEY + ["period"], keep="first")


def finest(lines: pd.DataFrame) -> pd.DataFrame:
    """Rows of the finest period kind present per (program, subprogram, unit, year)."""
    rank = lines["kind"].map(_KIND_ORDER)
    best = rank.groupby([lines[k] for k in KEY] + [lines["year"]]).transform("min")
    return lines[rank == best]


def annual_plan(lines: pd.DataFrame) -> pd.DataFrame:
    """Annual plan per program, subprogram, unit, year: the year row's plan, else the sum of sub-periods."""
    year_rows = lines[lines["kind"] == "year"].groupby(KEY + ["year"])["plan"].sum(min_count=1)
    sub = lines[lines["kind"] != "year"].groupby(KEY + ["year"])["plan"].sum(min_count=1)
    out = year_rows.combine_first(sub).rename("annual_plan").reset_index()
    return out


def execution(lines: pd.DataFrame, by=("program_code", "unit_code", "year")) -> pd.DataFrame:
    """Execution per group of ``by`` (any of program_code, subprogram_code, unit_code, year, period).

    Columns: the ``by`` columns, plan, revised, allocated, spent, execution, financing,
    spent_of_allocated, deviation, unspent.
    """
    by = list(by)
    if "period" in by:
        x = one_document(lines)
    else:
        x = _with_annual_plan(one_document(lines))
    g = _sum(x.groupby(by, dropna=False), AMOUNTS).reset_index()
    return _ratios(g)


def _with_annual_plan(lines: pd.DataFrame) -> pd.DataFrame:
    """Finest rows, plus the year row's plan where the finest (sub-annual) rows carry no plan at all.

    A program reported monthly with spending only, whose plan sits on the year row, is
    executed against that annual plan (module rule "annual plan"); rows with their own
    plan keep it, so nothing is counted twice.
    """
    x = finest(lines)
    sub = x[x["kind"] != "year"]
    if sub.empty:
        return x
    no_plan = sub.groupby(KEY + ["year"], dropna=False)["plan"].count().loc[lambda c: c == 0].reset_index()
    if no_plan.empty:
        return x
    year_rows = lines[(lines["kind"] == "year") & lines["plan"].notna()]
    add = year_rows.merge(no_plan[KEY + ["year"]], on=KEY + ["year"])
    add = add.assign(**{c: np.nan for c in AMOUNTS if c != "plan" and c in add})
    return pd.concat([x, add], ignore_index=True)


def _ratios(g: pd.DataFrame) -> pd.DataFrame:
    g["execution"] = _div(g["spent"], g["plan"])
    g["financing"] = _div(g["allocated"], g["plan"])
    g["spent_of_allocated"] = _div(g["spent"], g["allocated"])
    g["deviation"] = g["spent"] - g["plan"]
    g["unspent"] = g["allocated"] - g["spent"]
    return g


def execution_ytd(lines: pd.DataFrame, period_end, by=("program_code", "unit_code")) -> pd.DataFrame:
    """Year-to-date execution up to and including ``period_end`` (a date), against the annual plan too.

    Columns: ``by``, year, plan (YTD), allocated, spent, execution (spent / YTD plan), financing,
    spent_of_allocated, deviation, unspent, annual_plan, execution_of_annual (spent / annual plan).
    """
    by = list(by)
    end = pd.Timestamp(period_end)
    x = finest(one_document(lines))
    x = x[(x["year"] == end.year) & (pd.to_datetime(x["end_date"]) <= end)]
    g = _ratios(_sum(x.groupby(by + ["year"], dropna=False), AMOUNTS).reset_index())
    ap = annual_plan(one_document(lines))
    ap = ap[ap["year"] == end.year].groupby(by + ["year"], dropna=False)["annual_plan"].sum(min_count=1).reset_index()
    g = g.merge(ap, on=by + ["year"], how="left")
    g["execution_of_annual"] = _div(g["spent"], g["annual_plan"])
    return g


def year_end_spike(lines: pd.DataFrame, config=None, by=("program_code", "unit_code")) -> pd.DataFrame:
    """Share of the year's spending in Q4 (December for monthly data), flagged above spike_share.

    Only groups with sub-annual data. Columns: ``by``, year, granularity ('quarter'|'month'),
    spent_year, spent_last (Q4 or December), spike_share, flagged (bool), threshold, methodology_version.
    """
    cfg, version = _methodology.resolve(config)
    threshold = float(cfg["budget"]["spike_share"])
    by = list(by)
    x = finest(one_document(lines))
    x = x[x["kind"] != "year"].copy()
    last = np.where(x["kind"] == "month", x["month"] == 12, x["quarter"] == 4)
    x["spent_last"] = x["spent"].where(last)
    x["gran"] = x["kind"]
    g = x.groupby(by + ["year"], dropna=False).agg(
        spent_year=("spent", lambda s: s.sum(min_count=1)),
        spent_last=("spent_last", lambda s: s.sum(min_count=1)),
        granularity=("gran", "min"),
    ).reset_index() if len(x) else pd.DataFrame(columns=by + ["year", "spent_year", "spent_last", "granularity"])
    g["spike_share"] = _div(g["spent_last"], g["spent_year"])
    g["flagged"] = (g["spike_share"] > threshold).fillna(False).astype(bool)
    g["threshold"] = threshold
    g["methodology_version"] = version
    return g


def cumulative_by_month(lines: pd.DataFrame, year: int, by=("program_code",)) -> pd.DataFrame:
    """Cumulative execution through the year against the elapsed share of the year (for a chart).

    One row per group and month end with data (months 3, 6, 9, 12 for quarterly data).
    ``spent_cum`` (and ``cum_execution``) is NaN after the group's last month with spending
    data: months not reported yet are unknown, never drawn as flat. Columns: ``by``, month, spent_cum, annual_plan, cum_execution (spent_cum / annual_plan),
    elapsed_share (month / 12).
    """
    by = list(by)
    x = finest(one_document(lines))
    x = x[(x["year"] == year) & (x["kind"] != "year")].copy()
    x["month_end"] = np.where(x["kind"] == "month", x["month"], x["quarter"] * 3).astype(int)
    m = x.groupby(by + ["month_end"], dropna=False)["spent"].sum(min_count=1).reset_index()
    m = m.sort_values(by + ["month_end"])
    m["spent_cum"] = m.groupby(by, dropna=False)["spent"].transform(lambda s: s.fillna(0).cumsum())
    # after the group's last month with spending data nothing is known yet: NaN, not a flat line
    has = m["spent"].notna().astype(int)
    reported_from_here = has.iloc[::-1].groupby([m[c] for c in by], dropna=False).cumsum()  # aligned on index
    m.loc[reported_from_here.reindex(m.index) == 0, "spent_cum"] = np.nan
    ap = annual_plan(one_document(lines))
    ap = ap[ap["year"] == year].groupby(by, dropna=False)["annual_plan"].sum(min_count=1).reset_index()
    m = m.merge(ap, on=by, how="left").rename(columns={"month_end": "month"})
    m["cum_execution"] = _div(m["spent_cum"], m["annual_plan"])
    m["elapsed_share"] = m["month"] / 12.0
    return m[by + ["month", "spent_cum", "annual_plan", "cum_execution", "elapsed_share"]].reset_index(drop=True)


def efficiency_core(executions: pd.DataFrame, scores: pd.DataFrame, config=None) -> pd.DataFrame:
    """E and K per program and year. Pure.

    ``executions``: program_code, year, execution. ``scores``: program_code, year, mean_score
    (mean S of linked indicators, 0-100), optionally n_scored.
    Columns: program_code, year, execution, mean_score, efficiency (E), effectiveness (K),
    band ('high'|'medium'|'satisfactory'|'unsatisfactory'|None when K is unknown), methodology_version.
    """
    cfg, version = _methodology.resolve(config)
    bands = cfg["budget"]["bands"]
    df = executions.merge(scores, on=["program_code", "year"], how="outer")
    s = pd.to_numeric(df["mean_score"], errors="coerce").astype(float) / 100.0
    df["efficiency"] = _div(s, df["execution"])
    df["effectiveness"] = s * np.minimum(df["efficiency"], 1.0)
    k = np.round(df["effectiveness"].to_numpy(dtype=float), 12)  # 0.9 * 1.0 must band as 0.9
    band = np.select([np.isnan(k), k >= bands["high"], k >= bands["medium"], k >= bands["satisfactory"]],
                     [None, "high", "medium", "satisfactory"], default="unsatisfactory")
    df["band"] = pd.Series(band, index=df.index, dtype=object)
    df["methodology_version"] = version
    return df


_ANNUAL_FIRST = {"year": 0, "month": 1, "quarter": 2}


def _document_year_amounts(x: pd.DataFrame) -> pd.DataFrame:
    """One amount per (program, subprogram, unit, year, document) from rows carrying it: the document's year row
    when it has one, else the sum of its finest sub-period rows (a document with both is not counted twice)."""
    group = KEY + ["year", "source_document"]
    if "kind" in x:
        rank = x["kind"].map(_ANNUAL_FIRST).fillna(3)
        x = x[rank == rank.groupby([x[c] for c in group], dropna=False).transform("min")]
    return x.groupby(group, dropna=False)["amount"].sum().reset_index()


def conflicts(lines: pd.DataFrame, amounts=AMOUNTS) -> pd.DataFrame:
    """Same program (and subprogram, unit) and year with a different amount in different documents.

    Every phase in ``amounts`` (one name or several; default plan, revised, allocated and spent) is checked
    on its own: per document and year the phase's amount is the document's year row, else the sum of its
    finest sub-period rows; a group is a conflict in that phase when two or more documents carry it with
    different amounts. Documents that leave a phase empty take no part in it. Returns every disagreeing
    amount with its source: program_code, subprogram_code, unit_code, year, phase ('plan', 'revised',
    'allocated' or 'spent'), source_document, amount, n_documents, min_amount, max_amount, spread (max - min);
    sorted by program, subprogram, unit, year, phase (in that order of phases), document.
    """
    phases = [amounts] if isinstance(amounts, str) else list(amounts)
    cols = KEY + ["year", "phase", "source_document", "amount", "n_documents", "min_amount", "max_amount", "spread"]
    parts = []
    for phase in phases:
        if phase not in lines:
            continue
        x = lines.assign(amount=pd.to_numeric(lines[phase], errors="coerce").astype(float)).dropna(subset=["amount"])
        if x.empty:
            continue
        per_doc = _document_year_amounts(x)
        grp = per_doc.groupby(KEY + ["year"], dropna=False)["amount"]
        per_doc["n_documents"] = grp.transform("size")
        per_doc["min_amount"] = grp.transform("min")
        per_doc["max_amount"] = grp.transform("max")
        per_doc["spread"] = per_doc["max_amount"] - per_doc["min_amount"]
        parts.append(per_doc[(per_doc["n_documents"] > 1) & ~np.isclose(per_doc["spread"], 0.0)].assign(phase=phase))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    out["_order"] = out["phase"].map({p: i for i, p in enumerate(AMOUNTS)})
    return out.sort_values(KEY + ["year", "_order", "source_document"])[cols].reset_index(drop=True)


# -- store ---------------------------------------------------------------------------

def load_lines(store, *, program_codes=None, unit_codes=None, year: int | None = None) -> pd.DataFrame:
    """budget_lines joined with periods and program names. Columns: program_code, subprogram_code,
    unit_code, period, source_document, plan, revised, allocated, spent, kind, year, quarter, month,
    start_date, end_date, program_name_en/ru/kk (the program's code when budget_programs has no row for it:
    never missing), node_id."""
    where, params = [], []
    if program_codes is not None:
        where.append("list_contains(?, b.program_code)")
        params.append([str(x) for x in program_codes])
    if unit_codes is not None:
        where.append("list_contains(?, b.unit_code)")
        params.append([str(x) for x in unit_codes])
    if year is not None:
        where.append("p.year = ?")
        params.append(int(year))
    return store.df(
        "SELECT b.program_code, b.subprogram_code, b.unit_code, b.period, b.source_document, "
        "b.plan, b.revised, b.allocated, b.spent, p.kind, p.year, p.quarter, p.month, p.start_date, p.end_date, "
        # a programme with no row in budget_programs (uploaded lines before its name) is named by its code
        "coalesce(bp.name_en, b.program_code) AS program_name_en, "
        "coalesce(bp.name_ru, b.program_code) AS program_name_ru, "
        "coalesce(bp.name_kk, b.program_code) AS program_name_kk, bp.node_id "
        "FROM budget_lines b JOIN periods p ON p.code = b.period "
        "LEFT JOIN budget_programs bp ON bp.program_code = b.program_code "
        + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY b.program_code, b.unit_code, p.start_date",
        params)


def linked_scores(store, year: int, lines: pd.DataFrame | None = None, methodology=None) -> pd.DataFrame:
    """Mean plan-fact score S of each program's linked indicators for ``year``, over the units the
    program spends in that year. Columns: program_code, year, mean_score, n_scored."""
    from sac.metrics.plan_fact import plan_fact
    links = store.df("SELECT program_code, indicator_id FROM budget_program_indicators")
    if links.empty:
        return pd.DataFrame(columns=["program_code", "year", "mean_score", "n_scored"])
    pf = plan_fact(store, str(year), indicator_ids=links["indicator_id"].unique().tolist(), methodology=methodology)
    lines = load_lines(store, year=year) if lines is None else lines[lines["year"] == year]
    units = lines[["program_code", "unit_code"]].drop_duplicates()
    x = links.merge(pf[pf["scored"]][["indicator_id", "unit_code", "score"]], on="indicator_id")
    x = x.merge(units, on=["program_code", "unit_code"])
    g = x.groupby("program_code").agg(mean_score=("score", "mean"), n_scored=("score", "size")).reset_index()
    g["year"] = year
    return g[["program_code", "year", "mean_score", "n_scored"]]


def efficiency(store, year: int, methodology=None) -> pd.DataFrame:
    """E and K per budget program for ``year`` (store wrapper of :func:`efficiency_core`)."""
    m = methodology if methodology is not None else _methodology.current(store)
    lines = load_lines(store, year=year)
    ex = execution(lines, by=("program_code", "year"))[["program_code", "year", "execution"]]
    sc = linked_scores(store, year, lines, m)
    return efficiency_core(ex, sc, m)
