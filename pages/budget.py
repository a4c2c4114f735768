"""Budget: execution by program and region, cumulative execution through the year, year-end spikes,
efficiency and effectiveness of spending, conflicting amounts in source documents (METHODOLOGY.md section 5).

URL: ?year=2025 &program=068 &region=<KATO> (all optional). Amounts in million tenge. Lines held by organisations
(a ministry's unit_code is its org_id) count everywhere but in the by-region section, which says so when it is empty.
"""

import pandas as pd
import streamlit as st

from sac import charts
from sac.auth.permissions import allowed_units, restrict_frame
from sac.methodology import current
from sac.ui import cache, guard, lang, widgets
from sac.ui.text import md_escape
from sac.views import budget as v

user = guard.page("pages/budget.py")

L = lang.lang()
NAME = lang.name_col()
tr = lang.tr
MLN = tr("budget.unit_mln")

st.title(tr("budget.title"))
st.caption(tr("budget.intro"))

years = cache.call(v.year_options)
if not years:
    widgets.empty_state(tr("budget.what_budget"))
    st.stop()
programs = cache.call(v.program_options)
regions = cache.call(v.region_options)
scope = allowed_units(user, cache.store())  # a project office: its regions and their organisations
if scope is not None:
    regions = regions[regions["kato"].isin(sorted(scope))]
# every program with lines, named by its code until its name is uploaded (never NaN)
prog_name = dict(zip(programs["program_code"], programs[NAME], strict=True))
region_name = dict(zip(regions["kato"], regions[NAME], strict=True))
method = current(cache.store())
cfg = method.config["budget"]


def _short(name: str, n: int = 34) -> str:
    """A chart label that leaves the bars room; the full name is in the table below."""
    return name if len(name) <= n else name[: n - 1].rstrip() + "…"



def _label(code) -> str:
    """'068 Enbek…' on a chart; the code alone while the program has no name."""
    name = prog_name.get(code)
    return v.program_label(code, _short(name) if isinstance(name, str) else name)


def _pct(x) -> str:
    return lang.pct(100 * x) if pd.notna(x) else "—"


if scope is not None:  # a typed ?region= outside the office's regions: say so (the filter falls back to its own)
    guard.url_outside("region", regions["kato"], "region")
c1, c2, c3 = st.columns([1, 3, 2])
with c1:
    year = widgets.select(tr("budget.year"), years, "year", default=years[0])
with c2:
    program = widgets.select(tr("budget.program"), [""] + programs["program_code"].tolist(), "program", default="",
                             format_func=lambda c: tr("budget.all_programs") if c == ""
                             else v.program_label(c, prog_name.get(c), " — "))
with c3:
    region_opts = ([""] if scope is None else []) + regions["kato"].tolist()
    region = widgets.select(tr("budget.region"), region_opts, "region", default="",
                            format_func=lambda k: tr("budget.all_regions") if k == "" else region_name[k])
program, region = program or None, region or None

# A project office sees its own regions only: with no region chosen, its scope is the filter.
units = region if region else (tuple(sorted(scope)) if scope is not None else None)

# -- headline figures ---------------------------------------------------------------------------
tot = cache.call(v.totals, year, program, units)
if tot.empty:
    widgets.empty_state(tr("budget.what_budget_year", year=year))
    st.stop()
t0 = tot.iloc[0]
# fixed-width figures in a wrapping row: five columns at 1024 px cut "4,171,798" to "4,17…"
row = st.container(horizontal=True)
m = [row] * 5
m[0].metric(f'{tr("budget.m_plan")}, {MLN}', lang.num(t0["plan"], 0), width=180)
m[1].metric(f'{tr("budget.m_allocated")}, {MLN}', lang.num(t0["allocated"], 0), width=180)
m[2].metric(f'{tr("budget.m_spent")}, {MLN}', lang.num(t0["spent"], 0), width=180)
m[3].metric(tr("budget.m_execution"), _pct(t0["execution"]), width=180)
m[4].metric(f'{tr("budget.m_unspent")}, {MLN}', lang.num(t0["unspent"], 0), width=180)
latest = t0["latest_period"]
if isinstance(latest, str) and latest != str(year) and not latest.endswith(("-12", "-Q4")):
    st.caption(tr("budget.ytd_note", year=year, period=md_escape(v.period_label(latest))))
by_program = cache.call(v.execution, year, "program", program, units)
by_region = restrict_frame(cache.call(v.execution, year, "region", program, units), user, "key", cache.store())

labels = {"elapsed": tr("budget.lbl_elapsed"), "executed": tr("budget.lbl_executed"),
          "no_data": tr("common.no_data"), "reference": tr("budget.lbl_reference"),
          "flagged": tr("budget.lbl_flagged"), "not_flagged": tr("budget.lbl_not_flagged"),
          "threshold": tr("budget.lbl_threshold")}


