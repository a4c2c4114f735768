"""Progress to target over time: METHODOLOGY.md section 4.

Pure core :func:`progress_core` (two frames in, one frame out, vectorised with
groupby sums); :func:`progress` accepts those frames or a Store (then
:func:`progress_inputs` builds them).

Rules this module commits to (where the spec leaves room):

- **Points** of a series are the baseline (t0, y0) and every yearly value after t0.
  "Fewer than two points" = no value after the baseline year.
- **Baseline**: the given ``baseline_value``/``baseline_year``; when missing, the
  series' earliest value (and its year). For a unit (region) the store loader uses the
  unit's own value in the passport's baseline year, else its earliest value: a
  national baseline is never compared with a region's value.
- **Target**: for the national series the passport target. For a unit: the unit's own
  plan in the target year when stored; else the passport target when the indicator
  aggregates by ``mean`` or ``pop_weighted_mean`` (a rate or share: the national target
  applies to each region); else (``sum``: an absolute count) no target for the unit.
- **National value** per year (unit_code ``'KZ'``): passport ``aggregation`` over the
  regions with a value that year: ``sum``, ``mean``, ``pop_weighted_mean`` (regions.population),
  ``none`` = no national series. Incomplete is missing: a ``sum`` is NaN for a year in which
  a region with a plan has no fact, a ``pop_weighted_mean`` when a reporting region has no
  population (see :func:`national_series`); progress then uses the latest complete year.
- **Yearly value** of a quarterly/monthly indicator: the fact of the year's latest
  sub-period with data; for a ``cumulative`` indicator only a complete year counts
  (the year row, Q4 or December), so a half-year YTD never looks like a fall.
- **Achieved** (direction-aware): up ``y_t >= y_T``, down ``y_t <= y_T``; with no direction,
  the target's side of the baseline decides. Checked before the growth reasons, so a
  baseline <= 0 does not hide an achieved target.
- **Status** None with ``reason``: 'no target', 'fewer than two points', 'baseline not
  positive', 'latest value not positive', 'target not positive', 'target year not after
  baseline', 'required growth is zero'.
- **Thresholds** compare Q rounded to 12 decimals, so a Q exactly at 0.95 or 0.6 that
  floating point computes a hair below is graded at the threshold, not below it.
- **Projection**: ordinary least squares over the last ``projection_points`` points
  (baseline included when it is among them), evaluated at T; ``projected_achieved``
  compares it with the target, direction-aware.
- **Territory** (issue 9, :mod:`sac.metrics.territory`): a unit's values from before its territory changed
  are never compared with values after it. When the baseline year is before a break year B of the unit
  (the latest one up to the unit's latest value: East Kazakhstan 2022, Almaty city 2014, Shymkent's start
  in 2018), progress uses only the part of the series from B on: the baseline becomes the unit's first value
  in or after B, earlier values are left out (of the projection too), and ``territory_break_year`` = B says
  so (the baseline year shown is then the new one). When that part has fewer than two points there is no
  status and the reason is 'territory changed'. A break in or before the baseline year changes nothing (the
  reform year is on the new territory). The national series (``'KZ'``) has no breaks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sac import methodology as _methodology
from sac.metrics import territory as _territory

NATIONAL = "KZ"

STATUSES = ("achieved", "on_track", "acceleration_needed", "limited_progress", "moving_away")


def progress_core(series: pd.DataFrame, targets: pd.DataFrame, config=None,
                  breaks: Mapping[str, Sequence[int]] | None = None) -> pd.DataFrame:
    """Progress of each (indicator, unit) in ``targets`` given yearly ``series``.

    ``series``: indicator_id, unit_code, year (int), value (NaN ignored).
    ``targets``: indicator_id, unit_code, direction ('up'|'down'|None), baseline_value,
    baseline_year, target_value, target_year (NaN = unknown).
    ``breaks``: unit_code -> the years its territory changed (module rule "Territory"); None = the
    territorial reforms table (:func:`sac.metrics.territory.break_years`), ``{}`` = none.

    Returns one row per targets row: indicator_id, unit_code, direction, baseline_year,
    baseline_value, latest_year, latest_value, target_year, target_value, n_points,
    g_obs, g_req, q, achieved (nullable bool), status (one of STATUSES or None), reason
    (None when there is a status), projected_value, projected_achieved (nullable bool),
    territory_break_year (Int64: the unit's territory changed after the given baseline year and only
    the values from this year on are used; NA otherwise), methodology_version.
    """
    cfg, version = _methodology.resolve(config)
    pc = cfg["progress"]
    key = ["indicator_id", "unit_code"]
    t = targets.copy().reset_index(drop=True)
    for c in ("baseline_value", "baseline_year", "target_value", "target_year"):
        t[c] = pd.to_numeric(t[c], errors="coerce").astype(float) if c in t else np.nan
    if "direction" not in t:
        t["direction"] = None
    t["_row"] = np.arange(len(t))

    s = series[key + ["year", "value"]].copy()
    s["year"] = pd.to_numeric(s["year"], errors="coerce").astype(float)
    s["value"] = pd.to_numeric(s["value"], errors="coerce").astype(float)
    s = s.dropna(subset=["year", "value"])
    s = s.merge(t[key + ["_row"]], on=key, how="inner")

    # baseline: given, else the earliest value of the series
    first = s.sort_values("year").groupby("_row").first()
    no_base = t["baseline_value"].isna() | t["baseline_year"].isna()
    t.loc[no_base, "baseline_year"] = t.loc[no_base, "_row"].map(first["year"])
    t.loc[no_base, "baseline_value"] = t.loc[no_base, "_row"].map(first["value"])

    # territory: a baseline from before the unit's latest break (up to its latest value) moves to the first
    # value from the break on, so an old territory's value is never the start of a new territory's growth
    if breaks is None:
        breaks = {u: _territory.break_years(u) for u in t["unit_code"].astype(str).unique() if u != NATIONAL}
    latest_year = t["_row"].map(s.groupby("_row")["year"].max())
    t["territory_break_year"] = [
        max((b for b in breaks.get(str(u), ()) if t0 < b <= ly), default=np.nan)
        for u, t0, ly in zip(t["unit_code"], t["baseline_year"], latest_year, strict=True)]
    moved = t["territory_break_year"].notna()
    if moved.any():
        after_break = s.merge(t.loc[moved, ["_row", "territory_break_year"]], on="_row")
        after_break = after_break[after_break["year"] >= after_break["territory_break_year"]]
        new_base = after_break.sort_values("year").groupby("_row").first()
        t.loc[moved, "baseline_year"] = t.loc[moved, "_row"].map(new_base["year"])
        t.loc[moved, "baseline_value"] = t.loc[moved, "_row"].map(new_base["value"])

    # points: baseline plus the values after the baseline year
    s = s.merge(t[["_row", "baseline_year"]], on="_row")
    after = s[s["year"] > s["baseline_year"]][["_row", "year", "value"]]
    base_pts = t.loc[t["baseline_value"].notna(), ["_row", "baseline_year", "baseline_value"]].set_axis(
        ["_row", "year", "value"], axis=1)
    pts = pd.concat([base_pts, after], ignore_index=True).sort_values(["_row", "year"])
    pts = pts.drop_duplicates(["_row", "year"], keep="last")
    n_points = pts.groupby("_row").size()
    latest = pts.groupby("_row").last()
    t["n_points"] = t["_row"].map(n_points).fillna(0).astype(int)
    t["latest_year"] = t["_row"].map(latest["year"])
    t["latest_value"] = t["_row"].map(latest["value"])

    # projection: OLS over the last k points
    k = int(pc["projection_points"])
    last = pts.groupby("_row").tail(k).copy()
    last["xy"], last["xx"] = last["year"] * last["value"], last["year"] ** 2
    g = last.groupby("_row").agg(n=("year", "size"), sx=("year", "sum"), sy=("value", "sum"),
                                 sxy=("xy", "sum"), sxx=("xx", "sum"))
    with np.errstate(invalid="ignore", divide="ignore"):
        den = g["n"] * g["sxx"] - g["sx"] ** 2
        slope = (g["n"] * g["sxy"] - g["sx"] * g["sy"]) / den
        intercept = (g["sy"] - slope * g["sx"]) / g["n"]
    ok = (g["n"] >= 2) & (den > 0)
    T = t["target_year"].to_numpy()
    t["projected_value"] = np.where(t["_row"].map(ok).fillna(False).to_numpy(bool),
                                    t["_row"].map(intercept).to_numpy(float) + t["_row"].map(slope).to_numpy(float) * T,
                                    np.nan)

    y0, t0 = t["baseline_value"].to_numpy(), t["baseline_year"].to_numpy()
    yt, tt = t["latest_value"].to_numpy(), t["latest_year"].to_numpy()
    yT = t["target_value"].to_numpy()
    d = t["direction"].astype("string").str.lower()
    sign = np.select([(d == "up").fillna(False).to_numpy(bool), (d == "down").fillna(False).to_numpy(bool)],
                     [1.0, -1.0], np.sign(yT - y0))
    sign = np.where(sign == 0, 1.0, sign)  # target equal to baseline, no direction: "at least the target"
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        g_obs = np.power(yt / y0, 1.0 / (tt - t0)) - 1.0
        g_req = np.power(yT / y0, 1.0 / (T - t0)) - 1.0
        q = g_obs / g_req
        achieved = np.where(sign > 0, yt >= yT, yt <= yT)
        proj = t["projected_value"].to_numpy()
        proj_ach = np.where(sign > 0, proj >= yT, proj <= yT)

    no_target = np.isnan(yT) | np.isnan(T)
    few = t["n_points"].to_numpy() < 2
    conditions = [
        no_target, few, achieved,
        ~(y0 > 0), ~(yt > 0), ~(yT > 0), ~(T > t0),
        np.isclose(g_req, 0.0, atol=1e-12),
    ]
    reasons = ["no target", "fewer than two points", None, "baseline not positive", "latest value not positive",
               "target not positive", "target year not after baseline", "required growth is zero"]
    reason = np.select(conditions, reasons, default=None)
    # after a break, too few points of the new territory: say why, not just "fewer than two points"
    reason = np.where(few & ~no_target & moved.to_numpy(bool), "territory changed", reason)
    gate = np.select(conditions, ["x", "x", "achieved", "x", "x", "x", "x", "x"], default="")
    on_track, accel = float(pc["on_track"]), float(pc["acceleration"])
    q_cmp = np.round(q, 12)  # Q = 0.95 computed as 0.9499999999999988 is on track (as plan_fact rounds A)
    graded = np.select([q_cmp >= on_track, q_cmp >= accel, q_cmp >= 0], ["on_track", "acceleration_needed", "limited_progress"],
                       default="moving_away")
    status = np.where(gate == "achieved", "achieved", np.where(gate == "x", None, graded))
    computable = (~no_target) & (~few)
    growth_ok = computable & ~np.any(np.vstack(conditions[3:]), axis=0)

    out = pd.DataFrame({
        "indicator_id": t["indicator_id"], "unit_code": t["unit_code"], "direction": t["direction"],
        "baseline_year": _int(t["baseline_year"]), "baseline_value": y0,
        "latest_year": _int(t["latest_year"]), "latest_value": yt,
        "target_year": _int(t["target_year"]), "target_value": yT,
        "n_points": t["n_points"],
        "g_obs": np.where(computable & np.isfinite(g_obs), g_obs, np.nan),
        "g_req": np.where(computable & np.isfinite(g_req), g_req, np.nan),
        "q": np.where(growth_ok & np.isfinite(q), q, np.nan),
        "achieved": pd.array(np.where(computable, achieved, False), dtype="boolean"),
        "status": pd.Series(status, dtype=object),
        "reason": pd.Series(reason, dtype=object),
        "projected_value": proj,
        "projected_achieved": pd.array(np.where(np.isnan(proj) | np.isnan(yT), False, proj_ach), dtype="boolean"),
        "territory_break_year": _int(t["territory_break_year"]),
    })
    out.loc[~computable, "achieved"] = pd.NA
    out.loc[np.isnan(proj) | np.isnan(yT), "projected_achieved"] = pd.NA
    out["methodology_version"] = version
    return out


def _int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").round().astype("Int64")


# -- store ---------------------------------------------------------------------------

_YEARLY_SQL = """
WITH v AS (
    SELECT c.indicator_id, c.unit_code, p.year, p.kind, p.end_date, p.start_date, c.fact, c.plan, i.cumulative
    FROM v_indicator_cells c JOIN indicators i USING (indicator_id) JOIN periods p ON p.code = c.period
    WHERE {where}
)
SELECT indicator_id, unit_code, year,
       -- the year row, else the latest sub-period with a fact (cumulative: only a complete year)
       arg_max(fact, (kind = 'year', end_date, -epoch(start_date))) FILTER (
           WHERE fact IS NOT NULL AND (NOT cumulative OR kind = 'year' OR month(end_date) = 12)) AS value,
       arg_max(plan, (kind = 'year', end_date, -epoch(start_date))) FILTER (
           WHERE plan IS NOT NULL AND (NOT cumulative OR kind = 'year' OR month(end_date) = 12)) AS plan
