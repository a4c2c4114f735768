"""Region profile (issue 4, page 3): ?region=<KATO>&period=<year>.

The region's indicators (plan, fact, RAG with icon and word, trend, place among the
regions), its strongest and weakest indicators, its place in the rating over time,
its budget execution and its projects.
"""

import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import allowed_units, can_open
from sac.metrics import projects as projects_metrics
from sac.metrics import territory
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import labels
from sac.views import rating as rating_views
from sac.views import region as views

user = guard.page("pages/region.py")

code = lang.lang()
name_col = lang.name_col()
st.title(tr("region.title"))

regions = cache.call(views.regions)
allowed = allowed_units(user, cache.store()) if user is not None and user.role == "project_office" else None
if allowed is not None:
    regions = regions[regions["kato"].isin(sorted(allowed))]
    if regions.empty:
        st.warning(tr("region.no_region_access"), icon=":material/lock:")
        st.stop()
    guard.url_outside("region", regions["kato"], "region")   # a typed ?region= of another region: say so
names = dict(zip(regions["kato"], regions[name_col], strict=True))

periods = cache.call(rating_views.periods_with_data)
f1, f2 = st.columns([3, 1])
kato = widgets.select(tr("region.region"), list(regions["kato"]), "region", format_func=names.get, container=f1)
if not periods:
    widgets.empty_state(tr("region.what_periods"))
    st.stop()
period = widgets.select(tr("region.period"), periods, "period", default=cache.call(rating_views.default_period),
                        container=f2)

info = regions.set_index("kato").loc[kato]
st.header(md_escape(names[kato]))
st.caption(tr("region.subtitle", kato=md_escape(kato), kind=tr(f"region.kind_{info['kind']}"),
              centre=md_escape(labels.centre_text(info["centre_en"], lang.lang()) or "—")))

indicators = cache.call(views.region_indicators, kato, period)
# published statistics without plans are rated on their level, as the rating page opens on them
rating_kind = cache.call(rating_views.default_kind, period)
rating = cache.call(rating_views.rating_table, period, kind=rating_kind)
budget = cache.call(views.region_budget, kato)
projects = cache.call(projects_metrics.load_projects, region=kato)
if len(indicators):
    widgets.methodology_badge(int(indicators["methodology_version"].iloc[0]))

# -- headline figures -------------------------------------------------------------------------------------------
me = rating[rating["unit_code"].astype(str) == kato]
# a wrapping row of fixed-width figures: five columns at 1024 px cut "18 of 20" to "18 o…"
row = st.container(horizontal=True)


def metric(*args, **kwargs):
    row.metric(*args, width=175, **kwargs)


# territorial reforms (issue 9): a changed or new territory has no movement, and the headline says why
prev = cache.call(rating_views.previous_period, period)
found = territory.changes(prev, period, [kato]) if prev else None
change = found.iloc[0] if found is not None and len(found) else None
if len(me) and bool(me["rated"].iloc[0]):
    mv = me["movement"].iloc[0]
    flag = tr(f"region.movement_{change['change']}") if change is not None else None
    metric(tr("region.m_rank"), tr("region.m_rank_value", rank=me["rank_label"].iloc[0],
                                      n=int(rating["rated"].sum())),
              delta=flag if flag else (None if pd.isna(mv) else f"{int(mv):+d}"),
              delta_arrow="off" if flag or pd.isna(mv) or int(mv) == 0 else ("up" if int(mv) > 0 else "down"),
              delta_color="normal" if not flag and pd.notna(mv) and int(mv) != 0 else "off",
              help=tr("region.rank_delta_help"))
    metric(tr("region.m_score"), lang.num(me["score_rounded"].iloc[0], 1))
else:
    metric(tr("region.m_rank"), tr("region.m_not_rated"))
    metric(tr("region.m_score"), lang.num(me["score"].iloc[0] if len(me) else None, 1))
scored = indicators[indicators["scored"].astype(bool)] if len(indicators) else indicators
metric(tr("region.m_achieved"), tr("region.m_achieved_value", n=int((scored["rag"] == "green").sum()),
                                      total=len(scored)))
if len(budget):
    # the chosen period's year when the budget has it (a 2025 profile showed the 2026 budget), else the latest
    want = int(period[:4]) if int(period[:4]) in set(budget["year"].astype(int)) else budget["year"].max()
    latest = budget[budget["year"] == want]
    year = int(latest["year"].iloc[0])
    execution = views.execution_share(latest)
    metric(tr("region.m_budget", year=year), lang.pct(execution))
else:
    metric(tr("region.m_budget", year=period[:4]), lang.pct(None))
active = projects[projects["is_active"].astype(bool)] if len(projects) else projects
metric(tr("region.m_projects"), tr("region.m_projects_value",
                                      n=int((active["status_computed"] == "red").sum()) if len(active) else 0,
                                      total=len(active)))

if change is not None:
    year = change["break_year"]
    st.caption(tr(f"region.territory_note_{change['change']}", name=md_escape(names[kato]), period=md_escape(period),
                  previous=md_escape(prev), year=period[:4] if pd.isna(year) else int(year)))

