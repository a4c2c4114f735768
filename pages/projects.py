"""Projects (issue 4, page 6; METHODOLOGY.md sections 6 and 10; Rules para 64, 68.10, 79, 92-94 = seed 004).

URL: ?region=<KATO> &program=<node> &direction=<node> &status=red|amber|green|none &manager=<official>
&project=<id> (focus one project, the target of the exceptions' project links) &by=program|basic_direction|region
(para 64 grouping) &period=<year> (manager rating). All optional.
"""

import datetime as dt

import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import allowed_units, can_see
from sac.metrics import projects as proj_metrics
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import projects as v

user = guard.page("pages/projects.py")

L = lang.lang()
NAME = lang.name_col()
SUFFIX = NAME.removeprefix("name")  # "_en" / "_ru" / "_kk"
today = dt.date.today()
units = allowed_units(user, cache.store()) if user is not None and user.role == "project_office" else None
units_key = tuple(sorted(units)) if units is not None else None

st.title(tr("projects.title"))
st.caption(tr("projects.intro", date=lang.date(today)))
if units is not None:
    st.info(tr("projects.scoped_note"), icon=":material/lock:")

opts = cache.call(v.filter_options, units_key)
if opts["regions"].empty and opts["programs"].empty:
    widgets.empty_state(tr("projects.what_projects"))
    st.stop()

RAG_WORD = {"green": tr("projects.status_green"), "amber": tr("projects.status_amber"),
            "red": tr("projects.status_red"), "grey": tr("projects.status_none")}


def rag_text(code) -> str:
    r = charts.normalise_rag(code)
    return charts.rag_label(r, RAG_WORD[r])


def yes_no(x) -> str:
    if pd.isna(x):
        return "—"
    return tr("projects.yes") if bool(x) else tr("projects.no")


def fmt_date(d) -> str:
    return lang.date(d) if pd.notna(d) else "—"


def text_or_dash(x) -> str:
    """A name from the data for Markdown: escaped (shown as written), or a dash when missing."""
    return md_escape(x) if pd.notna(x) else "—"


region_name = dict(zip(opts["regions"]["kato"], opts["regions"][NAME], strict=True))
prog_name = dict(zip(opts["programs"]["node_id"], opts["programs"]["code"].fillna("") + " " + opts["programs"][NAME],
                     strict=True))
dirs = opts["directions"]
dir_name = dict(zip(dirs["node_id"], dirs["code"].fillna("") + " " + dirs[NAME], strict=True))
mgr_name = dict(zip(opts["managers"]["manager_id"], opts["managers"]["manager_name"].fillna(""), strict=True))

tl_labels = {"planned": tr("projects.lbl_planned"), "forecast": tr("projects.lbl_forecast"),
             "today": tr("projects.lbl_today"), "rag_green": RAG_WORD["green"], "rag_amber": RAG_WORD["amber"],
             "rag_red": RAG_WORD["red"], "rag_grey": RAG_WORD["grey"]}

# -- filters (all in the URL) ----------------------------------------------------------------------------------
if units is not None:  # a typed ?region= outside the office's regions: say so (the filter falls back to its own)
    guard.url_outside("region", region_name, "region")
f = st.columns([2, 3, 3, 2, 3])
region = widgets.select(tr("projects.f_region"), [v.ALL] + list(region_name), "region", default=v.ALL,
                        container=f[0], format_func=lambda k: tr("projects.all") if k == v.ALL else region_name[k])
program = widgets.select(tr("projects.f_program"), [v.ALL] + list(prog_name), "program", default=v.ALL,
                         container=f[1], format_func=lambda k: tr("projects.all") if k == v.ALL else prog_name[k])
dir_opts = [v.ALL] + (dirs.loc[dirs["program"] == program, "node_id"].tolist() if program else list(dir_name))
direction = widgets.select(tr("projects.f_direction"), dir_opts, "direction", default=v.ALL, container=f[2],
                           format_func=lambda k: tr("projects.all") if k == v.ALL else dir_name[k])
status = widgets.select(tr("projects.f_status"), [v.ALL, *v.STATUS_CODES], "status", default=v.ALL, container=f[3],
                        format_func=lambda k: tr("projects.all") if k == v.ALL else rag_text(k))
