"""Comparative rating of units on KNI (Rules para 34): METHODOLOGY.md section 3.

Pure core :func:`rate` works on a units x indicators matrix in numpy, so the
robustness draws are matrix products (draws x indicators weights against units x
indicators scores), not loops. Store wrappers: :func:`rate_units`, :func:`rank_history`.

Definitions this module commits to (where the spec leaves room):

- **The comparison** is every unit and indicator present in the input cells; the store
  wrapper :func:`rate_units` adds every unit of the unit set (every region) without a
  cell as "not rated", coverage 0 (spec 3.4).
- **Coverage** (spec 3.4: Σ w_i over ALL indicators of the chosen set): the denominator is
  the weight of every indicator of the set that is *expected* for the period, i.e. has a
  plan for it for at least one unit (sub-period plans count: see the period rule in
  :mod:`sac.metrics.plan_fact`), or a value for at least one unit (level ratings of
  indicators without plans). Its numerator is the weight of those the unit has a value
  for. So a year still being reported rates few units: pages default to
  :func:`latest_rated_period`. A missing value is left out of both the unit's mean and its
  coverage numerator: never counted as zero.
- **Dropped** (left out of numerator and denominator, with a ``UserWarning`` and the ids in
  ``dropped_indicators``): an indicator whose passport has no direction, and, for goalposts,
  an indicator without both goalposts or with U <= L. Nobody could be scored on it.
- **Coverage** ``>= coverage_min`` (0.8) is rated; the comparison is made with a 1e-9
  tolerance so 4/5 counts as 0.8. Below it: ``rated`` False, ``rank`` NA, coverage shown.
- **Level normalisation** is computed over the units in the comparison (rated or not):
  min-max (all equal -> 100), z-score (population sd, rescaled by the normal CDF; all
  equal -> 100 as for min-max), goalposts ``100*clip((x-L)/(U-L), 0, 1)`` with L, U the
  passport's goalpost_low/high for up; for down ``100*clip((U-x)/(U-L), 0, 1)``; an
  indicator without both goalposts (or with U <= L) is dropped (see above).
- **Movement** (spec 3.6): the previous period is rated on *this* period's indicator set
  (:func:`indicators_in_play` as ``comparison_set``), so a unit that reported one indicator of three
  then has coverage 1/3 there and no previous rank; and when fewer than two units are rated in the
  previous period, nobody has a previous rank.
- **Territory** (issue 9, :mod:`sac.metrics.territory`): a unit whose territory changed between the previous
  and this period (East Kazakhstan, Almaty region, Karaganda in 2022 against 2021), or that did not exist then
  (Abai, Zhetysu, Ulytau), gets no movement number: ``territory_break`` True and ``territory_change``
  'territory_changed' or 'new'. Its previous rank is kept (it is what the old unit scored), never subtracted.
- **Not rated, why** (``not_rated_reason``): 'no_ratable_indicators' (every indicator dropped),
  'insufficient_coverage' (some scores, coverage too low), 'no_plans' (plan-fulfilment: facts but no
  plan to score them against), 'no_data'.
- **Edge cases**: an empty input, one unit, all units equal, every value missing never raise or
  warn: an empty rating with the documented columns; rank 1 ('=1' when tied); coverage 0, not rated.
- **Geometric** aggregation floors every score at ``geometric_floor`` (1) before the
  weighted log-mean.
- **Ties**: R rounded half up (:func:`round_half_up`, not numpy's half to even) to
  ``tie_decimals`` (1); competition ranking 1, 2, 2, 4;
  ``rank_label`` '=2' for shared ranks.
- **Robustness band**: ``draws`` (500) draws from ``numpy.random.default_rng(seed)``; each
  draw multiplies every weight by U[weight_low, weight_high] and picks arithmetic or
  geometric with probability 1/2. The rated set is the point rating's; in each draw the
  rated units are re-scored (same rounding, competition ranks). ``rank_median`` is the
  median over draws; ``rank_p05``/``rank_p95`` are the 5th and 95th percentiles
  (numpy 'lower'/'higher', so they are ranks that occurred) **widened to include the
  point rank** when it falls outside, so the band always contains the point rank by
  construction; ``band_widened`` says when that happened. Two units are *clearly apart*
  when their bands do not overlap (``overlaps_with`` counts the others whose band
  overlaps; :func:`overlapping_pairs` lists pairs).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sac import methodology as _methodology
from sac.metrics import plan_fact as _pf
from sac.metrics import territory as _territory

_TOL = 1e-9
_erf = np.frompyfunc(math.erf, 1, 1)


# -- matrix building ----------------------------------------------------------------

def _matrix(cells: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(units, indicators, values[u, i], row positions) from long cells; NaN where no cell.

    Units and indicators are sorted, so row order never matters. Two cells for one
    (unit, indicator) are an error: the caller must pick one period first.
    """
    u_codes, units = pd.factorize(cells["unit_code"].astype("string"), sort=True)
    i_codes, inds = pd.factorize(cells["indicator_id"].astype("string"), sort=True)
    if (u_codes < 0).any() or (i_codes < 0).any():
        raise ValueError("unit_code and indicator_id must not be missing")
    flat = u_codes.astype(np.int64) * len(inds) + i_codes
    if len(flat) and np.bincount(flat, minlength=len(units) * len(inds)).max() > 1:
        raise ValueError("more than one cell per (unit, indicator): choose one period per indicator first")
    values = np.full((len(units), len(inds)), np.nan)
    values[u_codes, i_codes] = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(units, dtype=object), np.asarray(inds, dtype=object), values, i_codes


