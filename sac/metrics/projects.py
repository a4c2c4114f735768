"""Projects: terms, budget, earned value, para 64 ratios, managers (METHODOLOGY.md section 6).

Sources (seed 004, Rules for the implementation of project management):
- para 64: the five program performance and efficiency ratios;
- para 68.10: rating of heads of project groups and project managers, best and worst;
- para 79: a project manager cannot manage two or more projects at the same time.

Everything here is pure (frames in, frames out) except the ``load_*`` functions and
``manager_rating`` when given a store, which read it. Missing is missing: a project
whose percent complete is unknown has no EV, SPI or computed status, never zero.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from sac.methodology import current, resolve
from sac.metrics.ratings import round_half_up

LEVELS = ("national_priority", "program", "basic_direction", "project_group")


def methodology(store) -> tuple[int | None, dict]:
    """(version, config) of the methodology in force in ``store`` (sac.methodology.current)."""
    m = current(store)
    return m.version, m.config


def _today(today) -> pd.Timestamp:
    return pd.Timestamp(today if today is not None else _dt.date.today()).normalize()


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

# Each project's group of projects, walked up goal_nodes to its basic direction,
# program and national priority (one column per level, NULL where the chain stops).
_PROJECTS_SQL = """
WITH RECURSIVE chain(project_id, node_id, parent_id, level, depth) AS (
    SELECT p.project_id, g.node_id, g.parent_id, g.level, 0
    FROM projects p JOIN goal_nodes g ON g.node_id = p.node_id
    UNION ALL
    SELECT c.project_id, g.node_id, g.parent_id, g.level, c.depth + 1
    FROM chain c JOIN goal_nodes g ON g.node_id = c.parent_id
    WHERE c.depth < 10
),
levels AS (
    SELECT project_id,
           max(node_id) FILTER (WHERE level = 'project_group')     AS project_group,
           max(node_id) FILTER (WHERE level = 'basic_direction')   AS basic_direction,
           max(node_id) FILTER (WHERE level = 'program')           AS program,
           max(node_id) FILTER (WHERE level = 'national_priority') AS national_priority,
           list(node_id)                                            AS ancestors
    FROM chain GROUP BY project_id
)
SELECT p.*, l.project_group, l.basic_direction, l.program, l.national_priority,
       coalesce(l.ancestors, []) AS ancestors,
       o.full_name AS manager_name,
       gp.responsible_official AS group_head_id
