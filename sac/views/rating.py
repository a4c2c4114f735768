"""Regional rating page (issue 4, page 2): the frames the page shows, from :mod:`sac.metrics.ratings`.

The rating itself (scores, coverage, competition ranks with ties, movement, robustness
bands) is METHODOLOGY.md section 3 and lives in ``sac.metrics.ratings``. This module only
chooses the options a user may pick (periods with data, indicator sets), and shapes the
rating into the page's table: movement arrows, band text, who is not clearly apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac import datasets, i18n
from sac import methodology as _methodology
from sac.metrics import plan_fact as _pf
from sac.metrics import ratings as _ratings

KINDS = ("plan_fulfilment", "level")
AGGREGATIONS = ("arithmetic", "geometric")
ALL = "all"


def periods_with_data(store, kind: str = "year") -> list[str]:
    """Periods of ``kind`` in which some region has a fact (counting finer periods inside), newest first.

    E.g. quarterly facts in 2025 make '2025' a year with data (the plan-fact period rule then
    rates it on its latest quarter).
    """
    finer = {"year": ["year", "quarter", "month"], "quarter": ["quarter", "month"], "month": ["month"]}[kind]
    df = store.df(
        """
        SELECT DISTINCT q.code, q.start_date
        FROM v_indicator_cells c
        JOIN periods p ON p.code = c.period
        JOIN periods q ON q.kind = ? AND p.start_date >= q.start_date AND p.end_date <= q.end_date
        JOIN regions r ON r.kato = c.unit_code
        WHERE c.fact IS NOT NULL AND list_contains(?, p.kind)
        ORDER BY q.start_date DESC
        """,
        [kind, finer],
    )
    return df["code"].astype(str).tolist()


def default_period(store) -> str | None:
    """The period pages open on: the newest year in which at least half of the regions are rated
    (:func:`sac.metrics.ratings.latest_rated_period`), else the newest year with any fact, else None.

    The newest year with a fact is usually still being reported and rates few regions or none, so the
    home page opened on "no region has enough data to be rated".
    """
    rated = _ratings.latest_rated_period(store)
    if rated is None:  # no plan-fulfilment rating anywhere (a store of facts without plans): the level rating's
        rated = _ratings.latest_rated_period(store, rating_kind="level")
    if rated is not None:
        return rated
    periods = periods_with_data(store)
    return periods[0] if periods else None


def facts_without_plans(store, period: str | None, indicator_set: str = ALL) -> bool:
    """True when some region has a fact for ``period`` in the indicator set and no region has a plan.

    Plan fulfilment then rates nobody (nothing to score against), while the level rating can rate every
    region that reported. The cells are those of the period rule (:func:`sac.metrics.plan_fact.cells_for_period`).
    """
    if period is None:
        return False
    node = None if indicator_set in (None, ALL) else str(indicator_set)
    codes = store.df("SELECT kato FROM regions")["kato"].tolist()
    cells = _pf.cells_for_period(store, period, unit_codes=codes, node_id=node)
    return bool(cells["fact"].notna().any() and cells["plan"].isna().all())


def default_kind(store, period: str | None, indicator_set: str = ALL) -> str:
    """The rating kind a page opens on: the methodology's (plan fulfilment), or 'level' when the period has
    facts but no plans (:func:`facts_without_plans`). A kind the user chose (in the URL) is not this function's
    business: the page's widget keeps it."""
    if facts_without_plans(store, period, indicator_set):
        return "level"
    configured = _methodology.current(store).config["rating"]["kind"]
    return configured if configured in KINDS else KINDS[0]


def indicator_sets(store) -> pd.DataFrame:
    """The indicator sets a rating can be made on: all indicators, each national priority, each program.

    Only nodes with at least one indicator in their subtree are offered. Columns: code ('all' or
    a goal node id), level ('all' | 'national_priority' | 'program'), name_en, name_ru, name_kk
    (NULL for 'all': the page names it), n_indicators. Order: 'all', then national priorities,
    then programs, each by node id.
    """
    nodes = store.df(
        """
        WITH RECURSIVE sub(root, node_id) AS (
            SELECT node_id, node_id FROM goal_nodes WHERE level IN ('national_priority', 'program')
            UNION ALL
            SELECT s.root, g.node_id FROM goal_nodes g JOIN sub s ON g.parent_id = s.node_id
        )
        SELECT g.node_id AS code, g.level, g.name_en, g.name_ru, g.name_kk,
               count(DISTINCT i.indicator_id) AS n_indicators
        FROM sub s JOIN goal_nodes g ON g.node_id = s.root
        JOIN indicators i ON i.node_id = s.node_id
        GROUP BY g.node_id, g.level, g.name_en, g.name_ru, g.name_kk
        ORDER BY CASE g.level WHEN 'national_priority' THEN 1 ELSE 2 END, g.node_id
        """
    )
    n_all = int(store.scalar("SELECT count(*) FROM indicators") or 0)
    head = pd.DataFrame({"code": [ALL], "level": [ALL], "name_en": [None], "name_ru": [None], "name_kk": [None],
                         "n_indicators": [n_all]})
    return pd.concat([head, nodes], ignore_index=True)


