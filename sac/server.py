"""The SAC server: the Streamlit app (``app.py``) served through ``st.App`` with routes of our own.

``st.App`` (Streamlit's ASGI entry point) runs the same script as ``streamlit run app.py`` and lets us add
Starlette routes beside it on the same port and process:

- ``/sign-in``, ``/sign-out`` (:mod:`sac.web.signin`): the sign-in form posts here; the answer sets an
  HttpOnly cookie holding a session token, so a reload or a shared link keeps the reader signed in;
- ``/api/v1/...`` (:mod:`sac.api`): the HTTP API for other systems (Rules para 87).

Run: ``python -m sac serve`` (what ``make run`` does), or any ASGI server: ``uvicorn sac.server:app``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "app.py"


def routes() -> list:
    from sac.api import routes as api_routes
    from sac.web import signin

    return [*signin.routes(), *api_routes()]


def middleware() -> list:
    from sac.web.headers import middleware as header_middleware

    return header_middleware()


# Streamlit would serve pages/ in its older pages-folder mode until app.py first runs in this process: the very first
# request (a shared deep link) would run a page file without the router and list every file in the sidebar. The
# router (app.py's st.navigation) is the only way in, from the first request on (see sac/ui/guard.py).
PagesManager.uses_pages_directory = False

# Written as ``app = st.App(...)`` so that ``streamlit run sac/server.py`` finds it (it looks for that shape).
app = st.App(str(SCRIPT), routes=routes(), middleware=middleware())