manager = widgets.select(tr("projects.f_manager"), [v.ALL] + list(mgr_name), "manager", default=v.ALL,
                         container=f[4], format_func=lambda k: tr("projects.all") if k == v.ALL else mgr_name[k])
filters = {"region": region or None, "program": program or None, "direction": direction or None,
           "status": status or None, "manager": manager or None}
df = cache.call(v.portfolio, today, units=units_key, **filters)

# -- one project (?project=ID) ------------------------------------------------------------------------------------
project_id = st.query_params.get("project")
if project_id:
    one = cache.call(v.portfolio, today)
    one = one[one["project_id"] == project_id]
    with st.container(border=True):
        if one.empty:
            st.warning(tr("projects.project_missing", id=md_escape(project_id)))
        elif not can_see(user, "project", one["region_kato"].iloc[0], store=cache.store()):
            guard.not_available("project", project_id)
        else:
            p = one.iloc[0]
            head, close = st.columns([6, 1])
            head.subheader(f"{md_escape(p['project_id'])} — {md_escape(p[NAME])}")
            if close.button(tr("projects.close_project"), icon=":material/close:", key="close_project"):
                del st.query_params["project"]
                st.rerun()
            st.markdown(f"**{tr('projects.col_status_computed')}:** {rag_text(p['status_computed'])}  \n"
                        f"**{tr('projects.col_status_reported')}:** "
                        f"{rag_text(p['status_reported']) if pd.notna(p['status_reported']) else '—'}")
            c = st.columns(6)
            c[4].metric(tr("projects.slip"), lang.num(p["slip_days"], 0, tr("projects.days")))
            c[5].metric(tr("projects.col_budget_var"), lang.pct(p["budget_variance_pct"]))
            c[0].metric("SPI", lang.num(p["SPI"], 2))
            c[1].metric("CPI", lang.num(p["CPI"], 2))
            c[2].metric(tr("projects.col_complete"), lang.pct(100 * p["percent_complete"]))
            c[3].metric(tr("projects.col_overdue"), yes_no(p["overdue"]))
            st.markdown(
                f"**{tr('projects.col_region')}:** {text_or_dash(p['region_' + NAME])}  \n"
                f"**{tr('projects.col_program')}:** {text_or_dash(p['program_' + NAME])}  \n"
                f"**{tr('projects.col_direction')}:** {text_or_dash(p['direction_' + NAME])}  \n"
                f"**{tr('projects.col_manager')}:** {text_or_dash(p['manager_name'])}  \n"
                f"**{tr('projects.col_planned')}:** {fmt_date(p['planned_start'])} – {fmt_date(p['planned_end'])};  "
                f"**{tr('projects.col_forecast')}:** {fmt_date(p['end_date'])}")
            if pd.notna(p["status_disagrees"]) and bool(p["status_disagrees"]):
                st.warning(tr("projects.disagree_one"), icon=":material/report:")
            if pd.notna(p["risks"]) and str(p["risks"]).strip():
                st.caption(f"{tr('projects.risks')}: {md_escape(p['risks'])}")
            fig = charts.project_timeline(one.assign(name=v.short_label(one["project_id"], one[NAME])), lang=L,
                                          labels=tl_labels, today=today)
            widgets.chart(fig, f"project_{project_id}", key="one_timeline")

# -- headline ------------------------------------------------------------------------------------------------------
if df.empty:
    widgets.empty_state(tr("projects.what_filtered"))
    st.stop()
counts = v.status_counts(df)
# projects off track: the one definition (sac.metrics.projects.off_track), counted as the situation room counts it
run = proj_metrics.off_track_summary(df)
m = st.columns(6)
m[0].metric(tr("projects.m_total"), lang.num(counts["total"]))
m[1].metric(tr("situation.m_projects"), tr("situation.m_projects_value", n=run["off_track"], total=run["running"]),
            help=tr("situation.m_projects_help", amber=run["at_risk"]))
m[2].metric(rag_text("amber"), lang.num(run["at_risk"]))
m[3].metric(rag_text("green"), lang.num(run["on_track"]))
m[4].metric(tr("projects.m_overdue"), lang.num(counts["overdue"]))
m[5].metric(tr("projects.m_disagree"), lang.num(counts["disagree"]))
widgets.methodology_badge(int(df["methodology_version"].iloc[0]))

