"""Sign-in for the Streamlit app: who is the current user, the sign-in prompt, the sidebar block.

Contract with ``app.py``: :func:`current_user`, :func:`sign_in_required`, :func:`sidebar_account`,
:func:`remember_language`, :func:`start_oidc_if_asked`.

Who is signed in, checked at every rerun (so an ended session stops working at the reader's next click):

1. the test hook: ``st.session_state["sac_user"]`` holding a :class:`sac.auth.User` (AppTest:
   ``at.session_state["sac_user"] = User(...)``); an OIDC sign-in is kept there too, as before;
2. the ``sac_session`` cookie (``st.context.cookies``) set by ``POST /sign-in`` (:mod:`sac.web.signin`), resolved
   through :func:`sac.auth.sessions.resolve` — never copied into the session state;
3. an OIDC identity (``st.user``), mapped and audited once per session;
4. the public reader when public views are on, else None.

Signing in happens on the server-side page ``/sign-in?next=<this page and its query>``; this module only links
there. Signing out ends the session in the database and sends the browser to ``/sign-in``.

Configuration:
- public views: env ``SAC_PUBLIC_VIEWS=1``, or ``[sac] public_views = true`` in
  ``.streamlit/secrets.toml`` (the environment wins when set);
- OIDC: ``[auth]`` (Streamlit's st.login settings) plus ``[sac_oidc]`` (claims to role and
  units, see :mod:`sac.auth.oidc`) in ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import dataclasses
import html
import logging
from urllib.parse import urlencode, urlsplit

import streamlit as st

from sac.auth import PUBLIC_USER, PermissionDenied, User, sessions
from sac.auth import accounts as acc
from sac.auth.oidc import OidcMapping, user_from_claims
from sac.auth.permissions import public_views_enabled
from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.ui import cache, lang
from sac.ui.lang import tr
from sac.ui.text import md_escape

SESSION_KEY = "sac_user"
SIGN_IN_PATH = "/sign-in"
_ENDED_KEY = "_sac_session_ended"          # the browser's cookie named a session that has ended
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


def session_token() -> str | None:
    """The ``sac_session`` cookie the browser sent when it opened this page, if any."""
    try:
        return st.context.cookies.get(sessions.COOKIE) or None
    except Exception:   # no browser (a bare script run)
        return None


def _from_cookie() -> User | None:
    token = session_token()
    if token is None:
        return None
    user = sessions.resolve(cache.store(), token)
    if user is None:
        st.session_state[_ENDED_KEY] = True
        return None
    st.session_state.pop(_ENDED_KEY, None)
    if not st.session_state.get("_sac_session_lang_set"):
        # The account's language, once per browser session; a ?lang= in the URL or a choice made here wins.
        st.session_state["_sac_session_lang_set"] = True
        if "sac_lang" not in st.session_state and st.query_params.get("lang") not in LANGUAGES:
            lang.set_lang(user.language)
    return user


def _cookie_language() -> None:
    """A signed-out reader: the language chosen on the sign-in page (cookie ``sac_lang``), unless one is set."""
    try:
        code = st.context.cookies.get("sac_lang")
    except Exception:
        return
    if code in LANGUAGES and "sac_lang" not in st.session_state and st.query_params.get("lang") not in LANGUAGES:
        lang.set_lang(code)


def current_user() -> User | None:
    """The signed-in user (see the module's docstring for the order); the ``public`` pseudo-user when public
    views are on and nobody is signed in; else None. OIDC identities are mapped (and their sign-in audited) once
    per session."""
    user = st.session_state.get(SESSION_KEY)
    if isinstance(user, User):
        return user
    _ensure_first_admin()
    user = _from_cookie()
    if user is not None:
        return user
    _cookie_language()
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


def start_oidc_if_asked() -> None:
    """``/?sac_oidc=start`` (the "Sign in with …" link of the sign-in page): hand over to ``st.login``."""
    if st.query_params.get("sac_oidc") != "start":
        return
    del st.query_params["sac_oidc"]
    if oidc_configured():
        st.session_state.pop("_sac_oidc_refused", None)
        mapping = _mapping()
        st.login(mapping.provider) if mapping.provider else st.login()


def current_target() -> str:
    """This page's path and query string (``/rating?period=2025``): where a sign-in should come back to."""
    try:
        path = urlsplit(st.context.url or "").path or "/"
    except Exception:
        path = "/"
    query = {k: v for k, v in st.query_params.to_dict().items() if k != "sac_oidc"}
    return path + ("?" + urlencode(query) if query else "")


def sign_in_url(next_path: str | None = None) -> str:
    """``/sign-in?next=…`` for ``next_path`` (default: this page); ``next_path="/"`` for none (the default page)."""
    target = current_target() if next_path is None else next_path
    # The language goes along only when this reader has one (chosen, from the URL or the account): the sign-in
    # page stores a language it is given on the account, and a default must not overwrite the account's choice.
    chosen = "sac_lang" in st.session_state or st.query_params.get("lang") in LANGUAGES
    params = {**({"lang": lang.lang()} if chosen else {}), **({"next": target} if target and target != "/" else {})}
    return SIGN_IN_PATH + ("?" + urlencode(params) if params else "")


def sign_in_link(next_path: str | None = None, *, label: str | None = None, primary: bool = True) -> None:
    """A link to the sign-in page that opens in this tab (Streamlit's link widgets open a new one)."""
    style = ("display:inline-block;padding:0.45rem 1rem;border-radius:0.5rem;text-decoration:none;font-weight:600;"
             + ("background:#0b5fa5;color:#fff;border:1px solid #0b5fa5;" if primary
                else "color:#0b5fa5;border:1px solid #c5ced8;"))
    text = html.escape(label or tr("auth.sign_in"))
    st.markdown(f'<a href="{html.escape(sign_in_url(next_path))}" target="_self" data-testid="sac-sign-in-link" '
                f'style="{style}">{text}</a>', unsafe_allow_html=True)


def _ended_or_refused() -> None:
    refused = st.session_state.get("_sac_oidc_refused")
    if refused:
        st.error(tr("auth.oidc_refused", reason=md_escape(refused)))
    elif st.session_state.get(_ENDED_KEY):
        st.info(tr("auth.session_ended"), icon=":material/schedule:")


def _page_asked_for() -> str | None:
    """The title key of the registered page this URL names (``/rating`` → ``nav.rating``), if any."""
    from sac.pages_registry import PAGES

    slug = current_target().split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return next((p.title_key for p in PAGES if p.path == f"pages/{slug}.py"), None)


def sign_in_page(next_path: str | None = None) -> None:
    """What a signed-out reader sees instead of a page: the reason, and the way to the sign-in page (which comes
    back to this URL unless ``next_path`` says otherwise)."""
    title_key = _page_asked_for() if next_path is None else None
    if title_key is not None:
        sign_in_required(title_key)()
        return
    st.title(tr("auth.sign_in_title"))
    st.caption(tr("common.app_title"))
    _ended_or_refused()
    st.markdown(tr("auth.sign_in_prompt"))
    sign_in_link(next_path)


def sign_in_required(title_key: str):
    """A stand-in page for a page the reader may not open while signed out (or public): it says to sign in, and
    the sign-in comes back to this very URL. Registered under the real page's url_path, so a shared link never
    answers "Page not found"."""
    def page() -> None:
        st.title(tr("auth.sign_in_to_see"))
        _ended_or_refused()
        st.markdown(tr("auth.sign_in_to_see_body", page=md_escape(tr(title_key))))
        sign_in_link()

    page.__name__ = f"sign_in_required_{title_key.rsplit('.', 1)[-1]}"
    return page


def not_open_to_role(title_key: str):
    """A stand-in page for a signed-in reader whose role may not open the page (a link from someone else)."""
    def page() -> None:
        st.title(tr(title_key))
        st.error(tr("common.not_allowed"), icon=":material/lock:")

    page.__name__ = f"not_open_{title_key.rsplit('.', 1)[-1]}"
    return page


def _redirect(url: str) -> None:
    """Send the browser to ``url`` (same origin), as ``st.login`` and ``st.logout`` do."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    msg = ForwardMsg()
    msg.auth_redirect.url = url
    ctx.enqueue(msg)


def sign_out(user: User | None) -> None:
    """End this browser's session in the database (its cookie signs nobody in from now on), audit it, and go to
    the sign-in page; an OIDC user is signed out of ``st.user`` too."""
    if user is None or user.is_public:
        return
    token = session_token()
    acc.sign_out(cache.store(), user, token)
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop("_sac_oidc_refused", None)
    if user.source == "oidc":
        st.logout()
    elif token:
        st.info(tr("auth.redirecting"))
        _redirect(SIGN_IN_PATH + "?" + urlencode({"lang": lang.lang()}))
        st.stop()
    else:
        st.rerun()


def role_label(role: str) -> str:
    return tr(f"auth.role_{role}")


def sidebar_account(user: User | None) -> None:
    """Small sidebar block: who is signed in, their role, sign out (or sign in, for the public)."""
    if user is None:
        sign_in_link(primary=False)
        return
    if user.is_public:
        st.caption(tr("auth.public_visitor"))
        if st.session_state.get(_ENDED_KEY):
            st.caption(tr("auth.session_ended"))
        sign_in_link(primary=False)
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
