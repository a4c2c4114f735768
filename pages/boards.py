"""Information boards (issue 11; Rules para 2.3, 68.4): build one now (analyst, admin), the archive by node and
week, the PDF in the page (st.pdf), downloads of the PDF and the workbook.

Who sees what: the page is open to admin, analyst and leadership (pages_registry); each of them sees the boards
of every node. A project office has no boards: a board covers a whole node, and no rule maps a node to one
office's regions without cutting the board in pieces. Building is ``permissions.can(user, "build_board")``.
Every build and every download is in the audit log (sac/boards/archive.py).

Board writes change no figure (``data=False``), so the archive is read afresh on each run, not through the cache
keyed on the data version.
"""

import datetime as dt
import importlib.util

import pandas as pd
import streamlit as st

from sac import boards
from sac.auth.permissions import can
from sac.boards import weeks
from sac.i18n import LANGUAGE_NAMES, LANGUAGES
from sac.ui import cache, guard, lang
from sac.ui.lang import tr

user = guard.page("pages/boards.py")

st.title(tr("boards.page_title"))
st.caption(tr("boards.page_intro"))
code = lang.lang()
store = cache.store()
nodes = cache.call(boards.board_nodes)
name_col = lang.name_col()


def _label(r) -> str:
    code_ = f"{r['code']} " if isinstance(r["code"], str) else ""
    return "\u2003" * int(r["depth"]) + code_ + str(r[name_col])


labels = {r["node_id"]: _label(r) for r in nodes.to_dict("records")}
plain = {k: v.strip() for k, v in labels.items()}
today = dt.date.today()

# -- build now ------------------------------------------------------------------------------------------------
if can(user, "build_board"):
    with st.form("board_build"):
        st.subheader(tr("boards.build_header"))
        c1, c2, c3 = st.columns([4, 1.3, 1.2])
        node = c1.selectbox(tr("boards.f_node"), list(labels), format_func=labels.get, key="board_node")
        week = c2.selectbox(tr("boards.f_week"), weeks.recent_weeks(today), key="board_week")
        board_lang = c3.selectbox(tr("boards.f_lang"), LANGUAGES, index=LANGUAGES.index(code),
                                  format_func=LANGUAGE_NAMES.get, key="board_lang")
        go = st.form_submit_button(tr("boards.build_button"), icon=":material/build:", type="primary")
    if go:
        with st.spinner(tr("boards.building")):
            row = boards.build(store, node, week, board_lang, built_by=user.username)
        st.session_state["board_selected"] = row["board_id"]
        st.session_state["board_archive_node"] = "all"
        st.session_state["board_archive_week"] = "all"
        st.success(tr("boards.built", id=row["board_id"], revision=row["revision"], node=plain[node], week=week),
                   icon=":material/check_circle:")

# -- archive --------------------------------------------------------------------------------------------------
st.subheader(tr("boards.archive_header"))
st.caption(tr("boards.scope_note"))
every = boards.list_boards(store)
with_boards = ["all"] + [n for n in labels if n in set(every["node_id"])]
archive_labels = {"all": tr("boards.archive_all"), **labels}
if st.session_state.get("board_archive_node") not in with_boards:
    st.session_state["board_archive_node"] = "all"
f1, f2, _ = st.columns([2, 1, 2])
which = f1.selectbox(tr("boards.archive_node"), with_boards, format_func=archive_labels.get, key="board_archive_node")
shown = every if which == "all" else every[every["node_id"] == which]
week_options = ["all"] + sorted(set(shown["week"]), reverse=True)
if st.session_state.get("board_archive_week") not in week_options:
    st.session_state["board_archive_week"] = "all"
which_week = f2.selectbox(tr("boards.archive_week"), week_options, key="board_archive_week",
                          format_func=lambda w: tr("boards.archive_all_weeks") if w == "all" else w)
if which_week != "all":
    shown = shown[shown["week"] == which_week]
if shown.empty:
    st.info(tr("boards.archive_empty"), icon=":material/inbox:")
    st.stop()

st.dataframe(pd.DataFrame({
    tr("boards.col_board"): shown["board_id"].astype(int),
    tr("boards.col_week"): shown["week"],
    tr("boards.col_node"): shown["node_id"].map(plain).fillna(shown["node_name"]),
    tr("boards.col_language"): shown["language"].map(LANGUAGE_NAMES),
    tr("boards.col_revision"): shown["revision"].astype(int),
    tr("boards.col_built_at"): shown["built_at"].map(lambda x: pd.Timestamp(x).strftime("%d.%m.%Y %H:%M")),
    tr("boards.col_built_by"): shown["built_by"],
    tr("boards.col_hash"): shown["content_hash"].str[:12],
}), hide_index=True, width="stretch", key="board_archive_table")

options = shown["board_id"].astype(int).tolist()
if st.session_state.get("board_selected") not in options:
    st.session_state["board_selected"] = options[0]
by_id = shown.set_index(shown["board_id"].astype(int))
board_id = st.selectbox(
    tr("boards.archive_pick"), options, key="board_selected",
    format_func=lambda i: tr("boards.archive_option", week=by_id.at[i, "week"],
                             lang=LANGUAGE_NAMES.get(by_id.at[i, "language"], by_id.at[i, "language"]),
                             revision=int(by_id.at[i, "revision"]),
                             node=plain.get(by_id.at[i, "node_id"], by_id.at[i, "node_name"])))
row = boards.get_board(store, board_id)
node_name = plain.get(row["node_id"], row["node_name"])
st.subheader(tr("boards.view_header", id=board_id, node=node_name, week=row["week"], revision=row["revision"]))


def _downloaded(board: int, fmt: str) -> None:
    boards.record_download(cache.store(), board, fmt, user.username)


buttons = st.container(horizontal=True, gap="small")
buttons.download_button(tr("boards.download_pdf"), row["pdf"], file_name=boards.file_name(row, "pdf"),
                        mime="application/pdf", icon=":material/picture_as_pdf:", key=f"board_pdf_{board_id}",
                        on_click=_downloaded, args=(board_id, "pdf"))
buttons.download_button(tr("boards.download_xlsx"), row["xlsx"], file_name=boards.file_name(row, "xlsx"),
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        icon=":material/table_view:", key=f"board_xlsx_{board_id}",
                        on_click=_downloaded, args=(board_id, "xlsx"))
if importlib.util.find_spec("streamlit_pdf") is None:
    st.info(tr("boards.pdf_viewer_missing"), icon=":material/info:")
else:
    st.pdf(row["pdf"], height=900, key=f"board_view_{board_id}",
           alt=tr("boards.viewer_alt", node=node_name, week=row["week"]))
