"""``/sign-in`` and ``/sign-out``: a server-side sign-in form whose answer sets the session cookie.

- ``GET /sign-in[?next=/rating%3Fperiod%3D2025][&lang=kk]``: a small HTML form in English, Russian or Kazakh
  (``?lang=``, else the ``sac_lang`` cookie, else Accept-Language), with a CSRF token and the page to return to;
  "Sign in with <provider>" when OIDC is configured (it starts ``st.login`` through the app:
  ``/?sac_oidc=start``). It exists whether public views are on or off.
- ``POST /sign-in`` (``application/x-www-form-urlencoded``, at most 16 KB): checks the CSRF token and the
  ``Origin``, authenticates through :func:`sac.auth.accounts.authenticate` (lockout and audit as ever), starts a
  session (:mod:`sac.auth.sessions`), sets ``sac_session`` (HttpOnly, SameSite=Lax, Path=/; Secure over https
  or with ``SAC_COOKIE_SECURE=1``) and answers 303 to ``next``: only a path of this site (``/...``, not
  ``//...``, no scheme, no backslash, no control character), else ``/``. A refusal shows the form again (401).
- ``POST /sign-out`` (CSRF-checked): ends the session, clears the cookie, 303 to ``/sign-in``.

CSRF: double submit. ``GET /sign-in`` puts a random token in the ``sac_csrf`` cookie (SameSite=Strict, so a
cross-site page never has it sent) and in a hidden field; a POST must carry both, equal
(:func:`hmac.compare_digest`). A POST whose ``Origin`` (or ``Sec-Fetch-Site``) names another site is refused
before anything else. Every text put in the page is HTML-escaped.
"""

from __future__ import annotations

import hmac
import html
import logging
import os
import re
import secrets
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sac.auth import accounts as acc
from sac.auth import sessions
from sac.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, t

SESSION_COOKIE = sessions.COOKIE
CSRF_COOKIE = "sac_csrf"
LANG_COOKIE = "sac_lang"
MAX_BODY = 16 * 1024
MAX_NEXT = 2000
_CSRF_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_LOG = logging.getLogger("sac.web")


class BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


# -- small pure helpers -----------------------------------------------------------------------------------------------
def safe_next(value: str | None) -> str:
    """``value`` when it is a path of this site, else ``/``: the only places a sign-in may send the browser."""
    if not value or not isinstance(value, str) or len(value) > MAX_NEXT:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    if parts.path in ("/sign-in", "/sign-out"):
        return "/"
    return value


def language(request: Request) -> tuple[str, bool]:
    """(language, chosen): ``?lang=`` (chosen: a sign-in stores it on the account), else the ``sac_lang`` cookie
    (the last one chosen here), else Accept-Language."""
    code = request.query_params.get("lang")
    if code in LANGUAGES:
        return code, True
    code = request.cookies.get(LANG_COOKIE)
    if code in LANGUAGES:
        return code, False
    return accept_language(request.headers.get("accept-language", "")), False


def accept_language(header: str) -> str:
    """The supported language the browser prefers most (``ru-RU,ru;q=0.9,en;q=0.8`` → ``ru``)."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        if code in LANGUAGES and q > 0 and q - i * 1e-6 > best_q:
            best, best_q = code, q - i * 1e-6
    return best


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (``Origin``, ``Sec-Fetch-Site``).

    The ``Origin`` host must equal the ``Host`` the request was sent to (compared without the scheme, so a
    TLS-terminating proxy that forwards ``Host`` works). No ``Origin`` at all (an old browser, a script) leaves
    the CSRF token to decide."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    host = request.headers.get("host", "").strip().lower()
    if not parts.scheme or not parts.netloc or not host:
        return False           # includes "Origin: null" (a sandboxed frame, a file, a privacy redirect)
    default = {"http": ":80", "https": ":443"}.get(parts.scheme.lower(), "")
    netloc = parts.netloc.lower()
    return netloc == host or netloc + default == host or netloc == host + default


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or os.environ.get("SAC_COOKIE_SECURE", "").strip().lower() in (
        "1", "true", "yes", "on")


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, read up to :data:`MAX_BODY` bytes (413 beyond), as {name: first value}."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise BadRequest(415)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BadRequest(413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(413)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400) from None
    return {k: v[0] for k, v in fields.items()}


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
    if not cookie or not field or not _CSRF_RE.match(cookie):
        return False
    return hmac.compare_digest(cookie.encode("ascii", "replace"), field.encode("ascii", "replace"))


def _csrf_token(request: Request) -> str:
    """The browser's CSRF token when it has a well-formed one (two open tabs keep working), else a new one."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if _CSRF_RE.match(token) else secrets.token_urlsafe(32)


