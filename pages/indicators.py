"""Indicators: plan-fact matrix, one indicator over time with progress to target, its passport, goal map, gaps.

URL: ?period=2025 &node=<national priority or program> &indicator=<code> &region=<KATO> (all optional).
"""

import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import allowed_units, restrict_frame
from sac.metrics import goalmap, territory
from sac.ui import cache, guard, lang, widgets
from sac.ui.text import md_escape
from sac.views import indicators as v
from sac.views import labels

user = guard.page("pages/indicators.py")

L = lang.lang()
NAME = lang.name_col()
tr = lang.tr

st.title(tr("indicators.title"))
st.caption(tr("indicators.intro"))

periods = cache.call(v.period_options)
if not periods:
    widgets.empty_state(tr("indicators.what_values"))
    st.stop()

inds = cache.call(v.indicator_options)
nodes = cache.call(v.node_options)
regions = cache.call(v.region_options)
scope = allowed_units(user)
if scope is not None:
    regions = regions[regions["kato"].isin(sorted(scope))]

ind_name = dict(zip(inds["indicator_id"], inds[NAME], strict=True))
node_name = dict(zip(nodes["node_id"], nodes[NAME], strict=True))
node_depth = dict(zip(nodes["node_id"], nodes["depth"], strict=True))
region_name = dict(zip(regions["kato"], regions[NAME], strict=True))


def _year(y) -> str:
    return str(int(y)) if pd.notna(y) else "—"


def _progress_block(prog: pd.DataFrame, unit: str | None) -> None:
    """Status of progress to target (sac.metrics.progress) with its figures, or why there is none."""
    st.markdown(f"**{tr('indicators.progress_heading')}**")
    if prog.empty:
        st.caption(tr("indicators.progress_no_status", reason=tr("indicators.reason_no_target")))
        return
    r = prog.iloc[0]
    st.caption(tr("indicators.progress_target_line", baseline=md_escape(lang.num(r["baseline_value"], 2, unit)),
                  baseline_year=_year(r["baseline_year"]), target=md_escape(lang.num(r["target_value"], 2, unit)),
                  target_year=_year(r["target_year"])))
    if pd.notna(r.get("territory_break_year", pd.NA)):   # the baseline moved to the new territory (issue 9)
        st.caption(tr("indicators.progress_territory_break", year=int(r["territory_break_year"])))
    if pd.isna(r["status"]):
        key = v.PROGRESS_REASONS.get(str(r["reason"]))
        reason = tr(f"indicators.{key}") if key else tr("indicators.reason_other", reason=md_escape(r["reason"]))
        st.caption(tr("indicators.progress_no_status", reason=reason))
    else:
        st.markdown(f"**{tr('indicators.progress_status')}: {tr('indicators.status_' + str(r['status']))}**")
    # two by two: four across a two-thirds column cut the labels and the projected value short
    m1, m2 = st.columns(2)
    m3, m4 = st.columns(2)
    m1.metric(tr("indicators.progress_g_obs"), lang.pct(100 * r["g_obs"]) if pd.notna(r["g_obs"]) else "—")
    m2.metric(tr("indicators.progress_g_req"), lang.pct(100 * r["g_req"]) if pd.notna(r["g_req"]) else "—")
    m3.metric(tr("indicators.progress_q"), lang.num(r["q"], 2))
    m4.metric(tr("indicators.progress_projection", year=_year(r["target_year"])),
              lang.num(r["projected_value"], 2), help=md_escape(unit) if unit else None)
    if pd.notna(r["projected_achieved"]):
        st.caption(tr("indicators.progress_projected_achieved") if bool(r["projected_achieved"])
                   else tr("indicators.progress_projected_missed"))


if scope is not None:  # a typed ?region= outside the office's regions: say so (the filter falls back to its own)
    guard.url_outside("region", regions["kato"], "region")
c1, c2, c3, c4 = st.columns([2, 3, 4, 3])  # the period box holds "2025" at 1024 px
with c1:
    period = widgets.select(tr("indicators.period"), periods, "period",
                            default=cache.call(v.default_period) or periods[0])
with c2:
    node = widgets.select(tr("indicators.node_filter"), [""] + nodes["node_id"].tolist(), "node", default="",
                          format_func=lambda n: tr("indicators.all_nodes") if n == ""
                          else ("— " * int(node_depth[n])) + node_name[n])
with c3:
    indicator = widgets.select(tr("indicators.indicator"), inds["indicator_id"].tolist(), "indicator",
                               format_func=lambda c: f"{c} — {ind_name[c]}")
