"""User management (admins): add accounts, assign role and regions, disable, reset passwords, end sessions."""

import streamlit as st

from sac.auth import ROLES, PermissionDenied, queries, sessions
from sac.auth import accounts as acc
from sac.auth.permissions import require
from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.ui import auth, cache, guard
from sac.ui.lang import lang, tr
from sac.ui.text import md_escape

user = guard.page("pages/users.py")

st.title(tr("auth.users_title"))
try:
    require(user, "manage_users")
except PermissionDenied:
    st.error(tr("auth.not_allowed"))
    st.stop()

store = cache.store()
units = queries.assignable_units(store, lang())
unit_names = dict(zip(units["code"], units["name"], strict=True))


def unit_label(code: str) -> str:
    return f"{code} — {unit_names.get(code, '?')}"


def show_password(username: str, password: str) -> None:
    st.success(tr("auth.password_shown_once", username=md_escape(username)))
    st.code(password, language=None)


users = acc.list_users(store)
table = users.assign(role=users["role"].map(auth.role_label))
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "username": tr("auth.username"), "display_name": tr("auth.display_name"), "role": tr("auth.role"),
    "source": tr("auth.source"), "disabled": tr("auth.disabled"), "locked_until": tr("auth.locked_until"),
    "failed_attempts": tr("auth.failed_attempts"), "language": tr("common.language"),
    "units": tr("auth.units"), "must_change_password": tr("auth.must_change"),
    "created_at": tr("auth.created_at"), "last_sign_in": tr("auth.last_sign_in"),
})

add_tab, edit_tab = st.tabs([tr("auth.add_user"), tr("auth.edit_user")])

with add_tab, st.form("sac_add_user", clear_on_submit=True):
    username = st.text_input(tr("auth.username"))
    display_name = st.text_input(tr("auth.display_name"))
    role = st.selectbox(tr("auth.role"), ROLES, format_func=auth.role_label, key="add_role")
    chosen_units = st.multiselect(tr("auth.units"), list(unit_names), format_func=unit_label,
                                  help=tr("auth.units_help"), key="add_units")
    language = st.selectbox(tr("common.language"), LANGUAGES, format_func=LANGUAGE_NAMES.get, key="add_lang")
    password = st.text_input(tr("auth.initial_password"), type="password", help=tr("auth.initial_password_help"))
    add = st.form_submit_button(tr("auth.add_user"), type="primary")
if add:
    if role == "project_office" and not chosen_units:
        st.error(tr("auth.error_office_needs_units"))
    else:
        try:
            pw = acc.add_user(store, user.username, username, role, password or None, display_name=display_name or None,
                              units=chosen_units, language=language)
        except acc.AccountError as e:
            st.error(tr(f"auth.error_{e.code}", min=acc.MIN_PASSWORD_LENGTH))
        else:
            if not password:
                show_password(acc.normalise_username(username), pw)
            else:
                st.success(tr("auth.user_added", username=md_escape(acc.normalise_username(username))))

with edit_tab:
    if users.empty:
        st.info(tr("auth.no_users"))
    else:
        target = st.selectbox(tr("auth.username"), users["username"].tolist(), key="edit_user")
        row = users.set_index("username").loc[target]
        with st.form("sac_edit_user"):
            new_name = st.text_input(tr("auth.display_name"), value=row["display_name"])
            new_role = st.selectbox(tr("auth.role"), ROLES, index=ROLES.index(row["role"]),
                                    format_func=auth.role_label, key="edit_role")
            current_units = [u for u in str(row["units"]).split(",") if u]
            new_units = st.multiselect(tr("auth.units"), sorted(set(unit_names) | set(current_units)),
                                       default=current_units, format_func=unit_label, key="edit_units")
            new_disabled = st.checkbox(tr("auth.disabled"), value=bool(row["disabled"]))
            save = st.form_submit_button(tr("auth.save"), type="primary")
        if save:
            if new_role == "project_office" and not new_units:
                st.error(tr("auth.error_office_needs_units"))
            else:
                try:
                    acc.update_user(store, user.username, target, role=new_role, display_name=new_name,
                                    units=new_units, disabled=new_disabled)
                except acc.AccountError as e:
                    st.error(tr(f"auth.error_{e.code}", min=acc.MIN_PASSWORD_LENGTH))
                else:
                    st.success(tr("auth.user_saved", username=md_escape(target)))
        if row["source"] == "builtin" and st.button(tr("auth.reset_password"), key="reset_pw",
                                                    icon=":material/lock_reset:"):
            show_password(target, acc.reset_password(store, user.username, target))

        st.subheader(tr("auth.sessions_title"))
        if st.session_state.get("sac_sessions_ended"):
            ended_user, n = st.session_state.pop("sac_sessions_ended")
            st.success(tr("auth.sessions_ended", username=md_escape(ended_user), n=n))
        live = sessions.list_sessions(store, target)
        if live.empty:
            st.caption(tr("auth.no_sessions"))
        else:
            st.caption(tr("auth.sessions_live", n=len(live)))
            st.dataframe(live[["created_at", "last_seen_at", "expires_at", "user_agent", "client_ip"]],
                         hide_index=True, width="stretch", column_config={
                             "created_at": tr("auth.session_started"), "last_seen_at": tr("auth.session_last_seen"),
                             "expires_at": tr("auth.session_expires"), "user_agent": tr("auth.session_browser"),
                             "client_ip": tr("auth.session_address")})
            if st.button(tr("auth.end_sessions"), key="end_sessions", icon=":material/logout:",
                         help=tr("auth.end_sessions_help")):
                n = sessions.end_user_sessions(store, user.username, target)
                st.session_state["sac_sessions_ended"] = (target, n)
                st.rerun()
