"""Data shaping for the Data quality page (issue 4, page 7; METHODOLOGY.md section 8, seed 001 ch. 2.1).

The checks themselves come from :mod:`sac.metrics.quality` (reporting completeness and timeliness, passport
completeness, wrong-way targets = seed 001 Table 2, one indicator with several targets = seed 001 Table 9,
modified z-score outliers); here they are named, scoped to a project office's regions and summarised.
No streamlit. ``units`` is a tuple of KATO codes (or org ids) or None for all.
"""

from __future__ import annotations

import pandas as pd

from sac.metrics import quality as _quality

NAME_COLS = ("name_en", "name_ru", "name_kk")
KINDS = ("year", "quarter", "month")
#: Groupings of the reporting table: per region, or per project office (the office of the region).
REPORTING_BY = ("region", "office")


def _in_units(s: pd.Series, units) -> pd.Series:
    if units is None:
        return pd.Series(True, index=s.index)
    return s.astype("string").isin([str(u) for u in units]).fillna(False).astype(bool)


def _unit_names(store) -> pd.DataFrame:
    """unit_code, name_en/ru/kk of every region (KATO) and organisation (org_id)."""
    return store.df("""
        SELECT kato AS unit_code, name_en, name_ru, name_kk FROM regions
        UNION ALL SELECT org_id, name_en, name_ru, name_kk FROM organisations""")


def _indicator_names(store) -> pd.DataFrame:
    return store.df("SELECT indicator_id, name_en AS ind_name_en, name_ru AS ind_name_ru, name_kk AS ind_name_kk, "
                    "unit_of_measure FROM indicators")


def _with_unit_names(df: pd.DataFrame, store) -> pd.DataFrame:
    names = _unit_names(store).rename(columns={c: f"unit_{c}" for c in NAME_COLS})
    out = df.merge(names, on="unit_code", how="left")
    for c in NAME_COLS:
        out[f"unit_{c}"] = out[f"unit_{c}"].fillna(out["unit_code"])
    return out


# -- reporting completeness and timeliness ------------------------------------------------------------------------

def reporting_periods(store, kind: str = "year") -> list[str]:
    """Periods of ``kind`` for which some report was expected (a plan exists) and whose end has passed
    at least in part of the data: those with any reported fact; newest first."""
    df = _quality.reporting(store)
    df = df[(df["period_kind"] == kind) & (df["reported"] > 0)]
    return sorted(df["period"].astype(str).unique().tolist(), reverse=True)


def project_offices(store) -> pd.DataFrame:
    """Regional project offices: ``region_kato``, ``office_id``, office name_en/ru/kk (one office per region,
    the first by id when a region has several)."""
    return store.df("""
        SELECT region_kato, min(org_id) AS office_id,
               arg_min(name_en, org_id) AS name_en, arg_min(name_ru, org_id) AS name_ru,
               arg_min(name_kk, org_id) AS name_kk
        FROM organisations WHERE kind = 'project_office' AND region_kato IS NOT NULL GROUP BY region_kato""")


