"""The goal map and gap analysis (METHODOLOGY.md section 7).

Sources: Rules para 17 and Appendix 2 (seed 004) — the map of goals, national
priority -> program -> basic direction -> group of projects -> project, each node with
its indicators and responsible official at one of four levels of personal
responsibility; Rules para 2.56 and 74 — the regular analysis of gaps: are the
projects being implemented sufficient to reach the indicators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac.methodology import current
from sac.metrics.plan_fact import plan_fact

LEVEL_ORDER = ("national_priority", "program", "basic_direction", "project_group", "project")

_NODES_SQL = """
WITH RECURSIVE depth_of(node_id, depth) AS (
    SELECT node_id, 0 FROM goal_nodes WHERE parent_id IS NULL
    UNION ALL
    SELECT g.node_id, d.depth + 1 FROM goal_nodes g JOIN depth_of d ON g.parent_id = d.node_id
    WHERE d.depth < 10
)
SELECT g.node_id, g.parent_id, g.level, g.code, g.name_en, g.name_ru, g.name_kk, g.region_kato,
       g.responsible_official, o.full_name AS responsible_name, g.responsibility_level,
       (SELECT count(*) FROM indicators i WHERE i.node_id = g.node_id) AS n_indicators
FROM goal_nodes g
LEFT JOIN officials o ON o.official_id = g.responsible_official
ORDER BY g.node_id
"""

_PROJECT_NODES_SQL = """
SELECT p.project_id AS node_id, p.node_id AS parent_id, 'project' AS level, p.project_id AS code,
       p.name_en, coalesce(p.name_ru, p.name_en) AS name_ru, coalesce(p.name_kk, p.name_en) AS name_kk,
       p.region_kato, p.manager_id AS responsible_official, o.full_name AS responsible_name,
       CAST(NULL AS INTEGER) AS responsibility_level,
       (SELECT count(DISTINCT c.indicator_id) FROM project_contributions c WHERE c.project_id = p.project_id)
           AS n_indicators
