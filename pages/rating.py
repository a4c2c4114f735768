"""Regional rating (issue 4, page 2; METHODOLOGY.md section 3, Rules para 34).

Filters in the URL: ?period=2025&set=all&kind=plan_fulfilment&agg=arithmetic.
A row selected in the table, a tile clicked on the map, or the profile link opens
pages/region.py?region=<KATO>.
"""

import numpy as np
import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import can_open, restrict_frame
from sac.methodology import current
from sac.metrics import territory
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import rating as views

user = guard.page("pages/rating.py")

REGION_PAGE = "pages/region.py"

st.title(tr("rating.title"))
st.caption(tr("rating.intro"))
code = lang.lang()
name_col = lang.name_col()

periods = cache.call(views.periods_with_data)
if not periods:
    widgets.empty_state(tr("rating.what_ratings"))
    st.stop()

sets = cache.call(views.indicator_sets)
set_names = dict(zip(sets["code"], sets[name_col], strict=True))
set_levels = dict(zip(sets["code"], sets["level"], strict=True))
# the situation room's exception links and the goal map may name a node as ?node= or ?program=
for alias in ("node", "program"):
    if st.query_params.get(alias) in set_names and "set" not in st.query_params:
        st.query_params["set"] = st.query_params[alias]


# labels fixed at this run's language (a format_func may be called outside the script run)
set_labels = {c: tr("rating.set_all") if c == views.ALL else tr(f"rating.set_{set_levels[c]}", name=set_names[c])
              for c in sets["code"]}
kind_labels = {k: tr(f"rating.kind_{k}") for k in views.KINDS}
agg_labels = {a: tr(f"rating.agg_{a}") for a in views.AGGREGATIONS}
f1, f2, f3, f4 = st.columns([1.6, 2.8, 2, 2])  # the period reads whole at 1024 px
period = widgets.select(tr("rating.period"), periods, "period", default=cache.call(views.default_period),
                        container=f1)
chosen_set = widgets.select(tr("rating.indicator_set"), list(sets["code"]), "set", default=views.ALL,
                            format_func=set_labels.get, container=f2)
# facts but no plans (published statistics): plan fulfilment has nothing to score, so open on the level rating;
# a kind in the URL still wins
no_plans = cache.call(views.facts_without_plans, period, chosen_set)
kind = widgets.radio(tr("rating.kind"), views.KINDS, "kind", default=cache.call(views.default_kind, period, chosen_set),
                     format_func=kind_labels.get, container=f3)
agg = widgets.radio(tr("rating.aggregation"), views.AGGREGATIONS, "agg", format_func=agg_labels.get,
                    container=f4)

table = cache.call(views.rating_table, period, chosen_set, kind=kind, aggregation=agg)
if no_plans and kind != "level":
    st.info(tr("rating.no_plans", period=md_escape(period)), icon=":material/info:")
    st.page_link("pages/rating.py", label=tr("rating.open_level", period=md_escape(period)),
                 icon=":material/leaderboard:", query_params={"period": period, "set": chosen_set, "kind": "level",
                                                              "agg": agg})
if table.empty or not table["rated"].any() and table["n_in_play"].max() == 0:
    widgets.empty_state(tr("rating.what_rated"))
    st.stop()

version = int(table["methodology_version"].iloc[0])
widgets.methodology_badge(version)
st.caption(tr(f"rating.kind_note_{kind}"))
if no_plans and kind == "level":
    st.caption(tr("rating.no_plans_level", period=md_escape(period)))

shown = table
if user is not None and user.role == "project_office":
    shown = restrict_frame(table, user, "unit_code", store=cache.store())
    st.info(tr("rating.scoped_note"), icon=":material/lock:")

rated = shown[shown["rated"]]
not_rated = shown[~shown["rated"]]
st.caption(tr("rating.rated_count", rated=int(table["rated"].sum()), total=len(table),
              n=int(table["n_in_play"].max())))
prev = cache.call(views.previous_period, period)
st.caption(tr("rating.compared_with", period=md_escape(prev)) if prev else tr("rating.no_previous"))
# issue 12: figures no analyst has approved yet are provisional; a rank resting partly on them is marked ◐
prov = views.provisional_summary(table)
if prov["provisional"]:
    st.caption(tr("rating.provisional_note", n=lang.num(prov["provisional"]), total=lang.num(prov["cells"]),
                  regions=lang.num(prov["regions"])))
# territorial reforms (issue 9): whose history does not go on from the previous period, and why no movement
changed = views.territory_changes(shown, name_col)
if prev and len(changed):
    groups = [tr(f"rating.territory_group_{c}", names=", ".join(md_escape(n) for n in part["name"]))
              for c, part in changed.groupby("territory_change", sort=False)]
    st.caption(tr("rating.territory_caption", period=md_escape(prev), groups="; ".join(groups)))

