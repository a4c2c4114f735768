"""Indicator quality audit (METHODOLOGY.md section 8; seed 001 ch. 2.1).

- Passport completeness: measurability and time limits need a unit, a direction, a
  baseline, a target with its year, a source document and a responsible official.
- Wrong-way targets (seed 001 Table 2: the share of the population below the
  subsistence minimum planned to go from 4.0 up to 8.0 in the 2017-2021 plan).
- One indicator, several targets (seed 001 Table 9: active SME growth planned at 3% a
  year by the MNE Strategic Plan and 9-10% by the "Enbek" Program for the same years).
- Upload outliers: modified z-score (Iglewicz and Hoaglin) against the unit's own history
  (neighbouring periods), with a 10 % materiality floor.
- Reporting completeness and timeliness per region and period (as DHIS2 reports them).
"""

from __future__ import annotations

import pandas as pd

from sac.methodology import current

PASSPORT_FIELDS = ("unit", "direction", "baseline", "target", "source", "responsible")


# ---------------------------------------------------------------------------
# Passport completeness
# ---------------------------------------------------------------------------

def passport_gaps(indicators: pd.DataFrame) -> pd.DataFrame:
    """Which passport fields each indicator lacks. Pure.

    Input: rows of ``indicators``. Six checks, each a ``missing_<field>`` boolean:
    ``unit`` (unit_of_measure), ``direction``, ``baseline`` (baseline value and year),
    ``target`` (target value and target year), ``source`` (source_document),
    ``responsible`` (responsible_official). Blank strings count as missing.
    Adds ``missing`` (the list of missing field names, in the order above),
    ``n_missing`` and ``completeness`` = share of the six present (0-1).
    """
    def blank(c):
        s = indicators[c]
        return s.isna() | (s.astype("string").str.strip() == "")

    out = indicators[["indicator_id", "name_en", "name_ru", "name_kk"]].copy()
    out["missing_unit"] = blank("unit_of_measure")
    out["missing_direction"] = blank("direction")
    out["missing_baseline"] = blank("baseline_value") | blank("baseline_year")
    out["missing_target"] = blank("target_value") | blank("target_year")
    out["missing_source"] = blank("source_document")
    out["missing_responsible"] = blank("responsible_official")
    flags = out[[f"missing_{f}" for f in PASSPORT_FIELDS]].astype(bool)
    flags.columns = list(PASSPORT_FIELDS)
    joined = pd.Series("", index=out.index, dtype="string")
    for f in PASSPORT_FIELDS:  # six columns, not rows
        joined = joined + flags[f].map({True: f + ",", False: ""}).astype("string")
    out["missing"] = joined.str.rstrip(",").str.split(",").map(lambda x: [] if x == [""] else x, na_action="ignore")
    out["n_missing"] = flags.sum(axis=1).astype(int)
    out["completeness"] = 1.0 - out["n_missing"] / len(PASSPORT_FIELDS)
    return out.reset_index(drop=True)