FROM projects p
LEFT JOIN officials o ON o.official_id = p.manager_id
WHERE p.node_id IN (SELECT node_id FROM goal_nodes)
ORDER BY p.project_id
"""


def roll_up(nodes: pd.DataFrame, own_score: pd.Series) -> pd.DataFrame:
    """Roll scores up the tree (section 7): own score if the node has one, else the mean of its children's.

    ``nodes``: ``id`` (unique), ``parent`` ('' or NaN for a root); ``own_score``: indexed
    by ``id`` (NaN = the node has no scored indicator). Returns ``nodes`` with ``depth``,
    ``own_score``, ``score``, ``score_source`` ('own' | 'children' | NA) and ``n_children``.
    Vectorised by depth: the deepest level first, each level one groupby.
    """
    out = nodes.copy()
    parent = out["parent"].where(out["parent"].notna() & (out["parent"] != ""), None)
    ids = set(out["id"])
    parent = parent.where(parent.isin(ids), None)
    # depth by repeated parent lookup: one vectorised map per level of the tree
    depth = pd.Series(0, index=out.index)
    par_of = dict(zip(out["id"], parent, strict=True))
    cur = parent.copy()
    for _ in range(len(LEVEL_ORDER) + 5):
        has = cur.notna()
        if not has.any():
            break
        depth = depth + has.astype(int)
        cur = cur.map(par_of).where(has, None)
    out["depth"] = depth
    out["own_score"] = out["id"].map(own_score).astype("float64")
    out["score"] = out["own_score"]
    out["_parent"] = parent
    out["n_children"] = out["id"].map(parent.value_counts()).fillna(0).astype(int)
    for d in range(int(depth.max()) if len(out) else 0, -1, -1):
        level_rows = out["depth"] == d
        child_rows = out["depth"] == d + 1
        child_mean = out.loc[child_rows].groupby("_parent")["score"].mean()
        fill = out.loc[level_rows, "id"].map(child_mean)
        out.loc[level_rows, "score"] = out.loc[level_rows, "score"].fillna(fill)
    src = np.select([out["own_score"].notna(), out["score"].notna()], ["own", "children"], default="")
    out["score_source"] = pd.Series(src, index=out.index, dtype="string").replace("", pd.NA)
    return out.drop(columns=["_parent"])


def _within_region(nodes: pd.DataFrame, region: str) -> pd.DataFrame:
    """Drop nodes of another region's plan (``region_kato`` set and different) with their subtrees;
    national nodes (no region) stay."""
    keep = nodes["region_kato"].isna() | (nodes["region_kato"] == region)
    parent_of = dict(zip(nodes["node_id"], nodes["parent_id"], strict=True))
    dropped = set(nodes.loc[~keep, "node_id"])
    anc = nodes["parent_id"]
    for _ in range(len(LEVEL_ORDER)):  # one vectorised step per level of the tree
        keep &= ~anc.isin(dropped)
        anc = anc.map(parent_of)
    return nodes[keep].reset_index(drop=True)


def _effective_region(nodes: pd.DataFrame) -> pd.Series:
    """Per node_id: its own ``region_kato``, else the nearest ancestor's (None for national nodes).

    One vectorised step per level of the tree.
    """
    parent_of = dict(zip(nodes["node_id"], nodes["parent_id"], strict=True))
    region_of = dict(zip(nodes["node_id"], nodes["region_kato"], strict=True))
    region = nodes["region_kato"].astype(object).where(nodes["region_kato"].notna(), None)
    anc = nodes["parent_id"]
    for _ in range(len(LEVEL_ORDER) + 5):
        if not (region.isna() & anc.notna()).any():
            break
        region = region.where(region.notna(), anc.map(region_of))
        anc = anc.map(parent_of)
    return pd.Series(region.to_numpy(), index=nodes["node_id"].to_numpy())


def _regional_cells_only(cells: pd.DataFrame, node_region: pd.Series) -> pd.DataFrame:
    """Cells of an indicator on a regional plan's node (region own or inherited) only for that region.

    A regional plan (goal_nodes.region_kato) is that region's: its indicators are scored on the
    region's cells, never on other regions' values of the same indicator.
    """
    if cells.empty:
        return cells
    reg = cells["node_id"].map(node_region)
    keep = reg.isna() | (cells["unit_code"].astype(str) == reg.astype(object).where(reg.notna(), "").astype(str))
    return cells[keep.to_numpy(bool)]


def _indicator_scores(cells: pd.DataFrame) -> pd.DataFrame:
    """Per indicator: mean S over its scored units, with the indicator's weight and node."""
    scored = cells[cells["scored"].astype(bool)]
    return (scored.groupby("indicator_id")
            .agg(score=("score", "mean"), weight=("weight", "first"), node_id=("node_id", "first"))
            .reset_index())