def _per_indicator(cells: pd.DataFrame, i_codes: np.ndarray, n_ind: int, column: str, default=np.nan) -> np.ndarray:
    """One value per indicator (the first non-missing of its cells), ``default`` when absent."""
    out = np.full(n_ind, np.nan)
    if column in cells:
        vals = pd.to_numeric(cells[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(vals)
        # last write wins; fine because the passport gives one value per indicator
        out[i_codes[ok]] = vals[ok]
    return np.where(np.isnan(out), default, out)


def _directions(cells: pd.DataFrame, i_codes: np.ndarray, n_ind: int) -> np.ndarray:
    """+1 up, -1 down, 0 unknown, per indicator."""
    d = np.zeros(n_ind)
    if "direction" in cells:
        s = cells["direction"].astype("string").str.lower()
        sign = np.select([(s == "up").fillna(False).to_numpy(bool), (s == "down").fillna(False).to_numpy(bool)],
                         [1.0, -1.0], 0.0)
        d[i_codes[sign != 0]] = sign[sign != 0]
    return d


def normalise(x: np.ndarray, direction: np.ndarray, method: str = "minmax",
              low: np.ndarray | None = None, high: np.ndarray | None = None) -> np.ndarray:
    """Level scores 0-100 per column of ``x`` (units x indicators), NaN stays NaN (section 3.2).

    Edge cases: no units (the previous period of the first year with data) or no indicators give an
    all-NaN array of ``x``'s shape; one unit, or all units equal, score 100 under min-max and z-score; an
    indicator nobody has a value for stays NaN; a missing value is left out of min, max, mean and sd.
    """
    x = np.asarray(x, dtype=float)
    direction = np.asarray(direction, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        if method not in _methodology.NORMALISATIONS:
            raise ValueError(f"unknown normalisation {method!r}")
        return np.full(x.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "minmax":
            mn, mx = np.nanmin(_safe(x), axis=0), np.nanmax(_safe(x), axis=0)
            span = mx - mn
            up = 100.0 * (x - mn) / span
            dn = 100.0 * (mx - x) / span
            n = np.where(direction > 0, up, dn)
            n = np.where(span == 0, 100.0, n)
        elif method == "zscore":
            mean = np.nanmean(_safe(x), axis=0)
            sd = np.nanstd(_safe(x), axis=0)
            z = direction * (x - mean) / sd
            cdf = 0.5 * (1.0 + _erf(np.nan_to_num(z) / math.sqrt(2.0)).astype(float))
            n = np.where(sd == 0, 100.0, 100.0 * cdf)
        elif method == "goalposts":
            if low is None or high is None:
                raise ValueError("goalposts need goalpost_low and goalpost_high")
            span = high - low
            up = (x - low) / span
            dn = (high - x) / span
            n = 100.0 * np.clip(np.where(direction > 0, up, dn), 0.0, 1.0)
            n = np.where(np.isfinite(span) & (span > 0), n, np.nan)
        else:
            raise ValueError(f"unknown normalisation {method!r}")
    n = np.where(np.isnan(x) | (direction == 0), np.nan, n)
    return n


def _safe(x: np.ndarray) -> np.ndarray:
    """Columns that are all NaN get a dummy 0 so nan-reductions do not warn; masked later."""
    if x.size == 0:
        return x
    allnan = np.all(np.isnan(x), axis=0)
    if allnan.any():
        x = x.copy()
        x[0, allnan] = 0.0
    return x


# -- aggregation and ranking --------------------------------------------------------

def _aggregate(scores0: np.ndarray, logs0: np.ndarray, avail: np.ndarray, weights: np.ndarray,
               geometric: np.ndarray) -> np.ndarray:
    """R for weights (k x I) and per-row aggregation choice (k,): returns units x k.

    ``scores0``/``logs0`` hold 0 where a value is missing and ``avail`` is 1 where present,
    so a missing value is left out of numerator and denominator alike.
    """
    den = avail @ weights.T
    arith = (scores0 @ weights.T) / den
    geo = np.exp((logs0 @ weights.T) / den)
    return np.where(geometric[None, :], geo, arith)


def round_half_up(x, decimals: int):
    """Round half up (95.25 -> 95.3), unlike numpy's half to even; NaN stays NaN.

    ``floor(x*10**d + 0.5 + 1e-9) / 10**d``: the 1e-9 absorbs the representation error of a
    product like 95.25*10 so an exact half always rounds up (spec 3.5 ties, documented choice).
    """
    scale = 10.0 ** int(decimals)
    return np.floor(np.asarray(x, dtype=float) * scale + 0.5 + 1e-9) / scale


def competition_ranks(values: np.ndarray) -> np.ndarray:
    """Competition ranks (1, 2, 2, 4) of each column, highest first; NaN rows get rank 0.

    Vectorised over columns: sort each column, mark where a new value starts, carry the
    first position of each run forward, scatter back.
    """
    v = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(-v, axis=0, kind="stable")
    sorted_v = np.take_along_axis(v, order, axis=0)
    idx = np.arange(v.shape[0])[:, None]
    new_run = np.ones_like(sorted_v, dtype=bool)
    new_run[1:] = sorted_v[1:] != sorted_v[:-1]
    first = np.maximum.accumulate(np.where(new_run, idx, 0), axis=0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, first + 1, axis=0)
    return np.where(np.isnan(values), 0, ranks)


_INPUT_COLUMNS = ("unit_code", "indicator_id", "period", "plan", "fact", "direction")


def _settings(config, kind, aggregation, normalisation) -> tuple[dict, int, str, str, str]:
    """(rating config, methodology version, kind, aggregation, normalisation), defaults from the config."""
    cfg, version = _methodology.resolve(config)
    rc = cfg["rating"]
    kind = kind or rc["kind"]
    aggregation = aggregation or rc["aggregation"]
    normalisation = normalisation or rc["normalisation"]
    if kind not in _methodology.RATING_KINDS:
        raise ValueError(f"unknown rating kind {kind!r}")
    if aggregation not in _methodology.AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    if kind == "level" and normalisation not in _methodology.NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}")
    return rc, version, kind, aggregation, normalisation


@dataclass
class _Scores:
    """Scores of the comparison: units x indicators, and which indicators are in play."""
    units: np.ndarray          # unit codes, sorted
    inds: np.ndarray           # indicator ids, sorted
    S: np.ndarray              # 0-100 scores, NaN where none
    facts: np.ndarray          # True where the unit has a fact (scored or not)
    weights: np.ndarray        # per indicator
    in_play: np.ndarray        # per indicator: in the coverage denominator
    dropped: np.ndarray        # per indicator: in the set but not ratable (warned)


def _scores(cells: pd.DataFrame, config, kind: str, normalisation: str, comparison_set=None) -> _Scores:
    if not len(cells):  # no rows: whatever columns it has, it is the empty comparison
        cells = cells.reindex(columns=list(dict.fromkeys([*cells.columns, *_INPUT_COLUMNS])))
    want = None
    if comparison_set is not None:
        want = pd.Series(comparison_set, dtype=float)
        want.index = want.index.astype(str)
        cells = cells[cells["indicator_id"].astype("string").isin(want.index).fillna(False).to_numpy(bool)]
    if kind == "plan_fulfilment":
        if "score" not in cells:
            cells = _pf.score_cells(cells, config)
        units, inds, S, i_codes = _matrix(cells, "score")
    else:
        units, inds, X, i_codes = _matrix(cells, "fact")
        direction = _directions(cells, i_codes, len(inds))
        low = _per_indicator(cells, i_codes, len(inds), "goalpost_low")
        high = _per_indicator(cells, i_codes, len(inds), "goalpost_high")
        S = normalise(X, direction, normalisation, low, high)
    facts = ~np.isnan(_matrix(cells, "fact")[2]) if "fact" in cells else ~np.isnan(S)
    weights = _per_indicator(cells, i_codes, len(inds), "weight", default=1.0)

    # the indicator set: every indicator expected for the period (a plan for any unit) or with a value
    if "plan" in cells and len(cells):
        _, _, P, _ = _matrix(cells, "plan")
        planned = ~np.isnan(P)
    else:
        planned = np.zeros(S.shape, dtype=bool)
    # not ratable at all: no direction in the passport; goalposts missing or U <= L (dropped, warned)
    if kind == "plan_fulfilment":
        # pre-scored cells without a direction column were scored by the caller: ratable
        ratable = _directions(cells, i_codes, len(inds)) != 0 if "direction" in cells else np.ones(len(inds), bool)
    else:
        ratable = direction != 0
        if normalisation == "goalposts":
            ratable &= np.isfinite(high - low) & (high - low > 0)
    in_set = (~np.isnan(S)).any(axis=0) | planned.any(axis=0)
    if want is not None:
        # another period rated on this set: every indicator of the set is in the denominator, reported or not
        everything = np.array(sorted(set(map(str, inds)) | set(want.index)), dtype=object)
        pos = np.searchsorted(everything, np.asarray(inds, dtype=str)).astype(np.int64)
        widened_S = np.full((len(units), len(everything)), np.nan)
        widened_S[:, pos] = S
        widened_facts = np.zeros(widened_S.shape, dtype=bool)
        widened_facts[:, pos] = facts
        widened_ratable = np.ones(len(everything), dtype=bool)
        widened_ratable[pos] = ratable
        inds, S, facts, ratable = everything, widened_S, widened_facts, widened_ratable
        weights = want.reindex(everything).to_numpy(dtype=float)
        in_set = np.ones(len(everything), dtype=bool)
    in_set &= weights > 0
    dropped = in_set & ~ratable
    return _Scores(units, inds, S, facts, weights, in_set & ratable, dropped)


def indicators_in_play(cells: pd.DataFrame, config=None, *, kind: str | None = None,
                       normalisation: str | None = None) -> pd.Series:
    """The indicators :func:`rate` counts in the coverage denominator for ``cells``, with their weights.

    A Series indexed by indicator_id (float weights), empty when none. Pass it to :func:`rate` as
    ``comparison_set`` to rate another period on the same indicators (movement).
    """
    _, _, kind, _, normalisation = _settings(config, kind, None, normalisation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # rate() warns about dropped indicators
        sc = _scores(cells, config, kind, normalisation)
    return pd.Series(sc.weights[sc.in_play], index=pd.Index(sc.inds[sc.in_play], dtype=object, name="indicator_id"),
                     dtype=float, name="weight")


def rate(cells: pd.DataFrame, config=None, *, kind: str | None = None, aggregation: str | None = None,
         normalisation: str | None = None, bands: bool = True, comparison_set=None) -> pd.DataFrame:
    """Rate the units in ``cells`` (one period): METHODOLOGY.md section 3. Pure.

    Input: long cells, one row per (unit_code, indicator_id), with
    plan-fulfilment: ``score`` (from :func:`sac.metrics.plan_fact.score_cells`) or
    ``plan, fact, direction`` (scored here); level: ``fact, direction`` and, for goalposts,
    ``goalpost_low, goalpost_high``. Optional ``weight`` (passport weight, default 1).
    ``kind``/``aggregation``/``normalisation`` default to the config's ``rating`` settings.
    ``comparison_set`` (indicator_id -> weight, e.g. :func:`indicators_in_play` of another period):
    rate on exactly these indicators; cells of others are ignored, and every one of them is in the
    coverage denominator whether or not any unit has a cell for it.

    Returns one row per unit, sorted by rank then unit_code (unrated last):
    ``unit_code, score`` (R, unrounded), ``score_rounded``, ``coverage``, ``rated`` (bool),
    ``rank`` (Int64, NA when not rated), ``rank_label`` ('1', '=2'; None when not rated),
    ``n_indicators`` (with a value for the unit), ``n_in_play`` (indicators in the coverage
    denominator), ``dropped_indicators`` (ids left out, comma-joined, or None), ``rank_median``,
    ``rank_p05``, ``rank_p95``, ``band_widened`` (bool), ``overlaps_with`` (number of other
    rated units whose band overlaps: 0 = clearly apart from all), ``not_rated_reason`` (None when
    rated; 'no_ratable_indicators' when no indicator can be rated (all dropped), 'insufficient_coverage'
    when the unit has scores but coverage below ``coverage_min``, 'no_plans' (plan-fulfilment) when it
    has facts but none with a plan, else 'no_data'), ``kind``, ``aggregation``, ``normalisation`` (None for
    plan-fulfilment), ``methodology_version``.
    Band columns are NA when ``bands`` is False or the unit is not rated.

    Edge cases: no rows (with or without columns) give no rows with these columns; one unit, or all
    units equal, are rank 1 (all tied '=1'); when no indicator is in play (nobody has a value or a
    plan) coverage is 0 and nobody is rated; nothing here raises on them or warns.
    """
    rc, version, kind, aggregation, normalisation = _settings(config, kind, aggregation, normalisation)
    sc = _scores(cells, config, kind, normalisation, comparison_set)
    units, inds, S, weights, in_play, dropped = sc.units, sc.inds, sc.S, sc.weights, sc.in_play, sc.dropped
    if dropped.any():
        warnings.warn("indicators left out of the rating (no direction, or goalposts missing or U <= L): "
                      + ", ".join(map(str, inds[dropped])), UserWarning, stacklevel=2)
    avail = ~np.isnan(S) & in_play[None, :]
    w_total = weights[in_play].sum()
    coverage = (avail * weights).sum(axis=1) / w_total if w_total > 0 else np.zeros(len(units))
    floor = float(rc["geometric_floor"])
    scores0 = np.where(avail, S, 0.0)
    logs0 = np.where(avail, np.log(np.maximum(np.where(avail, S, floor), floor)), 0.0)
    availf = avail.astype(float)

    with np.errstate(invalid="ignore", divide="ignore"):
        R = _aggregate(scores0, logs0, availf, weights[None, :], np.array([aggregation == "geometric"]))[:, 0]
    rated = (coverage >= float(rc["coverage_min"]) - _TOL) & ~np.isnan(R)
    decimals = int(rc["tie_decimals"])
    R_round = round_half_up(R, decimals)
    ranks = competition_ranks(np.where(rated, R_round, np.nan)[:, None])[:, 0]
    rank_counts = np.bincount(ranks, minlength=len(units) + 1)
    shared = rated & (rank_counts[ranks] > 1)

    n = len(units)
    reason = np.full(n, "no_data", dtype=object)
    if kind == "plan_fulfilment":
        reason[(sc.facts[:, ~dropped & (weights > 0)]).any(axis=1)] = "no_plans"
    reason[avail.any(axis=1)] = "insufficient_coverage"
    if not in_play.any() and dropped.any():
        reason[:] = "no_ratable_indicators"
    reason[rated] = None

    rank_median = np.full(n, np.nan)
    p05 = np.full(n, np.nan)
    p95 = np.full(n, np.nan)
    widened = np.zeros(n, dtype=bool)
    overlaps = np.full(n, -1, dtype=np.int64)
    if bands and rated.any():
        rob = rc["robustness"]
        rng = np.random.default_rng(int(rob["seed"]))
        draws = int(rob["draws"])
        factors = rng.uniform(float(rob["weight_low"]), float(rob["weight_high"]), size=(draws, len(inds)))
        geometric = rng.random(draws) < 0.5
        r_idx = np.flatnonzero(rated)
        with np.errstate(invalid="ignore", divide="ignore"):
            Rd = _aggregate(scores0[r_idx], logs0[r_idx], availf[r_idx], weights[None, :] * factors, geometric)
        Rd = round_half_up(Rd, decimals)
        rd_ranks = competition_ranks(Rd).astype(float)
        point = ranks[r_idx].astype(float)
        lo = np.percentile(rd_ranks, 5, axis=1, method="lower")
        hi = np.percentile(rd_ranks, 95, axis=1, method="higher")
        widened[r_idx] = (point < lo) | (point > hi)
        lo, hi = np.minimum(lo, point), np.maximum(hi, point)
        rank_median[r_idx] = np.median(rd_ranks, axis=1)
        p05[r_idx], p95[r_idx] = lo, hi
        overlaps[r_idx] = _overlap_counts(lo, hi)

    labels = np.where(shared, "=" + ranks.astype(str), ranks.astype(str))
    out = pd.DataFrame({
        "unit_code": pd.array(units, dtype="string"),
        "score": np.where(np.isnan(R), np.nan, R),
        "score_rounded": R_round,
        "coverage": coverage.astype(float),
        "rated": rated,
        "rank": pd.array(np.where(rated, ranks, 0), dtype="Int64"),
        "rank_label": pd.Series(np.where(rated, labels, None), dtype=object),
        "n_indicators": avail.sum(axis=1).astype(np.int64),
        "n_in_play": np.full(n, int(in_play.sum()), dtype=np.int64),
        "dropped_indicators": pd.Series([", ".join(map(str, inds[dropped])) or None] * n, dtype=object),
        "rank_median": rank_median,
        "rank_p05": pd.array(np.where(np.isnan(p05), 0, p05).astype(np.int64), dtype="Int64"),
        "rank_p95": pd.array(np.where(np.isnan(p95), 0, p95).astype(np.int64), dtype="Int64"),
        "band_widened": widened,
        "overlaps_with": pd.array(np.maximum(overlaps, 0), dtype="Int64"),
        "not_rated_reason": pd.Series(reason, dtype=object),
    })
    out.loc[~rated, "rank"] = pd.NA
    no_band = np.isnan(p05)
    out.loc[no_band, ["rank_p05", "rank_p95", "overlaps_with"]] = pd.NA
    out["kind"] = kind
    out["aggregation"] = aggregation
    out["normalisation"] = None if kind == "plan_fulfilment" else normalisation
    out["methodology_version"] = version
    order = np.lexsort((out["unit_code"].to_numpy(dtype=object), np.where(rated, ranks, np.iinfo(np.int64).max)))
    return out.iloc[order].reset_index(drop=True)


def _overlap_counts(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each band [lo, hi], how many OTHER bands overlap it (O(n log n) via sorted ends)."""
    n = len(lo)
    lo_sorted, hi_sorted = np.sort(lo), np.sort(hi)
    starts_after = n - np.searchsorted(lo_sorted, hi, side="right")   # lo_j > hi_i
    ends_before = np.searchsorted(hi_sorted, lo, side="left")          # hi_j < lo_i
    return n - starts_after - ends_before - 1


def clearly_apart(rating: pd.DataFrame, unit_a: str, unit_b: str) -> bool | None:
    """True when the two units' robustness bands do not overlap; None when either has no band (not rated,
    bands off, or not in ``rating`` at all)."""
    if not len(rating) or not {"unit_code", "rank_p05", "rank_p95"} <= set(rating.columns):
        return None
    r = rating.set_index("unit_code")
    if unit_a not in r.index or unit_b not in r.index:
        return None
    a, b = r.loc[unit_a], r.loc[unit_b]
    if pd.isna(a["rank_p05"]) or pd.isna(b["rank_p05"]):
        return None
    return bool(a["rank_p95"] < b["rank_p05"] or b["rank_p95"] < a["rank_p05"])


def overlapping_pairs(rating: pd.DataFrame, adjacent_only: bool = True) -> pd.DataFrame:
    """Pairs of rated units whose bands overlap (not clearly apart).

    ``adjacent_only``: only neighbours in rank order (what a page needs to say "1st and 2nd
    are not clearly apart"); else every overlapping pair. Columns: unit_a, unit_b, rank_a,
    rank_b, band_a, band_b (text 'p05-p95').
    """
    empty = pd.DataFrame(columns=["unit_a", "unit_b", "rank_a", "rank_b", "band_a", "band_b"])
    if not len(rating) or not {"unit_code", "rated", "rank", "rank_p05", "rank_p95"} <= set(rating.columns):
        return empty
    r = rating[rating["rated"] & rating["rank_p05"].notna()].sort_values(["rank", "unit_code"]).reset_index(drop=True)
    if r.empty:
        return empty
    lo = r["rank_p05"].to_numpy(dtype=float)
    hi = r["rank_p95"].to_numpy(dtype=float)
    if adjacent_only:
        a, b = np.arange(len(r) - 1), np.arange(1, len(r))
    else:
        a, b = np.triu_indices(len(r), k=1)
    keep = ~((hi[a] < lo[b]) | (hi[b] < lo[a]))
    a, b = a[keep], b[keep]
    band = r["rank_p05"].astype(str) + "-" + r["rank_p95"].astype(str)
    return pd.DataFrame({
        "unit_a": r["unit_code"].to_numpy()[a], "unit_b": r["unit_code"].to_numpy()[b],
        "rank_a": r["rank"].to_numpy()[a], "rank_b": r["rank"].to_numpy()[b],
        "band_a": band.to_numpy()[a], "band_b": band.to_numpy()[b],
    })


# -- store wrappers -----------------------------------------------------------------

def _unit_filter_codes(store, units: str) -> list[str] | None:
    if units == "regions":
        return store.df("SELECT kato FROM regions")["kato"].tolist()
    if units == "organisations":
        return store.df("SELECT org_id FROM organisations")["org_id"].tolist()
    if units == "all":
        return None
    raise ValueError("units must be 'regions', 'organisations' or 'all'")


def rate_units(store, period: str | None = None, indicator_set=None, *, node_id: str | None = None,
               kind: str | None = None, aggregation: str | None = None, normalisation: str | None = None,
               units: str = "regions", period_kind: str = "year", bands: bool = True,
               methodology=None, previous: bool = True) -> pd.DataFrame:
    """The rating of ``units`` for ``period`` (default: the latest ``period_kind`` period with data).

    ``indicator_set``: None = all indicators, a list of indicator ids, or a goal node id
    (string: the node and its subtree, like ``node_id``). Cells are chosen by the period
    rule of :mod:`sac.metrics.plan_fact`.

    Movement (spec 3.6, "units rated in both"): the previous period of the same kind is rated with the
    same settings (bands off) **on this period's indicator set** (:func:`indicators_in_play`, passed as
    ``comparison_set``), so the coverage rule there is the same as here: a unit with data on too few of
    these indicators then has no previous rank. When fewer than two units are rated in the previous
    period nobody has a previous rank (a period with one fact in the store made its one unit "rank 1").
    The previous rank can therefore differ from :func:`rank_history`'s, which rates each period on its
    own indicators, when the indicator set changed between the two periods.

    Territory (:mod:`sac.metrics.territory`): a unit whose territory changed between the two periods, or that
    did not exist in the previous one, is not compared with it: its movement is NA whatever its previous rank.

    Columns: those of :func:`rate` plus ``period``, ``name_en, name_ru, name_kk``,
    ``rank_prev`` (Int64, NA when the unit was not rated in the previous period as above; kept for a unit whose
    territory changed: the old unit's rank), ``movement`` (Int64, rank_prev - rank: positive = moved up; NA
    unless rated in both and comparable), ``territory_change`` ('territory_changed' | 'new' | 'ended' against
    the previous period, :func:`sac.metrics.territory.change`; None when comparable or there is no previous
    period), ``territory_break`` (bool: ``territory_change`` is set).
    """
    m = methodology if methodology is not None else _methodology.current(store)
    ids = None
    if isinstance(indicator_set, str):
        node_id = indicator_set
    elif indicator_set is not None:
        ids = list(indicator_set)
    codes = _unit_filter_codes(store, units)
    if period is None:
        period = _pf.latest_period(store, period_kind, indicator_ids=ids, unit_codes=codes, node_id=node_id)
    cells = _period_cells(store, period, ids, codes, node_id)
    out = rate(cells, m, kind=kind, aggregation=aggregation, normalisation=normalisation, bands=bands)
    out = _with_every_unit(out, store, codes, units, _settings(m, kind, aggregation, normalisation))
    out["rank_prev"] = pd.array([pd.NA] * len(out), dtype="Int64")
    prev = _pf.previous_period(store, period) if (previous and period is not None) else None
    if prev is not None and out["rated"].any():
        same_set = indicators_in_play(cells, m, kind=kind, normalisation=normalisation)
        before = rate(_period_cells(store, prev, ids, codes, node_id), m, kind=kind, aggregation=aggregation,
                      normalisation=normalisation, bands=False, comparison_set=same_set)
        ranks_prev = before.loc[before["rated"]].set_index("unit_code")["rank"]
        if len(ranks_prev) >= 2:
            out["rank_prev"] = out["unit_code"].map(ranks_prev).astype("Int64")
    out["territory_change"] = territory_changes(out["unit_code"], prev, period)
    out["territory_break"] = out["territory_change"].notna().to_numpy(bool)
    out["movement"] = (out["rank_prev"] - out["rank"]).astype("Int64")
    out.loc[out["territory_break"], "movement"] = pd.NA   # a different territory: a flag, not a rank jump
    names = store.df("SELECT kato AS unit_code, name_en, name_ru, name_kk FROM regions UNION ALL "
                     "SELECT org_id, name_en, name_ru, name_kk FROM organisations")
    names["unit_code"] = names["unit_code"].astype("string")
    out = out.merge(names, on="unit_code", how="left")
    out.insert(0, "period", period)
    return out


def territory_changes(units: pd.Series, previous: str | None, period: str | None) -> pd.Series:
    """Per unit code, :func:`sac.metrics.territory.change` between ``previous`` and ``period`` ('new',
    'territory_changed', 'ended'), None when comparable or when either period is None. Same index as ``units``."""
    if previous is None or period is None:
        return pd.Series([None] * len(units), index=units.index, dtype=object)
    return pd.Series([_territory.change(str(u), previous, period) for u in units], index=units.index, dtype=object)


def _with_every_unit(out: pd.DataFrame, store, codes: list[str] | None, units: str, settings) -> pd.DataFrame:
    """Append every unit of the unit set that has no cell: not rated, coverage 0 (spec 3.4).

    ``units='all'``: the regions and the organisations. Appended rows: score NaN,
    n_indicators 0, rank/band NA, not_rated_reason 'no_data' ('no_ratable_indicators' when nothing could
    be rated); n_in_play, dropped_indicators as the other rows (0 and None when there were no cells); kind,
    aggregation, normalisation and methodology_version from ``settings`` (:func:`_settings`).
    """
    if codes is None:
        codes = _unit_filter_codes(store, "regions") + _unit_filter_codes(store, "organisations")
    missing = sorted(set(map(str, codes)) - set(out["unit_code"].dropna().astype(str)))
    if not missing:
        return out
    _, version, kind, aggregation, normalisation = settings
    nothing_ratable = len(out) and (out["not_rated_reason"] == "no_ratable_indicators").all()
    extra = pd.DataFrame({"unit_code": pd.array(missing, dtype="string")})
    extra["score"] = np.nan
    extra["score_rounded"] = np.nan
    extra["coverage"] = 0.0
    extra["rated"] = False
    extra["rank"] = pd.array([pd.NA] * len(extra), dtype="Int64")
    extra["rank_label"] = pd.Series([None] * len(extra), dtype=object)
    extra["n_indicators"] = np.zeros(len(extra), dtype=np.int64)
    extra["n_in_play"] = np.full(len(extra), int(out["n_in_play"].iloc[0]) if len(out) else 0, dtype=np.int64)
    extra["dropped_indicators"] = pd.Series([out["dropped_indicators"].iloc[0] if len(out) else None] * len(extra),
                                            dtype=object)
    extra["band_widened"] = False
    for c in ("rank_p05", "rank_p95", "overlaps_with"):
        extra[c] = pd.array([pd.NA] * len(extra), dtype="Int64")
    extra["rank_median"] = np.nan
    extra["not_rated_reason"] = pd.Series(["no_ratable_indicators" if nothing_ratable else "no_data"] * len(extra),
                                          dtype=object)
    extra["kind"] = kind
    extra["aggregation"] = aggregation
    extra["normalisation"] = None if kind == "plan_fulfilment" else normalisation
    extra["methodology_version"] = version
    if not len(out):
        return extra[list(out.columns)].reset_index(drop=True)
    both = pd.concat([out, extra[list(out.columns)]], ignore_index=True)
    rank_key = both["rank"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    order = np.lexsort((both["unit_code"].to_numpy(dtype=object), rank_key))
    return both.iloc[order].reset_index(drop=True)


def latest_rated_period(store, kind: str = "year", *, indicator_set=None, rating_kind: str | None = None,
                        methodology=None) -> str | None:
    """The newest ``kind`` period in which at least half of the regions are rated (spec 3.4), else None.

    The coverage denominator counts every indicator expected for the period (planned for
    any unit), so a year still being reported rates few regions or none: pages default to
    this period rather than to the latest period with any fact. Candidates are the
    periods of ``kind`` with at least one regional fact, newest first; each is rated with
    the store's methodology (no bands, no movement) until one qualifies.
    """
    m = methodology if methodology is not None else _methodology.current(store)
    ids, node_id = None, None
    if isinstance(indicator_set, str):
        node_id = indicator_set
    elif indicator_set is not None:
        ids = list(indicator_set)
    codes = _unit_filter_codes(store, "regions")
    if not codes:
        return None
    finer = [k for k, r in _pf._KIND_RANK.items() if r <= _pf._KIND_RANK[kind]]
    candidates = store.df(
        "SELECT DISTINCT q.code, q.start_date FROM v_indicator_cells c JOIN periods p ON p.code = c.period "
        "JOIN periods q ON q.kind = ? AND p.start_date >= q.start_date AND p.end_date <= q.end_date "
        "WHERE c.fact IS NOT NULL AND list_contains(?, p.kind) AND list_contains(?, c.unit_code) "
        "ORDER BY q.start_date DESC", [kind, finer, codes])["code"].tolist()
    for p in candidates:  # newest first; usually the first or second qualifies
        r = _rate_period(store, p, ids, codes, node_id, rating_kind, None, None, False, m)
        if int(r["rated"].sum()) * 2 >= len(codes):
            return p
    return None


def _period_cells(store, period, ids, codes, node_id) -> pd.DataFrame:
    """The cells that count for ``period`` (none when ``period`` is None: a store without facts)."""
    if period is None:
        return _pf.load_cells(store, period="__none__")
    return _pf.cells_for_period(store, period, indicator_ids=ids, unit_codes=codes, node_id=node_id)


def _rate_period(store, period, ids, codes, node_id, kind, aggregation, normalisation, bands, m) -> pd.DataFrame:
    cells = _period_cells(store, period, ids, codes, node_id)
    return rate(cells, m, kind=kind, aggregation=aggregation, normalisation=normalisation, bands=bands)


def rank_history(store, periods, indicator_set=None, *, node_id: str | None = None, kind: str | None = None,
                 aggregation: str | None = None, normalisation: str | None = None, units: str = "regions",
                 methodology=None) -> pd.DataFrame:
    """Point ratings (no bands) for several periods, long: period, unit_code, score, score_rounded,
    coverage, rated, rank, rank_label, methodology_version."""
    m = methodology if methodology is not None else _methodology.current(store)
    ids = None
    if isinstance(indicator_set, str):
        node_id = indicator_set
    elif indicator_set is not None:
        ids = list(indicator_set)
    codes = _unit_filter_codes(store, units)
    frames = []
    for p in periods:  # a handful of periods, each one vectorised rating
        r = _rate_period(store, p, ids, codes, node_id, kind, aggregation, normalisation, False, m)
        r.insert(0, "period", p)
        frames.append(r[["period", "unit_code", "score", "score_rounded", "coverage", "rated", "rank",
                         "rank_label", "methodology_version"]])
    if not frames:
        return pd.DataFrame(columns=["period", "unit_code", "score", "score_rounded", "coverage", "rated", "rank",
                                     "rank_label", "methodology_version"])
    return pd.concat(frames, ignore_index=True)
