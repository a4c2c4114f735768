"""Data quality (issue 4, page 7; METHODOLOGY.md section 8, seed 001 ch. 2.1).

Reporting completeness and timeliness per region or project office and period, the indicator quality audit
(passport completeness, wrong-way targets = seed 001 Table 2, one indicator with several targets = seed 001
Table 9) and upload outliers awaiting confirmation (modified z-score against the unit's own history).

URL: ?kind=year|quarter|month &period=<code> &by=region|office (all optional).
"""

import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import allowed_units
from sac.methodology import current
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import data_quality as v
from sac.views import labels

user = guard.page("pages/data_quality.py")

L = lang.lang()
NAME = lang.name_col()
SUFFIX = NAME.removeprefix("name")  # "_en" / "_ru" / "_kk"
units = allowed_units(user, cache.store()) if user is not None and user.role == "project_office" else None
units_key = tuple(sorted(units)) if units is not None else None
method = current(cache.store())

st.title(tr("data_quality.title"))
st.caption(tr("data_quality.intro"))
if units is not None:
    st.info(tr("data_quality.scoped_note"), icon=":material/lock:")


def share(x) -> str:
    return lang.pct(100 * x) if pd.notna(x) else "—"


tabs = st.tabs([tr("data_quality.tab_reporting"), tr("data_quality.tab_passport"), tr("data_quality.tab_wrong_way"),
                tr("data_quality.tab_several"), tr("data_quality.tab_outliers")])

# -- reporting completeness and timeliness ----------------------------------------------------------------------------
with tabs[0]:
    c = st.columns([2, 2, 3])
    kind = widgets.radio(tr("data_quality.kind"), list(v.KINDS), "kind", default="year", container=c[0],
                         format_func=lambda k: tr("data_quality.kind_" + k))
    periods = cache.call(v.reporting_periods, kind)
    if not periods:
        widgets.empty_state(tr("data_quality.what_values"))
    else:
        period = widgets.select(tr("data_quality.period"), periods, "period", default=periods[0], container=c[1])
        by = widgets.radio(tr("data_quality.by"), list(v.REPORTING_BY), "by", default="region", container=c[2],
                           format_func=lambda b: tr("data_quality.by_" + b))
        st.caption(tr("data_quality.reporting_caption", days=lang.num(30)))
        rep = cache.call(v.reporting_table, period, by, units_key)
        if rep.empty:
            widgets.empty_state(tr("data_quality.what_values"))
        elif by == "region":
            tot = rep[["expected", "reported", "with_upload_time", "on_time"]].sum()
            m = st.columns(3)
            m[0].metric(tr("data_quality.m_completeness"),
                        share(tot["reported"] / tot["expected"] if tot["expected"] else None))
            m[1].metric(tr("data_quality.m_timeliness"),
                        share(tot["on_time"] / tot["with_upload_time"] if tot["with_upload_time"] else None))
            m[2].metric(tr("data_quality.m_missing"), lang.num(tot["expected"] - tot["reported"]))
            if units is None:  # an office's map would be all "no data" but its own regions: the table says it
                fig = charts.tile_map(rep.assign(score=100 * rep["completeness"]), "score", kato_col="unit_code",
                                      lang=L, value_suffix="%", title=tr("data_quality.map_title", period=period),
                                      colorbar_title="%", no_data_text=tr("data_quality.no_data"), height=480)
                widgets.chart(fig, f"reporting_completeness_{period}", key="rep_map")
            t = pd.DataFrame({tr("data_quality.col_region"): rep["unit_" + NAME],
                              tr("data_quality.col_office"): rep["office_" + NAME],
                              tr("data_quality.col_expected"): rep["expected"],
                              tr("data_quality.col_reported"): rep["reported"],
                              tr("data_quality.col_completeness"): 100 * rep["completeness"],
                              tr("data_quality.col_on_time"): rep["on_time"],
                              tr("data_quality.col_timeliness"): 100 * rep["timeliness"],
                              tr("data_quality.col_last_upload"): rep["last_upload"]})
            shown = t.copy()
            for col in (tr("data_quality.col_completeness"), tr("data_quality.col_timeliness")):
                shown[col] = shown[col].map(lang.pct)
            shown[tr("data_quality.col_last_upload")] = shown[tr("data_quality.col_last_upload")].map(
                lambda d: lang.date(d) if pd.notna(d) else "—")
            st.dataframe(shown, hide_index=True, width="stretch")
            widgets.download_table(t, f"reporting_{period}_regions", key="dl_rep")
        else:
            t = pd.DataFrame({tr("data_quality.col_office"): rep["office_" + NAME].where(
                                  rep["office_id"] != "—", tr("data_quality.no_office")),
                              tr("data_quality.col_regions"): rep["n_units"],
                              tr("data_quality.col_expected"): rep["expected"],
                              tr("data_quality.col_reported"): rep["reported"],
                              tr("data_quality.col_completeness"): 100 * rep["completeness"],
                              tr("data_quality.col_on_time"): rep["on_time"],
                              tr("data_quality.col_timeliness"): 100 * rep["timeliness"]})
            shown = t.copy()
            for col in (tr("data_quality.col_completeness"), tr("data_quality.col_timeliness")):
                shown[col] = shown[col].map(lang.pct)
            st.dataframe(shown, hide_index=True, width="stretch")
            widgets.download_table(t, f"reporting_{period}_offices", key="dl_rep_office")

        st.subheader(tr("data_quality.sec_history"))
        hist = cache.call(v.reporting_history, kind, 6, units_key)
        if not hist.empty:
            wide = hist.pivot_table(index="unit_" + NAME, columns="period", values="completeness", aggfunc="first")
            wide = (100 * wide).reset_index().rename(columns={"unit_" + NAME: tr("data_quality.col_region")})
            shown = wide.copy()
            for col in shown.columns[1:]:
                shown[col] = shown[col].map(lang.pct)
            st.caption(tr("data_quality.history_caption"))
            st.dataframe(shown, hide_index=True, width="stretch")
            widgets.download_table(wide, f"reporting_history_{kind}", key="dl_hist")

