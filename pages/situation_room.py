"""Situation room (issue 4, page 1; METHODOLOGY.md section 9, seed 001 ch. 3.3): the home page.

Headline figures for the chosen period (?period=2025) and "Needs a decision": the ranked decision list of
``sac.metrics.decisions`` (the first ``FIRST_SCREEN`` items give every kind a share; an indicator red in many regions
is one line that expands to its regions), each item linking to its detail page with the parameters it carries.
?show=<kind> keeps one kind.
?instruction=<id> (the target of the instruction exceptions) shows that instruction to a reader who may see it
(``permissions.can_see``: never the public, a project office only its own regions').
"""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from sac.auth.permissions import allowed_units, can, can_open, can_see
from sac.metrics import decisions
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import rating as rating_views
from sac.views import situation as views

user = guard.page("pages/situation_room.py")

HERE = "pages/situation_room.py"
ROOT = Path(__file__).resolve().parent.parent
SEVERITY_ICONS = {3: ":material/error:", 2: ":material/warning:", 1: ":material/info:"}

st.title(tr("situation.title"))
st.caption(tr("situation.intro"))
name_col = lang.name_col()
today = dt.date.today()
units = allowed_units(user, cache.store()) if user is not None and user.role == "project_office" else None
units_key = tuple(sorted(units)) if units is not None else None
if units is not None:
    st.info(tr("situation.scoped_note"), icon=":material/lock:")

periods = cache.call(rating_views.periods_with_data)
if not periods:
    widgets.empty_state(tr("situation.what_data"))
    st.stop()
f1, _ = st.columns([1, 4])
period = widgets.select(tr("situation.period"), periods, "period", default=cache.call(rating_views.default_period),
                        container=f1)
st.caption(tr("situation.as_of", date=lang.date(today)))


def _page_available(page: str) -> bool:
    return can_open(user, page) and (ROOT / page).exists()


# -- one instruction, when an exception link asked for it ------------------------------------------------------
instruction_id = st.query_params.get("instruction")
if instruction_id:
    detail = cache.call(views.instruction_detail, instruction_id, today)
    with st.container(border=True):
        st.subheader(tr("situation.instruction_title", id=md_escape(instruction_id)))
        # never the public (issuer and official are internal); a project office only its own regions'
        if not can_see(user, "instruction", detail["region_kato"].iloc[0] if len(detail) else None,
                       store=cache.store()):
            guard.not_available("instruction", instruction_id)
        elif detail.empty:
            st.warning(tr("situation.instruction_missing", id=md_escape(instruction_id)))
        else:
            d = detail.iloc[0]
            org = d.get(f"org_name_{lang.lang()}")
            st.markdown(tr("situation.instruction_body", title=md_escape(d["title"]),
                           issuer=md_escape(d["issuer"] or "—"),
                           issue=lang.date(d["issue_date"]), due=lang.date(d["due_date"]),
                           org=md_escape(org if isinstance(org, str) else (d["responsible_org"] or "—")),
                           official=md_escape(d["official_name"] if isinstance(d["official_name"], str) else "—"),
                           status=tr(f"situation.status_{d['status']}")))
            if bool(d["overdue"]):
                st.error(tr("situation.instruction_overdue", days=lang.num(d["days_overdue"])),
                         icon=":material/schedule:")
        st.page_link(HERE, label=tr("situation.close_instruction"), icon=":material/arrow_back:",
                     query_params={"period": period})

# -- headline figures -------------------------------------------------------------------------------------------
ach = cache.call(views.achievement, period, units_key)  # a project office: its regions only
budget = cache.call(views.budget_execution, int(period[:4]), today, units_key)
proj = cache.call(views.projects_summary, today, units_key)
instr = cache.call(views.instructions_summary, today, units_key)
if ach["methodology_version"] is not None:
    widgets.methodology_badge(ach["methodology_version"])

