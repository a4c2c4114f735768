"""My account: who I am, change password, language, sign out (a public visitor is sent to the sign-in page)."""

import streamlit as st

from sac.auth import accounts as acc
from sac.ui import auth, cache, guard
from sac.ui.lang import tr
from sac.ui.text import md_code, md_escape

guard.through_app()
user = auth.current_user()

if user is None or user.is_public:
    auth.sign_in_page(next_path="/")      # signed in, the reader lands on the role's first page, not here
    st.stop()

st.title(tr("auth.account_title"))
store = cache.store()

c1, c2 = st.columns(2)
c1.markdown(f"**{tr('auth.display_name')}:** {md_escape(user.display_name)}")
c1.markdown(f"**{tr('auth.username')}:** {md_code(user.username)}")
c2.markdown(f"**{tr('auth.role')}:** {auth.role_label(user.role)}")
c2.markdown(f"**{tr('auth.units')}:** "
            f"{md_escape(', '.join(sorted(user.units))) if user.units else tr('auth.units_all')}")
SOURCE_KEYS = {"builtin": "auth.source_builtin", "oidc": "auth.source_oidc"}
st.caption(tr(SOURCE_KEYS.get(user.source, "auth.source_builtin")))

auth.language_picker(user)

if user.source == "builtin":
    st.subheader(tr("auth.change_password"))
    if acc.must_change_password(store, user.username):
        st.warning(tr("auth.must_change_password"), icon=":material/lock_reset:")
    with st.form("sac_change_password", clear_on_submit=True):
        old = st.text_input(tr("auth.current_password"), type="password", autocomplete="current-password")
        new = st.text_input(tr("auth.new_password"), type="password", autocomplete="new-password")
        again = st.text_input(tr("auth.repeat_password"), type="password", autocomplete="new-password")
        submitted = st.form_submit_button(tr("auth.change_password"), type="primary")
    if submitted:
        if new != again:
            st.error(tr("auth.error_passwords_differ"))
        else:
            try:
                acc.change_password(store, user.username, old, new, keep_session=auth.session_token())
            except acc.AccountError as e:
                st.error(tr(f"auth.error_{e.code}", min=acc.MIN_PASSWORD_LENGTH))
            else:
                st.success(tr("auth.password_changed"))
                st.caption(tr("auth.other_sessions_ended"))

st.divider()
if st.button(tr("auth.sign_out"), key="sac_account_sign_out", icon=":material/logout:"):
    auth.sign_out(user)