# -- passport completeness ----------------------------------------------------------------------------------------------
with tabs[1]:
    st.caption(tr("data_quality.passport_caption"))
    pas = cache.call(v.passport)
    if pas.empty:
        widgets.empty_state(tr("data_quality.what_indicators"))
    else:
        complete = int((pas["n_missing"] == 0).sum())
        m = st.columns(3)
        m[0].metric(tr("data_quality.m_indicators"), lang.num(len(pas)))
        m[1].metric(tr("data_quality.m_complete_passports"), lang.num(complete))
        m[2].metric(tr("data_quality.m_incomplete_passports"), lang.num(len(pas) - complete))
        gaps = pas[pas["n_missing"] > 0]
        fields = {f: tr("data_quality.field_" + f) for f in ("unit", "direction", "baseline", "target", "source",
                                                             "responsible")}
        t = pd.DataFrame({tr("data_quality.col_code"): gaps["indicator_id"],
                          tr("data_quality.col_indicator"): gaps[NAME],
                          tr("data_quality.col_missing"): gaps["missing"].map(
                              lambda s: ", ".join(fields.get(x, x) for x in s.split(",") if x)),
                          tr("data_quality.col_passport"): 100 * gaps["completeness"]})
        shown = t.copy()
        shown[tr("data_quality.col_passport")] = shown[tr("data_quality.col_passport")].map(lang.pct)
        if t.empty:
            st.success(tr("data_quality.all_passports_complete"), icon=":material/check:")
        else:
            st.dataframe(shown, hide_index=True, width="stretch")
            widgets.download_table(t, "passport_gaps", key="dl_passport")