with c4:
    region_opts = ([""] if scope is None else []) + regions["kato"].tolist()
    region = widgets.select(tr("indicators.region"), region_opts, "region", default="",
                            format_func=lambda k: tr("indicators.whole_country") if k == "" else region_name[k])
region = region or None

# -- 1. plan-fact matrix ---------------------------------------------------------------------
st.subheader(tr("indicators.tab_matrix"))
cells = cache.call(v.matrix_cells, period, node or None)
cells = restrict_frame(cells, user, "unit_code")
if cells.empty:
    widgets.empty_state(tr("indicators.what_values_period", period=md_escape(period)))
else:
    text, rag = v.pivot_matrix(cells, L, charts.RAG_ICONS)
    counts = v.rag_counts(cells)
    mc = st.columns(4)
    for col, (r, n) in zip(mc, zip(counts["rag"], counts["cells"], strict=True), strict=True):
        col.metric(charts.rag_label(r, tr(f"common.rag_{r}")), lang.num(n))
    st.caption(tr("indicators.matrix_caption", period=md_escape(period)))
    if bool(cells.get("ytd", pd.Series(dtype=bool)).fillna(False).any()):
        st.caption(tr("indicators.ytd_note"))

    fg = {"green": "#FFFFFF", "amber": "#000000", "red": "#FFFFFF", "grey": "#333333"}
    bg = {**charts.RAG_COLOURS, "grey": "#EEEEEE"}
    css = rag.apply(lambda s: s.map(lambda r: f"background-color: {bg[r]}; color: {fg[r]}" if r in bg else ""))
    styler = text.style.apply(lambda _: css, axis=None)
    col_cfg = {"region": st.column_config.TextColumn(tr("indicators.col_region"), pinned=True)}
    # no fixed width: a "small" column cut the codes (CORRUPTIC, CANCER_EA); the name is the header's tooltip
    col_cfg.update({c: st.column_config.TextColumn(c, help=md_escape(ind_name.get(c, c)))
                    for c in text.columns if c != "region"})
    event = st.dataframe(styler, hide_index=True, column_config=col_cfg, key="matrix", on_select="rerun",
                         selection_mode="single-cell", height=min(38 + 35 * len(text), 760))
    picked = event.selection.cells if event and event.selection else []
    if picked:
        row, col = picked[0]
        if col != "region":
            st.query_params["indicator"] = col
        st.query_params["region"] = str(text.index[row])
        st.rerun()
    st.caption(tr("indicators.click_hint"))
    table = cells[["unit_code", f"unit_name_{L}", "indicator_id", NAME, "unit_of_measure", "period", "plan", "fact",
                   "ratio", "score", "rag", "methodology_version"]].copy()
    table["unit_of_measure"] = labels.units_text(table["unit_of_measure"], L)
    table["ratio"] = 100.0 * table["ratio"]
    table["rag"] = table["rag"].map(lambda r: charts.rag_label(r, tr(f"common.rag_{r}")))
    table = table.rename(columns={f"unit_name_{L}": tr("indicators.col_region"), NAME: tr("indicators.col_name"),
                                  "unit_of_measure": tr("indicators.col_unit"), "plan": tr("indicators.col_plan"),
                                  "fact": tr("indicators.col_fact"), "ratio": tr("indicators.col_ratio"),
                                  "score": tr("indicators.col_score"), "rag": tr("indicators.col_status")})
    widgets.download_table(table, f"plan_fact_{period}", key="dl_matrix",
                           methodology_version=cache.methodology_version(), title=tr("indicators.tab_matrix"))
    widgets.methodology_badge(int(cells["methodology_version"].iloc[0]))

# -- 2. one indicator over time: series, progress, passport -------------------------------------
st.divider()
pp = cache.call(v.passport, indicator)
if pp.empty:
    widgets.empty_state(tr("indicators.what_values"))
    st.stop()
p = pp.iloc[0]
unit = labels.unit_text(p["unit_of_measure"], L)
where = region_name[region] if region else tr("indicators.whole_country")
st.subheader(tr("indicators.series_heading", name=md_escape(f"{indicator} {p[NAME]}"), where=md_escape(where)))