FROM v GROUP BY indicator_id, unit_code, year
"""


def progress_inputs(store, *, indicator_ids=None, node_id: str | None = None, units: str = "regions",
                    national: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series, targets) for :func:`progress_core` from the store, by the module's rules.

    Only indicators with a target (value and year) are included. ``units``: 'regions'
    (regions and cities), 'all' (every unit code), or 'none' (national only).
    """
    where, params = ["i.target_value IS NOT NULL", "i.target_year IS NOT NULL"], []
    prefix, prefix_params = "", []
    if node_id is not None:
        from sac.metrics.plan_fact import _SUBTREE
        prefix, prefix_params = _SUBTREE, [node_id]
        where.append("i.node_id IN (SELECT node_id FROM subtree)")
    if indicator_ids is not None:
        where.append("list_contains(?, c.indicator_id)")
        params.append([str(x) for x in indicator_ids])
    sql = _YEARLY_SQL.format(where=" AND ".join(where))
    if prefix:
        sql = prefix + ", " + sql.lstrip().removeprefix("WITH ")
    yearly = store.df(sql, prefix_params + params)
    passport = store.df(
        "SELECT indicator_id, direction, aggregation, baseline_value, baseline_year, target_value, target_year "
        "FROM indicators WHERE target_value IS NOT NULL AND target_year IS NOT NULL")
    regions = store.df("SELECT kato AS unit_code, population FROM regions")
    yearly = yearly.merge(passport[["indicator_id"]], on="indicator_id")
    in_regions = yearly["unit_code"].isin(regions["unit_code"])

    frames_s, frames_t = [], []
    if units != "none":
        unit_rows = yearly if units == "all" else yearly[in_regions]
        frames_s.append(unit_rows[["indicator_id", "unit_code", "year", "value"]])
        pairs = unit_rows[["indicator_id", "unit_code"]].drop_duplicates().merge(passport, on="indicator_id")
        # baseline: the unit's own value in the baseline year, else (NaN) its earliest value
        own_base = unit_rows.rename(columns={"year": "baseline_year", "value": "own_base"})[
            ["indicator_id", "unit_code", "baseline_year", "own_base"]]
        pairs = pairs.merge(own_base, on=["indicator_id", "unit_code", "baseline_year"], how="left")
        own_plan = unit_rows.rename(columns={"year": "target_year", "plan": "own_target"})[
            ["indicator_id", "unit_code", "target_year", "own_target"]]
        pairs = pairs.merge(own_plan, on=["indicator_id", "unit_code", "target_year"], how="left")
        rate_like = pairs["aggregation"].isin(["mean", "pop_weighted_mean"])
        pairs["target_value"] = pairs["own_target"].where(pairs["own_target"].notna(),
                                                          pairs["target_value"].where(rate_like))
        pairs["baseline_value"] = pairs["own_base"]
        pairs.loc[pairs["own_base"].isna(), "baseline_year"] = np.nan
        frames_t.append(pairs[["indicator_id", "unit_code", "direction", "baseline_value", "baseline_year",
                               "target_value", "target_year"]])
    if national:
        nat = national_series(yearly[in_regions], passport, regions)
        frames_s.append(nat)
        nat_t = passport[passport["aggregation"] != "none"].assign(unit_code=NATIONAL)
        frames_t.append(nat_t[["indicator_id", "unit_code", "direction", "baseline_value", "baseline_year",
                               "target_value", "target_year"]])
    series = pd.concat(frames_s, ignore_index=True) if frames_s else pd.DataFrame(
        columns=["indicator_id", "unit_code", "year", "value"])
    targets = pd.concat(frames_t, ignore_index=True) if frames_t else pd.DataFrame(
        columns=["indicator_id", "unit_code", "direction", "baseline_value", "baseline_year", "target_value",
                 "target_year"])
    return series, targets


