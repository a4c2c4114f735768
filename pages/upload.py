"""Upload: choose a kind, get its template, upload a file, read the dry run row by row, commit or cancel;
the history of batches, and rolling one back (with a confirmation)."""

import hashlib

import pandas as pd
import streamlit as st

from sac import ingest
from sac.auth import PermissionDenied
from sac.auth.permissions import allowed_units, can, require
from sac.ingest import readers
from sac.ui import cache, guard, published, widgets
from sac.ui.lang import lang, tr
from sac.ui.text import md_escape

user = guard.page("pages/upload.py")

st.title(tr("upload.title"))
try:
    require(user, "upload")
except PermissionDenied:
    st.error(tr("upload.not_allowed"))
    st.stop()

store = cache.store()
units = allowed_units(user, store)
KINDS = [k for k in ingest.KINDS if units is None or (ingest.KINDS[k].office and any(
    f.type in ("unit", "region") for f in ingest.KINDS[k].fields))]


def _kind_label(k: str) -> str:
    return tr(f"upload.kind_{k}") if k in ingest.KINDS else k  # the demo names its batches after tables


def _problems_table(rep: ingest.ImportReport) -> pd.DataFrame:
    """Row, column, value, severity and the message in the session's language."""
    p = rep.problems
    messages = [tr(f"upload.problem_{c}", column=col if isinstance(col, str) else "", value="" if v is None else v)
                + (f"; {tr('upload.closest_known', names=m.split('; closest known: ', 1)[1])}"
                   if "; closest known: " in str(m) else "")
                for c, col, v, m in zip(p["code"], p["column"], p["value"], p["message"], strict=True)]
    return pd.DataFrame({
        # the grid writes a missing row number as a grey 'None': a problem of the whole file shows an empty cell
        tr("upload.col_row"): (p["row"] if p["row"].notna().all()
                               else p["row"].map(lambda r: "" if pd.isna(r) else str(int(r)))),
        tr("upload.col_column"): p["column"].fillna(""),  # a problem of the whole file has no column or value
        tr("upload.col_value"): p["value"].fillna(""),
        tr("upload.col_severity"): [tr(f"upload.severity_{s}") for s in p["severity"]],
        tr("upload.col_message"): messages,
    })


nonce = st.session_state.setdefault("upload_nonce", 0)
# two ways in: our template (one row per value) or a published table as it is (regions down, periods across)
modes = {tr(f"upload.mode_{m}"): m for m in ("template", "table")}
picked = st.segmented_control(tr("upload.mode"), list(modes), default=list(modes)[0], key=f"upload_mode_{lang()}")
if modes.get(picked, "template") == "table":
    published.render(store, user, units, nonce, _problems_table)