left, right = st.columns([3, 2])
with left:
    s = cache.call(v.series, indicator, region)
    if s.empty and region is None:
        st.info(tr("indicators.no_country_value"), icon=":material/info:")
    elif s.empty:
        widgets.empty_state(tr("indicators.what_series", code=md_escape(indicator)))
    else:
        target_year = int(p["target_year"]) if pd.notna(p["target_year"]) else None
        target_value = float(p["target_value"]) if pd.notna(p["target_value"]) else None
        prog = cache.call(v.indicator_progress, indicator, region)
        projection = float(prog["projected_value"].iloc[0]) if len(prog) else None
        fig = charts.indicator_series(
            s.rename(columns={"start_date": "period_start"}), target_value=target_value, target_year=target_year,
            projection=projection, unit_of_measure=unit, lang=L,
            date_tickformat="%Y" if p["periodicity"] == "year" else charts.DATE_TICKFORMAT,
            breaks=territory.break_years(region) if region else None,   # the country's territory never changed
            labels={"plan": tr("indicators.trace_plan"), "fact": tr("indicators.trace_fact"),
                    "target": tr("indicators.trace_target"), "projection": tr("indicators.trace_projection"),
                    "territory_break": tr("indicators.chart_territory_break")})
        widgets.chart(fig, f"{indicator}_{region or 'KZ'}", key="series_chart")
        _progress_block(prog, unit)
        if region is None:
            st.caption(tr("indicators.series_country_note", rule=tr(f"indicators.agg_{p['aggregation']}")))

with right:
    st.markdown(f"**{tr('indicators.passport_heading', code=md_escape(indicator))}**")

    def _txt(x, decimals=None):
        if pd.isna(x):
            return tr("indicators.not_set")
        return lang.num(x, decimals) if decimals is not None else str(x)

    def _enum(prefix, x):
        return tr(f"indicators.{prefix}_{x}") if pd.notna(x) else tr("indicators.not_set")

    def _rag_cut(x, default):
        return lang.pct(100 * x) if pd.notna(x) else tr("indicators.default_suffix", value=lang.pct(100 * default))

    def _node():
        if pd.isna(p["node_id"]):
            return tr("indicators.not_set")
        return f"{tr('indicators.level_' + str(p['node_level']))}: {p['node_name_' + L]}"

    def _official():
        if pd.isna(p["responsible_official"]):
            return tr("indicators.not_set")
        return ", ".join(str(x) for x in (p["official_name"], p["official_position"]) if pd.notna(x))

    values = {
        "indicator_id": p["indicator_id"], "name_en": p["name_en"], "name_ru": p["name_ru"], "name_kk": p["name_kk"],
        "unit_of_measure": _txt(unit), "direction": _enum("dir", p["direction"]),
        "tier": _enum("tier", p["tier"]), "periodicity": _enum("per", p["periodicity"]),
        "cumulative": tr("indicators.yes") if bool(p["cumulative"]) else tr("indicators.no"),
        "aggregation": _enum("agg", p["aggregation"]), "weight": _txt(p["weight"], 2),
        "rag_green": _rag_cut(p["rag_green"], 1.0), "rag_amber": _rag_cut(p["rag_amber"], 0.9),
        "baseline_value": _txt(p["baseline_value"], 2), "baseline_year": _txt(p["baseline_year"]),
        "target_value": _txt(p["target_value"], 2), "target_year": _txt(p["target_year"]),
        "responsibility_level": _txt(p["responsibility_level"]), "node": _node(),
        "responsible_official": _official(), "source_document": _txt(p["source_document"]),
    }
    passport = pd.DataFrame({tr("indicators.col_field"): [tr(f"indicators.pf_{f}") for f in v.PASSPORT_FIELDS],
                             tr("indicators.col_value"): [str(values[f]) for f in v.PASSPORT_FIELDS]})
    st.dataframe(passport, hide_index=True, width="stretch", height=38 + 35 * len(passport))
    widgets.download_table(passport, f"passport_{indicator}", key="dl_passport")

if not s.empty:  # the series as a table, full width so its download buttons are not squeezed
    table = s[["period", "plan", "fact", "n_plan", "n_fact"]].rename(columns={
        "period": tr("indicators.col_period"), "plan": tr("indicators.col_plan"),
        "fact": tr("indicators.col_fact"), "n_plan": tr("indicators.col_n_plan"),
        "n_fact": tr("indicators.col_n_fact")})
    if region is not None:
        table = table.iloc[:, :3]
    with st.expander(tr("indicators.col_period") + " · " + tr("indicators.col_plan") + " / "
                     + tr("indicators.col_fact")):
        st.dataframe(v.format_series_table(table, L), hide_index=True, width="stretch")
        widgets.download_table(table, f"{indicator}_{region or 'KZ'}_series", key="dl_series")