def goal_tree(store, period: str | None = None, *, region: str | None = None) -> pd.DataFrame:
    """One row per node of the goal map, projects as leaves, ready for a plotly sunburst/treemap.

    Columns: ``id``, ``parent`` ('' for roots; projects get ids ``project:<project_id>``),
    ``node_id``, ``parent_id``, ``level`` (national_priority, program, basic_direction,
    project_group, project), ``code``, ``name_en``, ``name_ru``, ``name_kk``, ``region_kato``,
    ``responsible_official``, ``responsible_name`` (for projects: the manager),
    ``responsibility_level`` (1-4; NA for projects), ``n_indicators`` (own indicators; for
    projects the indicators they contribute to), ``own_score`` (weighted mean of the
    own indicators' S, each indicator's S being its mean over scored units), ``score``
    (own score, else the mean of the children's scores), ``score_source``, ``n_children``,
    ``depth``, ``period``, ``methodology_version``.

    A node of a regional plan (``region_kato`` set on it or on an ancestor) is scored on that
    region's cells only; national nodes on every unit's. ``region`` keeps only that unit's cells, that region's projects, and drops the nodes
    of other regions' plans (goal_nodes.region_kato set to another region) with their
    subtrees; a project's score is the mean S of the indicator cells (indicator, unit)
    it contributes to.
    """
    m = current(store)
    cells = plan_fact(store, period, unit_codes=[region] if region else None, methodology=m)
    period_used = period if period is not None else (cells["rating_period"].iloc[0]
                                                      if "rating_period" in cells and len(cells) else None)
    nodes = store.df(_NODES_SQL)
    projects = store.df(_PROJECT_NODES_SQL)
    all_cells = cells  # projects name their (indicator, unit) cells themselves
    cells = _regional_cells_only(cells, _effective_region(nodes))
    if region is not None:
        nodes = _within_region(nodes, region)
        projects = projects[(projects["region_kato"] == region) & projects["parent_id"].isin(nodes["node_id"])]

    ind = _indicator_scores(cells)
    ind = ind[ind["node_id"].notna() & ind["weight"].gt(0)]
    ind["ws"] = ind["score"] * ind["weight"]
    by_node = ind.groupby("node_id")[["ws", "weight"]].sum()
    node_own = by_node["ws"] / by_node["weight"]

    contrib = store.df("SELECT project_id, indicator_id, unit_code FROM project_contributions")
    scored = all_cells.loc[all_cells["scored"].astype(bool), ["indicator_id", "unit_code", "score"]]
    proj_own = contrib.merge(scored, on=["indicator_id", "unit_code"]).groupby("project_id")["score"].mean()

    nodes["id"] = nodes["node_id"]
    nodes["parent"] = nodes["parent_id"].fillna("")
    projects["id"] = "project:" + projects["node_id"]
    projects["parent"] = projects["parent_id"]
    allnodes = pd.concat([nodes, projects], ignore_index=True)
    own = pd.concat([node_own, proj_own.rename(lambda p: f"project:{p}")])
    out = roll_up(allnodes, own)
    out["responsibility_level"] = out["responsibility_level"].astype("Int64")
    out["n_indicators"] = out["n_indicators"].astype(int)
    out["period"] = period_used
    out["methodology_version"] = m.version
    cols = ["id", "parent", "node_id", "parent_id", "level", "code", "name_en", "name_ru", "name_kk", "region_kato",
            "responsible_official", "responsible_name", "responsibility_level", "n_indicators", "own_score", "score",
            "score_source", "n_children", "depth", "period", "methodology_version"]
    return out[cols]


# ---------------------------------------------------------------------------
# Gap analysis (Rules para 74)
# ---------------------------------------------------------------------------

_GAP_SQL = """
WITH upto AS (SELECT end_date FROM periods WHERE code = ?),
latest AS (   -- the latest fact of each (indicator, unit) up to the end of the period
    SELECT c.indicator_id, c.unit_code,
           arg_max(c.fact, (p.end_date, -epoch(p.start_date))) AS current_fact,
           arg_max(c.period, (p.end_date, -epoch(p.start_date))) AS current_period
    FROM v_indicator_cells c JOIN periods p ON p.code = c.period, upto
    WHERE c.fact IS NOT NULL AND p.end_date <= upto.end_date
    GROUP BY 1, 2
),
running AS (  -- contributions of running projects: active and not finished
    SELECT c.indicator_id, c.unit_code, sum(c.planned_contribution) AS planned_change,
           count(DISTINCT c.project_id) AS n_projects, list(DISTINCT c.project_id ORDER BY c.project_id) AS projects
    FROM project_contributions c JOIN projects p USING (project_id)
    WHERE p.is_active AND p.actual_end IS NULL
    GROUP BY 1, 2
),
unit_target AS (  -- the unit's own plan in the passport's target year, when it has one
    SELECT c.indicator_id, c.unit_code, c.plan AS unit_target
    FROM v_indicator_cells c JOIN indicators i USING (indicator_id)
    WHERE c.period = CAST(i.target_year AS VARCHAR) AND c.plan IS NOT NULL
),
pairs AS (
    SELECT indicator_id, unit_code FROM latest
    UNION SELECT indicator_id, unit_code FROM running
)
SELECT k.indicator_id, k.unit_code, i.name_en, i.name_ru, i.name_kk, i.unit_of_measure, i.direction,
       coalesce(t.unit_target, i.target_value) AS target_value,
       CASE WHEN t.unit_target IS NOT NULL THEN 'unit_plan'
            WHEN i.target_value IS NOT NULL THEN 'passport' END AS target_source,
       i.target_year, l.current_fact, l.current_period,
       coalesce(r.planned_change, 0) AS planned_change, coalesce(r.n_projects, 0) AS n_projects, r.projects
FROM pairs k
JOIN indicators i USING (indicator_id)
LEFT JOIN latest l USING (indicator_id, unit_code)
LEFT JOIN running r USING (indicator_id, unit_code)
LEFT JOIN unit_target t USING (indicator_id, unit_code)
ORDER BY k.indicator_id, k.unit_code
"""


