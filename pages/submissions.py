"""Submissions (issue 12): each unit's data sets of one kind for the quarters of a year — state, rows, due date,
late, whose turn — and the moves the reader may make: a project office submits its own; an analyst approves
(one, or every submitted set of a quarter), returns with a comment, or locks; an admin unlocks with a reason.

URL: ?kind=indicator_values|budget|projects &year=<yyyy>.
"""

import datetime as dt

import pandas as pd
import streamlit as st

from sac import datasets
from sac.auth import PermissionDenied
from sac.auth.permissions import allowed_units, can
from sac.ui import cache, guard, lang, widgets
from sac.ui.lang import tr
from sac.ui.text import md_escape
from sac.views import submissions as v

user = guard.page("pages/submissions.py")
today = dt.date.today()
units = allowed_units(user, cache.store()) if user.role == "project_office" else None
units_key = tuple(sorted(units)) if units is not None else None
ICON = {"open": "○", "submitted": "◐", "approved": "●", "locked": "🔒"}

st.title(tr("submissions.title"))
st.caption(tr("submissions.intro"))
c1, c2, _ = st.columns([2, 1, 3])
kind = widgets.select(tr("submissions.kind"), list(datasets.KINDS), "kind", default="indicator_values", container=c1,
                      format_func=lambda k: tr(f"submissions.kind_{k}"))
year = widgets.select(tr("submissions.year"), cache.call(v.years, kind), "year", container=c2)
grid = cache.call(v.matrix, kind, int(year), today, units_key)
if grid.empty:
    widgets.empty_state(tr("submissions.what_units"))
    st.stop()

counts = v.summary(grid)
m = st.container(horizontal=True)
for key in ("submitted", "approved", "locked", "late"):
    m.metric(tr(f"submissions.m_{key}"), lang.num(counts[key]), border=True, width=190)
st.caption(tr("submissions.legend"))

name = lang.name_col()


def _cell(r) -> str:
    word = tr(f"submissions.state_{r.state}")
    late = f" · {tr('submissions.late')}" if r.late else ""
    via = f" ({r.via})" if isinstance(r.via, str) else ""
    return f"{ICON[r.state]} {word}{via} · {lang.num(r.rows)}{late}"


shown = grid.assign(cell=[_cell(r) for r in grid.itertuples()])
table = shown.pivot(index=["unit_code", name], columns="period", values="cell").reset_index()
table = table.rename(columns={"unit_code": tr("submissions.col_code"), name: tr("submissions.col_unit")})
st.dataframe(table, hide_index=True, width="stretch", key="submissions_matrix")
widgets.download_table(
    grid[["unit_code", name, "period", "state", "rows", "due", "late", "turn", "changed_by", "changed_at",
          "comment"]], f"submissions_{kind}_{year}", key="submissions_dl", title=tr("submissions.title"))

# -- moves ------------------------------------------------------------------------------------------------------
st.subheader(tr("submissions.act_title"))
quarters = sorted(grid["period"].unique())
unit_names = grid.drop_duplicates("unit_code").set_index("unit_code")[name].to_dict()
may_submit = can(user, "submit_data")
may_approve = can(user, "approve_data")
may_unlock = can(user, "unlock_data")
if not (may_submit or may_approve):
    st.info(tr("submissions.read_only"), icon=":material/visibility:")
    st.stop()

a1, a2 = st.columns(2)
unit = a1.selectbox(tr("submissions.col_unit"), list(unit_names), format_func=lambda u: f"{unit_names[u]} ({u})",
                    key="sub_unit")
# a quarter, or the whole year (a year's set closes its quarters: the Bureau's annual figures, last year's books)
period = a2.selectbox(tr("submissions.period"), quarters + [str(year)], key="sub_period")
if period == str(year):
    cells = grid[grid["unit_code"] == unit]
    own = datasets.sets(cache.store(), kind, units=[unit])
    own = own[own["period"] == period]
    row = pd.Series({"state": own["state"].iloc[0] if len(own) else "open", "rows": int(cells["rows"].sum()),
                     "due": cells["due"].max(), "comment": own["comment"].iloc[0] if len(own) else None,
                     "via": None})
    row["turn"] = v.TURN[row["state"]]
else:
    row = grid[(grid["unit_code"] == unit) & (grid["period"] == period)].iloc[0]
if isinstance(row["via"], str):   # decided by the year's set: act on that one
    st.caption(tr("submissions.decided_by", via=row["via"], state=tr(f"submissions.state_{row['state']}")))
    st.stop()
st.caption(tr("submissions.selected", unit=md_escape(unit_names[unit]), period=period, state=tr(f"submissions.state_{row['state']}"),
              rows=lang.num(row['rows']), due=lang.date(row['due'])))
if isinstance(row['comment'], str) and row['comment']:
    st.text(tr("submissions.comment_was") + " " + row['comment'])   # from a user: shown as text


def _move(action: str, reason: str | None = None) -> None:
    try:
        new = datasets.transition(cache.store(), user, unit, kind, period, action, reason)
    except PermissionDenied:
        st.session_state["sub_message"] = ("error", tr("submissions.refused_permission"))
    except datasets.TransitionRefused as e:
        st.session_state["sub_message"] = ("error", tr(f"submissions.refused_{e.code}"))
    else:
        st.session_state["sub_message"] = ("success", tr("submissions.moved", unit=md_escape(unit_names[unit]),
                                                         period=period,
                                                         state=tr(f"submissions.state_{new}")))


reason = st.text_input(tr("submissions.reason"), key="sub_reason", max_chars=500)
b = st.container(horizontal=True)
if may_submit and row['state'] == "open":
    b.button(tr("submissions.submit"), type="primary", on_click=_move, args=("submit",), key="sub_submit")
if may_approve and row['state'] == "submitted":
    b.button(tr("submissions.approve"), type="primary", on_click=_move, args=("approve",), key="sub_approve")
    b.button(tr("submissions.return"), on_click=lambda: _move("return", st.session_state.get("sub_reason")),
             key="sub_return")
if may_approve and row['state'] == "approved":
    b.button(tr("submissions.lock"), on_click=_move, args=("lock",), key="sub_lock")
if may_unlock and row['state'] in ("approved", "locked"):
    b.button(tr("submissions.unlock"), on_click=lambda: _move("unlock", st.session_state.get("sub_reason")),
             key="sub_unlock")
if may_approve:
    waiting = int(((grid["period"] == period) & (grid["state"] == "submitted")).sum())
    if waiting and b.button(tr("submissions.approve_all", n=waiting, period=period), key="sub_approve_all"):
        done = datasets.approve_submitted(cache.store(), user, kind, period)
        st.session_state["sub_message"] = ("success", tr("submissions.approved_all", n=len(done), period=period))
        st.rerun()
message = st.session_state.pop("sub_message", None)
if message:
    (st.error if message[0] == "error" else st.success)(message[1])
if pd.isna(row['turn']):
    st.caption(tr("submissions.no_move"))