# -- wrong-way targets (seed 001 Table 2) ----------------------------------------------------------------------------------
with tabs[2]:
    st.caption(tr("data_quality.wrong_way_caption"))
    ww = cache.call(v.wrong_way, units_key)
    if ww.empty:
        st.success(tr("data_quality.no_wrong_way"), icon=":material/check:")
    else:
        summ = v.wrong_way_summary(ww)
        t = pd.DataFrame({tr("data_quality.col_code"): summ["indicator_id"],
                          tr("data_quality.col_indicator"): summ["ind_name" + SUFFIX],
                          tr("data_quality.col_document"): summ["source_document"],
                          tr("data_quality.col_direction"): summ["direction"].map(
                              lambda d: tr("data_quality.direction_" + d)),
                          tr("data_quality.col_years"): summ["first_year"].astype(str) + "–"
                          + summ["last_year"].astype(str),
                          tr("data_quality.col_units_n"): summ["n_units"],
                          tr("data_quality.col_first_plan"): summ["first_plan"],
                          tr("data_quality.col_last_plan"): summ["last_plan"],
                          tr("data_quality.col_wrong_move"): 100 * summ["wrong_move"],
                          tr("data_quality.col_uom"): labels.units_text(summ["unit_of_measure"], L)})
        shown = t.copy()
        for col in (tr("data_quality.col_first_plan"), tr("data_quality.col_last_plan")):
            shown[col] = shown[col].map(lambda x: lang.num(x, 2))
        shown[tr("data_quality.col_wrong_move")] = shown[tr("data_quality.col_wrong_move")].map(lang.pct)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "wrong_way_targets", key="dl_ww")
        ind_name = dict(zip(summ["indicator_id"], summ["ind_name" + SUFFIX], strict=False))
        if units is not None:  # a typed ?ww_region= outside the office's units: say so (the chart shows its own)
            guard.url_outside("ww_region", units, "region")
        c = st.columns(2)
        ww_ind = widgets.select(tr("data_quality.ww_indicator"), list(dict.fromkeys(summ["indicator_id"])),
                                "ww_indicator", container=c[0], format_func=lambda i: f"{i} — {ind_name[i]}")
        rows = ww[ww["indicator_id"] == ww_ind]
        unit_name = dict(zip(rows["unit_code"], rows["unit_" + NAME], strict=False))
        ww_unit = widgets.select(tr("data_quality.ww_region"), list(dict.fromkeys(rows["unit_code"])), "ww_region",
                                 container=c[1], format_func=lambda u: unit_name[u])
        row = rows[rows["unit_code"] == ww_unit].iloc[0]
        series = cache.call(v.plan_series, ww_ind, ww_unit, row["source_document"])
        fig = charts.indicator_series(series, unit_of_measure=labels.unit_text(row["unit_of_measure"], L), lang=L,
                                      labels={"plan": tr("data_quality.lbl_plan"), "fact": tr("data_quality.lbl_fact")},
                                      title=tr("data_quality.ww_chart_title", indicator=ind_name[ww_ind],
                                               region=unit_name[ww_unit], document=row["source_document"],
                                               direction=tr("data_quality.direction_" + row["direction"])))
        widgets.chart(fig, f"wrong_way_{ww_ind}_{ww_unit}", key="ww_chart")
        with st.expander(tr("data_quality.details_by_unit", n=lang.num(len(ww)))):
            d = pd.DataFrame({tr("data_quality.col_code"): ww["indicator_id"],
                              tr("data_quality.col_region"): ww["unit_" + NAME],
                              tr("data_quality.col_document"): ww["source_document"],
                              tr("data_quality.col_first_plan"): ww["first_plan"],
                              tr("data_quality.col_last_plan"): ww["last_plan"],
                              tr("data_quality.col_slope"): ww["slope"],
                              tr("data_quality.col_wrong_steps"): ww["n_wrong_steps"]})
            st.dataframe(d, hide_index=True, width="stretch")
            widgets.download_table(d, "wrong_way_targets_by_unit", key="dl_ww_units")