else:
    c1, c2 = st.columns([3, 2])
    # labels as options (not format_func): a translated format_func cannot be replayed outside a script run
    labels = {tr(f"upload.kind_{k}"): k for k in KINDS}
    kind = labels[c1.selectbox(tr("upload.kind"), list(labels), key=f"upload_kind_{lang()}")]
    c2.download_button(tr("upload.template"), ingest.templates(kind), file_name=f"template_{kind}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", on_click="ignore", key="upload_template")
    if units is not None:
        st.caption(tr("upload.scope", units=md_escape(", ".join(sorted(units)) or "—")))

    up = st.file_uploader(tr("upload.file"), type=["csv", "txt", "xlsx", "xlsm", "parquet"], key=f"upload_file_{nonce}")
    sheet = None
    if up is not None and up.name.lower().endswith((".xlsx", ".xlsm")):
        sheets = readers.sheet_names(up.getvalue())
        if len(sheets) > 1:
            sheet = st.selectbox(tr("upload.sheet"), sheets, key=f"upload_sheet_{nonce}")


    if up is not None:
        data = up.getvalue()
        key = (hashlib.sha256(data).hexdigest(), kind, sheet, store.data_version())
        if st.session_state.get("upload_dry_key") != key:
            with st.spinner(tr("upload.checking")):
                st.session_state["upload_dry"] = ingest.import_file(
                    store, data, kind, file_name=up.name, sheet=sheet, user=user.username, allowed_units=units)
            st.session_state["upload_dry_key"] = key
        rep: ingest.ImportReport = st.session_state["upload_dry"]

        st.subheader(tr("upload.dry_run"))
        m = st.columns(6)
        for col, (label, value) in zip(m, [("inserted", rep.inserted), ("updated", rep.updated),
                                           ("unchanged", rep.unchanged), ("rejected", rep.rejected),
                                           ("totals", rep.totals), ("warnings", len(rep.warnings))], strict=True):
            col.metric(tr(f"upload.count_{label}"), value)
        if rep.header_row:
            # the headers are the uploaded file's own words
            st.caption(tr("upload.header_row", row=rep.header_row, columns=md_escape(", ".join(
                f"{h} → {c}" for h, c in rep.columns.items()))))
        if len(rep.problems):
            table = _problems_table(rep)
            st.dataframe(table, hide_index=True, width="stretch")
            if rep.problems_total > len(rep.problems):
                st.caption(tr("upload.problems_truncated", shown=len(rep.problems), total=rep.problems_total))
            widgets.download_table(table, f"problems_{up.name.rsplit('.', 1)[0]}", key="upload_problems")

        if not rep.ok:
            st.error(tr("upload.rejected", rows=rep.rejected), icon=":material/block:")
        else:
            force = False
            if rep.duplicate_of is not None:
                st.warning(tr("upload.duplicate", batch=rep.duplicate_of), icon=":material/content_copy:")
                force = st.checkbox(tr("upload.force"), key=f"upload_force_{nonce}")
            if len(rep.warnings) and rep.duplicate_of is None:
                st.warning(tr("upload.has_warnings", n=len(rep.warnings)), icon=":material/warning:")
            buttons = st.container(horizontal=True, gap="small")
            commit = buttons.button(tr("upload.commit"), type="primary", key="upload_commit",
                               disabled=rep.duplicate_of is not None and not force)
            cancel = buttons.button(tr("upload.cancel"), key="upload_cancel")
            if cancel:
                st.session_state["upload_nonce"] = nonce + 1
                st.session_state.pop("upload_dry_key", None)
                st.rerun()
            if commit:
                with st.spinner(tr("upload.committing")):
                    done = ingest.import_file(store, data, kind, file_name=up.name, sheet=sheet, user=user.username,
                                              dry_run=False, allowed_units=units, force=force)
                if done.status == "committed":
                    st.session_state["upload_flash"] = tr("upload.committed", batch=done.batch_id,
                                                          inserted=done.inserted, updated=done.updated)
                    st.session_state["upload_nonce"] = nonce + 1
                    st.session_state.pop("upload_dry_key", None)
                    st.rerun()
                else:
                    st.session_state["upload_dry"] = done
                    st.error(tr("upload.rejected", rows=done.rejected), icon=":material/block:")

if flash := st.session_state.pop("upload_flash", None):
    st.success(flash, icon=":material/check_circle:")

# -- history ---------------------------------------------------------------------------
st.subheader(tr("upload.history"))
hist = ingest.batches(store)
if units is not None:  # a project office sees its own uploads and those of its regions' offices and akimats
    hist = hist[(hist["uploaded_by"] == user.username) | hist["uploaded_by"].isin(units)]
if hist.empty:
    st.info(tr("upload.no_batches"), icon=":material/inbox:")
else:
    shown = pd.DataFrame({
        tr("upload.col_batch"): hist["batch_id"],
        tr("upload.col_kind"): [_kind_label(k) for k in hist["kind"]],
        tr("upload.col_file"): hist["file_name"],
        tr("upload.col_by"): hist["uploaded_by"],
        tr("upload.col_at"): hist["uploaded_at"].dt.strftime("%d.%m.%Y %H:%M"),
        tr("upload.count_inserted"): hist["rows_inserted"],
        tr("upload.count_updated"): hist["rows_updated"],
        tr("upload.count_unchanged"): hist["rows_unchanged"],
        tr("upload.col_status"): [tr(f"upload.status_{s}") for s in hist["status"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    widgets.download_table(shown, "upload_batches", key="upload_batches")

    if can(user, "rollback"):
        committed = hist.loc[hist["status"] == "committed", "batch_id"].tolist()
        if committed:
            st.subheader(tr("upload.rollback"))
            r1, r2 = st.columns([2, 3])
            bid = r1.selectbox(tr("upload.rollback_batch"), committed, key="upload_rb_batch")
            sure = r2.checkbox(tr("upload.rollback_confirm", batch=bid), key=f"upload_rb_sure_{bid}")
            if st.button(tr("upload.rollback_button"), disabled=not sure, key="upload_rb_go"):
                try:
                    res = ingest.rollback(store, int(bid), user=user.username)
                except ingest.RollbackRefused:
                    later = ingest.blocking_batches(store.cursor(), int(bid))
                    st.error(tr("upload.rollback_refused", batch=bid, later=", ".join(map(str, later)))
                             if later else tr("upload.rollback_already", batch=bid))
                else:
                    st.session_state["upload_flash"] = tr("upload.rolled_back", batch=bid,
                                                          restored=res["restored"], deleted=res["deleted"])
                    st.rerun()