def national_series(yearly: pd.DataFrame, passport: pd.DataFrame, regions: pd.DataFrame,
                    key: str = "year") -> pd.DataFrame:
    """National value per indicator and ``key`` (year; or period) by the passport's aggregation rule ('KZ').

    ``yearly``: indicator_id, unit_code, ``key``, value, optional plan (regions only).
    ``passport``: indicator_id, aggregation. ``regions``: unit_code, population.

    Completeness (missing is missing, never zero): the units *expected* for an indicator and
    ``key`` are those with a plan for it. ``sum``: the national value is NaN (incomplete) when
    an expected unit has no fact, since adding up whoever reported would count the missing
    unit as zero. ``pop_weighted_mean``: NaN when a reporting unit has no population (a
    missing weight). ``mean``: the mean over the units that reported (``complete`` says
    whether every expected unit is among them). ``none``: no national series.

    Columns out: indicator_id, unit_code, ``key``, value, n_units (units with a fact),
    n_expected (units with a plan), complete (bool: every expected unit reported).
    """
    y = yearly.merge(passport[["indicator_id", "aggregation"]], on="indicator_id")
    y = y.merge(regions[["unit_code", "population"]], on="unit_code", how="left")
    y["value"] = pd.to_numeric(y["value"], errors="coerce").astype(float)
    has_value = y["value"].notna()
    expected = (pd.to_numeric(y["plan"], errors="coerce").notna() if "plan" in y
                else pd.Series(False, index=y.index))
    y["pop"] = pd.to_numeric(y["population"], errors="coerce").astype(float)
    y["wv"] = y["value"] * y["pop"]
    y["wpop"] = y["pop"].where(has_value)
    y["has_value"] = has_value.astype(int)
    y["expected"] = expected.astype(int)
    y["expected_missing"] = (expected & ~has_value).astype(int)
    y["no_weight"] = (has_value & y["pop"].isna()).astype(int)
    g = y.groupby(["indicator_id", key, "aggregation"], as_index=False).agg(
        s=("value", "sum"), m=("value", "mean"), wv=("wv", "sum"), wp=("wpop", "sum"), n_units=("has_value", "sum"),
        n_expected=("expected", "sum"), n_missing=("expected_missing", "sum"), n_no_weight=("no_weight", "sum"))
    g = g[(g["n_units"] > 0) & (g["aggregation"] != "none")].copy()
    g["complete"] = (g["n_missing"] == 0).to_numpy(bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["value"] = np.select(
            [g["aggregation"] == "sum", g["aggregation"] == "mean", g["aggregation"] == "pop_weighted_mean"],
            [np.where(g["complete"], g["s"], np.nan), g["m"],
             np.where((g["wp"] > 0) & (g["n_no_weight"] == 0), g["wv"] / g["wp"], np.nan)], np.nan)
    g["unit_code"] = NATIONAL
    return g[["indicator_id", "unit_code", key, "value", "n_units", "n_expected", "complete"]].reset_index(drop=True)


def progress(data, targets: pd.DataFrame | None = None, config=None, breaks=None, **store_kwargs) -> pd.DataFrame:
    """Progress to target. ``data`` is either the ``series`` frame (then ``targets`` is required)
    or a Store (then ``store_kwargs`` go to :func:`progress_inputs`, and the store's current
    methodology is used unless ``config`` is given). ``breaks``: see :func:`progress_core`.
    Columns: see :func:`progress_core`."""
    if isinstance(data, pd.DataFrame):
        if targets is None:
            raise ValueError("targets frame required with a series frame")
        return progress_core(data, targets, config, breaks)
    store = data
    series, tg = progress_inputs(store, **store_kwargs)
    return progress_core(series, tg, config if config is not None else _methodology.current(store), breaks)