# -- 3. goal map and gap analysis ---------------------------------------------------------------
st.divider()
tab_map, tab_gap = st.tabs([tr("indicators.tab_goalmap"), tr("indicators.tab_gap")])
levels = {lv: tr(f"indicators.level_{lv}") for lv in
          ("national_priority", "program", "basic_direction", "project_group", "project")}
with tab_map:
    # a project office's goal map is its region's (its projects, its plan's nodes, scored on its cells)
    tree = cache.call(goalmap.goal_tree, period, region=region if scope is not None else None)
    if tree.empty:
        widgets.empty_state(tr("indicators.what_goalmap"))
    else:
        st.caption(tr("indicators.goalmap_caption"))
        df = tree.assign(name=tree[NAME].fillna(tree["name_en"]), responsible=tree["responsible_name"])
        fig = charts.goal_sunburst(df, lang=L, level_labels=levels, max_depth=3, score_min="auto",
                                   labels={"score": tr("indicators.col_score"),
                                           "responsible": tr("indicators.col_responsible"),
                                           "no_data": tr("common.no_data")},
                                   title=tr("indicators.goalmap_chart_title", period=period))
        widgets.chart(fig, f"goal_map_{period}", key="goal_map")
        nodes_table = df[df["level"] != "project"][["code", "name", "level", "responsible", "responsibility_level",
                                                    "n_indicators", "score"]].copy()
        nodes_table["level"] = nodes_table["level"].map(levels)
        nodes_table = nodes_table.rename(columns={
            "code": tr("indicators.col_code"), "name": tr("indicators.col_name"), "level": tr("indicators.col_level"),
            "responsible": tr("indicators.col_responsible"), "responsibility_level": tr("indicators.col_resp_level"),
            "n_indicators": tr("indicators.col_n_indicators"), "score": tr("indicators.col_score")})
        st.markdown(f"**{tr('indicators.goalmap_table')}**")
        st.dataframe(nodes_table, hide_index=True, width="stretch",
                     column_config={tr("indicators.col_score"): st.column_config.NumberColumn(format="%.1f")})
        widgets.download_table(nodes_table, f"goal_map_{period}", key="dl_goalmap",
                           methodology_version=cache.methodology_version())

with tab_gap:
    gap = cache.call(goalmap.gap_analysis, period, region=region)
    gap = restrict_frame(gap, user, "unit_code")
    if gap.empty:
        widgets.empty_state(tr("indicators.what_gap"))
    else:
        st.caption(tr("indicators.gap_caption"))
        known = gap["insufficient"].notna()
        n_bad = int(gap["insufficient"].fillna(False).sum())
        (st.warning if n_bad else st.success)(tr("indicators.gap_summary", n=n_bad, total=int(known.sum())))
        only = st.toggle(tr("indicators.gap_only_insufficient"), value=True, key="gap_only")
        all_regions = cache.call(v.region_options)
        g = v.gap_table(gap, L, dict(zip(all_regions["kato"], all_regions[NAME], strict=True)))
        g = g.drop(columns=["unit_code"])
        g["unit_of_measure"] = labels.units_text(g["unit_of_measure"], L)
        if only:
            g = g[g["verdict"] == "insufficient"]
        g["verdict"] = g["verdict"].map(lambda x: tr(f"indicators.gap_{x}"))
        g = g.rename(columns={
            "indicator_id": tr("indicators.col_code"), "name": tr("indicators.col_name"),
            "region": tr("indicators.col_region"), "unit_of_measure": tr("indicators.col_unit"),
            "target_value": tr("indicators.col_target"), "target_year": tr("indicators.col_target_year"),
            "current_fact": tr("indicators.col_current"), "current_period": tr("indicators.col_current_period"),
            "required": tr("indicators.col_required"), "planned": tr("indicators.col_planned"),
            "n_projects": tr("indicators.col_n_projects"), "shortfall": tr("indicators.col_shortfall"),
            "verdict": tr("indicators.col_verdict")})
        shown = g.copy()
        for c in (tr("indicators.col_target"), tr("indicators.col_current"), tr("indicators.col_required"),
                  tr("indicators.col_planned"), tr("indicators.col_shortfall")):
            shown[c] = shown[c].map(lambda x: lang.num(x, 2))
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(g, f"gap_analysis_{period}", key="dl_gap",
                           methodology_version=cache.methodology_version())