# Cards of a fixed width in a wrapping row: four columns squeezed at 1024 px cut "59 of 230" to "59 o…".
CARD = 232
m1 = m2 = m3 = m4 = st.container(horizontal=True)
m1.metric(tr("situation.m_achieved"), lang.pct(ach["share"]), delta=tr("situation.m_red", n=ach["red"]),
          delta_color="off", delta_arrow="off",
          help=tr("situation.m_achieved_help", achieved=ach["achieved"], scored=ach["scored"], grey=ach["grey"]),
          border=True, width=CARD)
gap = budget["gap"]
m2.metric(tr("situation.m_budget", year=period[:4]), lang.pct(budget["execution"]),
          delta=None if pd.isna(gap) else tr("situation.m_budget_delta", gap=lang.num(gap, 1)),
          # explicit colour: the gap is printed with a typographic minus, which Streamlit would read as a gain
          delta_color=views.gap_colour(gap), delta_arrow=views.gap_arrow(gap), border=True, width=CARD,
          help=tr("situation.m_budget_help", spent=lang.num(budget["spent"]), plan=lang.num(budget["annual_plan"]),
                  elapsed=lang.pct(budget["elapsed"])))
m3.metric(tr("situation.m_projects"), tr("situation.m_projects_value", n=proj["off_track"], total=proj["running"]),
          help=tr("situation.m_projects_help", amber=proj["at_risk"]), border=True, width=CARD)
m4.metric(tr("situation.m_instructions"),
          tr("situation.m_instructions_value", n=instr["overdue"], total=instr["on_control"]),
          help=tr("situation.m_instructions_help", days=lang.num(instr["max_days_overdue"])), border=True, width=CARD)

# -- rating leaders and laggards --------------------------------------------------------------------------------
rating = cache.call(rating_views.rating_table, period)
top, bottom = views.leaders_laggards(rating)
l1, l2 = st.columns(2)
for col, key, frame in ((l1, "situation.leaders", top), (l2, "situation.laggards", bottom)):
    with col:
        st.markdown(f"**{tr(key)}**")
        if frame.empty:
            st.caption(tr("situation.no_rating"))
        else:
            st.markdown("\n".join(
                "- " + tr("situation.leader_item", rank=md_escape(r["rank_label"]), name=md_escape(r[name_col]),
                          score=lang.num(r["score_rounded"], 1)) for _, r in frame.iterrows()))
if _page_available("pages/rating.py"):
    st.page_link("pages/rating.py", label=tr("situation.rating_link"), icon=":material/leaderboard:",
                 query_params={"period": period})

# -- needs a decision (sac.metrics.decisions: one ranking, shared with the information boards) ---------------------
st.subheader(tr("situation.exceptions_title"))
st.caption(tr("situation.exceptions_intro", n=decisions.FIRST_SCREEN))
if not can(user, "view"):
    st.info(tr("situation.exceptions_public"), icon=":material/lock:")
    st.stop()

dec = cache.call(decisions.decision_list, period, today=today, units=frozenset(units) if units is not None else None)
unavailable = list(dec.attrs.get("unavailable", []))
if unavailable:
    st.caption(tr("situation.exceptions_unavailable",
                  kinds=", ".join(tr(f"situation.kind_{k}") for k in unavailable)))
if dec.empty:
    st.success(tr("situation.exceptions_none"), icon=":material/check_circle:")
    st.stop()

kind_counts = dec.attrs.get("counts", {})
kinds = ["all"] + [k for k in decisions.PRIORITY if kind_counts.get(k)]
# labels fixed at this run's language: format_func may be called outside the script run
kind_labels = {"all": tr("situation.kind_option", kind=tr("situation.kind_all"), n=lang.num(len(dec)))}
kind_labels |= {k: tr("situation.kind_option", kind=tr(f"situation.kind_{k}"), n=lang.num(kind_counts[k]))
                for k in kinds[1:]}
c1, c2 = st.columns([1, 2])
with c1:
    show = widgets.select(tr("situation.kind_filter"), kinds, "show", format_func=kind_labels.get)
