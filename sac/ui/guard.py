"""The first line of every page: run it only for a user whose role may open it.

Why both this and the navigation: Streamlit serves a `pages/` folder next to the main script in its
older multipage mode, where a typed link (``/users``) runs that page's file directly, without
``app.py`` and so without sign-in, until the first run of the main script. :func:`page` switches that
mode off for the process (later runs go through ``app.py``), shows the sign-in form to an anonymous
visitor, and checks the role again, so a page never trusts that the navigation hid it.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from sac.auth import User
from sac.auth.permissions import can_open
from sac.ui import auth
from sac.ui.lang import tr
from sac.ui.text import md_escape


def disable_pages_folder_mode() -> None:
    """Make every later run go through app.py's st.navigation (Streamlit caches this per process)."""
    PagesManager.uses_pages_directory = False


def through_app() -> None:
    """If this run came straight to a page file (pages-folder mode, app.py not run), switch that mode off
    for the process, and ask an anonymous visitor to sign in before anything else is shown."""
    if PagesManager.uses_pages_directory:
        disable_pages_folder_mode()
        if auth.current_user() is None:
            auth.sign_in_page()
            st.stop()


def page(path: str) -> User | None:
    """Stop the page unless the current user may open ``path`` (e.g. ``"pages/rating.py"``)."""
    through_app()
    user = auth.current_user()
    if not can_open(user, path):
        st.error(tr("common.not_allowed"), icon=":material/lock:")
        st.stop()
    return user


def not_available(kind: str, ident) -> None:
    """Say plainly that the ``kind`` detail ``ident`` (``"instruction"``, ``"project"``, ``"region"``; the id
    from the URL) is not available to this reader (:func:`sac.auth.permissions.can_see` said no)."""
    st.warning(tr("access." + kind, id=md_escape(ident)), icon=":material/lock:")


def url_outside(param: str, allowed: Iterable, kind: str) -> bool:
    """For a reader restricted to some units: when the URL's ``?param=`` names one outside ``allowed``, say it
    is not available (the page's filter then falls back to one of the reader's own) and return True."""
    wanted = st.query_params.get(param)
    if wanted and wanted not in {str(a) for a in allowed}:
        not_available(kind, wanted)
        return True
    return False