# -- one indicator, several targets (seed 001 Table 9) ---------------------------------------------------------------------
with tabs[3]:
    st.caption(tr("data_quality.several_caption"))
    sev = cache.call(v.several_targets, units_key)
    if sev.empty:
        st.success(tr("data_quality.no_several"), icon=":material/check:")
    else:
        summ = v.several_targets_summary(sev)
        t = pd.DataFrame({tr("data_quality.col_code"): summ["indicator_id"],
                          tr("data_quality.col_indicator"): summ["ind_name" + SUFFIX],
                          tr("data_quality.col_document"): summ["source_document"],
                          tr("data_quality.col_passport_doc"): summ["is_passport_source"].map(
                              lambda b: "✓ " + tr("data_quality.yes") if b else tr("data_quality.no")),
                          tr("data_quality.col_cells"): summ["n_cells"],
                          tr("data_quality.col_periods"): summ["first_period"].astype(str) + "–"
                          + summ["last_period"].astype(str),
                          tr("data_quality.col_median_plan"): summ["median_plan"],
                          tr("data_quality.col_spread"): 100 * summ["median_rel_spread"],
                          tr("data_quality.col_uom"): labels.units_text(summ["unit_of_measure"], L)})
        shown = t.copy()
        shown[tr("data_quality.col_median_plan")] = shown[tr("data_quality.col_median_plan")].map(
            lambda x: lang.num(x, 1))
        shown[tr("data_quality.col_spread")] = shown[tr("data_quality.col_spread")].map(lang.pct)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "several_targets", key="dl_several")
        with st.expander(tr("data_quality.details_cells", n=lang.num(len(sev)))):
            d = pd.DataFrame({tr("data_quality.col_code"): sev["indicator_id"],
                              tr("data_quality.col_region"): sev["unit_" + NAME],
                              tr("data_quality.col_period"): sev["period"],
                              tr("data_quality.col_document"): sev["source_document"],
                              tr("data_quality.col_plan"): sev["plan"]})
            st.dataframe(d, hide_index=True, width="stretch")
            widgets.download_table(d, "several_targets_cells", key="dl_several_cells")

# -- outliers awaiting confirmation ---------------------------------------------------------------------------------------
with tabs[4]:
    threshold = float(method.config["quality"]["outlier_z"])
    st.caption(tr("data_quality.outliers_caption", z=lang.num(threshold, 1)))
    out = cache.call(v.outliers, units_key)
    if out.empty:
        st.success(tr("data_quality.no_outliers"), icon=":material/check:")
    else:
        st.warning(tr("data_quality.outliers_found", n=lang.num(len(out))), icon=":material/report:")
        t = pd.DataFrame({tr("data_quality.col_code"): out["indicator_id"],
                          tr("data_quality.col_region"): out["unit_" + NAME],
                          tr("data_quality.col_period"): out["period"],
                          tr("data_quality.col_fact"): out["fact"],
                          tr("data_quality.col_median"): out["median"],
                          tr("data_quality.col_z"): out["z"],
                          tr("data_quality.col_rel_dev"): 100 * out["rel_dev"],
                          tr("data_quality.col_uom"): labels.units_text(out["unit_of_measure"], L),
                          tr("data_quality.col_indicator"): out["ind_name" + SUFFIX],
                          tr("data_quality.col_document"): out["source_document"],
                          tr("data_quality.col_batch"): out["batch_id"]})
        shown = t.copy()
        for col in (tr("data_quality.col_fact"), tr("data_quality.col_median")):
            shown[col] = shown[col].map(lambda x: lang.num(x, 2))
        shown[tr("data_quality.col_z")] = shown[tr("data_quality.col_z")].map(lambda x: lang.num(x, 1))
        shown[tr("data_quality.col_rel_dev")] = shown[tr("data_quality.col_rel_dev")].map(lang.pct)
        st.dataframe(shown, hide_index=True, width="stretch")
        widgets.download_table(t, "outliers_awaiting_confirmation", key="dl_outliers",
                           methodology_version=cache.methodology_version())
        st.markdown(f"**{tr('data_quality.check_in_context')}**")
        for r in out.head(5).itertuples():
            widgets.page_link_params("pages/indicators.py",
                                     tr("data_quality.open_cell", indicator=md_escape(getattr(r, "ind_name" + SUFFIX)),
                                        region=md_escape(getattr(r, "unit_" + NAME)), period=md_escape(r.period)),
                                     {"indicator": r.indicator_id, "region": r.unit_code, "period": r.period},
                                     icon=":material/open_in_new:")
widgets.methodology_badge(method.version)