# -- the table --------------------------------------------------------------------------------------------------
if rated.empty:
    # no table, and no "every pair is clearly apart" about nobody: say why, and where a rating is
    latest = cache.call(views.default_period)
    st.warning(tr("rating.none_rated", period=md_escape(period)), icon=":material/hourglass_top:")
    if latest and latest != period:
        st.page_link("pages/rating.py", label=tr("rating.open_latest", period=md_escape(latest)), icon=":material/leaderboard:",
                     query_params={"period": latest})
else:
    st.subheader(tr("rating.table_title"))
    export = views.export_table(rated, code)
    # on screen every number is written in the reader's language (1 234,5 / 98,2%), a tie as '=11' and movement
    # as an arrow; the download keeps numbers
    # a changed territory reads '⚑ territory changed' in the movement column (the download has its own column)
    display = export.drop(columns=[tr("rating.col_territory")], errors="ignore").assign(**{
        tr("rating.col_rank"): (rated["rank_label"].astype(str)
                                + np.where(rated["n_provisional"].to_numpy() > 0, " ◐", "")).to_numpy(),
        tr("rating.col_movement"): views.movement_arrow(rated["movement"], rated["rank_prev"],
                                                        rated["territory_change"], code).to_numpy(),
        tr("rating.col_score"): rated["score_rounded"].map(lambda x: lang.num(x, 1)).to_numpy(),
        tr("rating.col_coverage"): rated["coverage_pct"].map(lang.pct).to_numpy(),
        tr("rating.col_prev_rank"): rated["rank_prev"].map(lambda x: "—" if pd.isna(x) else str(int(x))).to_numpy(),
    })
    event = st.dataframe(display, key="rating_table", hide_index=True, on_select="rerun", selection_mode="single-row",
                         width="stretch",  # '⚑ territory changed' reads whole
                         column_config={tr("rating.col_movement"): st.column_config.TextColumn(width="medium")})
    if can_open(user, REGION_PAGE):
        st.caption(tr("rating.table_help"))
    widgets.download_table(export, f"rating_{period}_{chosen_set}_{kind}_{agg}", key="rating_dl",
                           methodology_version=cache.methodology_version(),
                           title=f"{tr('rating.title')} — {period}",
                           note=tr("common.methodology_version", version=version))

    may_open_profile = can_open(user, REGION_PAGE)
    selected_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected_rows and may_open_profile:
        kato = str(rated["unit_code"].iloc[selected_rows[0]])
        st.switch_page(REGION_PAGE, query_params={"region": kato, "period": period})

    # one explicit link, for keyboards and for copying: the leader, or the region picked here
    if len(shown) and may_open_profile:
        pick_options = list(rated["unit_code"].astype(str)) + list(not_rated["unit_code"].astype(str))
        names = dict(zip(shown["unit_code"].astype(str), shown[name_col], strict=True))
        lc1, lc2 = st.columns([2, 3])
        pick = lc1.selectbox(tr("rating.col_region"), pick_options, format_func=names.get, key="rating_pick",
                             label_visibility="collapsed")
        with lc2:
            st.page_link(REGION_PAGE, label=tr("rating.open_profile", name=md_escape(names[pick])), icon=":material/location_on:",
                         query_params={"region": pick, "period": period})

    # -- who is clearly apart ---------------------------------------------------------------------------------------
    st.subheader(tr("rating.apart_title"))
    st.caption(tr("rating.apart_explain"))
    pairs = views.not_clearly_apart(table, name_col)
    visible = set(shown["unit_code"])  # a project office hears of its own regions' neighbours only as far as it sees
    # a pair with one region out of sight is not named, but "every pair is clearly apart" would then be untrue
    outside = sorted({r.name_a if r.unit_a in visible else r.name_b for r in pairs.itertuples()
                      if (r.unit_a in visible) != (r.unit_b in visible)}) if len(pairs) else []
    pairs = pairs[pairs["unit_a"].isin(visible) & pairs["unit_b"].isin(visible)] if len(pairs) else pairs
    if outside:
        st.warning(tr("rating.apart_outside_view", names=", ".join(md_escape(n) for n in outside)),
                   icon=":material/compare_arrows:")
    if pairs.empty and not outside:
        st.success(tr("rating.all_apart"), icon=":material/check_circle:")
    elif len(pairs):
        st.warning(tr("rating.n_not_apart", n=len(pairs)), icon=":material/compare_arrows:")
        with st.expander(tr("rating.show_pairs"), expanded=len(pairs) <= 5):
            st.markdown("\n".join(
                "- " + tr("rating.not_apart_item", a=md_escape(r.name_a), b=md_escape(r.name_b),
                          rank_a=md_escape(r.rank_a), rank_b=md_escape(r.rank_b),
                          band_a=r.band_a, band_b=r.band_b)
                for r in pairs.itertuples()))

