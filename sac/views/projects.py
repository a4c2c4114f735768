"""Data shaping for the Projects page (issue 4, page 6): filter options and frames ready for tables and charts.

The metrics (terms, budget, earned value, computed status, Rules para 64 ratios, para 79 conflicts, para 68.10
manager rating) come from :mod:`sac.metrics.projects`; instructions on control from
:mod:`sac.metrics.instructions`. Here they are only filtered, named and reshaped. No streamlit.

``units`` arguments are a project office's KATO codes (a tuple, so it can be a cache key) or None for all.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from sac.metrics import instructions as _instructions
from sac.metrics import projects as _projects

#: The code of "no filter" in a URL parameter.
ALL = ""
#: Computed-status filter codes; ``none`` is "no evidence either way" (status NA).
STATUS_CODES = ("red", "amber", "green", "none")
#: The five Rules para 64 ratios (seed 004), in the order of the Rules.
RATIOS = ("stakeholder", "on_terms", "within_budget", "consultants", "certified")
#: Groupings of the para 64 ratios offered on the page.
RATIO_GROUPINGS = ("program", "basic_direction", "region")
#: How many projects the timeline draws at most (the most slipped when the filtered set is larger).
TIMELINE_LIMIT = 30
NAME_COLS = ("name_en", "name_ru", "name_kk")


def _in_units(s: pd.Series, units) -> pd.Series:
    if units is None:
        return pd.Series(True, index=s.index)
    return s.astype("string").isin([str(u) for u in units]).fillna(False).astype(bool)


# -- filter options -------------------------------------------------------------------------------------------

def filter_options(store, units: tuple | None = None) -> dict[str, pd.DataFrame]:
    """Options of the portfolio filters, only values that some (visible) project has.

    Keys and columns:
    - ``regions``: kato, name_en, name_ru, name_kk (sorted by English name);
    - ``programs``: node_id, code, name_en, name_ru, name_kk (goal-map level 'program');
    - ``directions``: node_id, program (parent program's node_id), code, name_en, name_ru, name_kk;
    - ``managers``: manager_id, manager_name (sorted by name).
    """
    p = _projects.load_projects(store)
    p = p[_in_units(p["region_kato"], units)]
    regions = store.df("SELECT kato, name_en, name_ru, name_kk FROM regions ORDER BY name_en")
    regions = regions[regions["kato"].isin(p["region_kato"].dropna().astype(str))].reset_index(drop=True)
    nodes = store.df("SELECT node_id, parent_id, code, name_en, name_ru, name_kk FROM goal_nodes ORDER BY code, node_id")
    programs = nodes[nodes["node_id"].isin(p["program"].dropna())][["node_id", "code", *NAME_COLS]]
    directions = (nodes[nodes["node_id"].isin(p["basic_direction"].dropna())]
                  .rename(columns={"parent_id": "program"})[["node_id", "program", "code", *NAME_COLS]])
    managers = (p[p["manager_id"].notna()][["manager_id", "manager_name"]].drop_duplicates("manager_id")
                .sort_values(["manager_name", "manager_id"]))
    return {"regions": regions, "programs": programs.reset_index(drop=True),
            "directions": directions.reset_index(drop=True), "managers": managers.reset_index(drop=True)}


def rating_years(store) -> list[str]:
    """Years (period codes) with any reported fact, newest first: the periods a manager rating can use."""
    df = store.df("""
        SELECT DISTINCT p.code FROM indicator_values v JOIN periods p ON p.code = v.period
        WHERE p.kind = 'year' AND v.fact IS NOT NULL ORDER BY p.code DESC""")
    return df["code"].astype(str).tolist()


# -- portfolio --------------------------------------------------------------------------------------------------

def _names(store) -> tuple[pd.DataFrame, pd.DataFrame]:
    regions = store.df("SELECT kato, name_en, name_ru, name_kk FROM regions")
    nodes = store.df("SELECT node_id, code, name_en, name_ru, name_kk FROM goal_nodes")
    return regions, nodes


def filter_portfolio(df: pd.DataFrame, *, region: str | None = None, program: str | None = None,
                     direction: str | None = None, status: str | None = None,
                     manager: str | None = None) -> pd.DataFrame:
    """Rows of ``df`` (``load_projects`` output) matching every given filter. Pure.

    ``status`` is a computed status code ('red', 'amber', 'green') or 'none' for projects with no computed
    status; None or '' means no filter (as for the others).
    """
    keep = pd.Series(True, index=df.index)
    for col, val in (("region_kato", region), ("program", program), ("basic_direction", direction),
                     ("manager_id", manager)):
        if val:
            keep &= (df[col].astype("string") == str(val)).fillna(False).astype(bool)
    if status:
        st_ = df["status_computed"].astype("string")
        keep &= st_.isna() if status == "none" else (st_ == status).fillna(False).astype(bool)
    return df[keep].reset_index(drop=True)


def portfolio(store, today: _dt.date, *, region: str | None = None, program: str | None = None,
              direction: str | None = None, status: str | None = None, manager: str | None = None,
              units: tuple | None = None) -> pd.DataFrame:
    """The project portfolio as of ``today``, filtered, with names.

    Columns of ``sac.metrics.projects.load_projects`` (terms, budget, PV, EV, AC, SPI, CPI,
    status_computed, status_disagrees, methodology_version, ...) plus ``region_name_en/ru/kk``,
    ``program_name_en/ru/kk``, ``direction_name_en/ru/kk`` and ``name_ru``/``name_kk`` filled from
    ``name_en`` where missing. Sorted by project_id.
    """
    p = _projects.load_projects(store, today=today)
    p = p[_in_units(p["region_kato"], units)]
    p = filter_portfolio(p, region=region, program=program, direction=direction, status=status, manager=manager)
    for c in ("name_ru", "name_kk"):
        p[c] = p[c].fillna(p["name_en"])
    regions, nodes = _names(store)
    p = p.merge(regions.rename(columns={"kato": "region_kato", **{c: f"region_{c}" for c in NAME_COLS}}),
                on="region_kato", how="left")
    for key, prefix in (("program", "program_"), ("basic_direction", "direction_")):
        named = nodes.drop(columns=["code"]).rename(columns={"node_id": key, **{c: prefix + c for c in NAME_COLS}})
        p = p.merge(named, on=key, how="left")
    return p.sort_values("project_id").reset_index(drop=True)


# -- Rules para 64 ratios --------------------------------------------------------------------------------------

def ratios_long(wide: pd.DataFrame, key: str, names: pd.DataFrame | None = None) -> pd.DataFrame:
    """``sac.metrics.projects.para64_ratios`` output reshaped to one row per group and ratio. Pure.

    ``key`` is the group column of ``wide``; ``names`` (optional) has ``key``, name_en, name_ru, name_kk.
    Columns: ``key`` (the group code), name_en, name_ru, name_kk (the code where no name), ``n_projects``,
    ``ratio`` (one of :data:`RATIOS`), ``numerator``, ``denominator``, ``share`` (0-1; NaN when the
    denominator is 0: no project had the field, not a zero share). Rows ratio by ratio (order of
    :data:`RATIOS`), groups in ``wide``'s order.
    """
    cols = ["key", *NAME_COLS, "n_projects", "ratio", "numerator", "denominator", "share"]
    if wide.empty:
        return pd.DataFrame(columns=cols)
    w = wide.rename(columns={key: "key"})
    w["key"] = w["key"].astype(object).where(w["key"].notna(), "—").astype(str)
    if names is not None:
        w = w.merge(names.rename(columns={names.columns[0]: "key"}), on="key", how="left")
    for c in NAME_COLS:
        w[c] = w[c].fillna(w["key"]) if c in w else w["key"]
    parts = []
    for r in RATIOS:  # five ratios: columns, not rows
        den = w[f"{r}_den"].astype("float64")
        parts.append(pd.DataFrame({"key": w["key"], **{c: w[c] for c in NAME_COLS}, "n_projects": w["n_projects"],
                                   "ratio": r, "numerator": w[f"{r}_num"].astype("float64"), "denominator": den,
                                   "share": w[f"{r}_num"].astype("float64") / den.where(den > 0)}))
    return pd.concat(parts, ignore_index=True)[cols]  # ratio by ratio, groups in ``wide``'s order


def ratios(store, today: _dt.date, by: str = "program", *, units: tuple | None = None, **filters) -> pd.DataFrame:
    """The five Rules para 64 ratios per ``by`` group ('program', 'basic_direction' or 'region') of the
    filtered portfolio, long form (:func:`ratios_long` columns) plus ``methodology_version``."""
    p = portfolio(store, today, units=units, **filters)
    key = "region_kato" if by == "region" else by
    wide = _projects.para64_ratios(p, by=by)
    regions, nodes = _names(store)
    names = regions if by == "region" else nodes.drop(columns=["code"])
    out = ratios_long(wide, key, names)
    out["methodology_version"] = p["methodology_version"].iloc[0] if len(p) else None
    return out


# -- timeline ----------------------------------------------------------------------------------------------------

def timeline_rows(df: pd.DataFrame, limit: int = TIMELINE_LIMIT) -> pd.DataFrame:
    """The projects to draw on the timeline. Pure.

    All of ``df`` when it has at most ``limit`` rows (ordered by planned start); else the ``limit`` most
    slipped (largest ``slip_days`` first; projects with unknown slip last). Same columns as ``df``.
    """
    if len(df) <= limit:
        return df.sort_values(["planned_start", "project_id"], na_position="last").reset_index(drop=True)
    return df.sort_values(["slip_days", "project_id"], ascending=[False, True], na_position="last") \
        .head(limit).reset_index(drop=True)


def short_label(project_id: pd.Series, name: pd.Series, width: int = 48) -> pd.Series:
    """``"<id> <name>"`` cut to ``width`` characters with an ellipsis: unique axis labels. Pure."""
    full = project_id.astype(str) + " " + name.astype(str)
    return full.where(full.str.len() <= width, full.str.slice(0, width - 1).str.rstrip() + "…")


# -- managers ------------------------------------------------------------------------------------------------------

def manager_conflicts(store, today: _dt.date, units: tuple | None = None) -> pd.DataFrame:
    """Rules para 79 violations among the visible projects: columns of
    ``sac.metrics.projects.manager_conflicts`` plus the project names ``name_a`` and ``name_b`` (English) and
    ``name_a_ru``, ``name_a_kk``, ``name_b_ru``, ``name_b_kk`` (a Russian page listed English names)."""
    p = portfolio(store, today, units=units)
    out = _projects.manager_conflicts(p)
    by_id = p.set_index("project_id")
    for side in ("a", "b"):
        out[f"name_{side}"] = out[f"project_{side}"].map(by_id["name_en"])
        for code in ("ru", "kk"):
            out[f"name_{side}_{code}"] = out[f"project_{side}"].map(by_id[f"name_{code}"])
    return out


def people_rating(store, period: str, role: str, today: _dt.date, units: tuple | None = None) -> pd.DataFrame:
    """Rating of project managers (``role='manager'``) or heads of project groups (``'group_head'``) over
    the visible projects, Rules para 68.10: columns of ``sac.metrics.projects.manager_rating``."""
    p = portfolio(store, today, units=units)
    return _projects.manager_rating(store, period, role=role, today=today, projects=p)


def best_and_worst(store, period: str, role: str, today: _dt.date, units: tuple | None = None,
                   n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` best and ``n`` worst rated people (``sac.metrics.projects.best_and_worst``)."""
    return _projects.best_and_worst(people_rating(store, period, role, today, units), n)


def n_sharing_top(rating: pd.DataFrame, n: int = 5) -> int:
    """How many rated people hold the places of the ``n`` best (ties included): more than ``n`` when the
    fifth place is shared, so the page can say that only ``n`` of them are named. Pure."""
    rated = rating[rating["rated"].astype(bool)]
    if rated.empty:
        return 0
    cutoff = rated.sort_values("rank")["rank"].iloc[min(n, len(rated)) - 1]
    return int((rated["rank"] <= cutoff).sum())


# -- instructions on control ---------------------------------------------------------------------------------------

def instructions(store, today: _dt.date, units: tuple | None = None) -> pd.DataFrame:
    """All instructions with their status as of ``today`` (``sac.metrics.instructions.load_instructions``
    columns), restricted to ``units`` by ``region_kato``."""
    df = _instructions.load_instructions(store, today=today)
    return df[_in_units(df["region_kato"], units)].reset_index(drop=True)


def overdue_instructions(store, today: _dt.date, units: tuple | None = None) -> pd.DataFrame:
    """Overdue instructions, most days overdue first (columns of :func:`instructions`)."""
    df = instructions(store, today, units)
    return df[df["overdue"]].sort_values(["days_overdue", "instruction_id"], ascending=[False, True]) \
        .reset_index(drop=True)


def instructions_by_body(store, today: _dt.date, units: tuple | None = None) -> pd.DataFrame:
    """``sac.metrics.instructions.by_responsible_body`` of the visible instructions, with the body's
    ``org_name_en/ru/kk`` (the org id where the body is unknown to the store; '—' where none is named)."""
    df = instructions(store, today, units)
    out = _instructions.by_responsible_body(df)
    names = df[["responsible_org", "org_name_en", "org_name_ru", "org_name_kk"]].drop_duplicates("responsible_org")
    out = out.merge(names, on="responsible_org", how="left")
    fallback = out["responsible_org"].astype(object).where(out["responsible_org"].notna(), "—")
    for c in ("org_name_en", "org_name_ru", "org_name_kk"):
        out[c] = out[c].astype(object).where(out[c].notna(), fallback)
    return out


def status_counts(df: pd.DataFrame) -> dict[str, int]:
    """Projects by computed status (``red``, ``amber``, ``green``, ``none``) and ``disagree`` (self-reported
    status differs from the computed one), ``overdue``, ``total``. Pure."""
    s = df["status_computed"].astype("string")
    counts = {c: int((s == c).sum()) for c in ("red", "amber", "green")}
    counts["none"] = int(s.isna().sum())
    counts["disagree"] = int(df["status_disagrees"].astype("boolean").fillna(False).sum())
    counts["overdue"] = int(np.asarray(df["overdue"], dtype=bool).sum())
    counts["total"] = int(len(df))
    return counts