def _exec_table(df: pd.DataFrame, key_label: str) -> pd.DataFrame:
    t = df[["key", NAME, "plan", "allocated", "spent", "deviation", "unspent", "execution", "financing",
            "spent_of_allocated"]].copy()
    for c in ("execution", "financing", "spent_of_allocated"):
        t[c] = 100 * t[c]
    return t.rename(columns={"key": key_label, NAME: tr("budget.col_name"), "plan": tr("budget.col_plan"),
                             "allocated": tr("budget.col_allocated"), "spent": tr("budget.col_spent"),
                             "deviation": tr("budget.col_deviation"), "unspent": tr("budget.col_unspent"),
                             "execution": tr("budget.col_execution"), "financing": tr("budget.col_financing"),
                             "spent_of_allocated": tr("budget.col_spent_of_allocated")})


def _show(t: pd.DataFrame, stem: str, key: str) -> None:
    shown = t.copy()
    for c in shown.columns[2:]:
        shown[c] = shown[c].map(lambda x, c=c: lang.pct(x) if c.endswith("%") else lang.num(x, 1))
    st.dataframe(shown, hide_index=True, width="stretch")
    widgets.download_table(t, stem, key=key)


# -- execution by program and by region -----------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader(tr("budget.sec_programs"))
    if by_program.empty:
        widgets.empty_state(tr("budget.what_budget_year", year=year))
    else:
        fig = charts.execution_bars(by_program.assign(name=by_program["key"].map(_label)), lang=L, labels=labels)
        widgets.chart(fig, f"budget_execution_programs_{year}", key="exec_programs")
with right:
    st.subheader(tr("budget.sec_regions"))
    if by_region.empty:  # organisations' lines only (a ministry's): the rest of the page still applies to them
        st.info(tr("budget.no_region_lines", year=year), icon=":material/inbox:")
    else:
        fig = charts.execution_bars(by_region.assign(name=by_region[NAME]).sort_values("execution", ascending=False),
                                    lang=L, labels=labels)
        widgets.chart(fig, f"budget_execution_regions_{year}", key="exec_regions")
# the tables full width under the two charts: in half a page their columns and download buttons were cut
if not by_program.empty:
    st.markdown(f"**{tr('budget.sec_programs')}**")
    _show(_exec_table(by_program, tr("budget.col_code")), f"budget_programs_{year}", "dl_programs")
if not by_region.empty:
    st.markdown(f"**{tr('budget.sec_regions')}**")
    _show(_exec_table(by_region, tr("budget.col_code")), f"budget_regions_{year}", "dl_regions")

# -- cumulative execution through the year --------------------------------------------------------
st.subheader(tr("budget.sec_cumulative"))
cum = cache.call(v.cumulative_by_month, year, program, units)
if cum.empty:
    widgets.empty_state(tr("budget.what_monthly", year=year))
else:
    if cum["program_code"].nunique() > 6:  # too many lines to read: the chosen programs together
        cum = cache.call(v.cumulative_by_month, year, program, units, True).assign(label=tr("budget.all_programs"))
    else:
        cum = cum.assign(label=cum["program_code"].map(_label))
    fig = charts.cumulative_execution(cum, program_col="label", lang=L, labels=labels,
                                      month_names=tr("budget.months").split(","))
    widgets.chart(fig, f"budget_cumulative_{year}", key="cumulative")
    st.caption(tr("budget.cumulative_caption"))

# -- year-end spikes ------------------------------------------------------------------------------
st.subheader(tr("budget.sec_spikes"))
thr = float(cfg["spike_share"])
st.caption(tr("budget.spikes_caption", threshold=lang.pct(100 * thr, 0)))
spikes = cache.call(v.year_end_spikes, year, units)
if program:
    spikes = spikes[spikes["program_code"] == program]
if spikes.empty:
    widgets.empty_state(tr("budget.what_monthly", year=year))
elif spikes["q4_share"].isna().all():  # the year's data do not reach December yet: nothing to draw
    st.info(tr("budget.spikes_not_yet", year=year, period=md_escape(v.period_label(latest))),
            icon=":material/hourglass_top:")