# -- not rated --------------------------------------------------------------------------------------------------
st.subheader(tr("rating.not_rated_title"))
coverage_min = cache.call(current).config["rating"]["coverage_min"]
st.caption(tr("rating.not_rated_note", share=lang.pct(100.0 * coverage_min, 0)))
if not_rated.empty:
    st.success(tr("rating.not_rated_none"), icon=":material/check_circle:")
else:
    nr = pd.DataFrame({
        tr("rating.col_region"): not_rated[name_col],
        tr("rating.col_coverage"): not_rated["coverage_pct"].astype("float64").round(1),
        tr("rating.col_indicators"): not_rated["n_indicators"],
        tr("rating.col_reason"): not_rated["not_rated_reason"].map(lambda r: tr(f"rating.reason_{r}") if r else ""),
    }).reset_index(drop=True)
    st.dataframe(nr.assign(**{tr("rating.col_coverage"): not_rated["coverage_pct"].map(lang.pct).to_numpy()}),
                 hide_index=True, key="rating_not_rated")
    widgets.download_table(nr, f"rating_not_rated_{period}", key="rating_nr_dl",
                           methodology_version=cache.methodology_version())

# -- map and dots -----------------------------------------------------------------------------------------------
if not rated.empty:  # every tile hatched and every dot 'not rated' says nothing
    st.subheader(tr("rating.map_title"))
    st.caption(tr("rating.map_note"))
    if len(shown) < len(table):
        st.caption(tr("rating.map_scope_note"))
    map_df = shown.assign(kato=shown["unit_code"].astype(str), score_map=shown["score_rounded"].where(shown["rated"]),
                          colour=shown["position"])
    # a project office's map: the regions it may not see are 'not in your scope', not 'no data'
    hidden = sorted(set(table["unit_code"].astype(str)) - set(map_df["kato"])) if len(shown) < len(table) else []
    fig_map = charts.tile_map(map_df, "score_map", kato_col="kato", score_col="colour", lang=code,
                              colorbar_title=tr("rating.map_colour"), no_data_text=tr("rating.chart_no_data"),
                              out_of_scope=hidden, out_of_scope_text=tr("rating.chart_out_of_scope"), height=460)
    map_event = widgets.chart(fig_map, f"rating_map_{period}", key="rating_map", on_select="rerun",
                              selection_mode="points")
    points = list(getattr(getattr(map_event, "selection", None), "points", []) or [])
    if points and may_open_profile:
        custom = points[0].get("customdata") if isinstance(points[0], dict) else None
        if custom:
            st.switch_page(REGION_PAGE, query_params={"region": str(custom[0]), "period": period})

    st.subheader(tr("rating.dots_title"))
    dots = shown.assign(unit_name=shown[name_col], score=shown["score"].where(shown["rated"]),
                        rank_p05=shown["rank_p05"].astype("Float64"), rank_p95=shown["rank_p95"].astype("Float64"))
    labels = {k: tr(f"rating.chart_{k}") for k in ("score", "rank_band", "rank", "median_rank", "band", "coverage")}
    labels["not_rated"] = tr("rating.not_rated_title")
    fig_dots = charts.rating_dots(dots[["unit_name", "score", "rank", "rank_label", "rank_p05", "rank_p95",
                                        "rank_median", "coverage"]], lang=code, labels=labels)
    widgets.chart(fig_dots, f"rating_scores_{period}", key="rating_dots")

# -- rank history -----------------------------------------------------------------------------------------------
st.subheader(tr("rating.history_title"))
st.caption(tr("rating.history_note"))
history = cache.call(views.rank_history, tuple(periods[:6]), chosen_set, kind=kind, aggregation=agg)
if user is not None and user.role == "project_office":
    history = restrict_frame(history, user, "unit_code", store=cache.store())
if history.empty or history["rank"].isna().all():
    widgets.empty_state(tr("rating.what_ratings"))
else:
    leaders = list(rated.head(3)[name_col]) + list(rated.tail(3)[name_col])
    hist_df = history.assign(unit_name=history[name_col], rank=history["rank"].astype("Float64"))
    # a region's line stops at a territorial reform and starts afresh: the new territory's rank is another series
    reformed = {str(n): territory.break_years(k) for n, k in zip(hist_df["unit_name"], hist_df["unit_code"],
                                                                   strict=True)}
    fig_hist = charts.rank_history(hist_df[["period", "unit_name", "rank"]], lang=code, highlight=leaders,
                                   rank_title=tr("rating.col_rank"), unit_breaks=reformed,
                                   break_label=tr("rating.chart_territory_break"))
    widgets.chart(fig_hist, f"rating_history_{chosen_set}", key="rating_history")
    if fig_hist.layout.shapes:   # a reform inside the years shown
        st.caption(tr("rating.history_breaks_note"))
    widgets.download_table(views.history_export(history, code), f"rating_history_{chosen_set}", key="rating_hist_dl",
                           methodology_version=cache.methodology_version())
