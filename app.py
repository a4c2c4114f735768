"""SAC: the frame and router. Registers the pages the signed-in role may use and runs the chosen one; the URLs of the
others answer with a hidden stand-in ("Sign in to see this page", or "not open to your role"), never "Page not
found". Who is signed in: sac.ui.auth.current_user (the session cookie set by /sign-in, checked at every rerun).

st.navigation is always called, even when something below fails: without it Streamlit would fall back to
serving every file in pages/ with no sign-in.
"""

import logging

import streamlit as st

from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.pages_registry import PAGES, pages_for
from sac.ui import auth, guard, lang

guard.disable_pages_folder_mode()

st.set_page_config(page_title="SAC", page_icon=":material/insights:", layout="wide")


def _slug(path: str) -> str:
    """The url_path Streamlit gives a page file (``pages/rating.py`` → ``rating``)."""
    return path.rsplit("/", 1)[-1][:-3]


def _stand_ins(user, shown: set[str]) -> list:
    """Hidden pages under the url_path of every page this reader may not open: a shared or reloaded link says to
    sign in (or that the role may not open it) instead of "Page not found"."""
    out = []
    for spec in PAGES:
        if spec.path in shown:
            continue
        body = (auth.sign_in_required(spec.title_key) if user is None or user.is_public
                else auth.not_open_to_role(spec.title_key))
        out.append(st.Page(body, title=lang.tr(spec.title_key), icon=spec.icon, url_path=_slug(spec.path),
                           default=spec.default and not shown, visibility="hidden"))
    return out


def _navigation():
    auth.start_oidc_if_asked()
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
        # Signed out, public views off: every page's URL answers with "sign in to see this page".
        account = st.Page(auth.sign_in_page, title=lang.tr("auth.sign_in"), icon=":material/login:",
                          url_path="account", visibility="hidden")
        nav = st.navigation([*_stand_ins(None, set()), account], position="hidden")
        with st.sidebar:
            auth.sidebar_account(None)
        return nav
    if auth.must_change_password(user):
        # A generated or reset password is used once: until it is changed, only the account page opens.
        nav = st.navigation([st.Page("pages/account.py", title=lang.tr("nav.account"), icon=":material/person:")])
        with st.sidebar:
            auth.sidebar_account(user)
        return nav
    sections: dict[str, list] = {}
    specs = pages_for(user.role)
    for spec in specs:
        sections.setdefault(lang.tr(spec.section), []).append(
            st.Page(spec.path, title=lang.tr(spec.title_key), icon=spec.icon, default=spec.default))
    # The public reader signs in on the same page where an account holder manages the account.
    sections.setdefault(lang.tr("nav.section_account"), []).append(
        st.Page("pages/account.py", title=lang.tr("auth.sign_in" if user.is_public else "nav.account"),
                icon=":material/login:" if user.is_public else ":material/person:"))
    sections[lang.tr("nav.section_account")] += _stand_ins(user, {spec.path for spec in specs})
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