def gap_sufficiency(df: pd.DataFrame) -> pd.DataFrame:
    """Pure core of :func:`gap_analysis`.

    Input columns: ``direction``, ``target_value``, ``current_fact``, ``planned_change``
    (the sum of running projects' planned contributions). A contribution is the change
    the project brings to the indicator's value, in its unit and signed: a project that
    cuts the poverty share by 0.5 points states -0.5 (as the demo and the upload
    template carry it).

    Adds, all oriented by direction d (+1 up, -1 down) so that positive means "towards
    the target":
    ``required`` = d*(target - fact): how far the indicator still has to move (<= 0: target
    already met; NaN when the target, fact or direction is missing);
    ``planned`` = d*planned_change: how far the running projects plan to move it;
    ``achieved`` (required <= 0); ``insufficient`` (nullable boolean: required > 0 and
    planned < required); ``shortfall`` = required - planned when insufficient, 0 when
    sufficient, NaN when unknown.
    """
    out = df.copy()
    d = out["direction"].map({"up": 1.0, "down": -1.0})
    req = d * (pd.to_numeric(out["target_value"]) - pd.to_numeric(out["current_fact"]))
    out["required"] = req.astype("float64")
    change = pd.to_numeric(out["planned_change"]).astype("float64").fillna(0.0)
    out["planned"] = (d * change + 0.0).astype("float64")  # + 0.0: no "-0" when nothing is planned
    planned = out["planned"].fillna(0.0)
    known = out["required"].notna()
    out["achieved"] = (out["required"] <= 0).astype("boolean").where(known)
    out["insufficient"] = ((out["required"] > 0) & (planned < out["required"])).astype("boolean").where(known)
    out["shortfall"] = (out["required"] - planned).clip(lower=0).where(known)
    return out


def gap_analysis(store, period: str, *, region: str | None = None) -> pd.DataFrame:
    """Are the running projects enough to reach each indicator? (Rules para 74, section 7)

    One row per (indicator, unit) that has a fact up to the end of ``period`` or a
    running project contributing to it. The target is the unit's own plan in the
    passport's target year when the unit has one, else the passport target.
    Columns: ``indicator_id``, ``unit_code``, ``name_en/ru/kk``, ``unit_of_measure``,
    ``direction``, ``target_value``, ``target_source`` ('unit_plan'|'passport'),
    ``target_year``, ``current_fact``, ``current_period``, ``planned_change``, ``n_projects``,
    ``projects`` (list of project ids), and those of :func:`gap_sufficiency`;
    ``period``, ``methodology_version``.
    """
    m = current(store)
    df = store.df(_GAP_SQL, [str(period)])
    if region is not None:
        df = df[df["unit_code"] == region]
    out = gap_sufficiency(df).reset_index(drop=True)
    out["period"] = period
    out["methodology_version"] = m.version
    return out
