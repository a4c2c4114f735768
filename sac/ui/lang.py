"""The interface language of this session: URL ``?lang=``, else the user's saved choice, else English."""

from __future__ import annotations

import streamlit as st

from sac import i18n
from sac.i18n import LANGUAGES


def lang() -> str:
    code = st.query_params.get("lang")
    if code in LANGUAGES:  # a shared link names its language
        st.session_state["sac_lang"] = code
        return code
    code = st.session_state.get("sac_lang")
    if code in LANGUAGES:
        return code
    user = st.session_state.get("sac_user")
    code = getattr(user, "language", None)
    if code in LANGUAGES:
        st.session_state["sac_lang"] = code
        return code
    return i18n.DEFAULT_LANGUAGE


def set_lang(code: str) -> None:
    if code in LANGUAGES:
        st.session_state["sac_lang"] = code
        if "lang" in st.query_params:
            st.query_params["lang"] = code


def tr(key: str, /, **fields) -> str:
    """The text of ``namespace.key`` in the session's language."""
    return i18n.t(key, lang(), **fields)


def name_col() -> str:
    """``name_en`` / ``name_ru`` / ``name_kk`` for the session's language."""
    return i18n.name_column(lang())


def num(x, decimals: int = 0, unit: str | None = None) -> str:
    return i18n.fmt_number(x, lang(), decimals, unit)


def pct(x, decimals: int = 1) -> str:
    return i18n.fmt_pct(x, lang(), decimals)


def date(d) -> str:
    return i18n.fmt_date(d)