FROM projects p
LEFT JOIN levels l USING (project_id)
LEFT JOIN officials o ON o.official_id = p.manager_id
LEFT JOIN goal_nodes gp ON gp.node_id = l.project_group
"""


def load_projects(store, *, today=None, region: str | None = None, node_id: str | None = None,
                  config: dict | None = None) -> pd.DataFrame:
    """All projects with the computed columns of :func:`project_metrics`.

    ``region`` keeps projects of one KATO code; ``node_id`` keeps projects anywhere
    under that goal-map node (its own group or any ancestor). Adds the hierarchy
    columns ``project_group``, ``basic_direction``, ``program``, ``national_priority``
    (node ids), ``manager_name``, ``group_head_id`` (responsible official of the
    project's group) and ``methodology_version``.
    """
    version, cfg = methodology(store)
    where, params = [], []
    if region is not None:
        where.append("region_kato = ?")
        params.append(str(region))
    if node_id is not None:
        where.append("list_contains(ancestors, ?)")
        params.append(str(node_id))
    sql = f"SELECT * FROM ({_PROJECTS_SQL}) {'WHERE ' + ' AND '.join(where) if where else ''}"
    df = store.df(sql, params).drop(columns=["ancestors"]).sort_values("project_id").reset_index(drop=True)
    out = project_metrics(df, today, config or cfg)
    out["methodology_version"] = version
    return out


# ---------------------------------------------------------------------------
# Per-project metrics
# ---------------------------------------------------------------------------

def project_metrics(df: pd.DataFrame, today=None, config=None) -> pd.DataFrame:
    """Terms, budget and earned value of each project (section 6).

    Input: rows of the ``projects`` table (``planned_start``, ``planned_end``,
    ``actual_end``, ``forecast_end``, ``budget``, ``cost_to_date``, ``forecast_cost``,
    ``percent_complete``, ``status_reported``, ``is_active``; dates may be missing).
    Returns a copy with:

    - ``finished``: has an actual end.
    - ``end_date``: actual end when finished, else forecast end.
    - ``slip_days``: ``end_date - planned_end`` in days (positive = late).
    - ``cost``: the cost judged against the budget: finished -> ``cost_to_date``
      (or ``forecast_cost`` when that is missing); running -> ``forecast_cost``
      (estimate at completion).
    - ``budget_variance_pct``: ``100*(cost - budget)/budget``; NaN when budget is 0 or missing.
    - ``on_terms``: finished -> actual end <= planned end; running -> forecast end <= planned end.
    - ``within_budget``: ``cost <= budget``. Both are nullable booleans (NA when unknown).
    - ``overdue``: running (not finished, active) and ``today`` is past the planned end.
    - ``planned_share``: planned share of duration elapsed at ``today``, linear between
      planned start and planned end, clipped to 0-1. A zero-length plan (start = end)
      counts as wholly due from its start day: share 1 if today >= start, else 0.
    - ``PV = BAC*planned_share``, ``EV = BAC*percent_complete`` (NaN when percent complete
      is unknown), ``AC = cost_to_date``; ``SPI = EV/PV`` and ``CPI = EV/AC``, NaN when the
      denominator is 0 or missing (no "infinite" efficiency).
    - ``status_computed``: 'red' if SPI < ev_red or CPI < ev_red or overdue; 'amber' if
      SPI < ev_amber or CPI < ev_amber; 'green' otherwise; NA when neither SPI nor CPI
      is defined and the project is not overdue (no evidence either way).
    - ``status_disagrees``: the self-reported status differs from the computed one
      (NA when either is missing).
    """
    cfg = resolve(config)[0]["projects"]  # a dict (merged over the defaults), a Methodology, or None
    red, amber = float(cfg["ev_red"]), float(cfg["ev_amber"])
    today = _today(today)
    out = df.copy()
    for c in ("planned_start", "planned_end", "actual_start", "actual_end", "forecast_end"):
        out[c] = pd.to_datetime(out[c])
    for c in ("budget", "cost_to_date", "forecast_cost", "percent_complete"):
        out[c] = pd.to_numeric(out[c]).astype("float64")

    finished = out["actual_end"].notna()
    active = out["is_active"].astype("boolean").fillna(True) if "is_active" in out else True
    out["finished"] = finished
    out["end_date"] = out["actual_end"].where(finished, out["forecast_end"])
    out["slip_days"] = (out["end_date"] - out["planned_end"]).dt.days.astype("float64")

    cost = np.where(finished, out["cost_to_date"].fillna(out["forecast_cost"]), out["forecast_cost"])
    out["cost"] = pd.Series(cost, index=out.index, dtype="float64")
    budget = out["budget"].where(out["budget"] > 0)
    out["budget_variance_pct"] = 100.0 * (out["cost"] - budget) / budget

    known_end = out["end_date"].notna() & out["planned_end"].notna()
    out["on_terms"] = (out["end_date"] <= out["planned_end"]).astype("boolean").where(known_end)
    known_cost = out["cost"].notna() & out["budget"].notna()
    out["within_budget"] = (out["cost"] <= out["budget"]).astype("boolean").where(known_cost)
    out["overdue"] = (~finished) & active & out["planned_end"].notna() & (today > out["planned_end"])

    dur = (out["planned_end"] - out["planned_start"]).dt.days.astype("float64")
    elapsed = (today - out["planned_start"]).dt.days.astype("float64")
    share = np.where(dur > 0, np.clip(elapsed / dur.where(dur > 0), 0.0, 1.0),
                     np.where(elapsed >= 0, 1.0, 0.0))
    share = pd.Series(share, index=out.index).where(dur.notna() & (dur >= 0))
    out["planned_share"] = share
    out["PV"] = out["budget"] * share
    out["EV"] = out["budget"] * out["percent_complete"]
    out["AC"] = out["cost_to_date"]
    out["SPI"] = out["EV"] / out["PV"].where(out["PV"] > 0)
    out["CPI"] = out["EV"] / out["AC"].where(out["AC"] > 0)

    # compared rounded to 12 decimals: CPI = 57/60 is 0.95 exactly, not 0.9499999999999998 (amber)
    spi, cpi = out["SPI"].round(12), out["CPI"].round(12)
    is_red = (spi < red) | (cpi < red) | out["overdue"]
    is_amber = (spi < amber) | (cpi < amber)
    evidence = spi.notna() | cpi.notna() | out["overdue"]
    status = np.select([is_red, is_amber], ["red", "amber"], default="green")
    out["status_computed"] = pd.Series(status, index=out.index, dtype="string").where(evidence)
    rep = out["status_reported"].astype("string")
    out["status_disagrees"] = (rep != out["status_computed"]).astype("boolean").where(
        rep.notna() & out["status_computed"].notna())
    return out


def running(df: pd.DataFrame) -> pd.Series:
    """Boolean mask of running projects: active and not finished (input: :func:`project_metrics` output)."""
    active = df["is_active"].astype("boolean").fillna(True).astype(bool) if "is_active" in df else True
    return (active & ~df["finished"].astype(bool)).astype(bool)


def off_track(df: pd.DataFrame) -> pd.Series:
    """Boolean mask of projects off track, the one definition every page counts (METHODOLOGY.md sections 6, 9):
    running (:func:`running`) and red, computed (``status_computed``) or self-reported (``status_reported``:
    a project office that reports red is heard even when the figures look fine)."""
    red = (df["status_computed"].astype("string") == "red").fillna(False) | \
        (df["status_reported"].astype("string") == "red").fillna(False)
    return (running(df) & red.astype(bool)).astype(bool)


def off_track_summary(df: pd.DataFrame) -> dict:
    """Counts over :func:`project_metrics` rows: ``running``, ``off_track`` (:func:`off_track`), ``at_risk``
    (running, amber computed and not off track), ``on_track`` (running, green computed and not off track),
    ``no_status`` (running, no computed status and not off track), ``overdue`` (running past the planned end)."""
    run = running(df)
    off = off_track(df)
    status = df["status_computed"].astype("string")
    rest = run & ~off
    return {"running": int(run.sum()), "off_track": int(off.sum()),
            "at_risk": int((rest & (status == "amber").fillna(False)).sum()),
            "on_track": int((rest & (status == "green").fillna(False)).sum()),
            "no_status": int((rest & status.isna()).sum()),
            "overdue": int((run & df["overdue"].astype(bool)).sum())}


# ---------------------------------------------------------------------------
# Rules para 64: the five ratios
# ---------------------------------------------------------------------------

_BY = {"program": "program", "basic_direction": "basic_direction", "project_group": "project_group",
       "national_priority": "national_priority", "region": "region_kato"}


def para64_ratios(df: pd.DataFrame, by: str = "program") -> pd.DataFrame:
    """The five performance and efficiency ratios of Rules para 64, per ``by`` group.

    ``df`` is :func:`load_projects` output; ``by`` is 'program', 'basic_direction',
    'project_group', 'national_priority', 'region' or 'all'. Columns: the group key
    (``region_kato`` for 'region', ``all`` for 'all'), ``n_projects``, and for each ratio
    ``<r>_num``, ``<r>_den``, ``<r>_pct`` (100*num/den, NaN when den is 0) with r in

    - ``stakeholder``: projects meeting stakeholder expectations / projects assessed;
    - ``on_terms``: projects on the established terms / projects with known dates;
    - ``within_budget``: projects within budget / projects with known cost and budget;
    - ``consultants``: projects with professional PM consultants / projects with that field filled;
    - ``certified``: sum of certified staff / sum of staff (over projects reporting both).

    A project whose field is missing is left out of that ratio's denominator, never
    counted as a "no".
    """
    key = "all" if by == "all" else _BY[by]
    d = df.copy()
    if by == "all":
        d["all"] = "all"
    staff_known = d["staff_total"].notna() & d["staff_certified"].notna()
    parts = pd.DataFrame({
        key: d[key],
        "n_projects": 1,
        "stakeholder_num": d["stakeholder_expectations_met"].astype("boolean").fillna(False).astype(int),
        "stakeholder_den": d["stakeholder_expectations_met"].notna().astype(int),
        "on_terms_num": d["on_terms"].astype("boolean").fillna(False).astype(int),
        "on_terms_den": d["on_terms"].notna().astype(int),
        "within_budget_num": d["within_budget"].astype("boolean").fillna(False).astype(int),
        "within_budget_den": d["within_budget"].notna().astype(int),
        "consultants_num": d["consultant_involved"].astype("boolean").fillna(False).astype(int),
        "consultants_den": d["consultant_involved"].notna().astype(int),
        "certified_num": pd.to_numeric(d["staff_certified"]).where(staff_known).fillna(0),
        "certified_den": pd.to_numeric(d["staff_total"]).where(staff_known).fillna(0),
    })
    out = parts.groupby(key, dropna=False, sort=True).sum().reset_index()
    for r in ("stakeholder", "on_terms", "within_budget", "consultants", "certified"):
        den = out[f"{r}_den"].astype("float64")
        out[f"{r}_pct"] = 100.0 * out[f"{r}_num"] / den.where(den > 0)
    if "methodology_version" in df:
        out["methodology_version"] = df["methodology_version"].iloc[0] if len(df) else None
    return out


# ---------------------------------------------------------------------------
# Rules para 79: one project per manager
# ---------------------------------------------------------------------------

def manager_conflicts(df: pd.DataFrame) -> pd.DataFrame:
    """Pairs of active, unfinished projects of one manager whose dates overlap (Rules para 79).

    A project's span is ``coalesce(actual_start, planned_start)`` to
    ``coalesce(forecast_end, planned_end)``; spans that share at least one day overlap.
    Columns: ``manager_id``, ``manager_name``, ``project_a``, ``project_b``,
    ``overlap_start``, ``overlap_end``, ``overlap_days``, ``n_active_projects``
    (the manager's active projects). One row per overlapping pair, ``project_a < project_b``.
    """
    d = df.copy()
    for c in ("actual_start", "planned_start", "forecast_end", "planned_end", "actual_end"):
        d[c] = pd.to_datetime(d[c])
    active = d["is_active"].astype("boolean").fillna(True) & d["actual_end"].isna() & d["manager_id"].notna()
    d = d[active].copy()
    d["span_start"] = d["actual_start"].fillna(d["planned_start"])
    d["span_end"] = d["forecast_end"].fillna(d["planned_end"])
    if "manager_name" not in d:
        d["manager_name"] = pd.NA
    n_active = d.groupby("manager_id")["project_id"].count().rename("n_active_projects")
    cols = ["manager_id", "manager_name", "project_id", "span_start", "span_end"]
    pairs = d[cols].merge(d[["manager_id", "project_id", "span_start", "span_end"]], on="manager_id",
                          suffixes=("_a", "_b"))
    pairs = pairs[pairs["project_id_a"] < pairs["project_id_b"]]
    start = pairs[["span_start_a", "span_start_b"]].max(axis=1)
    end = pairs[["span_end_a", "span_end_b"]].min(axis=1)
    pairs = pairs.assign(overlap_start=start, overlap_end=end)
    pairs = pairs[pairs["overlap_start"].notna() & pairs["overlap_end"].notna()
                  & (pairs["overlap_start"] <= pairs["overlap_end"])]
    out = pd.DataFrame({
        "manager_id": pairs["manager_id"],
        "manager_name": pairs["manager_name"],
        "project_a": pairs["project_id_a"],
        "project_b": pairs["project_id_b"],
        "overlap_start": pairs["overlap_start"],
        "overlap_end": pairs["overlap_end"],
        "overlap_days": (pairs["overlap_end"] - pairs["overlap_start"]).dt.days + 1,
    })
    out = out.merge(n_active, left_on="manager_id", right_index=True, how="left")
    return out.sort_values(["manager_id", "project_a", "project_b"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Rules para 68.10: rating of project managers and heads of project groups
# ---------------------------------------------------------------------------

def people_rating(projects: pd.DataFrame, contributions: pd.DataFrame, scores: pd.DataFrame, *,
                  person_col: str = "manager_id", coverage_min: float = 0.8,
                  tie_decimals: int = 1) -> pd.DataFrame:
    """Rate the people in ``person_col`` of ``projects`` (Rules para 68.10; METHODOLOGY.md sections 6, 3).

    Inputs: ``projects`` from :func:`load_projects` (``project_id``, ``person_col``,
    ``on_terms``, ``within_budget``, ``stakeholder_expectations_met``);
    ``contributions``: ``project_id``, ``indicator_id``, ``unit_code``;
    ``scores``: plan-fact cells ``indicator_id``, ``unit_code``, ``score`` (S, 0-100).

    Components, each 0-100: ``on_time`` (mean of on_terms as 0/100 over the person's
    projects), ``within_budget`` (likewise), ``stakeholder`` (likewise) and
    ``indicator_score`` (mean S of the distinct indicator cells their projects
    contribute to). ``rating`` is the mean of the components with data.

    Coverage (the 0.8 rule of section 3.4): the person's scoring items are three per
    project (the yes/no criteria) plus one per contributed indicator cell;
    ``coverage = items with data / items``. Below ``coverage_min`` the person is not
    rated (``rated`` False, rating NaN, rank NA, rank_label None). Ties as section 3.5: rating rounded to
    ``tie_decimals``, competition ranking (1, 2, 2, 4), ``rank_label`` '=2' for ties.

    Columns: ``person_id``, ``n_projects``, ``on_time``, ``within_budget``, ``stakeholder``,
    ``indicator_score``, ``n_items``, ``n_known``, ``coverage``, ``rated``, ``rating``,
    ``rank``, ``rank_label``; sorted by rank, the not rated last.
    """
    comps = ["on_time", "within_budget", "stakeholder", "indicator_score"]
    cols = ["person_id", "n_projects", *comps, "n_items", "n_known", "coverage", "rated", "rating", "rank",
            "rank_label"]
    p = projects[projects[person_col].notna()]
    if p.empty:
        dtypes = {"person_id": "object", "rank_label": "object", "rated": "bool", "rank": "Int64"}
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in cols})
    crit = pd.DataFrame({
        "person_id": p[person_col],
        "project_id": p["project_id"],
        "on_time": p["on_terms"].astype("boolean").astype("Float64") * 100,
        "within_budget": p["within_budget"].astype("boolean").astype("Float64") * 100,
        "stakeholder": p["stakeholder_expectations_met"].astype("boolean").astype("Float64") * 100,
    })
    crit_cols = ["on_time", "within_budget", "stakeholder"]
    crit["known"] = crit[crit_cols].notna().sum(axis=1)
    g = crit.groupby("person_id")
    out = g[crit_cols].mean().astype("float64")
    out["n_projects"] = g["project_id"].nunique()
    out["n_items"] = 3 * g["project_id"].count()
    out["n_known"] = g["known"].sum()

    cells = (crit[["person_id", "project_id"]]
             .merge(contributions[["project_id", "indicator_id", "unit_code"]], on="project_id")
             [["person_id", "indicator_id", "unit_code"]].drop_duplicates()
             .merge(scores[["indicator_id", "unit_code", "score"]].drop_duplicates(["indicator_id", "unit_code"]),
                    on=["indicator_id", "unit_code"], how="left"))
    cg = cells.groupby("person_id")
    out["indicator_score"] = cg["score"].mean()
    out["n_items"] = out["n_items"] + cg["score"].size().reindex(out.index).fillna(0).astype(int)
    out["n_known"] = out["n_known"] + cg["score"].count().reindex(out.index).fillna(0).astype(int)

    out["coverage"] = out["n_known"] / out["n_items"]
    out["rated"] = out["coverage"] >= coverage_min
    out["rating"] = out[comps].mean(axis=1).where(out["rated"])
    rounded = pd.Series(round_half_up(out["rating"].to_numpy(dtype=float), tie_decimals), index=out.index)
    out["rank"] = rounded.rank(method="min", ascending=False)
    tied = rounded.duplicated(keep=False) & rounded.notna()
    label = out["rank"].map(lambda r: "" if pd.isna(r) else str(int(r)))
    out["rank_label"] = label.where(~tied, "=" + label).where(out["rated"], None).astype(object)
    out["rank"] = out["rank"].astype("Int64")  # as sac.metrics.ratings: Int64, NA when not rated
    out = out.reset_index().rename(columns={"index": "person_id"})
    return out[cols].sort_values(["rank", "person_id"], na_position="last").reset_index(drop=True)


def best_and_worst(rating: pd.DataFrame, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` best and ``n`` worst rated people (only those rated; worst listed worst first).

    Nobody is listed in both: with fewer than ``2n`` rated, the worst are those not among the best.
    """
    rated = rating[rating["rated"]].sort_values(["rank", "person_id"])
    best = rated.head(n)
    rest = rated.iloc[len(best):]
    return best.reset_index(drop=True), rest.iloc[::-1].head(n).reset_index(drop=True)


def _period_scores(store, period: str) -> pd.DataFrame:
    """Plan-fact scores S of ``period``: ``indicator_id``, ``unit_code``, ``score``, ``rag``, ``A``.

    Uses ``sac.metrics.plan_fact.plan_fact(store, period)`` (metrics-core).
    """
    from sac.metrics.plan_fact import plan_fact

    return plan_fact(store, period)


def manager_rating(store, period: str, *, role: str = "manager", today=None, region: str | None = None,
                   projects: pd.DataFrame | None = None, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rating of project managers (``role='manager'``) or heads of project groups
    (``role='group_head'``, the responsible official of the project's group) for ``period``.

    Columns of :func:`people_rating` plus ``full_name``, ``role``, ``methodology_version``.
    ``projects`` and ``scores`` may be given to skip reading them from the store.
    """
    version, cfg = methodology(store)
    if projects is None:
        projects = load_projects(store, today=today, region=region)
    if scores is None:
        scores = _period_scores(store, period)
    contributions = store.df("SELECT project_id, indicator_id, unit_code FROM project_contributions")
    person_col = {"manager": "manager_id", "group_head": "group_head_id"}[role]
    rcfg = cfg.get("rating", {})
    out = people_rating(projects, contributions, scores, person_col=person_col,
                        coverage_min=float(rcfg.get("coverage_min", 0.8)),
                        tie_decimals=int(rcfg.get("tie_decimals", 1)))
    names = store.df("SELECT official_id AS person_id, full_name FROM officials")
    out = out.merge(names, on="person_id", how="left")
    out["role"] = role
    out["period"] = period
    out["methodology_version"] = version
    return out