# -- indicators -------------------------------------------------------------------------------------------------
st.subheader(tr("region.indicators_title"))
if indicators.empty:
    widgets.empty_state(tr("region.what_indicators"))
else:
    rag = charts.normalise_rag(indicators["rag"])
    status = rag.map(lambda r: charts.rag_label(r, tr(f"region.rag_{r}")))
    place = [tr("region.rank_of", rank=int(r), n=int(n)) if pd.notna(r) else "—"
             for r, n in zip(indicators["level_rank"], indicators["n_ranked"], strict=True)]
    period_txt = indicators["period"].astype(str).where(~indicators["ytd"].fillna(False).astype(bool),
                                                        indicators["period"].astype(str) + " (" +
                                                        tr("region.ytd_note") + ")")
    export = pd.DataFrame({
        tr("region.col_indicator"): indicators[name_col],
        tr("region.col_unit"): labels.units_text(indicators["unit_of_measure"], lang.lang()).fillna(""),
        tr("region.col_direction"): indicators["direction"].map(
            lambda d: tr(f"region.dir_{d}") if d in ("up", "down") else "—"),
        tr("region.col_period"): period_txt,
        tr("region.col_plan"): indicators["plan"].astype("float64"),
        tr("region.col_fact"): indicators["fact"].astype("float64"),
        tr("region.col_achievement"): (100.0 * indicators["ratio"].astype("float64")),
        tr("region.col_status"): status,
        # the download keeps numbers: the place as a number and how many were placed (on screen '3 of 20')
        tr("region.col_rank_among"): indicators["level_rank"].astype("Int64"),
        tr("region.col_ranked_n"): indicators["n_ranked"].astype("Int64"),
    })
    # on screen numbers are written in the reader's language and missing is a dash; the download keeps numbers
    table = export.drop(columns=[tr("region.col_ranked_n")]).assign(**{
        tr("region.col_rank_among"): place,
        tr("region.col_plan"): indicators["plan"].map(lambda x: lang.num(x, 2)).to_numpy(),
        tr("region.col_fact"): indicators["fact"].map(lambda x: lang.num(x, 2)).to_numpy(),
        tr("region.col_achievement"): (100.0 * indicators["ratio"].astype("float64")).map(lang.pct).to_numpy(),
    })
    table[tr("region.col_trend")] = indicators["trend"].to_numpy()
    st.dataframe(table, hide_index=True, width="stretch", key="region_indicators", column_config={
        tr("region.col_indicator"): st.column_config.TextColumn(width="medium"),
        tr("region.col_unit"): st.column_config.TextColumn(width="small"),
        tr("region.col_trend"): st.column_config.LineChartColumn(width="small"),
    })
    st.caption(tr("region.indicators_note"))
    widgets.download_table(export, f"region_{kato}_{period}_indicators",
                           key="region_ind_dl", title=f"{names[kato]} — {period}",
                           methodology_version=cache.methodology_version())

    best, worst = views.strongest_weakest(indicators)
    s1, s2 = st.columns(2)
    for col, title, frame in ((s1, "region.strong_title", best), (s2, "region.weak_title", worst)):
        with col:
            st.markdown(f"**{tr(title)}**")
            if frame.empty:
                st.caption(tr("region.none_ranked"))
            else:
                st.markdown("\n".join(
                    "- " + tr("region.strength_item", name=md_escape(r[name_col]), rank=int(r["level_rank"]),
                              n=int(r["n_ranked"])) for _, r in frame.iterrows()))

# -- rank history -----------------------------------------------------------------------------------------------
st.subheader(tr("region.history_title"))
st.caption(tr("region.history_note_level" if rating_kind == "level" else "region.history_note"))
history = cache.call(rating_views.rank_history, tuple(periods[:6]), kind=rating_kind)
mine = history[history["unit_code"].astype(str) == kato]
if mine.empty or mine["rank"].isna().all():
    widgets.empty_state(tr("region.what_periods"))
else:
    h1, h2 = st.columns([3, 2])
    with h1:
        fig = charts.rank_history(mine.assign(unit_name=mine[name_col], rank=mine["rank"].astype("Float64"))
                                  [["period", "unit_name", "rank"]], lang=code, rank_title=tr("region.col_rank"),
                                  breaks=territory.break_years(kato), break_label=tr("region.chart_territory_break"))
        fig.update_yaxes(range=[20.5, 0.5])
        widgets.chart(fig, f"region_{kato}_rank_history", key="region_history")
    with h2:
        mine = mine.sort_values("period", ascending=False)
        ht = pd.DataFrame({  # the download: rank a number, empty when not rated ('=3' ties are equal numbers)
            tr("region.col_rating_period"): mine["period"],
            tr("region.col_rank"): mine["rank"].astype("Int64"),
            tr("region.col_score"): mine["score_rounded"].astype("float64"),
            tr("region.col_coverage"): (100.0 * mine["coverage"].astype("float64")).round(1),
        })
        st.dataframe(ht.assign(**{
            tr("region.col_rank"): mine["rank_label"].fillna(tr("region.m_not_rated")).to_numpy(),
            tr("region.col_score"): mine["score_rounded"].map(lambda x: lang.num(x, 1)).to_numpy(),
            tr("region.col_coverage"): (100.0 * mine["coverage"].astype("float64")).map(lang.pct).to_numpy(),
        }), hide_index=True, key="region_history_table")
    widgets.download_table(ht, f"region_{kato}_rank_history", key="region_hist_dl",
                           methodology_version=cache.methodology_version())
