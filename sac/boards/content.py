"""What goes on a board: the sections, in the order of issue 11, from the domain functions the pages use.

Every figure comes from ``sac.metrics`` / ``sac.views`` (plan-fact, progress, ratings, projects, budget,
instructions, reporting); this module only chooses the node's share of them, words them in the board's
language and lays them out as :mod:`sac.boards.model` sections. No metric is computed here a second time.

A :class:`Context` holds what every board of one run shares (the week, the period, the frames of the whole
store), so ``python -m sac board build --all`` computes each frame once and filters it per node.

Scope of a node (issue 11: the board of a national priority, program, basic direction or group of projects):

- indicators: the passports on the node or anywhere under it (goal_nodes.parent_id, recursively);
- region: a regional plan's node (``region_kato`` on it or an ancestor) reports that region's cells only, as the
  goal map scores it (sac.metrics.goalmap); a national node reports every region;
- projects: those whose group of projects is under the node;
- budget programs: ``budget_programs.node_id`` under the node;
- instructions: those whose responsible official is responsible for the node or a node under it, or manages one
  of its projects, and on a regional plan's node those of its region (instructions name no goal node; the
  person who answers for it does);
- the whole SAC (the leadership board, node ``SAC``): everything.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from sac import methodology as _methodology
from sac.boards import changes as _changes
from sac.boards import needed, weeks
from sac.boards.model import Bar, Bars, Board, Col, Link, Mark, Section, Table, Text
from sac.charts import RAG_ICONS
from sac.i18n import LANGUAGES, fmt_date, fmt_number, fmt_pct, t
from sac.metrics import budget as _budget
from sac.metrics import instructions as _instructions
from sac.metrics import progress as _progress
from sac.metrics import projects as _projects
from sac.metrics import quality as _quality
from sac.metrics.plan_fact import plan_fact
from sac.views import budget as budget_views
from sac.views import indicators as indicator_views
from sac.views import projects as project_views
from sac.views import rating as rating_views
from sac.views import situation as situation_views

LEADERSHIP = "SAC"            # the node id of the board of the whole SAC
DEFAULT_BASE_URL = "http://localhost:8501"
LEVELS = ("national_priority", "program", "basic_direction", "project_group")
DECISIONS_SHOWN = 20
RED_CELLS_SHOWN = 20
SEVERE_PROJECTS_SHOWN = 10
LEADERS_SHOWN = 5
LATE_WINDOW_DAYS = 92         # reports whose deadline passed in the last quarter count as late on the board
STATUS_TONE = {"achieved": "green", "on_track": "green", "acceleration_needed": "amber",
               "limited_progress": "red", "moving_away": "red"}
SEVERITY_ICON = {3: "⚠", 2: "!", 1: "·"}


def base_url() -> str:
    """Where the app is served, for the links a board carries: ``SAC_BASE_URL`` or http://localhost:8501."""
    return (os.environ.get("SAC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def app_url(base: str, page: str, params: dict | None) -> str:
    """The absolute address of ``page`` (``pages/indicators.py``) with ``params``: the page's url_path is its
    file name without ``.py``, as app.py registers it."""
    slug = str(page).rsplit("/", 1)[-1].removesuffix(".py")
    query = urlencode({k: str(v) for k, v in (params or {}).items() if v is not None})
    return f"{base}/{slug}" + (f"?{query}" if query else "")


@dataclass
class Scope:
    """What belongs to a node; ``None`` means everything (the leadership board)."""
    node_id: str
    level: str
    code: str | None
    names: dict[str, str]
    region: str | None
    nodes: set[str] | None
    indicators: set[str] | None
    projects: set[str] | None
    programs: set[str] | None
    instructions: set[str] | None
    children_level: str | None    # the level the portfolio is broken down by

    @property
    def leadership(self) -> bool:
        return self.node_id == LEADERSHIP

    def keep(self, values: pd.Series, universe: set[str] | None) -> np.ndarray:
        if universe is None:
            return np.ones(len(values), dtype=bool)
        return values.astype(str).isin(universe).to_numpy(bool)


class Context:
    """The frames every board of one run (one week, one store state) shares, computed once each."""

    def __init__(self, store, week: str, today: _dt.date | None = None, base: str | None = None) -> None:
        self.store = store
        self.week = week
        self.today = today or _dt.date.today()
        self.as_of = weeks.as_of(week, self.today)
        self.base = (base or base_url()).rstrip("/")
        self.m = _methodology.current(store)
        self.data_version = store.data_version()
        self.period = rating_views.default_period(store)

    # -- the store, once ---------------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> pd.DataFrame:
        return self.store.df("""SELECT node_id, parent_id, level, code, name_en, name_ru, name_kk, region_kato,
                                       responsible_official FROM goal_nodes ORDER BY node_id""")

    @cached_property
    def indicators(self) -> pd.DataFrame:
        return self.store.df("""SELECT indicator_id, name_en, name_ru, name_kk, unit_of_measure, node_id
                                FROM indicators ORDER BY indicator_id""")

    @cached_property
    def region_names(self) -> dict[str, dict[str, str]]:
        r = self.store.df("SELECT kato, name_en, name_ru, name_kk FROM regions")
        return {lang: dict(zip(r["kato"].astype(str), r[f"name_{lang}"], strict=True)) for lang in LANGUAGES}

    @cached_property
    def cells(self) -> pd.DataFrame:
        if self.period is None:
            return pd.DataFrame(columns=["indicator_id", "unit_code", "rag", "scored", "unit_kind"])
        c = plan_fact(self.store, self.period, methodology=self.m)
        return c[c["unit_kind"] == "region"].reset_index(drop=True)

    @cached_property
    def decisions(self) -> pd.DataFrame:
        if self.period is None:
            return pd.DataFrame(columns=needed.COLUMNS)
        return needed.decision_list(self.store, self.period, today=self.as_of)

    @cached_property
    def progress(self) -> pd.DataFrame:
        return _progress.progress(self.store)

    @cached_property
    def projects(self) -> pd.DataFrame:
        return _projects.load_projects(self.store, today=self.as_of)

    @cached_property
    def instructions(self) -> pd.DataFrame:
        return _instructions.load_instructions(self.store, today=self.as_of)

    @cached_property
    def budget_programs(self) -> pd.DataFrame:
        return self.store.df("SELECT program_code, node_id, name_en, name_ru, name_kk FROM budget_programs")

    @cached_property
    def budget_year(self) -> int | None:
        years = budget_views.year_options(self.store)
        if self.as_of.year in years:
            return self.as_of.year
        if self.period is not None and int(self.period[:4]) in years:
            return int(self.period[:4])
        return max(years) if years else None

    @cached_property
    def reporting(self) -> pd.DataFrame:
        return _quality.reporting(self.store)

    @cached_property
    def batches(self) -> pd.DataFrame:
        return self.store.df("""SELECT batch_id, kind, file_name, uploaded_by, uploaded_at, rows_inserted,
                                       rows_updated FROM upload_batches WHERE status = 'committed'
                                ORDER BY batch_id""")

    @cached_property
    def batch_subjects(self) -> pd.DataFrame:
        """Which batch last wrote rows of which subject (indicator, project, program, instruction)."""
        return self.store.df("""
            SELECT DISTINCT batch_id, 'indicator' AS family, indicator_id AS subject FROM indicator_values
            WHERE batch_id IS NOT NULL
            UNION ALL SELECT DISTINCT batch_id, 'project', project_id FROM projects WHERE batch_id IS NOT NULL
            UNION ALL SELECT DISTINCT batch_id, 'project', project_id FROM project_contributions
                WHERE batch_id IS NOT NULL
            UNION ALL SELECT DISTINCT batch_id, 'program', program_code FROM budget_lines WHERE batch_id IS NOT NULL
            UNION ALL SELECT DISTINCT batch_id, 'instruction', instruction_id FROM instructions
                WHERE batch_id IS NOT NULL""")

    _ratings: dict

    def rating(self, indicator_set: str) -> pd.DataFrame:
        if not hasattr(self, "_ratings"):
            self._ratings = {}
        if indicator_set not in self._ratings:
            self._ratings[indicator_set] = rating_views.rating_table(self.store, self.period, indicator_set)
        return self._ratings[indicator_set]

    @cached_property
    def rating_sets(self) -> set[str]:
        return set(rating_views.indicator_sets(self.store)["code"].astype(str))

    # -- nodes --------------------------------------------------------------------------------------------
    def scope(self, node_id: str) -> Scope:
        """The node's share of the store (see the module docstring); KeyError for an unknown node."""
        if node_id == LEADERSHIP:
            return Scope(LEADERSHIP, "sac", None, {lang: t("boards.leadership_name", lang) for lang in LANGUAGES},
                         None, None, None, None, None, None, "program")
        nodes = self.nodes
        row = nodes[nodes["node_id"] == node_id]
        if row.empty:
            raise KeyError(node_id)
        r = row.iloc[0]
        parent_of = dict(zip(nodes["node_id"], nodes["parent_id"], strict=True))
        region_of = {n: reg for n, reg in zip(nodes["node_id"], nodes["region_kato"], strict=True)
                     if isinstance(reg, str)}
        children: dict[str, list[str]] = {}
        for n, p in parent_of.items():
            if isinstance(p, str):
                children.setdefault(p, []).append(n)
        sub, todo = set(), [node_id]
        while todo:                       # the subtree, walked down the parent links
            n = todo.pop()
            if n not in sub:
                sub.add(n)
                todo.extend(children.get(n, []))
        region, n = None, node_id
        for _ in range(len(LEVELS) + 2):  # the region of a regional plan, own or inherited
            if n in region_of:
                region = str(region_of[n])
                break
            n = parent_of.get(n)
            if not isinstance(n, str):
                break
        inds = set(self.indicators.loc[self.indicators["node_id"].isin(sub), "indicator_id"].astype(str))
        p = self.projects
        prj = set(p.loc[p["node_id"].isin(sub), "project_id"].astype(str))
        progs = set(self.budget_programs.loc[self.budget_programs["node_id"].isin(sub), "program_code"].astype(str))
        officials = set(nodes.loc[nodes["node_id"].isin(sub), "responsible_official"].dropna().astype(str))
        officials |= set(p.loc[p["node_id"].isin(sub), "manager_id"].dropna().astype(str))
        ins = self.instructions
        mine = ins["responsible_official"].astype("string").isin(officials).fillna(False)
        if region is not None:
            mine |= (ins["region_kato"].astype("string") == region).fillna(False)
        level = str(r["level"])
        nxt = LEVELS[LEVELS.index(level) + 1] if level in LEVELS[:-1] else None
        return Scope(node_id, level, r["code"] if isinstance(r["code"], str) else None,
                     {lang: r[f"name_{lang}"] for lang in LANGUAGES}, region, sub, inds, prj, progs,
                     set(ins.loc[mine.to_numpy(bool), "instruction_id"].astype(str)), nxt)

    # -- the node's share of each frame -------------------------------------------------------------------
    def node_cells(self, s: Scope) -> pd.DataFrame:
        c = self.cells
        keep = s.keep(c["indicator_id"], s.indicators)
        if s.region is not None:
            keep = keep & (c["unit_code"].astype(str) == s.region).to_numpy(bool)
        return c[keep].reset_index(drop=True)

    def node_decisions(self, s: Scope) -> pd.DataFrame:
        d = self.decisions
        if s.leadership or d.empty:
            return d
        fam = d["kind"].map(lambda k: _FAMILY_OF.get(k, "other"))
        subj = d["subject_id"].astype(str)
        keep = np.zeros(len(d), dtype=bool)
        for family, universe in (("indicator", s.indicators), ("project", s.projects),
                                 ("instruction", s.instructions), ("budget", s.programs)):
            sel = (fam == family).to_numpy(bool)
            keep |= sel & s.keep(subj, universe)
        if s.region is not None:   # a regional plan: its region's items only
            in_region = d["regions"].map(lambda rs: not rs or s.region in [str(x) for x in rs]).to_numpy(bool)
            keep = keep & in_region
        return needed.rank(d[keep].reset_index(drop=True))

    def node_projects(self, s: Scope) -> pd.DataFrame:
        p = self.projects
        return p[s.keep(p["project_id"], s.projects)].reset_index(drop=True)

    def node_instructions(self, s: Scope) -> pd.DataFrame:
        i = self.instructions
        return i[s.keep(i["instruction_id"], s.instructions)].reset_index(drop=True)

    def rating_set(self, s: Scope) -> str | None:
        """The indicator set the node's board rates the regions on: all indicators for the SAC, the node's own
        for a national priority or a national program; none for a regional plan or a lower node."""
        if s.leadership:
            return rating_views.ALL
        if s.level in ("national_priority", "program") and s.region is None and s.node_id in self.rating_sets:
            return s.node_id
        return None


_FAMILY_OF = {"escalated": "instruction", "instruction_overdue": "instruction", "project_off_track": "project",
              "red_indicator": "indicator", "projects_insufficient": "indicator", "spending_spike": "budget"}


def _tr(lang):
    return lambda key, **kw: t(f"boards.{key}", lang, **kw)


def _kind_label(kind: str, lang: str) -> str:
    try:
        return t(f"situation.kind_{kind}", lang)
    except KeyError:
        return kind.replace("_", " ")


def _rag_mark(rag: str, lang: str) -> Mark:
    rag = rag if rag in RAG_ICONS else "grey"
    return Mark(f"{RAG_ICONS[rag]} {t(f'common.rag_{rag}', lang)}", rag)


def _status_mark(row, lang: str) -> Mark:
    status = row.get("status") if row is not None else None
    if isinstance(status, str) and status in STATUS_TONE:
        return Mark(t(f"indicators.status_{status}", lang), STATUS_TONE[status])
    reason = row.get("reason") if row is not None else None
    key = indicator_views.PROGRESS_REASONS.get(reason) if isinstance(reason, str) else None
    word = t(f"indicators.{key}", lang) if key else t("boards.no_status", lang)
    return Mark(f"{RAG_ICONS['grey']} {word}", "grey")


def _num(x, lang, d=1) -> str:
    return fmt_number(x, lang, d)


def _decimals(*values) -> int:
    return indicator_views.value_decimals(pd.Series([v for v in values if v is not None], dtype="float64"))


# ---------------------------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------------------------

def _decisions_section(ctx: Context, s: Scope, lang: str) -> Section:
    tr = _tr(lang)
    d = ctx.node_decisions(s)
    sec = Section("decisions", tr("sec_decisions"))
    if d.empty:
        sec.blocks.append(Text(tr("decisions_none")))
        return sec
    counts = {k: int(n) for k, n in d["kind"].value_counts().items()}
    order = [k for k in needed.KIND_ORDER if k in counts] + sorted(set(counts) - set(needed.KIND_ORDER))
    parts = ", ".join(f"{_kind_label(k, lang)}: {fmt_number(counts[k], lang)}" for k in order)
    sec.blocks.append(Text(tr("decisions_summary", n=fmt_number(len(d), lang), parts=parts)))
    sec.blocks.append(Bars("decisions_by_kind", tr("chart_decisions_by_kind"),
                           [Bar(_kind_label(k, lang), float(counts[k]), fmt_number(counts[k], lang),
                                "red" if k in ("escalated", "instruction_overdue") else "neutral") for k in order]))
    shown = d.head(DECISIONS_SHOWN)
    rows = []
    for r in shown.to_dict("records"):
        sev = int(r["severity"])
        kind = Mark(f"{SEVERITY_ICON.get(sev, '·')} {t(f'situation.severity_{sev}', lang)} · "
                    f"{_kind_label(r['kind'], lang)}", "red" if sev >= 3 else "amber" if sev == 2 else "grey")
        item = f"{r[f'title_{lang}']}\n{r[f'reason_{lang}']}"
        url = app_url(ctx.base, r["page"], r["params"]) if isinstance(r["page"], str) else None
        owner = r.get(f"owner_{lang}") if isinstance(r.get(f"owner_{lang}"), str) else r.get("owner")
        rows.append([int(r["rank"]), kind, item, owner if isinstance(owner, str) else None,
                     _date(r["due_date"]), Link(tr("open_link"), url) if url else None])
    note = None
    if len(d) > len(shown):
        note = tr("decisions_more", shown=fmt_number(len(shown), lang), n=fmt_number(len(d), lang),
                  url=app_url(ctx.base, "pages/situation_room.py", {"period": ctx.period}))
    sec.blocks.append(Table("decisions", [
        Col(tr("col_rank"), "int", width=0.45, key="rank"), Col(tr("col_kind"), width=1.7, key="kind"),
        Col(tr("col_item"), width=4.2, key="item"), Col(tr("col_owner"), width=1.6, key="owner"),
        Col(tr("col_due"), "date", width=1.0, key="due"), Col(tr("col_link"), width=0.8, key="link")],
        rows, note=note))
    return sec


def _date(x):
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NaT:
        return None
    try:
        return pd.Timestamp(x).date()
    except (TypeError, ValueError):
        return None


def _kni_section(ctx: Context, s: Scope, lang: str) -> Section:
    tr = _tr(lang)
    sec = Section("kni", tr("sec_kni"))
    cells = ctx.node_cells(s)
    inds = ctx.indicators
    inds = inds[s.keep(inds["indicator_id"], s.indicators)]
    if inds.empty:
        sec.blocks.append(Text(tr("kni_none")))
        return sec
    unit = s.region if s.region is not None else _progress.NATIONAL
    prog = ctx.progress
    prog = prog[prog["unit_code"].astype(str) == unit].set_index("indicator_id")
    regions = ctx.region_names[lang]
    sec.blocks.append(Text(tr("kni_intro_region", period=ctx.period or "—", region=regions.get(s.region, s.region))
                           if s.region is not None else tr("kni_intro", period=ctx.period or "—")))
    rows, stacks = [], []
    for ind in inds.to_dict("records"):
        iid = ind["indicator_id"]
        name = ind[f"name_{lang}"] or ind["name_en"]
        label = f"{name} ({ind['unit_of_measure']})" if isinstance(ind["unit_of_measure"], str) else name
        c = cells[cells["indicator_id"] == iid]
        pr = prog.loc[iid] if iid in prog.index else None
        if isinstance(pr, pd.DataFrame):
            pr = pr.iloc[0]
        status = _status_mark(pr, lang)
        projection = _projection_text(pr, lang)
        if s.region is not None:
            cell = c.iloc[0] if len(c) else None
            d = _decimals(*(cell[["plan", "fact"]].tolist() if cell is not None else []))
            rows.append([label,
                         None if cell is None else _float(cell["plan"]), None if cell is None else _float(cell["fact"]),
                         None if cell is None or pd.isna(cell["ratio"]) else 100.0 * float(cell["ratio"]),
                         _rag_mark(cell["rag"] if cell is not None else "grey", lang), status, projection])
            rows[-1].append(d)
        else:
            rag = c["rag"].value_counts()
            n = {k: int(rag.get(k, 0)) for k in ("green", "amber", "red", "grey")}
            counts = "  ".join(f"{RAG_ICONS[k]} {n[k]}" for k in ("green", "amber", "red", "grey"))
            scored = c[c["scored"].astype(bool)]
            worst = None
            if len(scored):
                w = scored.sort_values(["score", "unit_code"]).iloc[0]
                worst = f"{regions.get(str(w['unit_code']), w['unit_code'])}: {fmt_pct(100 * w['ratio'], lang)}"
            tone = "red" if n["red"] else "amber" if n["amber"] else "green" if n["green"] else "grey"
            rows.append([label, Mark(counts, tone), worst, status, projection])
            stacks.append((name, [(n["green"], "green"), (n["amber"], "amber"), (n["red"], "red"),
                                  (n["grey"], "grey")], f"{RAG_ICONS['red']} {n['red']}"))
    if s.region is not None:
        decs = [r.pop() for r in rows]
        table = Table("kni", [
            Col(tr("col_indicator"), width=3.2, key="indicator"),
            Col(tr("col_plan"), "num", max(decs + [0]), width=0.9, key="plan"),
            Col(tr("col_fact"), "num", max(decs + [0]), width=0.9, key="fact"),
            Col(tr("col_achievement"), "pct", 1, width=0.9, key="achievement"),
            Col(tr("col_rag"), width=1.3, key="rag"), Col(tr("col_progress"), width=1.8, key="progress"),
            Col(tr("col_projection"), width=1.9, key="projection")], rows)
    else:
        if s.leadership:
            stacks = _stacks_by_priority(ctx, cells, lang)
        sec.blocks.append(Bars("kni_rag", tr("chart_kni_rag"), stacked=stacks,
                               legend=[(k, f"{RAG_ICONS[k]} {t(f'common.rag_{k}', lang)}")
                                       for k in ("green", "amber", "red", "grey")]))
        table = Table("kni", [
            Col(tr("col_indicator"), width=3.3, key="indicator"), Col(tr("col_regions_rag"), width=1.9, key="rag"),
            Col(tr("col_worst"), width=1.8, key="worst"), Col(tr("col_progress_kz"), width=1.8, key="progress"),
            Col(tr("col_projection"), width=1.9, key="projection")], rows)
    sec.blocks.append(table)
    if s.region is None and not s.leadership:
        sec.blocks.append(_red_cells(ctx, cells, lang))
    return sec


def _float(x):
    return None if x is None or pd.isna(x) else float(x)


def _projection_text(pr, lang: str) -> str | None:
    if pr is None or pd.isna(pr.get("target_value")):
        return None
    d = _decimals(pr.get("projected_value"), pr.get("target_value"))
    target = _num(pr["target_value"], lang, d)
    year = int(pr["target_year"]) if not pd.isna(pr.get("target_year")) else "—"
    if pd.isna(pr.get("projected_value")):
        return t("boards.projection_none", lang, target=target, year=year)
    ok = pr.get("projected_achieved")
    icon = RAG_ICONS["green"] if ok is True or ok is np.True_ else RAG_ICONS["red"] if not pd.isna(ok) else ""
    return t("boards.projection", lang, value=_num(pr["projected_value"], lang, d), year=year, target=target,
             icon=icon).strip()


def _stacks_by_priority(ctx: Context, cells: pd.DataFrame, lang: str):
    nodes = ctx.nodes
    parent_of = dict(zip(nodes["node_id"], nodes["parent_id"], strict=True))
    level_of = dict(zip(nodes["node_id"], nodes["level"], strict=True))

    def priority(n):
        for _ in range(len(LEVELS) + 2):
            if not isinstance(n, str):
                return None
            if level_of.get(n) == "national_priority":
                return n
            n = parent_of.get(n)
        return None

    node_of = dict(zip(ctx.indicators["indicator_id"], ctx.indicators["node_id"], strict=True))
    c = cells.assign(_np=cells["indicator_id"].map(lambda i: priority(node_of.get(i))))
    out = []
    for np_row in nodes[nodes["level"] == "national_priority"].sort_values("code").to_dict("records"):
        rag = c.loc[c["_np"] == np_row["node_id"], "rag"].value_counts()
        n = {k: int(rag.get(k, 0)) for k in ("green", "amber", "red", "grey")}
        label = f"{np_row['code']}. {np_row[f'name_{lang}']}" if isinstance(np_row["code"], str) else np_row[f"name_{lang}"]
        out.append((label, [(n[k], k) for k in ("green", "amber", "red", "grey")], f"{RAG_ICONS['red']} {n['red']}"))
    return out


def _red_cells(ctx: Context, cells: pd.DataFrame, lang: str) -> Table:
    tr = _tr(lang)
    red = cells[cells["rag"] == "red"].sort_values(["score", "indicator_id", "unit_code"])
    regions = ctx.region_names[lang]
    rows = []
    for r in red.head(RED_CELLS_SHOWN).to_dict("records"):
        d = _decimals(r["plan"], r["fact"])
        rows.append([r[f"name_{lang}"] or r["name_en"], regions.get(str(r["unit_code"]), r["unit_code"]),
                     _num(r["plan"], lang, d), _num(r["fact"], lang, d), 100.0 * float(r["ratio"])])
    note = tr("red_cells_more", shown=RED_CELLS_SHOWN, n=len(red)) if len(red) > RED_CELLS_SHOWN else None
    return Table("red_cells", [
        Col(tr("col_indicator"), width=3.0, key="indicator"), Col(tr("col_region"), width=2.0, key="region"),
        Col(tr("col_plan"), width=1.0, key="plan"), Col(tr("col_fact"), width=1.0, key="fact"),
        Col(tr("col_achievement"), "pct", 1, width=1.0, key="achievement")], rows,
        title=tr("red_cells_title"), note=note, empty=tr("red_cells_none"))


def _rating_section(ctx: Context, s: Scope, lang: str) -> Section | None:
    ind_set = ctx.rating_set(s)
    if ind_set is None or ctx.period is None:
        return None
    tr = _tr(lang)
    sec = Section("rating", tr("sec_rating"))
    rating = ctx.rating(ind_set)
    rated = rating[rating["rated"].astype(bool)].sort_values(["rank", "unit_code"])
    if rated.empty:
        sec.blocks.append(Text(tr("rating_none")))
        return sec
    prev = rating_views.previous_period(ctx.store, ctx.period)
    sec.blocks.append(Text(tr("rating_intro", period=ctx.period, previous=prev or "—",
                              n=fmt_number(len(rated), lang))))
    prov = rating_views.provisional_summary(rating)   # issue 12: which figures are approved
    sec.blocks.append(Text(tr("rating_provisional", n=fmt_number(prov["provisional"], lang),
                              total=fmt_number(prov["cells"], lang), regions=fmt_number(prov["regions"], lang))
                           if prov["provisional"] else tr("rating_all_approved", total=fmt_number(prov["cells"], lang))))
    name = f"name_{lang}"
    arrows = rating_views.movement_arrow(rated["movement"], rated["rank_prev"], rated["territory_change"], lang)
    sec.blocks.append(Bars("rating_scores", tr("chart_rating"), [
        Bar(f"{lbl} {n}", float(sc), _num(sc, lang, 1), "neutral")
        for lbl, n, sc in zip(rated["rank_label"], rated[name], rated["score_rounded"], strict=True)],
        scale_max=100.0))
    top, bottom = situation_views.leaders_laggards(rated, n=LEADERS_SHOWN)
    for key, frame in (("leaders", top), ("laggards", bottom)):
        rows = []
        for r in frame.to_dict("records"):
            arrow = arrows.get(rated.index[rated["unit_code"] == r["unit_code"]][0], "—")
            tone = "green" if str(arrow).startswith("▲") else "red" if str(arrow).startswith("▼") else "grey"
            rows.append([r["rank_label"], r[name], float(r["score_rounded"]), Mark(str(arrow), tone)])
        sec.blocks.append(Table(f"rating_{key}", [
            Col(tr("col_place"), width=0.7, key="place"), Col(tr("col_region"), width=2.6, key="region"),
            Col(tr("col_score"), "num", 1, width=0.9, key="score"), Col(tr("col_movement"), width=1.4, key="movement")],
            rows, title=tr(f"rating_{key}")))
    return sec


def _portfolio_section(ctx: Context, s: Scope, lang: str) -> Section | None:
    p = ctx.node_projects(s)
    if p.empty:
        return None
    tr = _tr(lang)
    sec = Section("portfolio", tr("sec_portfolio"))
    running = p[p["is_active"].astype(bool) & ~p["finished"].astype(bool)]
    c = project_views.status_counts(running)
    sec.blocks.append(Text(tr("portfolio_summary", running=fmt_number(c["total"], lang),
                              red=fmt_number(c["red"], lang), amber=fmt_number(c["amber"], lang),
                              green=fmt_number(c["green"], lang), none=fmt_number(c["none"], lang),
                              overdue=fmt_number(c["overdue"], lang))))
    level = s.children_level
    if level is not None and level in running:
        names = ctx.nodes.set_index("node_id")
        stacks = []
        for key, g in running.groupby(level, dropna=True, sort=True):
            gc = project_views.status_counts(g)
            label = names.at[key, f"name_{lang}"] if key in names.index else str(key)
            code = names.at[key, "code"] if key in names.index else None
            stacks.append((f"{code} {label}" if isinstance(code, str) else label,
                           [(gc["red"], "red"), (gc["amber"], "amber"), (gc["green"], "green"), (gc["none"], "grey")],
                           f"{RAG_ICONS['red']} {gc['red']} / {gc['total']}"))
        if stacks:
            sec.blocks.append(Bars("portfolio_status", tr("chart_portfolio"), stacked=stacks,
                                   legend=[(k, f"{RAG_ICONS[k]} {t(f'projects.status_{k}', lang)}")
                                           for k in ("red", "amber", "green")]
                                   + [("grey", f"{RAG_ICONS['grey']} {t('projects.status_none', lang)}")]))
    sev = running.assign(_red=(running["status_computed"] == "red").fillna(False).astype(bool),
                         _slip=running["slip_days"].fillna(0))
    sev = sev[sev["_red"]].sort_values(["overdue", "_slip", "project_id"], ascending=[False, False, True])
    regions = ctx.region_names[lang]
    rows = []
    for r in sev.head(SEVERE_PROJECTS_SHOWN).to_dict("records"):
        nm = r.get(f"name_{lang}") if isinstance(r.get(f"name_{lang}"), str) else r["name_en"]
        rows.append([Link(f"{r['project_id']} {nm}", app_url(ctx.base, "pages/projects.py", {"project": r["project_id"]})),
                     regions.get(str(r["region_kato"]), r["region_kato"]),
                     r["manager_name"] if isinstance(r["manager_name"], str) else None,
                     _float(r["SPI"]), _float(r["CPI"]), _float(r["slip_days"])])
    sec.blocks.append(Table("severe_projects", [
        Col(tr("col_project"), width=3.6, key="project"), Col(tr("col_region"), width=1.5, key="region"),
        Col(tr("col_manager"), width=1.6, key="manager"), Col("SPI", "num", 2, width=0.6, key="spi"),
        Col("CPI", "num", 2, width=0.6, key="cpi"), Col(tr("col_slip"), "int", width=0.8, key="slip")],
        rows, title=tr("severe_title", n=fmt_number(len(sev), lang)), empty=tr("severe_none"),
        note=tr("severe_more", shown=SEVERE_PROJECTS_SHOWN, n=len(sev)) if len(sev) > SEVERE_PROJECTS_SHOWN else None))
    ratios = _projects.para64_ratios(p, by="all")
    rows = []
    if len(ratios):
        r = ratios.iloc[0]
        for key in project_views.RATIOS:
            den = float(r[f"{key}_den"])
            rows.append([t(f"projects.ratio_{key}", lang), _float(r[f"{key}_pct"]),
                         f"{_num(r[f'{key}_num'], lang, 0)} / {_num(den, lang, 0)}"])
    sec.blocks.append(Table("para64", [
        Col(tr("col_ratio"), width=4.0, key="ratio"), Col(tr("col_share"), "pct", 1, width=1.0, key="share"),
        Col(tr("col_of"), width=1.2, key="of")], rows, title=tr("para64_title")))
    return sec


def _budget_section(ctx: Context, s: Scope, lang: str) -> Section | None:
    year = ctx.budget_year
    if year is None:
        return None
    programs = None if s.programs is None else sorted(s.programs)
    if programs is not None and not programs:
        return None
    tr = _tr(lang)
    units = [s.region] if s.region is not None else None
    lines = _budget.load_lines(ctx.store, program_codes=programs, unit_codes=units, year=int(year))
    if lines.empty:
        return None
    sec = Section("budget", tr("sec_budget", year=year))
    end = min(ctx.as_of, _dt.date(int(year), 12, 31))
    elapsed = 100.0 * situation_views.elapsed_share(int(year), ctx.as_of)
    total = _budget.execution_ytd(lines, end, by=())
    per = _budget.execution_ytd(lines, end, by=("program_code",)).sort_values("program_code")
    execution = 100.0 * float(total["execution_of_annual"].iloc[0]) if len(total) and \
        pd.notna(total["execution_of_annual"].iloc[0]) else float("nan")
    gap = execution - elapsed
    sec.blocks.append(Text(tr("budget_summary", execution=fmt_pct(execution, lang), elapsed=fmt_pct(elapsed, lang),
                              date=fmt_date(end), gap=_num(gap, lang, 1),
                              spent=_num(total["spent"].iloc[0] if len(total) else None, lang, 0),
                              plan=_num(total["annual_plan"].iloc[0] if len(total) else None, lang, 0)),
                           "red" if gap < 0 else None))
    threshold = 100.0 * float(ctx.m.config["budget"]["spike_share"])
    unspent = 100.0 - execution
    days_left = (_dt.date(int(year), 12, 31) - end).days
    if end.month >= 10 and days_left > 0 and unspent > threshold:
        sec.blocks.append(Text(tr("spike_warning", unspent=fmt_pct(unspent, lang), days=fmt_number(days_left, lang),
                                  threshold=fmt_pct(threshold, lang, 0)), "red"))
    names = ctx.budget_programs.set_index("program_code")
    last = budget_views.year_end_spikes(ctx.store, int(year) - 1, region=units)
    if programs is not None:
        last = last[last["program_code"].astype(str).isin(programs)]
    flagged = last[last["flagged"].astype(bool)]
    if len(flagged):
        listed = ", ".join(f"{r['program_code']} ({fmt_pct(100 * r['q4_share'], lang)})"
                           for r in flagged.sort_values("q4_share", ascending=False).to_dict("records"))
        sec.blocks.append(Text(tr("spike_last_year", year=int(year) - 1, n=fmt_number(len(flagged), lang),
                                  threshold=fmt_pct(threshold, lang, 0), programs=listed), "amber"))
    q4 = dict(zip(last["program_code"].astype(str), last["q4_share"], strict=True))
    bars, rows = [], []
    for r in per.to_dict("records"):
        code = str(r["program_code"])
        nm = names.at[code, f"name_{lang}"] if code in names.index else code
        label = budget_views.program_label(code, nm)
        ex = 100.0 * r["execution_of_annual"] if pd.notna(r["execution_of_annual"]) else None
        bars.append(Bar(label, ex, fmt_pct(ex, lang) if ex is not None else t("common.rag_grey", lang),
                        "neutral" if ex is None or ex >= elapsed else "red"))
        q = q4.get(code)
        q_mark = None if q is None or pd.isna(q) else Mark(
            f"{RAG_ICONS['red'] if q > threshold / 100 else RAG_ICONS['green']} {fmt_pct(100 * q, lang)}",
            "red" if q > threshold / 100 else "green")
        rows.append([label, _float(r["annual_plan"]), _float(r["spent"]), ex,
                     None if ex is None else ex - elapsed, q_mark])
    sec.blocks.append(Bars("budget_execution", tr("chart_budget", date=fmt_date(end)), bars, unit="%",
                           scale_max=max([100.0] + [b.value for b in bars if b.value is not None]),
                           reference=elapsed, reference_label=tr("elapsed_label", elapsed=fmt_pct(elapsed, lang))))
    sec.blocks.append(Table("budget", [
        Col(tr("col_program"), width=3.4, key="program"), Col(tr("col_annual_plan"), "num", 0, width=1.1, key="plan"),
        Col(tr("col_spent"), "num", 0, width=1.1, key="spent"),
        Col(tr("col_execution"), "pct", 1, width=0.9, key="execution"),
        Col(tr("col_gap"), "num", 1, width=0.9, key="gap"),
        Col(tr("col_q4_last", year=int(year) - 1), width=1.2, key="q4_last")], rows, note=tr("budget_note")))
    return sec


# ---------------------------------------------------------------------------------------------------------------
# The board
# ---------------------------------------------------------------------------------------------------------------

def state(ctx: Context, s: Scope) -> dict:
    """What the next board of this node compares with (language-neutral, small): RAG of each cell, ranks,
    open / overdue / escalated instructions, the newest batch seen, reports late."""
    cells = ctx.node_cells(s)
    rag = {f"{i}|{u}": r for i, u, r in zip(cells["indicator_id"], cells["unit_code"].astype(str), cells["rag"],
                                             strict=True)}
    ranks = {}
    ind_set = ctx.rating_set(s)
    if ind_set is not None and ctx.period is not None:
        r = ctx.rating(ind_set)
        r = r[r["rated"].astype(bool)]
        ranks = {str(u): int(k) for u, k in zip(r["unit_code"], r["rank"], strict=True)}
    ins = ctx.node_instructions(s)
    open_ = ins[ins["status"] == "on_control"]
    return {
        "period": ctx.period, "as_of": ctx.as_of.isoformat(), "week": ctx.week, "rating_set": ind_set,
        "rag": rag, "ranks": ranks,
        "open": sorted(open_["instruction_id"].astype(str)),
        "overdue": sorted(ins.loc[ins["overdue"].astype(bool), "instruction_id"].astype(str)),
        "escalated": sorted(open_.loc[open_["escalated"].astype(bool), "instruction_id"].astype(str)),
        "max_batch": int(ctx.batches["batch_id"].max()) if len(ctx.batches) else 0,
        "late": sorted(late_reports(ctx, s)),
    }


def late_reports(ctx: Context, s: Scope) -> set[str]:
    """'unit|period' of regions whose report is late as of the board's date (sac.metrics.quality.reporting:
    expected cells without a fact after the period's end plus the grace days), deadlines of the last quarter."""
    r = ctx.reporting
    if r.empty:
        return set()
    deadline = pd.to_datetime(r["end_date"]) + pd.to_timedelta(r["grace_days"] + 1, unit="D")
    as_of = pd.Timestamp(ctx.as_of)
    late = (deadline <= as_of) & (deadline > as_of - pd.Timedelta(days=LATE_WINDOW_DAYS)) & \
        (r["reported"] < r["expected"])
    if s.region is not None:
        late &= r["unit_code"].astype(str) == s.region
    r = r[late.to_numpy(bool)]
    return {f"{u}|{p}" for u, p in zip(r["unit_code"].astype(str), r["period"].astype(str), strict=True)}


def build(ctx: Context, node_id: str, lang: str, previous: dict | None = None) -> Board:
    """The board of ``node_id`` (a goal node or :data:`LEADERSHIP`) in ``lang`` for the context's week.

    ``previous``: the previous board of the node (``board_id``, ``week``, ``revision``, ``built_at``, ``state``)
    or None; the changes section compares with it."""
    s = ctx.scope(node_id)
    now = state(ctx, s)
    sections = [_decisions_section(ctx, s, lang),
                _changes.section(ctx, s, lang, now, previous),
                _kni_section(ctx, s, lang)]
    for extra in (_rating_section, _portfolio_section, _budget_section):
        sec = extra(ctx, s, lang)
        if sec is not None:
            sections.append(sec)
    name = s.names[lang] or s.names["en"]
    return Board(node_id=node_id, node_level=s.level, node_code=s.code, node_name=name, week=ctx.week,
                 language=lang, as_of=ctx.as_of, period=ctx.period, budget_year=ctx.budget_year,
                 data_version=ctx.data_version, methodology_version=int(ctx.m.version), sections=sections,
                 state=now, previous_board_id=None if previous is None else int(previous["board_id"]))