def rollup_reporting(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Sum ``sac.metrics.quality.reporting`` rows over ``key`` (and period) and recompute the shares. Pure.

    Columns: ``key``, ``period``, ``expected``, ``reported``, ``completeness`` (reported / expected, NaN when
    nothing was expected), ``with_upload_time``, ``on_time``, ``timeliness`` (on time / with upload time, NaN
    when no upload time is known), ``n_units``.
    """
    g = df.groupby([key, "period"], dropna=False)
    out = g[["expected", "reported", "with_upload_time", "on_time"]].sum()
    out["n_units"] = g["unit_code"].nunique()
    exp = out["expected"].astype("float64")
    known = out["with_upload_time"].astype("float64")
    out["completeness"] = out["reported"] / exp.where(exp > 0)
    out["timeliness"] = out["on_time"] / known.where(known > 0)
    return out.reset_index()[[key, "period", "expected", "reported", "completeness", "with_upload_time", "on_time",
                              "timeliness", "n_units"]]


def reporting_table(store, period: str, by: str = "region", units: tuple | None = None) -> pd.DataFrame:
    """Completeness and timeliness of ``period`` per region or per project office.

    ``by='region'``: columns of ``sac.metrics.quality.reporting`` plus ``office_id``, unit name_en/ru/kk
    (``unit_name_*``), office name (``office_name_*``, '—' when the region has no office), sorted by
    completeness, lowest first. ``by='office'``: :func:`rollup_reporting` by ``office_id`` (regions without an
    office of their own together under ``office_id`` '—') with ``office_name_*`` and the regions it covers.
    """
    df = _quality.reporting(store, period=period)
    df = df[_in_units(df["unit_code"], units)]
    offices = project_offices(store).rename(columns={"region_kato": "unit_code",
                                                     **{c: f"office_{c}" for c in NAME_COLS}})
    df = _with_unit_names(df, store).merge(offices, on="unit_code", how="left")
    df["office_id"] = df["office_id"].fillna("—")
    for c in NAME_COLS:
        df[f"office_{c}"] = df[f"office_{c}"].fillna("—")
    if by == "region":
        return df.sort_values(["completeness", "unit_code"], na_position="last").reset_index(drop=True)
    out = rollup_reporting(df, "office_id")
    names = df.drop_duplicates("office_id")[["office_id", *(f"office_{c}" for c in NAME_COLS)]]
    regions = df.groupby("office_id")["unit_name_en"].agg(lambda s: ", ".join(sorted(s))).rename("regions_en")
    out = out.merge(names, on="office_id", how="left").merge(regions, on="office_id", how="left")
    out["_none"] = out["office_id"].eq("—")  # regions without an office of their own last
    return out.sort_values(["_none", "office_id"]).drop(columns="_none").reset_index(drop=True)


def reporting_history(store, kind: str = "year", n: int = 6, units: tuple | None = None) -> pd.DataFrame:
    """Completeness per region over the last ``n`` periods of ``kind`` that have any fact: long form.

    Columns: ``unit_code``, unit name_en/ru/kk (``unit_name_*``), ``period``, ``completeness``,
    ``timeliness``, ``expected``, ``reported``. Periods oldest to newest.
    """
    periods = reporting_periods(store, kind)[:n]
    df = _quality.reporting(store)
    df = df[df["period"].isin(periods) & _in_units(df["unit_code"], units)]
    df = _with_unit_names(df, store)
    return df[["unit_code", *(f"unit_{c}" for c in NAME_COLS), "period", "completeness", "timeliness",
               "expected", "reported"]].sort_values(["period", "unit_code"]).reset_index(drop=True)


# -- indicator quality audit ---------------------------------------------------------------------------------------

def passport(store) -> pd.DataFrame:
    """``sac.metrics.quality.passport_completeness`` (least complete first), ``missing`` as a comma-separated
    string of field codes (``unit``, ``direction``, ``baseline``, ``target``, ``source``, ``responsible``)."""
    out = _quality.passport_completeness(store)
    out["missing"] = out["missing"].map(lambda xs: ",".join(xs) if isinstance(xs, list) else "")
    return out


def wrong_way(store, units: tuple | None = None) -> pd.DataFrame:
    """Wrong-way plans (seed 001 Table 2) with indicator and unit names: columns of
    ``sac.metrics.quality.wrong_way_targets`` plus ``ind_name_*``, ``unit_of_measure``, ``unit_name_*``."""
    df = _quality.wrong_way_targets(store)
    df = df[_in_units(df["unit_code"], units)]
    return _with_unit_names(df.merge(_indicator_names(store), on="indicator_id", how="left"), store) \
        .sort_values(["indicator_id", "source_document", "unit_code"]).reset_index(drop=True)


def wrong_way_summary(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`wrong_way` per indicator and source document. Pure.

    Columns: ``indicator_id``, ``ind_name_en/ru/kk``, ``unit_of_measure``, ``source_document``, ``direction``,
    ``first_year``, ``last_year``, ``n_units`` (units whose plan moves the wrong way), ``first_plan`` and
    ``last_plan`` (medians over those units), ``wrong_move`` (how far the median plan moves the wrong way,
    as a share of the first: ``d*(first - last)/|first|`` with d = +1 up, -1 down; NaN when the first is 0),
    sorted by n_units (most first), then the largest wrong move.
    """
    keys = ["indicator_id", "source_document"]
    if df.empty:
        return pd.DataFrame(columns=[*keys[:1], "ind_name_en", "ind_name_ru", "ind_name_kk", "unit_of_measure",
                                     keys[1], "direction", "first_year", "last_year", "n_units", "first_plan",
                                     "last_plan", "wrong_move"])
    g = df.groupby(keys, dropna=False)
    out = g.agg(ind_name_en=("ind_name_en", "first"), ind_name_ru=("ind_name_ru", "first"),
                ind_name_kk=("ind_name_kk", "first"), unit_of_measure=("unit_of_measure", "first"),
                direction=("direction", "first"), first_year=("first_year", "min"), last_year=("last_year", "max"),
                n_units=("unit_code", "nunique"), first_plan=("first_plan", "median"),
                last_plan=("last_plan", "median")).reset_index()
    sign = out["direction"].map({"up": 1.0, "down": -1.0})
    first = out["first_plan"].astype("float64")
    out["wrong_move"] = sign * (first - out["last_plan"]) / first.abs().where(first != 0)
    cols = ["indicator_id", "ind_name_en", "ind_name_ru", "ind_name_kk", "unit_of_measure", "source_document",
            "direction", "first_year", "last_year", "n_units", "first_plan", "last_plan", "wrong_move"]
    return out.sort_values(["n_units", "wrong_move", "indicator_id"], ascending=[False, False, True],
                           na_position="last")[cols].reset_index(drop=True)


def several_targets(store, units: tuple | None = None) -> pd.DataFrame:
    """Cells with different plans in different documents (seed 001 Table 9): columns of
    ``sac.metrics.quality.several_targets_in_store`` plus ``ind_name_*``, ``unit_of_measure``, ``unit_name_*``."""
    df = _quality.several_targets_in_store(store)
    df = df[_in_units(df["unit_code"], units)]
    return _with_unit_names(df.merge(_indicator_names(store), on="indicator_id", how="left"), store) \
        .reset_index(drop=True)


def several_targets_summary(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`several_targets` per indicator and document. Pure.

    Columns: ``indicator_id``, ``ind_name_en/ru/kk``, ``unit_of_measure``, ``source_document``,
    ``is_passport_source``, ``n_cells`` (indicator-unit-period cells where documents disagree),
    ``n_units``, ``first_period``, ``last_period``, ``median_plan`` (this document's median plan over those
    cells), ``median_rel_spread`` (median of (max - min) / |min| over the cells, 0-1; NaN when min is 0).
    Sorted by indicator, then the passport's own document first.
    """
    cols = ["indicator_id", "ind_name_en", "ind_name_ru", "ind_name_kk", "unit_of_measure", "source_document",
            "is_passport_source", "n_cells", "n_units", "first_period", "last_period", "median_plan",
            "median_rel_spread"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    d = df.assign(rel_spread=df["spread"] / df["plan_min"].abs().where(df["plan_min"].abs() > 0))
    g = d.groupby(["indicator_id", "source_document"], dropna=False)
    out = g.agg(ind_name_en=("ind_name_en", "first"), ind_name_ru=("ind_name_ru", "first"),
                ind_name_kk=("ind_name_kk", "first"), unit_of_measure=("unit_of_measure", "first"),
                is_passport_source=("is_passport_source", "first"), n_cells=("period", "size"),
                n_units=("unit_code", "nunique"), first_period=("period", "min"), last_period=("period", "max"),
                median_plan=("plan", "median"), median_rel_spread=("rel_spread", "median")).reset_index()
    out["is_passport_source"] = out["is_passport_source"].fillna(False).astype(bool)
    return out.sort_values(["indicator_id", "is_passport_source", "source_document"],
                           ascending=[True, False, True])[cols].reset_index(drop=True)


# -- outliers ------------------------------------------------------------------------------------------------------

def outliers(store, units: tuple | None = None) -> pd.DataFrame:
    """Facts awaiting confirmation: ``sac.metrics.quality.upload_outliers`` (|modified z| above the
    methodology's threshold against the unit's own history, largest first) with ``ind_name_*``,
    ``unit_of_measure``, ``unit_name_*``."""
    df = _quality.upload_outliers(store)
    df = df[_in_units(df["unit_code"], units)]
    return _with_unit_names(df.merge(_indicator_names(store), on="indicator_id", how="left"), store) \
        .reset_index(drop=True)


def plan_series(store, indicator_id: str, unit_code: str, source_document: str) -> pd.DataFrame:
    """Annual plans of one indicator and unit in one source document, with the cell's fact (any document):
    the series a wrong-way flag is about. Columns: ``period``, ``period_start``, ``plan``, ``fact`` (NaN = none).
    """
    return store.df("""
        SELECT p.code AS period, p.start_date AS period_start,
               max(v.plan) FILTER (WHERE v.source_document = ?) AS plan,
               c.fact
        FROM indicator_values v JOIN periods p ON p.code = v.period
        LEFT JOIN v_indicator_cells c ON c.indicator_id = v.indicator_id AND c.unit_code = v.unit_code
                                     AND c.period = v.period
        WHERE v.indicator_id = ? AND v.unit_code = ? AND p.kind = 'year'
        GROUP BY p.code, p.start_date, c.fact
        HAVING max(v.plan) FILTER (WHERE v.source_document = ?) IS NOT NULL
        ORDER BY p.start_date""", [source_document, indicator_id, unit_code, source_document])