# -- OIDC and public views (configuration in .streamlit/secrets.toml) -----------------------------------------------
def _secrets_section(name: str) -> dict:
    # The server is a Streamlit server: its secrets are where st.login reads them.
    try:
        import streamlit as st

        section = st.secrets.get(name)
    except Exception:
        return {}
    return dict(section) if section else {}


def oidc_label() -> str | None:
    """The provider's name for the "Sign in with …" link when ``[auth]`` has what ``st.login`` needs, else None."""
    from sac.auth.oidc import OidcMapping

    auth = _secrets_section("auth")
    if not auth:
        return None
    try:
        mapping = OidcMapping.from_config(_secrets_section("sac_oidc"))
    except ValueError:
        return None
    provider = dict(auth.get(mapping.provider) or {}) if mapping.provider else auth
    ready = bool(auth.get("redirect_uri") and auth.get("cookie_secret")
                 and provider.get("client_id") and provider.get("server_metadata_url"))
    return mapping.label if ready else None


def _public_views() -> bool:
    from sac.auth.permissions import public_views_enabled

    return public_views_enabled(config=_secrets_section("sac"))


# -- the store ----------------------------------------------------------------------------------------------------------
_first_admin_checked = False


def _store():
    from sac.store import shared

    global _first_admin_checked
    store = shared()
    if not _first_admin_checked:
        acc.ensure_first_admin(store)
        _first_admin_checked = True
    return store


# -- the page -----------------------------------------------------------------------------------------------------------
_STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f6f9;
 font-family:"Source Sans Pro","Source Sans 3",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933}
main{width:100%;max-width:400px;margin:24px;padding:32px 32px 24px;background:#fff;border:1px solid #dde3ea;
 border-radius:12px;box-shadow:0 2px 12px rgba(15,35,60,.06)}