def passport_completeness(store) -> pd.DataFrame:
    """:func:`passport_gaps` of every indicator in the store, least complete first."""
    df = store.df("SELECT * FROM indicators ORDER BY indicator_id")
    out = passport_gaps(df)
    return out.sort_values(["completeness", "indicator_id"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Wrong-way targets
# ---------------------------------------------------------------------------

def wrong_way(plans: pd.DataFrame) -> pd.DataFrame:
    """Plans that move against the indicator's direction over the years. Pure.

    Input: ``indicator_id``, ``unit_code``, ``source_document``, ``year``, ``plan``,
    ``direction`` ('up'|'down'); one plan per (indicator, unit, document, year).

    Rule (per indicator, unit and source document, over its annual plans, at least two
    years): ``slope`` is the least-squares slope of plan on year; the oriented slope
    ``d*slope`` (d = +1 up, -1 down) below zero means the plan as a whole moves the wrong
    way, and the series is flagged ``wrong_way``. Year-over-year steps are reported too:
    ``n_wrong_steps`` (steps with ``d*(plan[y+1] - plan[y]) < 0``) and ``worst_step`` (the
    largest such step, in the indicator's unit, signed as planned). A single wrong step in
    an otherwise right-way series (for example a rebound in the last year) is listed by
    ``n_wrong_steps`` but not flagged.

    Columns: ``indicator_id``, ``unit_code``, ``source_document``, ``direction``,
    ``first_year``, ``last_year``, ``first_plan``, ``last_plan``, ``n_years``, ``slope``,
    ``n_wrong_steps``, ``worst_step``, ``wrong_way``.
    """
    keys = ["indicator_id", "unit_code", "source_document"]
    d = plans[plans["plan"].notna() & plans["direction"].isin(["up", "down"])].copy()
    d = d.sort_values([*keys, "year"])
    d["sign"] = d["direction"].map({"up": 1.0, "down": -1.0})
    d["year"] = d["year"].astype("float64")
    d["plan"] = d["plan"].astype("float64")
    g = d.groupby(keys, sort=True)
    d["step"] = g["plan"].diff()
    d["wrong_step"] = (d["sign"] * d["step"]) < 0
    d["abs_wrong"] = d["step"].abs().where(d["wrong_step"])
    # least squares on centred values (no cancellation): slope = S(dx*dy) / S(dx^2)
    dx = d["year"] - g["year"].transform("mean")
    dy = d["plan"] - g["plan"].transform("mean")
    d["dxy"] = dx * dy
    d["dxx"] = dx * dx
    d["absplan"] = d["plan"].abs()
    agg = g.agg(direction=("direction", "first"), sign=("sign", "first"), n_years=("year", "count"),
                first_year=("year", "first"), last_year=("year", "last"),
                first_plan=("plan", "first"), last_plan=("plan", "last"),
                sxy=("dxy", "sum"), sxx=("dxx", "sum"), scale=("absplan", "max"),
                n_wrong_steps=("wrong_step", "sum"))
    idx = d["abs_wrong"].dropna().index
    worst = d.loc[idx].sort_values("abs_wrong").groupby(keys)["step"].last()
    slope = (agg["sxy"] / agg["sxx"].where(agg["sxx"] > 0)).astype("float64")
    # a flat plan is flat: rounding noise below 1e-9 of the plan's size is no slope
    agg["slope"] = slope.where(slope.abs() > 1e-9 * (agg["scale"] + 1.0), 0.0).where(slope.notna())
    agg["worst_step"] = worst.reindex(agg.index).astype("float64")
    agg["wrong_way"] = (agg["sign"] * agg["slope"]) < 0
    agg = agg[agg["n_years"] >= 2].reset_index()
    for c in ("first_year", "last_year"):
        agg[c] = agg[c].astype(int)
    agg["n_wrong_steps"] = agg["n_wrong_steps"].astype(int)
    cols = [*keys, "direction", "first_year", "last_year", "first_plan", "last_plan", "n_years", "slope",
            "n_wrong_steps", "worst_step", "wrong_way"]
    return agg[cols]


def wrong_way_targets(store, *, flagged_only: bool = True) -> pd.DataFrame:
    """:func:`wrong_way` over the annual plans in ``indicator_values`` (each source document separately)."""
    plans = store.df("""
        SELECT v.indicator_id, v.unit_code, v.source_document, p.year, v.plan, i.direction
        FROM indicator_values v JOIN indicators i USING (indicator_id) JOIN periods p ON p.code = v.period
        WHERE p.kind = 'year' AND v.plan IS NOT NULL""")
    out = wrong_way(plans)
    if flagged_only:
        out = out[out["wrong_way"]]
    out = out.reset_index(drop=True)
    out["methodology_version"] = current(store).version
    return out


# ---------------------------------------------------------------------------
# One indicator, several targets
# ---------------------------------------------------------------------------

def several_targets(values: pd.DataFrame, *, rel_tol: float = 1e-9) -> pd.DataFrame:
    """Cells whose plan differs between source documents (seed 001 Table 9). Pure.

    Input: rows of ``indicator_values`` (``indicator_id``, ``unit_code``, ``period``,
    ``source_document``, ``plan``). A cell (indicator, unit, period) is in conflict when at
    least two documents carry a plan and the plans differ (beyond ``rel_tol`` relative).
    Output: one row per conflicting cell and document, listing each plan:
    ``indicator_id``, ``unit_code``, ``period``, ``source_document``, ``plan``,
    ``n_documents``, ``plan_min``, ``plan_max``, ``spread`` (max - min).
    """
    keys = ["indicator_id", "unit_code", "period"]
    d = values[values["plan"].notna()].copy()
    d["plan"] = d["plan"].astype("float64")
    g = d.groupby(keys)["plan"]
    d["n_documents"] = g.transform("count")
    d["plan_min"] = g.transform("min")
    d["plan_max"] = g.transform("max")
    d["spread"] = d["plan_max"] - d["plan_min"]
    scale = d[["plan_min", "plan_max"]].abs().max(axis=1)
    conflict = (d["n_documents"] >= 2) & (d["spread"] > rel_tol * scale)
    cols = [*keys, "source_document", "plan", "n_documents", "plan_min", "plan_max", "spread"]
    return d.loc[conflict, cols].sort_values([*keys, "source_document"]).reset_index(drop=True)


def several_targets_in_store(store) -> pd.DataFrame:
    """:func:`several_targets` over ``indicator_values``, with the indicator's own source document
    (``passport_source``) and whether each row is that one (``is_passport_source``)."""
    values = store.df("SELECT indicator_id, unit_code, period, source_document, plan FROM indicator_values")
    out = several_targets(values)
    src = store.df("SELECT indicator_id, source_document AS passport_source FROM indicators")
    out = out.merge(src, on="indicator_id", how="left")
    out["is_passport_source"] = out["source_document"] == out["passport_source"]
    return out


# ---------------------------------------------------------------------------
# Upload outliers: modified z-score
# ---------------------------------------------------------------------------

# Neighbours: each fact's history is the same indicator and unit's facts of the same period
# kind within +-WINDOW positions of it (itself included), so a lasting change of level
# (inflation through 2022) is history, not an outlier, while a one-period slip stands out.
WINDOW = {"year": 3, "quarter": 4, "month": 6}  # "year" is the default; the methodology's outlier_window_years wins

_OUTLIER_SQL = """
WITH f AS (
    SELECT v.indicator_id, v.unit_code, v.period, v.source_document, v.fact, v.batch_id, p.kind AS period_kind,
           row_number() OVER (PARTITION BY v.indicator_id, v.unit_code, p.kind
                              ORDER BY p.start_date, v.source_document) AS rn
    FROM indicator_values v JOIN periods p ON p.code = v.period
    WHERE v.fact IS NOT NULL
),
nb AS (
    SELECT a.indicator_id, a.unit_code, a.period_kind, a.rn, b.fact AS nfact
    FROM f a JOIN f b
      ON a.indicator_id = b.indicator_id AND a.unit_code = b.unit_code AND a.period_kind = b.period_kind
     AND abs(a.rn - b.rn) <= CASE a.period_kind WHEN 'year' THEN ? WHEN 'quarter' THEN ? ELSE ? END
),
med AS (
    SELECT indicator_id, unit_code, period_kind, rn, median(nfact) AS median, count(*) AS n_history
    FROM nb GROUP BY ALL
),
dev AS (
    SELECT nb.indicator_id, nb.unit_code, nb.period_kind, nb.rn,
           median(abs(nb.nfact - m.median)) AS mad, avg(abs(nb.nfact - m.median)) AS meanad
    FROM nb JOIN med m USING (indicator_id, unit_code, period_kind, rn) GROUP BY ALL
)
SELECT f.* EXCLUDE (rn), m.median, m.n_history, d.mad, d.meanad
FROM f JOIN med m USING (indicator_id, unit_code, period_kind, rn)
       JOIN dev d USING (indicator_id, unit_code, period_kind, rn)
"""


def modified_z(df: pd.DataFrame) -> pd.Series:
    """Modified z-score of ``fact`` given ``median``, ``mad`` and ``meanad`` of its history.

    ``M = 0.6745*(x - median)/MAD``. When MAD = 0 (more than half the history is one
    value) the mean absolute deviation is used instead, ``M = (x - median)/(1.253314*MeanAD)``
    (the usual fallback; 1.253314 = sqrt(pi/2) makes it consistent with the sd for normal
    data). When both are 0 every value equals the median and M = 0.
    """
    x = df["fact"].astype("float64") - df["median"].astype("float64")
    mad = df["mad"].astype("float64")
    meanad = df["meanad"].astype("float64")
    z_mad = 0.6745 * x / mad.where(mad > 0)
    z_mean = x / (1.253314 * meanad.where(meanad > 0))
    return z_mad.fillna(z_mean).fillna(0.0).where(df["fact"].notna())


def upload_outliers(store, *, batch_id: int | None = None, min_history: int = 4,
                    threshold: float | None = None, min_rel_dev: float | None = None) -> pd.DataFrame:
    """Facts that stand out from the same indicator and unit's own history: flagged for
    confirmation, never dropped (section 8).

    - History: the facts of that indicator and unit, same period kind, within
      config ``quality.outlier_window_years`` (3) years either side for annual data, and
      :data:`WINDOW` positions (4 quarters, 6 months) for quarterly and monthly data, all
      source documents, the fact itself included; fewer than ``min_history`` facts -> z is NaN.
    - ``z``: :func:`modified_z` against that history's median and MAD.
    - Flagged when ``|z|`` exceeds the threshold (config ``quality.outlier_z``, 3.5) and the
      fact differs from the median by more than ``min_rel_dev`` (config
      ``quality.outlier_min_rel_dev``, 10 %) of it. The second
      test is a materiality floor: the check is for upload slips (a misplaced digit,
      thousands for units, a share for a percent), which move a value far more than 10 %;
      series of near-identical values otherwise have a MAD so small that ordinary noise
      scores above 3.5. ``min_rel_dev=0`` gives the bare z rule.

    ``batch_id`` keeps the facts last written by that upload.
    Columns: ``indicator_id``, ``unit_code``, ``period``, ``source_document``, ``fact``,
    ``batch_id``, ``period_kind``, ``median``, ``n_history``, ``mad``, ``meanad``, ``z``,
    ``rel_dev`` (|fact - median| / |median|), ``outlier`` (bool), ``threshold``,
    ``methodology_version``; only outliers are returned, largest |z| first.
    """
    m = current(store)
    qc = m.config["quality"]
    limit = float(threshold if threshold is not None else qc["outlier_z"])
    min_rel_dev = float(min_rel_dev if min_rel_dev is not None else qc["outlier_min_rel_dev"])
    df = store.df(_OUTLIER_SQL, [int(qc["outlier_window_years"]), WINDOW["quarter"], WINDOW["month"]])
    if batch_id is not None:
        df = df[df["batch_id"] == batch_id]
    df["z"] = modified_z(df).where(df["n_history"] >= min_history)
    dev = (df["fact"] - df["median"]).abs()
    med = df["median"].abs()
    df["rel_dev"] = dev / med.where(med > 0)
    material = (dev > min_rel_dev * med) | (med == 0)
    df["outlier"] = (df["z"].abs() > limit) & material
    out = df[df["outlier"]].copy()
    out["threshold"] = limit
    out["methodology_version"] = m.version
    out = out.assign(_a=out["z"].abs()).sort_values(["_a", "indicator_id"], ascending=[False, True])
    return out.drop(columns=["_a"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Reporting completeness and timeliness
# ---------------------------------------------------------------------------

_REPORTING_SQL = """
WITH cells AS (
    SELECT v.unit_code, v.period, v.indicator_id,
           bool_or(v.plan IS NOT NULL) AS has_plan,
           bool_or(v.fact IS NOT NULL) AS has_fact,
           min(b.uploaded_at) FILTER (WHERE v.fact IS NOT NULL) AS fact_uploaded_at
    FROM indicator_values v
    LEFT JOIN upload_batches b ON b.batch_id = v.batch_id AND b.status = 'committed'
    GROUP BY 1, 2, 3
)
SELECT c.unit_code, c.period, p.kind AS period_kind, p.end_date,
       count(*) FILTER (WHERE c.has_plan) AS expected,
       count(*) FILTER (WHERE c.has_plan AND c.has_fact) AS reported,
       count(*) FILTER (WHERE c.has_fact AND c.fact_uploaded_at IS NOT NULL) AS with_upload_time,
       count(*) FILTER (WHERE c.has_fact AND c.fact_uploaded_at IS NOT NULL
                        AND c.fact_uploaded_at < p.end_date + (? + 1) * INTERVAL 1 DAY) AS on_time,
       max(c.fact_uploaded_at) AS last_upload
FROM cells c JOIN periods p ON p.code = c.period
WHERE c.unit_code IN (SELECT kato FROM regions)
GROUP BY ALL
ORDER BY c.period, c.unit_code
"""


def reporting(store, *, period: str | None = None, grace_days: int = 30) -> pd.DataFrame:
    """Completeness and timeliness of reporting per region and period (DHIS2-style).

    - Expected cells: (indicator, region, period) with a plan: a plan is what obliges a
      report. ``completeness`` = cells with a plan and a fact / cells with a plan (0-1;
      NaN when nothing was expected).
    - Timeliness: a fact is on time when the upload batch that wrote it was uploaded no
      later than ``grace_days`` (default 30) days after the period's end date.
      ``timeliness`` = facts on time / facts whose upload time is known (facts written
      without a batch, or by a rolled-back batch, have no known time and are left out).
      Caveat: the batch is the last one to write the row, so a later correction of an
      on-time figure counts as late.

    Columns: ``unit_code``, ``period``, ``period_kind``, ``end_date``, ``expected``,
    ``reported``, ``completeness``, ``with_upload_time``, ``on_time``, ``timeliness``,
    ``last_upload``, ``grace_days``.
    """
    df = store.df(_REPORTING_SQL, [int(grace_days)])
    if period is not None:
        df = df[df["period"] == period].reset_index(drop=True)
    exp = df["expected"].astype("float64")
    known = df["with_upload_time"].astype("float64")
    df["completeness"] = df["reported"] / exp.where(exp > 0)
    df["timeliness"] = df["on_time"] / known.where(known > 0)
    df["grace_days"] = grace_days
    return df[["unit_code", "period", "period_kind", "end_date", "expected", "reported", "completeness",
               "with_upload_time", "on_time", "timeliness", "last_upload", "grace_days"]]
