"""Methodology: the formulas and the current values, generated from the stored configuration."""

import dataclasses
import json

import streamlit as st

from sac import methodology
from sac.auth import permissions
from sac.ui import cache, guard, lang, widgets
from sac.ui.text import md_escape

user = guard.page("pages/methodology.py")

st.title(lang.tr("methodology.title"))
st.caption(lang.tr("methodology.intro"))

history = cache.call(methodology.versions)
numbers = [int(v) for v in history["version"]] or [1]
version = widgets.select(lang.tr("methodology.version"), numbers, "version", default=max(numbers),
                         format_func=lambda v: lang.tr("common.methodology_version", version=v))
chosen = cache.call(methodology.get, version)
# The note and the author are data, text in this Markdown document; an account name is not published.
public = user is None or user.is_public
text = methodology.render_markdown(dataclasses.replace(
    chosen, note=md_escape(chosen.note) if chosen.note else None,
    created_by=md_escape(chosen.created_by) if chosen.created_by and not public else None), lang.lang())

st.download_button(lang.tr("methodology.download"), text.encode("utf-8"),
                   file_name=f"sac-methodology-v{version}.md", mime="text/markdown",
                   icon=":material/download:", on_click="ignore")
if lang.lang() != "en":  # sac.methodology.render_markdown translates the headings only
    st.info(lang.tr("methodology.body_in_english"), icon=":material/translate:")
# The page title already says "Methodology": the document's own first heading would repeat it.
st.markdown(text.split("\n", 1)[1] if text.startswith("# ") else text)

st.subheader(lang.tr("methodology.history"))
table = history.drop(columns=["config"] + (["created_by"] if public else [])).rename(columns={
    "version": lang.tr("methodology.col_version"), "created_at": lang.tr("methodology.col_created"),
    "created_by": lang.tr("methodology.col_by"), "note": lang.tr("methodology.col_note"),
})
st.dataframe(table, hide_index=True, width="stretch",
             column_config={lang.tr("methodology.col_created"): st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm")})
widgets.download_table(table, "methodology-versions", key="mv")

if permissions.can(user, "change_methodology"):
    with st.expander(lang.tr("methodology.change"), icon=":material/edit:"):
        st.caption(lang.tr("methodology.change_help"))
        current = cache.call(methodology.current)
        with st.form("methodology_change"):
            body = st.text_area(lang.tr("methodology.config"), json.dumps(current.config, indent=2), height=360)
            note = st.text_input(lang.tr("methodology.note"))
            submitted = st.form_submit_button(lang.tr("methodology.save"), type="primary")
        if submitted:
            try:
                permissions.require(user, "change_methodology")
                new_version = methodology.save_new_version(cache.store(), json.loads(body), user.username,
                                                           note or None)
            except (ValueError, json.JSONDecodeError) as e:
                st.error(lang.tr("methodology.invalid", error=md_escape(e)))
            else:
                if new_version == current.version:
                    st.info(lang.tr("methodology.unchanged"))
                else:
                    st.success(lang.tr("methodology.saved", version=new_version))
