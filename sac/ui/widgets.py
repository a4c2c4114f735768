"""Widgets every page uses: URL-bound filters, downloads, empty states, charts.

Filters live in the URL: ``select("period", options, ...)`` reads ``?period=``
to choose the initial value and writes the chosen code back, so a copied link
opens the same view. Codes (never translated labels) go into the URL, so a link
works whatever the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from sac import charts, export
from sac.ui.lang import tr


def _url_value(param: str):
    return st.query_params.get(param)


def _page_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else ""


def _bound(param: str, options: list, default) -> str:
    """The widget key for ``param``, its session value chosen from the URL, this page's last choice, or
    the default, in that order.

    The value goes into session state and the widget gets no ``index``, so Streamlit never sees two
    defaults. A URL that changed under us (a followed link) wins over the old widget state, and a value
    chosen on another page (same parameter name, say ``region`` on the region profile) never leaks into
    this one: only the URL carries filters between pages.
    """
    by_code = {str(o): o for o in options}
    key = f"url_{param}"
    seen = f"_url_seen_{param}"
    owner = f"_url_page_{param}"
    page = _page_id()
    same_page = st.session_state.get(owner) == page
    wanted = _url_value(param)
    if wanted in by_code and (st.session_state.get(seen) != wanted or key not in st.session_state
                              or not same_page):
        value = by_code[wanted]
    elif same_page and key in st.session_state and st.session_state[key] in options:
        value = st.session_state[key]
    else:
        value = by_code.get(str(default), options[0]) if default is not None else options[0]
    # Assigned on every run: a key left by a same-named widget of another page would otherwise be
    # ignored by Streamlit and the widget would fall back to its first option.
    st.session_state[key] = value
    st.session_state[owner] = page
    return key


def _publish(param: str, value) -> None:
    st.query_params[param] = str(value)
    st.session_state[f"_url_seen_{param}"] = str(value)


def select(label: str, options: Sequence, param: str, *, default=None,
           format_func: Callable | None = None, container=st, help: str | None = None):
    """A selectbox bound to the query parameter ``param`` (by the option's ``str``)."""
    options = list(options)
    if not options:
        return None
    key = _bound(param, options, default)
    value = container.selectbox(label, options, key=key, format_func=format_func or str, help=help)
    _publish(param, value)
    return value


def radio(label: str, options: Sequence, param: str, *, default=None,
          format_func: Callable | None = None, container=st, horizontal: bool = True):
    """A radio bound to the query parameter ``param``."""
    options = list(options)
    if not options:
        return None
    key = _bound(param, options, default)
    value = container.radio(label, options, key=key, format_func=format_func or str, horizontal=horizontal)
    _publish(param, value)
    return value


def download_table(df: pd.DataFrame, file_stem: str, *, key: str | None = None,
                   title: str | None = None, note: str | None = None,
                   methodology_version: int | None = None) -> None:
    """Two buttons side by side: CSV (UTF-8 with BOM) and a formatted XLSX.

    A table computed by a method passes its ``methodology_version``: both files then carry it in a
    column (and the XLSX in its note), so an exported rating always names the method that made it.
    """
    key = key or file_stem
    if methodology_version is not None:
        if "methodology_version" not in df.columns:
            df = df.assign(methodology_version=methodology_version)
        note = note or tr("common.methodology_version", version=methodology_version)
    row = st.container(horizontal=True, gap="small")
    row.download_button(tr("common.download_csv"), export.to_csv_bytes(df), file_name=f"{file_stem}.csv",
                       mime="text/csv", key=f"{key}_csv", icon=":material/download:", on_click="ignore")
    row.download_button(tr("common.download_xlsx"), export.to_xlsx_bytes(df, title=title, note=note),
                       file_name=f"{file_stem}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}_xlsx", icon=":material/table_view:", on_click="ignore")


def empty_state(what: str) -> None:
    """Say what is missing and where to upload it, instead of an empty chart."""
    st.info(tr("common.empty_state", what=what), icon=":material/inbox:")


def chart(fig, file_stem: str, *, key: str | None = None, on_select=None, selection_mode=None):
    """A plotly chart whose toolbar downloads a PNG named ``file_stem``."""
    kwargs = {"key": key or f"chart_{file_stem}", "config": charts.chart_config(file_stem), "width": "stretch"}
    if on_select is not None:
        kwargs["on_select"] = on_select
        if selection_mode:
            kwargs["selection_mode"] = selection_mode
    return st.plotly_chart(fig, **kwargs)


def methodology_badge(version: int) -> None:
    st.caption(tr("common.methodology_version", version=version))


def page_link_params(page: str, label: str, params: dict, *, icon: str | None = None) -> None:
    """A link to ``page`` with query parameters (st.page_link takes them as ``query_params``)."""
    st.page_link(page, label=label, icon=icon, query_params={k: str(v) for k, v in params.items()})