else:
    sp = spikes.sort_values("q4_share", ascending=False, na_position="last")
    fig = charts.spike_bars(sp.assign(program=sp["program_code"].map(_label)), threshold=thr, lang=L, labels=labels)
    widgets.chart(fig, f"budget_spikes_{year}", key="spikes")
    t = sp.assign(name=sp[NAME], q4_share=100 * sp["q4_share"],
                  flagged=sp["flagged"].map({True: tr("budget.flag_yes"), False: tr("budget.flag_no")}))
    t = t[["program_code", "name", "spent_year", "spent_last", "q4_share", "flagged"]].rename(columns={
        "program_code": tr("budget.col_code"), "name": tr("budget.col_name"), "spent_year": tr("budget.col_spent"),
        "spent_last": tr("budget.col_spent_q4"), "q4_share": tr("budget.col_q4_share"), "flagged": tr("budget.col_flag")})
    if not bool(sp["complete"].all()):
        st.caption(tr("budget.spikes_incomplete"))
    widgets.download_table(t, f"budget_spikes_{year}", key="dl_spikes",
                           methodology_version=cache.methodology_version())

# -- efficiency and effectiveness ------------------------------------------------------------------
st.subheader(tr("budget.sec_efficiency"))
bands = cfg["bands"]
st.caption(tr("budget.efficiency_caption", high=lang.num(bands["high"], 2), medium=lang.num(bands["medium"], 2),
              satisfactory=lang.num(bands["satisfactory"], 2)))
eff = cache.call(v.efficiency, year, units)
if program:
    eff = eff[eff["program_code"] == program]
if eff.empty:
    widgets.empty_state(tr("budget.what_links"))
else:
    t = eff.assign(name=eff[NAME], execution=100 * eff["execution"],
                   band=eff["band"].map(lambda b: tr(f"budget.band_{b}") if isinstance(b, str)
                                        else tr("budget.band_none")))
    t = t[["program_code", "name", "n_indicators", "mean_score", "execution", "efficiency", "effectiveness", "band"]]
    t = t.rename(columns={"program_code": tr("budget.col_code"), "name": tr("budget.col_name"),
                          "n_indicators": tr("budget.col_n_indicators"), "mean_score": tr("budget.col_mean_score"),
                          "execution": tr("budget.col_execution"), "efficiency": tr("budget.col_efficiency"),
                          "effectiveness": tr("budget.col_effectiveness"), "band": tr("budget.col_band")})
    shown = t.copy()
    for c, d in ((tr("budget.col_mean_score"), 1), (tr("budget.col_efficiency"), 2),
                 (tr("budget.col_effectiveness"), 2)):
        shown[c] = shown[c].map(lambda x, d=d: lang.num(x, d))
    shown[tr("budget.col_execution")] = shown[tr("budget.col_execution")].map(lang.pct)
    st.dataframe(shown, hide_index=True, width="stretch")
    widgets.download_table(t, f"budget_efficiency_{year}", key="dl_efficiency",
                           methodology_version=cache.methodology_version())
widgets.methodology_badge(method.version)

# -- conflicts between source documents --------------------------------------------------------------
st.subheader(tr("budget.sec_conflicts"))
st.caption(tr("budget.conflicts_caption"))
conf = cache.call(v.conflicts, program, units)   # a project office: its own units' rows only
if conf.empty:
    st.success(tr("budget.no_conflicts"), icon=":material/check:")
else:
    t = conf.assign(name=conf[NAME], unit_name=conf[f"unit_{NAME}"],
                    phase=conf["phase"].map(lambda p: tr(f"budget.phase_{p}")),
                    source_document=conf["source_document"].replace("", "—"))
    # what disagrees first (phase, amount, spread, document), then whose: a long program name pushed the phase and
    # the amounts off the right edge at 1440 px
    t = t[["phase", "amount", "spread", "source_document", "year", "program_code", "unit_code", "name",
           "unit_name"]].rename(
        columns={"program_code": tr("budget.col_code"), "name": tr("budget.col_name"), "year": tr("budget.col_year"),
                 "unit_code": tr("budget.col_unit"), "unit_name": tr("budget.col_unit_name"),
                 "phase": tr("budget.col_field"), "source_document": tr("budget.col_source"),
                 "amount": tr("budget.col_amount"), "spread": tr("budget.col_spread")})
    shown = t.copy()
    for c in (tr("budget.col_amount"), tr("budget.col_spread")):
        shown[c] = shown[c].map(lambda x: lang.num(x, 0))
    shown[tr("budget.col_year")] = shown[tr("budget.col_year")].astype(str)
    # widths in px add up to the 980 px the main column has in a 1440 px window beside the sidebar (measured in a
    # browser); long names are cut and read whole on hover
    widths = {"col_field": 80, "col_amount": 115, "col_spread": 150, "col_source": 150, "col_year": 50,
              "col_code": 50, "col_unit": 60, "col_name": 160, "col_unit_name": 150}
    st.dataframe(shown, hide_index=True, width="stretch", key="budget_conflicts", column_config={
        tr(f"budget.{c}"): st.column_config.Column(width=w) for c, w in widths.items()})
    widgets.download_table(t, "budget_conflicts", key="dl_conflicts")
