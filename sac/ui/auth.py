"""Sign-in for the Streamlit app: who is the current user, the sign-in form, the sidebar block.

Contract with ``app.py``: :func:`current_user`, :func:`sign_in_page`, :func:`sidebar_account`,
:func:`remember_language`.

Test hook: set ``st.session_state["sac_user"]`` to a :class:`sac.auth.User` (AppTest:
``at.session_state["sac_user"] = User(...)``) and the app treats that user as signed
in — the built-in sign-in form puts its result in the same place.

Configuration:
- public views: env ``SAC_PUBLIC_VIEWS=1``, or ``[sac] public_views = true`` in
  ``.streamlit/secrets.toml`` (the environment wins when set);
- OIDC: ``[auth]`` (Streamlit's st.login settings) plus ``[sac_oidc]`` (claims to role and
  units, see :mod:`sac.auth.oidc`) in ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import dataclasses
import logging

import streamlit as st

from sac.auth import PUBLIC_USER, PermissionDenied, User
from sac.auth import accounts as acc
from sac.auth.oidc import OidcMapping, user_from_claims
from sac.auth.permissions import public_views_enabled
from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.ui import cache, lang
from sac.ui.lang import tr
from sac.ui.text import md_escape

SESSION_KEY = "sac_user"
_LOG = logging.getLogger("sac.auth")


def _secrets_section(name: str) -> dict:
    try:
        section = st.secrets.get(name)
    except Exception:  # no secrets file at all
        return {}
    return dict(section) if section else {}


def oidc_configured() -> bool:
    """True when ``[auth]`` in the secrets has what st.login needs."""
    auth = _secrets_section("auth")
    if not auth:
        return False
    mapping = _mapping()
    provider = dict(auth.get(mapping.provider) or {}) if mapping.provider else auth
    return bool(auth.get("redirect_uri") and auth.get("cookie_secret")
                and provider.get("client_id") and provider.get("server_metadata_url"))


def _mapping() -> OidcMapping:
    return OidcMapping.from_config(_secrets_section("sac_oidc"))


def _oidc_claims() -> dict | None:
    try:
        info = st.user.to_dict()
    except Exception:
        return None
    return info if info.get("is_logged_in") else None


def _ensure_first_admin() -> None:
    if st.session_state.get("_sac_first_admin_checked"):
        return
    acc.ensure_first_admin(cache.store())
    st.session_state["_sac_first_admin_checked"] = True


def current_user() -> User | None:
    """The signed-in user; the ``public`` pseudo-user when public views are on and nobody is
    signed in; else None. OIDC identities are mapped (and their sign-in audited) once per session."""
    user = st.session_state.get(SESSION_KEY)
    if isinstance(user, User):
        return user
    _ensure_first_admin()
    claims = _oidc_claims() if oidc_configured() else None
    if claims is not None and not st.session_state.get("_sac_oidc_refused"):
        try:
            mapped = user_from_claims(claims, _mapping())
            user = acc.sign_in_oidc(cache.store(), mapped)
        except PermissionDenied as e:   # the claims map to no role (sign_in_oidc was not reached)
            acc.record_oidc_refused(cache.store(), e.username or claims.get("sub"), str(e))
            st.session_state["_sac_oidc_refused"] = str(e)
            _LOG.warning("OIDC sign-in refused: %s", e)
        except acc.SignInFailed as e:   # disabled by an admin (audited by sign_in_oidc)
            st.session_state["_sac_oidc_refused"] = str(e)
            _LOG.warning("OIDC sign-in refused: %s", e)
        else:
            st.session_state[SESSION_KEY] = user
            lang.set_lang(user.language)
            return user
    if public_views_enabled(config=_secrets_section("sac")):
        return PUBLIC_USER
    return None


def must_change_password(user: User | None) -> bool:
    """A built-in account whose password was generated or reset and not yet changed by its owner."""
    return (user is not None and not user.is_public and user.source == "builtin"
            and acc.must_change_password(cache.store(), user.username))


def remember_language(user: User | None, code: str) -> None:
    """Store the chosen language on the account (and on the session's user)."""
    if user is None or user.is_public or code not in LANGUAGES:
        return
    acc.set_language(cache.store(), user.username, code)
    if isinstance(st.session_state.get(SESSION_KEY), User):
        st.session_state[SESSION_KEY] = dataclasses.replace(user, language=code)


def _sign_in_error(e: acc.SignInFailed) -> str:
    if e.code == "locked":
        return tr("auth.error_locked", until=e.locked_until.strftime("%d.%m.%Y %H:%M") if e.locked_until else "")
    if e.code == "disabled":
        return tr("auth.error_disabled")
    return tr("auth.error_bad_credentials")


def sign_in_form() -> None:
    """The username/password form, and the "Sign in with <provider>" button when OIDC is configured."""
    refused = st.session_state.get("_sac_oidc_refused")
    if refused:
        st.error(tr("auth.oidc_refused", reason=md_escape(refused)))
    with st.form("sac_sign_in", enter_to_submit=True):
        username = st.text_input(tr("auth.username"), key="sac_sign_in_username", autocomplete="username")
        password = st.text_input(tr("auth.password"), type="password", key="sac_sign_in_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(tr("auth.sign_in"), type="primary")
    if submitted:
        try:
            user = acc.authenticate(cache.store(), username, password)
        except acc.SignInFailed as e:
            st.error(_sign_in_error(e))
        else:
            st.session_state[SESSION_KEY] = user
            st.session_state.pop("_sac_oidc_refused", None)
            lang.set_lang(user.language)
            st.rerun()
    if oidc_configured():
        mapping = _mapping()
        st.divider()
        if st.button(tr("auth.sign_in_with", provider=mapping.label), key="sac_oidc_login",
                     icon=":material/key:"):
            st.session_state.pop("_sac_oidc_refused", None)
            st.login(mapping.provider) if mapping.provider else st.login()


def sign_in_page() -> None:
    """The page app.py shows when nobody is signed in."""
    st.title(tr("auth.sign_in_title"))
    st.caption(tr("common.app_title"))
    sign_in_form()


def sign_out(user: User | None) -> None:
    if user is None or user.is_public:
        return
    acc.sign_out(cache.store(), user)
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop("_sac_oidc_refused", None)
    if user.source == "oidc":
        st.logout()
    else:
        st.rerun()


def role_label(role: str) -> str:
    return tr(f"auth.role_{role}")


def sidebar_account(user: User | None) -> None:
    """Small sidebar block: who is signed in, their role, sign out (or sign in, for the public)."""
    if user is None:
        return
    if user.is_public:
        st.caption(tr("auth.public_visitor"))
        st.page_link("pages/account.py", label=tr("auth.sign_in"), icon=":material/login:")
        return
    st.markdown(f"**{md_escape(user.display_name)}**")
    st.caption(f"{role_label(user.role)} · {md_escape(user.username)}", help=None)
    if user.source == "builtin" and acc.must_change_password(cache.store(), user.username):
        st.warning(tr("auth.must_change_password"), icon=":material/lock_reset:")
    if st.button(tr("auth.sign_out"), key="sac_sign_out", icon=":material/logout:"):
        sign_out(user)


def _language_chosen(user: User) -> None:
    code = st.session_state.get("sac_account_lang")
    if code in LANGUAGES:
        lang.set_lang(code)
        st.session_state["sac_lang_select"] = code   # keep app.py's sidebar picker in step
        remember_language(user, code)


def language_picker(user: User) -> None:
    """Language preference for the signed-in user (stored on the account)."""
    current = lang.lang()
    st.selectbox(tr("common.language"), LANGUAGES, index=LANGUAGES.index(current),
                 format_func=LANGUAGE_NAMES.get, key="sac_account_lang",
                 on_change=_language_chosen, args=(user,))