.app{margin:0 0 4px;color:#52606d;font-size:14px}
h1{margin:0 0 20px;font-size:28px;font-weight:700}
label{display:block;margin:14px 0 6px;font-size:14px}
input[type=text],input[type=password]{width:100%;padding:9px 12px;font:inherit;font-size:16px;border:1px solid #c5ced8;
 border-radius:8px;background:#f8fafc}
input:focus{outline:2px solid #0b5fa5;outline-offset:1px}
button,.button{display:block;width:100%;margin-top:20px;padding:10px 14px;font:inherit;font-size:16px;font-weight:600;
 text-align:center;text-decoration:none;border-radius:8px;cursor:pointer}
button.primary{border:1px solid #0b5fa5;background:#0b5fa5;color:#fff}
button.primary:hover{background:#094e88}
.button,button.secondary{border:1px solid #c5ced8;background:#fff;color:#1f2933}
.button:hover,button.secondary:hover{border-color:#0b5fa5;color:#0b5fa5}
.or{margin:18px 0 0;text-align:center;color:#7b8794;font-size:14px}
.or+.button{margin-top:10px}
.error,.notice{margin:0 0 8px;padding:10px 12px;border-radius:8px;font-size:15px}
.error{background:#fdecec;color:#8a1c1c;border:1px solid #f5c2c2}
.notice{background:#eaf3fb;color:#0b3c66;border:1px solid #c4dcf1}
.notice a{color:#0b5fa5;font-weight:600}
.public{margin:16px 0 0;text-align:center;font-size:14px}
.public a{color:#0b5fa5}
nav{margin-top:22px;padding-top:14px;border-top:1px solid #edf0f3;text-align:center;font-size:14px;color:#7b8794}
nav a{color:#0b5fa5;text-decoration:none;margin:0 6px}
nav a[aria-current]{color:#1f2933;font-weight:600}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _sign_in_url(next_path: str, lang: str | None = None) -> str:
    params = {**({"lang": lang} if lang else {}), **({"next": next_path} if next_path != "/" else {})}
    return "/sign-in" + ("?" + urlencode(params, quote_via=quote) if params else "")


def render(lang: str, *, csrf: str, next_path: str, chosen: bool, error: str | None = None, username: str = "",
           signed_in=None, oidc: str | None = None, public: bool = False) -> str:
    """The sign-in page as HTML; every value from outside is escaped."""
    tr = lambda key, **f: _e(t(key, lang, **f))  # noqa: E731
    parts = [
        f'<!doctype html><html lang="{_e(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f'<title>{tr("auth.sign_in_title")} · SAC</title><style>{_STYLE}</style></head><body><main>',
        f'<p class="app">{tr("common.app_title")}</p><h1>{tr("auth.sign_in_title")}</h1>',
    ]
    if signed_in is not None:
        parts.append(
            f'<p class="notice" data-testid="signed-in">'
            f'{tr("auth.signed_in_as", name=signed_in.display_name, username=signed_in.username)} '
            f'<a href="{_e(next_path)}">{tr("auth.continue")}</a></p>'
            f'<form method="post" action="/sign-out"><input type="hidden" name="csrf" value="{_e(csrf)}">'
            f'<button type="submit" class="secondary">{tr("auth.sign_out")}</button></form>')
    if error:
        parts.append(f'<p class="error" role="alert">{_e(error)}</p>')
    parts.append(
        f'<form method="post" action="/sign-in" autocomplete="on">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        f'<input type="hidden" name="next" value="{_e(next_path)}">'
        + (f'<input type="hidden" name="lang" value="{_e(lang)}">' if chosen else "")
        + f'<label for="username">{tr("auth.username")}</label>'
        f'<input type="text" id="username" name="username" value="{_e(username)}" autocomplete="username" '
        f'autocapitalize="none" spellcheck="false" maxlength="100" required{"" if username else " autofocus"}>'
        f'<label for="password">{tr("auth.password")}</label>'
        f'<input type="password" id="password" name="password" autocomplete="current-password" maxlength="200" '
        f'required{" autofocus" if username else ""}>'
        f'<button type="submit" class="primary">{tr("auth.sign_in")}</button></form>')
    if oidc:
        parts.append(f'<p class="or">{tr("auth.or")}</p>'
                     f'<a class="button" href="/?sac_oidc=start">{tr("auth.sign_in_with", provider=oidc)}</a>')
    if public:
        parts.append(f'<p class="public"><a href="/">{tr("auth.continue_public")}</a></p>')
    links = []
    for code in LANGUAGES:
        current = ' aria-current="true"' if code == lang else ""
        links.append(f'<a href="{_e(_sign_in_url(next_path, code))}" hreflang="{code}" lang="{code}"{current}>'
                     f'{_e(LANGUAGE_NAMES[code])}</a>')
    parts.append(f'<nav aria-label="{tr("common.language")}">{"".join(links)}</nav></main></body></html>')
    return "".join(parts)


_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def _set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None,
                samesite: str, httponly: bool = True) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=_secure(request), httponly=httponly,
                        samesite=samesite)


def _clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", secure=_secure(request), httponly=True, samesite="lax")


async def _page(request: Request, *, status: int = 200, error: str | None = None, username: str = "",
                next_path: str | None = None, lang: tuple[str, bool] | None = None) -> HTMLResponse:
    code, chosen = lang or language(request)
    next_path = safe_next(request.query_params.get("next")) if next_path is None else next_path
    csrf = _csrf_token(request)
    token = request.cookies.get(SESSION_COOKIE)
    signed_in = await run_in_threadpool(sessions.resolve, _store(), token) if token else None
    body = render(code, csrf=csrf, next_path=next_path, chosen=chosen, error=error, username=username,
                  signed_in=signed_in, oidc=oidc_label(), public=_public_views())
    response = HTMLResponse(body, status_code=status, headers=_PAGE_HEADERS)
    _set_cookie(response, request, CSRF_COOKIE, csrf, max_age=None, samesite="strict")
    if token and signed_in is None:
        _clear_cookie(response, request, SESSION_COOKIE)      # an ended session: the cookie is of no use
    if chosen:
        _set_cookie(response, request, LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


def _sign_in_error(e: acc.SignInFailed, lang: str) -> str:
    if e.code == "locked":
        until = e.locked_until.strftime("%d.%m.%Y %H:%M") if e.locked_until else ""
        return t("auth.error_locked", lang, until=until)
    if e.code == "disabled":
        return t("auth.error_disabled", lang)
    return t("auth.error_bad_credentials", lang)


# -- routes ---------------------------------------------------------------------------------------------------------
async def sign_in_form(request: Request) -> Response:
    return await _page(request)


def _refused(request: Request, status: int, lang: tuple[str, bool], next_path: str = "/") -> Response:
    key = "auth.error_form_expired" if status == 403 else "auth.error_bad_request"
    # Rendered without the session check: a refused request is answered without touching the store.
    code, chosen = lang
    csrf = _csrf_token(request)
    body = render(code, csrf=csrf, next_path=next_path, chosen=chosen, error=t(key, code), oidc=oidc_label(),
                  public=_public_views())
    response = HTMLResponse(body, status_code=status, headers=_PAGE_HEADERS)
    _set_cookie(response, request, CSRF_COOKIE, csrf, max_age=None, samesite="strict")
    return response


async def sign_in(request: Request) -> Response:
    lang = language(request)
    if not same_origin(request):
        _LOG.warning("sign-in refused: cross-site request (Origin %r)", request.headers.get("origin"))
        return _refused(request, 403, lang)
    try:
        form = await _read_form(request)
    except BadRequest as e:
        return _refused(request, e.status, lang)
    if form.get("lang") in LANGUAGES:
        lang = (form["lang"], True)
    next_path = safe_next(form.get("next"))
    if not _csrf_ok(request, form):
        _LOG.warning("sign-in refused: missing or wrong CSRF token")
        return _refused(request, 403, lang, next_path)
    username, password = form.get("username", "")[:200], form.get("password", "")
    store = _store()
    try:
        user = await run_in_threadpool(acc.authenticate, store, username, password)
    except acc.SignInFailed as e:
        return await _page(request, status=401, error=_sign_in_error(e, lang[0]), username=username[:100],
                           next_path=next_path, lang=lang)
    token = await run_in_threadpool(
        lambda: sessions.create(store, user.username, user_agent=request.headers.get("user-agent"),
                                client_ip=request.client.host if request.client else None,
                                replaces=request.cookies.get(SESSION_COOKIE)))
    if lang[1] and lang[0] != user.language:   # the language chosen on this page becomes the account's
        await run_in_threadpool(acc.set_language, store, user.username, lang[0])
    response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    max_age = int(sessions.SessionPolicy.from_env().absolute.total_seconds())
    _set_cookie(response, request, SESSION_COOKIE, token, max_age=max(max_age, 1), samesite="lax")
    return response


async def sign_out(request: Request) -> Response:
    lang = language(request)
    if not same_origin(request):
        return _refused(request, 403, lang)
    try:
        form = await _read_form(request)
    except BadRequest as e:
        return _refused(request, e.status, lang)
    if not _csrf_ok(request, form):
        return _refused(request, 403, lang)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        store = _store()

        def end() -> None:
            user = sessions.resolve(store, token)
            if user is not None:
                acc.sign_out(store, user, token)

        await run_in_threadpool(end)
    response = RedirectResponse("/sign-in", status_code=303, headers={"Cache-Control": "no-store"})
    _clear_cookie(response, request, SESSION_COOKIE)
    return response


def routes() -> list:
    return [
        Route("/sign-in", sign_in_form, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]