def movement_arrow(movement: pd.Series, rank_prev: pd.Series, territory_change: pd.Series | None = None,
                   lang: str = i18n.DEFAULT_LANGUAGE) -> pd.Series:
    """'▲ 2' (moved up two places), '▼ 1', '= 0' (same place), '—' when not rated in both periods (no previous
    rank: see :func:`sac.metrics.ratings.rate_units` for when the previous period counts).

    ``territory_change`` (the rating's column): a unit whose territory changed since the previous period reads
    '⚑ territory changed', one that did not exist then 'new' (in ``lang``), whatever its ranks: a different
    territory is a break, never an arrow (issue 9)."""
    mv = pd.array(movement, dtype="Int64")
    has = np.asarray(~pd.isna(mv) & ~pd.isna(pd.array(rank_prev, dtype="Int64")), dtype=bool)
    vals = np.where(has, np.asarray(mv.fillna(0), dtype=np.int64), 0)
    up = np.char.add("▲ ", np.abs(vals).astype(str))
    down = np.char.add("▼ ", np.abs(vals).astype(str))
    text = np.select([vals > 0, vals < 0], [up, down], default="= 0") if len(vals) else np.array([], dtype=str)
    out = pd.Series(np.where(has, text, i18n.MISSING), index=getattr(movement, "index", None), dtype=object)
    if territory_change is not None:
        change = pd.Series(np.asarray(territory_change, dtype=object), index=out.index)
        flagged = change.notna() & change.isin(TERRITORY_CHANGES)
        out[flagged] = change[flagged].map(lambda c: i18n.t(f"rating.movement_{c}", lang))
    return out


#: what a unit's territory did since the previous period (:func:`sac.metrics.territory.change`), in caption order
TERRITORY_CHANGES = ("new", "territory_changed", "ended")


def territory_changes(table: pd.DataFrame, name_col: str = "name_en") -> pd.DataFrame:
    """The units of a rating table whose history is not comparable with the previous period (issue 9).

    Input: :func:`rating_table` output (any rows: the page passes what the reader may see). Columns: unit_code,
    name (``name_col``), territory_change ('new' | 'territory_changed' | 'ended'); grouped in
    :data:`TERRITORY_CHANGES` order, by name within a group. Empty when nothing changed or there is no
    previous period.
    """
    if table.empty or "territory_change" not in table:
        return pd.DataFrame({"unit_code": [], "name": [], "territory_change": []}, dtype=object)
    t = table[table["territory_change"].isin(TERRITORY_CHANGES)]
    out = pd.DataFrame({"unit_code": t["unit_code"].astype(str).to_numpy(),
                        "name": t[name_col].fillna(t["unit_code"].astype(str)).astype(str).to_numpy(),
                        "territory_change": t["territory_change"].to_numpy()}, dtype=object)
    order = out["territory_change"].map({c: i for i, c in enumerate(TERRITORY_CHANGES)})
    return out.assign(_o=order).sort_values(["_o", "name"], kind="stable").drop(columns="_o").reset_index(drop=True)


def band_text(p05: pd.Series, p95: pd.Series) -> pd.Series:
    """'2–5' for a robustness band, '3' when it is a single rank, '' when there is no band."""
    lo = pd.array(p05, dtype="Int64")
    hi = pd.array(p95, dtype="Int64")
    has = ~pd.isna(lo) & ~pd.isna(hi)
    lo_s = np.asarray(lo.fillna(0), dtype=np.int64).astype(str)
    hi_s = np.asarray(hi.fillna(0), dtype=np.int64).astype(str)
    text = np.where(lo_s == hi_s, lo_s, np.char.add(np.char.add(lo_s, "–"), hi_s))
    return pd.Series(np.where(has, text, ""), index=getattr(p05, "index", None), dtype=object)