with c2:
    counts = views.exception_counts(dec)
    ct = pd.DataFrame({
        tr("situation.col_kind"): counts["kind"].map(lambda k: tr(f"situation.kind_{k}")),
        tr("situation.col_high"): counts["high"], tr("situation.col_medium"): counts["medium"],
        tr("situation.col_total"): counts["total"],
    })
    st.dataframe(ct, hide_index=True, key="situation_counts", width="stretch")
    merged = int(dec.attrs.get("merged_overdue", 0))
    if merged:
        st.caption(tr("situation.merged_note", n=lang.num(merged), total=lang.num(instr["overdue"])))

items = dec if show == "all" else dec[dec["kind"] == show]
code = lang.lang()
region_names = rating.set_index(rating["unit_code"].astype(str))[name_col].to_dict()
more_key = f"situation_more_{show}"
shown = min(len(items), st.session_state.get(more_key, decisions.FIRST_SCREEN))
for r in items.head(shown).itertuples(index=False):
    with st.container(border=True):
        a, b = st.columns([6, 1], vertical_alignment="center")
        sev = int(r.severity)
        # title, reason and owner are made from names in the data (sac.metrics.decisions): text, not Markdown
        a.markdown(f"{SEVERITY_ICONS[sev]} **{tr(f'situation.severity_{sev}')}** · {tr(f'situation.kind_{r.kind}')}"
                   f" · {tr('situation.rank', rank=r.rank)}  \n"
                   f"**{md_escape(getattr(r, f'title_{code}'))}**  \n{md_escape(getattr(r, f'reason_{code}'))}")
        owner = getattr(r, f"owner_{code}")
        meta = ([tr("situation.owner", owner=md_escape(owner))] if isinstance(owner, str) and owner else []) + \
            ([tr("situation.planned_end" if r.kind == "project_off_track" else "situation.due",
                 due=lang.date(r.due_date))] if pd.notna(r.due_date) else [])
        if meta:
            a.caption(" · ".join(meta))
        if isinstance(r.members, list) and r.members:
            with a.expander(tr("situation.regions_n", n=lang.num(r.region_count))):
                st.markdown("\n".join(
                    "- " + tr("situation.member_item", name=md_escape(m[f"name_{code}"]),
                              a=lang.num(m["achievement"], 1), severity=tr(f"situation.severity_{m['severity']}"))
                    for m in r.members))
        if isinstance(r.page, str) and _page_available(r.page):
            with b:
                st.page_link(r.page, label=tr("situation.open"), icon=":material/arrow_forward:",
                             query_params={k: str(v) for k, v in (r.params or {}).items()})
if len(items) > shown:
    left = items.iloc[shown:]["kind"].value_counts()
    rest = "; ".join(tr("situation.left_item", kind=tr(f"situation.kind_{k}"), n=lang.num(left[k]))
                     for k in decisions.PRIORITY if k in left)
    st.caption(tr("situation.exceptions_shown", shown=lang.num(shown), total=lang.num(len(items)), rest=rest))
    if st.button(tr("situation.show_more", n=lang.num(min(decisions.FIRST_SCREEN, len(items) - shown))),
                 key=f"btn_{more_key}", icon=":material/expand_more:"):
        st.session_state[more_key] = shown + decisions.FIRST_SCREEN
        st.rerun()


def _regions_text(regions) -> str:
    return ", ".join(region_names.get(str(k), str(k)) for k in regions) if len(regions) else "—"


full = pd.DataFrame({
    tr("situation.col_rank"): items["rank"],
    tr("situation.severity"): items["severity"].map(lambda s: tr(f"situation.severity_{int(s)}")),
    tr("situation.col_kind"): items["kind"].map(lambda k: tr(f"situation.kind_{k}")),
    tr("situation.col_title"): items[f"title_{code}"],
    tr("situation.col_reason"): items[f"reason_{code}"],
    tr("situation.col_owner"): items[f"owner_{code}"],
    tr("situation.col_due"): items["due_date"].dt.date,
    tr("situation.col_region"): items["regions"].map(_regions_text),
})
widgets.download_table(full, f"decisions_{period}", key="situation_exc_dl",
                       methodology_version=cache.methodology_version(), title=tr("situation.exceptions_title"))