tabs = st.tabs([tr("projects.tab_portfolio"), tr("projects.tab_ratios"), tr("projects.tab_timeline"),
                tr("projects.tab_ev"), tr("projects.tab_managers"), tr("projects.tab_instructions")])

# -- portfolio -------------------------------------------------------------------------------------------------------
with tabs[0]:
    table = pd.DataFrame({
        tr("projects.col_id"): df["project_id"],
        tr("projects.col_name"): df[NAME],
        tr("projects.col_status_computed"): df["status_computed"].map(rag_text),
        tr("projects.col_status_reported"): df["status_reported"].map(lambda s: rag_text(s) if pd.notna(s) else "—"),
        tr("projects.col_slip"): df["slip_days"],
        tr("projects.col_budget_var"): df["budget_variance_pct"],
        tr("projects.col_planned_end"): df["planned_end"],
        tr("projects.col_forecast"): df["end_date"],
        tr("projects.col_region"): df["region_" + NAME],
        tr("projects.col_manager"): df["manager_name"],
        tr("projects.col_program"): df["program_" + NAME],
    })
    shown = table.copy()
    for c in (tr("projects.col_planned_end"), tr("projects.col_forecast")):
        shown[c] = shown[c].map(fmt_date)
    shown[tr("projects.col_slip")] = shown[tr("projects.col_slip")].map(lambda x: lang.num(x, 0))
    shown[tr("projects.col_budget_var")] = shown[tr("projects.col_budget_var")].map(lang.pct)
    st.caption(tr("projects.portfolio_caption", n=lang.num(len(df))))
    event = st.dataframe(shown, hide_index=True, width="stretch", key="portfolio_table", on_select="rerun",
                         selection_mode="single-row")
    rows = list(event.selection.rows) if event is not None else []
    picked = df["project_id"].iloc[rows[0]] if rows else None
    if picked != st.session_state.get("_projects_row_seen"):  # act on a new selection only, so "close" sticks
        st.session_state["_projects_row_seen"] = picked
        if picked is not None and picked != project_id:
            st.query_params["project"] = picked
            st.rerun()
    widgets.download_table(table, "projects_portfolio", key="dl_portfolio")

# -- Rules para 64 ratios ------------------------------------------------------------------------------------------
with tabs[1]:
    st.caption(tr("projects.ratios_caption"))
    by = widgets.radio(tr("projects.by"), list(v.RATIO_GROUPINGS), "by", default="program",
                       format_func=lambda b: tr("projects.by_" + b))
    rat = cache.call(v.ratios, today, by, units=units_key, **filters)
    if rat.empty:
        widgets.empty_state(tr("projects.what_projects"))
    else:
        for r in v.RATIOS:
            part = rat[rat["ratio"] == r]
            label = v.short_label(part["key"], part[NAME], 56) if by != "region" else part[NAME]
            fig = charts.ratio_bars(part.assign(group=label, ratio=part["share"]), lang=L,
                                    labels={"no_data": tr("projects.no_data")}, title=tr("projects.ratio_" + r))
            widgets.chart(fig, f"projects_para64_{r}_{by}", key=f"ratio_{r}")
        t = pd.DataFrame({tr("projects.col_group"): rat["key"], tr("projects.col_name"): rat[NAME],
                          tr("projects.col_ratio"): rat["ratio"].map(lambda r: tr("projects.ratio_" + r)),
                          tr("projects.col_num"): rat["numerator"], tr("projects.col_den"): rat["denominator"],
                          tr("projects.col_share"): 100 * rat["share"]})
        shown = t.copy()
        shown[tr("projects.col_num")] = shown[tr("projects.col_num")].map(lang.num)
        shown[tr("projects.col_den")] = shown[tr("projects.col_den")].map(lang.num)
        shown[tr("projects.col_share")] = shown[tr("projects.col_share")].map(lang.pct)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, f"projects_para64_{by}", key="dl_ratios",
                           methodology_version=cache.methodology_version())