def rating_table(store, period: str | None = None, indicator_set: str = ALL, *, kind: str = "plan_fulfilment",
                 aggregation: str = "arithmetic") -> pd.DataFrame:
    """The rating of the 20 regions for one period and one indicator set, ready for the page.

    ``indicator_set``: 'all' or a goal node id (national priority / program: its subtree's
    indicators). ``period`` None = the latest year with data.

    Columns: those of :func:`sac.metrics.ratings.rate_units` (period, unit_code, score,
    score_rounded, coverage, rated, rank, rank_label, n_indicators, n_in_play, rank_median,
    rank_p05, rank_p95, band_widened, overlaps_with, kind, aggregation, normalisation,
    methodology_version, rank_prev, movement, name_en, name_ru, name_kk) plus
    ``territory_change``, ``territory_break`` (issue 9: no movement for a changed or new unit),
    ``iso`` ('KZ-75'), ``region_kind`` ('region' | 'city'), ``movement_arrow`` (see
    :func:`movement_arrow`; its flags in English: pages write it again in the reader's language),
    ``band`` ('2–5'), ``coverage_pct`` (100 * coverage), ``position`` (:func:`position`);
    ``not_rated_reason`` says why a region is not rated. Rated units first by rank, then the units not rated;
    every region is listed, with no data at all too (a store without facts: all 20, none rated).
    """
    node = None if indicator_set in (None, ALL) else str(indicator_set)
    r = _ratings.rate_units(store, period, node, kind=kind, aggregation=aggregation, units="regions")
    regs = store.df("SELECT kato AS unit_code, iso, kind AS region_kind FROM regions")
    regs["unit_code"] = regs["unit_code"].astype("string")
    r["unit_code"] = r["unit_code"].astype("string")
    out = r.merge(regs, on="unit_code", how="left")
    out["movement_arrow"] = movement_arrow(out["movement"], out["rank_prev"], out["territory_change"])
    out["band"] = band_text(out["rank_p05"], out["rank_p95"])
    out["coverage_pct"] = 100.0 * out["coverage"].astype("float64")
    out["position"] = position(out["rank"], out["rated"])
    # issue 12: how many of a region's figures in this rating no analyst has approved yet
    cells = _pf.plan_fact(store, r["period"].iloc[0] if len(r) else period, node_id=node)
    cells = cells[cells["fact"].notna()]
    cells = cells.assign(provisional=~datasets.official(store, cells))
    counts = cells.groupby(cells["unit_code"].astype("string"))["provisional"].agg(["size", "sum"])
    out["n_cells"] = out["unit_code"].map(counts["size"]).fillna(0).astype(int)
    out["n_provisional"] = out["unit_code"].map(counts["sum"]).fillna(0).astype(int)
    return out


def provisional_summary(table: pd.DataFrame) -> dict:
    """Cells of the rating (facts in play) and how many are provisional: {'cells', 'provisional',
    'regions'} — regions rated partly on provisional figures."""
    rated = table[table["rated"].astype(bool)]
    return {"cells": int(table["n_cells"].sum()), "provisional": int(table["n_provisional"].sum()),
            "regions": int((rated["n_provisional"] > 0).sum())}