if can_open(user, "pages/rating.py"):
    st.page_link("pages/rating.py", label=tr("region.open_rating"), icon=":material/leaderboard:",
                 query_params={"period": period, "kind": rating_kind})

# -- budget -----------------------------------------------------------------------------------------------------
st.subheader(tr("region.budget_title"))
if budget.empty:
    widgets.empty_state(tr("region.what_budget"))
else:
    # the chosen period's year when the budget has it (a 2025 profile showed the 2026 budget), else the latest
    want = int(period[:4]) if int(period[:4]) in set(budget["year"].astype(int)) else budget["year"].max()
    latest = budget[budget["year"] == want]
    bars = pd.DataFrame({"name": latest["program_code"] + " " + latest[name_col].fillna(""),
                         "execution": latest["execution_pct"].astype("float64") / 100.0})
    widgets.chart(charts.execution_bars(bars, lang=code), f"region_{kato}_budget", key="region_budget")
    bt = pd.DataFrame({
        tr("region.col_year"): budget["year"].astype("Int64"),
        tr("region.col_program"): budget["program_code"] + " " + budget[name_col].fillna(""),
        tr("region.col_budget_plan"): budget["plan"].astype("float64"),
        tr("region.col_allocated"): budget["allocated"].astype("float64"),
        tr("region.col_spent"): budget["spent"].astype("float64"),
        tr("region.col_execution"): budget["execution_pct"].astype("float64"),
        tr("region.col_unspent"): budget["unspent"].astype("float64"),
    })
    money_cols = ("plan", "allocated", "spent", "unspent")
    money_names = ("col_budget_plan", "col_allocated", "col_spent", "col_unspent")
    st.dataframe(bt.assign(**{tr(f"region.{n}"): budget[c].map(lambda x: lang.num(x, 1)).to_numpy()
                              for c, n in zip(money_cols, money_names, strict=True)},
                           **{tr("region.col_execution"): budget["execution_pct"].map(lang.pct).to_numpy()}),
                 hide_index=True, width="stretch", key="region_budget_table")
    widgets.download_table(bt, f"region_{kato}_budget", key="region_budget_dl")

# -- projects ---------------------------------------------------------------------------------------------------
st.subheader(tr("region.projects_title"))
if projects.empty:
    widgets.empty_state(tr("region.what_projects"))
else:
    pname = projects[name_col].fillna(projects["name_en"]) if name_col in projects else projects["name_en"]
    pstatus = charts.normalise_rag(projects["status_computed"])
    pt = pd.DataFrame({
        tr("region.col_project"): pname,
        tr("region.col_stage"): projects["lifecycle_stage"].map(
            lambda s: tr(f"region.stage_{s}") if isinstance(s, str) else "—"),
        tr("region.col_project_status"): pstatus.map(lambda r: charts.rag_label(r, tr(f"region.status_{r}"))),
        tr("region.col_complete"): 100.0 * projects["percent_complete"].astype("float64"),
        tr("region.col_planned_end"): pd.to_datetime(projects["planned_end"]),
        tr("region.col_end"): pd.to_datetime(projects["end_date"]),
        tr("region.col_slip"): projects["slip_days"].astype("float64"),
        tr("region.col_budget"): projects["budget"].astype("float64"),
        tr("region.col_cost"): projects["cost"].astype("float64"),
    })
    st.dataframe(pt.assign(**{
        tr("region.col_planned_end"): projects["planned_end"].map(lang.date).to_numpy(),
        tr("region.col_end"): projects["end_date"].map(lang.date).to_numpy(),
        tr("region.col_complete"): (100.0 * projects["percent_complete"].astype("float64")).map(
            lambda x: lang.pct(x, 0)).to_numpy(),
        tr("region.col_slip"): projects["slip_days"].map(lambda x: lang.num(x, 0)).to_numpy(),
        tr("region.col_budget"): projects["budget"].map(lambda x: lang.num(x, 1)).to_numpy(),
        tr("region.col_cost"): projects["cost"].map(lambda x: lang.num(x, 1)).to_numpy(),
    }), hide_index=True, width="stretch", key="region_projects")
    widgets.download_table(pt, f"region_{kato}_projects", key="region_projects_dl")
    tl = projects.assign(name=pname)
    labels = {"planned": tr("region.timeline_planned"), "forecast": tr("region.timeline_forecast"),
              "today": tr("region.timeline_today"),
              **{f"rag_{k}": tr(f"region.status_{k}") for k in ("green", "amber", "red", "grey")}}
    widgets.chart(charts.project_timeline(tl, lang=code, labels=labels), f"region_{kato}_projects",
                  key="region_timeline")