# -- timeline --------------------------------------------------------------------------------------------------------
with tabs[2]:
    rows = v.timeline_rows(df)
    st.caption(tr("projects.timeline_all", n=lang.num(len(rows))) if len(rows) == len(df)
               else tr("projects.timeline_most_slipped", n=lang.num(len(rows)), total=lang.num(len(df))))
    fig = charts.project_timeline(rows.assign(name=v.short_label(rows["project_id"], rows[NAME])), lang=L,
                                  labels=tl_labels, today=today)
    widgets.chart(fig, "projects_timeline", key="timeline")

# -- earned value and status -----------------------------------------------------------------------------------------
with tabs[3]:
    st.caption(tr("projects.ev_caption"))
    ev = pd.DataFrame({
        tr("projects.col_id"): df["project_id"], tr("projects.col_name"): df[NAME],
        tr("projects.col_complete"): 100 * df["percent_complete"],
        "PV": df["PV"], "EV": df["EV"], "AC": df["AC"], "SPI": df["SPI"], "CPI": df["CPI"],
        tr("projects.col_status_computed"): df["status_computed"].map(rag_text),
        tr("projects.col_status_reported"): df["status_reported"].map(lambda s: rag_text(s) if pd.notna(s) else "—"),
        tr("projects.col_disagrees"): df["status_disagrees"].map(
            lambda x: "—" if pd.isna(x) else ("⚠ " + tr("projects.yes") if x else tr("projects.no"))),
    })
    disagree = df["status_disagrees"].astype("boolean").fillna(False).astype(bool)
    only = st.toggle(tr("projects.only_disagreements", n=lang.num(int(disagree.sum()))), key="only_disagree")
    ev_t = ev[disagree.to_numpy()] if only else ev
    shown = ev_t.copy()
    shown[tr("projects.col_complete")] = shown[tr("projects.col_complete")].map(lang.pct)
    for c in ("PV", "EV", "AC"):
        shown[c] = shown[c].map(lambda x: lang.num(x, 1))
    for c in ("SPI", "CPI"):
        shown[c] = shown[c].map(lambda x: lang.num(x, 2))
    st.dataframe(shown, hide_index=True, width="stretch")
    widgets.download_table(ev_t, "projects_earned_value", key="dl_ev",
                           methodology_version=cache.methodology_version())

# -- managers: para 79 and para 68.10 ---------------------------------------------------------------------------------
with tabs[4]:
    st.subheader(tr("projects.sec_para79"))
    conf = cache.call(v.manager_conflicts, today, units_key)
    if conf.empty:
        st.success(tr("projects.no_conflicts"), icon=":material/check:")
    else:
        st.warning(tr("projects.conflicts_found", n=lang.num(conf["manager_id"].nunique())), icon=":material/warning:")
        t = pd.DataFrame({tr("projects.col_manager"): conf["manager_name"],
                          tr("projects.col_project_a"): conf["project_a"] + " "
                          + conf["name_a" + SUFFIX.replace("_en", "")].fillna(""),
                          tr("projects.col_project_b"): conf["project_b"] + " "
                          + conf["name_b" + SUFFIX.replace("_en", "")].fillna(""),
                          tr("projects.col_overlap_from"): conf["overlap_start"],
                          tr("projects.col_overlap_to"): conf["overlap_end"],
                          tr("projects.col_overlap_days"): conf["overlap_days"],
                          tr("projects.col_n_active"): conf["n_active_projects"]})
        shown = t.copy()
        for c in (tr("projects.col_overlap_from"), tr("projects.col_overlap_to")):
            shown[c] = shown[c].map(fmt_date)
        shown[tr("projects.col_overlap_days")] = shown[tr("projects.col_overlap_days")].map(lang.num)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "projects_para79_conflicts", key="dl_para79")
        for pid in conf["project_a"].tolist()[:5]:
            widgets.page_link_params("pages/projects.py", tr("projects.open_project", id=md_escape(pid)), {"project": pid},
                                     icon=":material/open_in_new:")

    st.subheader(tr("projects.sec_rating"))
    years = cache.call(v.rating_years)
    if not years:
        widgets.empty_state(tr("projects.what_facts"))
    else:
        period = widgets.select(tr("projects.f_period"), years, "period", default=years[0],
                                container=st.columns([1, 4])[0])
        st.caption(tr("projects.rating_caption"))
        for role in ("manager", "group_head"):
            best, worst = cache.call(v.best_and_worst, period, role, today, units_key)
            st.markdown(f"**{tr('projects.role_' + role)}**")
            if best.empty:
                widgets.empty_state(tr("projects.what_rating"))
                continue
            n_top = v.n_sharing_top(cache.call(v.people_rating, period, role, today, units_key), len(best))
            if n_top > len(best):
                st.caption(tr("projects.ties_note", n=lang.num(n_top), shown=lang.num(len(best))))
            c1, c2 = st.columns(2)
            for col, frame, head in ((c1, best, tr("projects.best5")), (c2, worst, tr("projects.worst5"))):
                t = pd.DataFrame({tr("projects.col_rank"): frame["rank"].astype("Int64"),  # a number in the file
                                  tr("projects.col_person"): frame["full_name"].fillna(frame["person_id"]),
                                  tr("projects.col_n_projects"): frame["n_projects"],
                                  tr("projects.col_rating"): frame["rating"],
                                  tr("projects.col_on_time"): frame["on_time"],
                                  tr("projects.col_within_budget"): frame["within_budget"],
                                  tr("projects.col_stakeholder"): frame["stakeholder"],
                                  tr("projects.col_indicator_score"): frame["indicator_score"]})
                shown = t.assign(**{tr("projects.col_rank"): frame["rank_label"].to_numpy()})
                for c in t.columns[3:]:
                    shown[c] = shown[c].map(lambda x: lang.num(x, 1))
                with col:
                    st.caption(head)
                    st.dataframe(shown, hide_index=True, width="stretch")
                    widgets.download_table(t, f"projects_rating_{role}_{'best' if frame is best else 'worst'}_"
                                           f"{period}", key=f"dl_{role}_{'best' if frame is best else 'worst'}",
                                           methodology_version=int(df["methodology_version"].iloc[0]))
        widgets.methodology_badge(int(df["methodology_version"].iloc[0]))