def export_table(rated: pd.DataFrame, lang: str = i18n.DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The rating table as downloaded (CSV/XLSX), headers in ``lang``: numbers stay numbers.

    Input: the rated rows of :func:`rating_table`. Rank, previous rank and movement are integers (Int64),
    so a spreadsheet sorts them as numbers; a tie is two equal ranks (the page's '=11' is only how the
    screen shows it, and as text it sorted wrongly and opened as a formula). Movement is places moved up
    (negative: down), empty when the region was not rated in both periods, as the page's arrow is.
    Score and coverage (percent, one decimal) are floats. The band stays text ('2–5'). When some region's
    territory changed since the previous period (or it is new), a last column says so: 'territory changed' or
    'new' (in ``lang``; issue 9): why it has a previous rank and no movement. Without such a region there is no
    such column.
    """
    def h(key: str) -> str:
        return i18n.t(f"rating.col_{key}", lang)

    rank_prev = pd.Series(pd.array(rated["rank_prev"], dtype="Int64"))
    movement = pd.Series(pd.array(rated["movement"], dtype="Int64")).mask(rank_prev.isna())
    change = (pd.Series(np.asarray(rated["territory_change"], dtype=object)) if "territory_change" in rated
              else pd.Series([None] * len(rated), dtype=object))
    territory = change.map(lambda c: i18n.t(f"rating.territory_{c}", lang) if c in TERRITORY_CHANGES else "")
    out = pd.DataFrame({
        h("rank"): pd.array(rated["rank"], dtype="Int64"),
        h("region"): rated[i18n.name_column(lang)].to_numpy(),
        h("score"): rated["score_rounded"].astype("float64").to_numpy(),
        h("coverage"): rated["coverage_pct"].astype("float64").round(1).to_numpy(),
        h("movement"): movement.array,
        h("prev_rank"): rank_prev.array,
        h("band"): rated["band"].to_numpy(),
        h("indicators"): pd.array(rated["n_indicators"], dtype="Int64"),
    })
    if change.isin(TERRITORY_CHANGES).any():
        out[h("territory")] = territory.to_numpy(dtype=object)
    # issue 12: a rank that rests partly on figures no analyst has approved says how many (no column when none)
    if "n_provisional" in rated and (rated["n_provisional"] > 0).any():
        out[h("provisional")] = pd.array(rated["n_provisional"], dtype="Int64")
    return out


def history_export(history: pd.DataFrame, lang: str = i18n.DEFAULT_LANGUAGE) -> pd.DataFrame:
    """Rank history as downloaded: one row per region (header in ``lang``), one integer column per period,
    empty where the region was not rated."""
    wide = history.pivot_table(index=i18n.name_column(lang), columns="period", values="rank", aggfunc="first")
    wide = wide.astype("Float64").round().astype("Int64")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index().rename(columns={i18n.name_column(lang): i18n.t("rating.col_region", lang)})


def position(rank: pd.Series, rated: pd.Series) -> pd.Series:
    """Place among the rated units on a 0-100 scale: 100 = first, 0 = last (for colouring a map).

    ``100 * (n - rank) / (n - 1)`` with n the number of rated units (100 when only one is rated);
    NaN for units not rated. Scores of the regions often sit within a few points of each other,
    so a map coloured by the score itself would show one shade; the place separates them.
    """
    r = pd.to_numeric(pd.Series(rank), errors="coerce").astype("float64")
    ok = pd.Series(rated).astype(bool).to_numpy()
    n = int(ok.sum())
    if n <= 1:
        return pd.Series(np.where(ok, 100.0, np.nan), index=r.index)
    return pd.Series(np.where(ok, 100.0 * (n - r) / (n - 1), np.nan), index=r.index)


def not_clearly_apart(table: pd.DataFrame, name_col: str = "name_en") -> pd.DataFrame:
    """Neighbours in rank order whose robustness bands overlap (METHODOLOGY.md section 3.7).

    Input: :func:`rating_table` output. Columns: unit_a, unit_b, rank_a, rank_b, band_a,
    band_b, name_a, name_b (in ``name_col``). Ranks and bands are written as in the rating table
    (``rank_label`` '=3' for a tie, :func:`band_text` '2–4', a one-rank band as '6', not '6-6').
    """
    pairs = _ratings.overlapping_pairs(table, adjacent_only=True)
    if pairs.empty:
        return pairs.assign(name_a=pd.Series(dtype=object), name_b=pd.Series(dtype=object))
    by_unit = table.set_index("unit_code")
    pairs["name_a"] = pairs["unit_a"].map(by_unit[name_col])
    pairs["name_b"] = pairs["unit_b"].map(by_unit[name_col])
    band = band_text(by_unit["rank_p05"], by_unit["rank_p95"])
    for side in ("a", "b"):
        pairs[f"band_{side}"] = pairs[f"unit_{side}"].map(band).fillna(pairs[f"band_{side}"])
        if "rank_label" in by_unit:
            pairs[f"rank_{side}"] = pairs[f"unit_{side}"].map(by_unit["rank_label"]).fillna(pairs[f"rank_{side}"])
    return pairs


def rank_history(store, periods: list[str], indicator_set: str = ALL, *, kind: str = "plan_fulfilment",
                 aggregation: str = "arithmetic") -> pd.DataFrame:
    """Ranks of the regions over ``periods`` (oldest first in the result), same settings as the table.

    Columns: period, unit_code, score, score_rounded, coverage, rated, rank, rank_label,
    methodology_version, name_en, name_ru, name_kk.
    """
    node = None if indicator_set in (None, ALL) else str(indicator_set)
    ordered = sorted(periods)
    h = _ratings.rank_history(store, ordered, node, kind=kind, aggregation=aggregation, units="regions")
    names = store.df("SELECT kato AS unit_code, name_en, name_ru, name_kk FROM regions")
    names["unit_code"] = names["unit_code"].astype("string")
    h["unit_code"] = h["unit_code"].astype("string")
    return h.merge(names, on="unit_code", how="left")


def previous_period(store, period: str) -> str | None:
    """The period of the same kind before ``period`` (for the "compared with" caption)."""
    return _pf.previous_period(store, period)
