"""SAC: the frame and router. Registers the pages the signed-in role may use and runs the chosen one.

st.navigation is always called, even when something below fails: without it Streamlit would fall back to
serving every file in pages/ with no sign-in.
"""

import logging

import streamlit as st

from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.pages_registry import pages_for
from sac.ui import auth, guard, lang

guard.disable_pages_folder_mode()

st.set_page_config(page_title="SAC", page_icon=":material/insights:", layout="wide")


def _navigation():
    user = auth.current_user()
    with st.sidebar:
        current = lang.lang()
        chosen = st.selectbox(lang.tr("common.language"), LANGUAGES, index=LANGUAGES.index(current),
                              format_func=LANGUAGE_NAMES.get, key="sac_lang_select")
        if chosen != current:
            lang.set_lang(chosen)
            auth.remember_language(user, chosen)
            st.rerun()
    if user is None:
        return st.navigation([st.Page(auth.sign_in_page, title=lang.tr("auth.sign_in"), icon=":material/login:",
                                      url_path="sign-in")])
    if auth.must_change_password(user):
        # A generated or reset password is used once: until it is changed, only the account page opens.
        nav = st.navigation([st.Page("pages/account.py", title=lang.tr("nav.account"), icon=":material/person:")])
        with st.sidebar:
            auth.sidebar_account(user)
        return nav
    sections: dict[str, list] = {}
    for spec in pages_for(user.role):
        sections.setdefault(lang.tr(spec.section), []).append(
            st.Page(spec.path, title=lang.tr(spec.title_key), icon=spec.icon, default=spec.default))
    # The public reader signs in on the same page where an account holder manages the account.
    sections.setdefault(lang.tr("nav.section_account"), []).append(
        st.Page("pages/account.py", title=lang.tr("auth.sign_in" if user.is_public else "nav.account"),
                icon=":material/login:" if user.is_public else ":material/person:"))
    nav = st.navigation(sections)
    with st.sidebar:
        auth.sidebar_account(user)
    return nav


def _unavailable():
    st.error(lang.tr("common.app_failed"), icon=":material/error:")


try:
    nav = _navigation()
except st.errors.StreamlitAPIException:
    raise
except Exception:
    logging.getLogger("sac").exception("the app could not start")
    nav = st.navigation([st.Page(_unavailable, title="SAC", url_path="unavailable")])

nav.run()