# -- instructions on control ------------------------------------------------------------------------------------------
with tabs[5]:
    st.caption(tr("projects.instructions_caption"))
    ov = cache.call(v.overdue_instructions, today, units_key)
    st.subheader(tr("projects.sec_overdue", n=lang.num(len(ov))))
    if ov.empty:
        st.success(tr("projects.no_overdue"), icon=":material/check:")
    else:
        t = pd.DataFrame({tr("projects.col_instruction"): ov["instruction_id"],
                          tr("projects.col_days_overdue"): ov["days_overdue"],
                          tr("projects.col_due"): ov["due_date"],
                          tr("projects.col_body"): ov["org_name" + SUFFIX].fillna(ov["responsible_org"]),
                          tr("projects.col_title"): ov["title"],
                          tr("projects.col_official"): ov["official_name"],
                          tr("projects.col_escalated"): ov["escalated"].map(yes_no)})
        shown = t.copy()
        shown[tr("projects.col_due")] = shown[tr("projects.col_due")].map(fmt_date)
        shown[tr("projects.col_days_overdue")] = shown[tr("projects.col_days_overdue")].map(lang.num)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "instructions_overdue", key="dl_overdue")
    st.subheader(tr("projects.sec_bodies"))
    bodies = cache.call(v.instructions_by_body, today, units_key)
    if bodies.empty:
        widgets.empty_state(tr("projects.what_instructions"))
    else:
        t = pd.DataFrame({tr("projects.col_body"): bodies["org_name" + SUFFIX],
                          tr("projects.col_total"): bodies["total"], tr("projects.col_on_control"): bodies["on_control"],
                          tr("projects.col_overdue_n"): bodies["overdue"],
                          tr("projects.col_max_days"): bodies["max_days_overdue"],
                          tr("projects.col_done"): bodies["done"], tr("projects.col_done_on_time"): bodies["done_on_time"],
                          tr("projects.col_done_late"): bodies["done_late"],
                          tr("projects.col_on_time_share"): 100 * bodies["on_time_share"]})
        shown = t.copy()
        for c in t.columns[1:-1]:
            shown[c] = shown[c].map(lang.num)
        shown[tr("projects.col_on_time_share")] = shown[tr("projects.col_on_time_share")].map(lang.pct)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "instructions_by_body", key="dl_bodies")
