"""The audit log (admins): filter by action, actor and date; export CSV/XLSX. Nothing here edits it."""

import datetime as dt

import streamlit as st

from sac import audit
from sac.auth import PermissionDenied, queries
from sac.auth.permissions import require
from sac.ui import cache, guard, widgets
from sac.ui.lang import tr

user = guard.page("pages/audit.py")

st.title(tr("auth.audit_title"))
try:
    require(user, "view_audit")
except PermissionDenied:
    st.error(tr("auth.not_allowed"))
    st.stop()

store = cache.store()
first, last = queries.audit_date_range(store)
today = dt.date.today()
first, last = first or today, max(last or today, today)

c1, c2, c3 = st.columns([2, 2, 2])
actions = c1.multiselect(tr("auth.audit_action"), list(audit.ACTIONS), key="audit_actions")
actors = c2.multiselect(tr("auth.audit_actor"), queries.audit_actors(store), key="audit_actors")
period = c3.date_input(tr("auth.audit_dates"), value=(first, last), format="DD.MM.YYYY", key="audit_dates")
start, end = period if isinstance(period, tuple) and len(period) == 2 else (None, None)

log = queries.audit_log(store, actions=actions, actors=actors, start=start, end=end)
st.caption(tr("auth.audit_count", n=len(log)))
st.dataframe(log, hide_index=True, width="stretch", column_config={
    "entry_id": "#", "occurred_at": st.column_config.DatetimeColumn(tr("auth.audit_when"), format="DD.MM.YYYY HH:mm:ss"),
    "actor": tr("auth.audit_actor"), "action": tr("auth.audit_action"), "target": tr("auth.audit_target"),
    "details": tr("auth.audit_details"),
})
widgets.download_table(log, "audit_log", key="audit_export", title=tr("auth.audit_title"))
