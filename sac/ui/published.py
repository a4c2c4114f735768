"""The upload page's second way in: a published table as it is (regions down, years or quarters across).

The user drops the Bureau's workbook, sees what :mod:`sac.ingest.wide` understood (sheet, block, header
rows, periods, the unit of every row, the totals row, cells not reported), picks the indicator or creates
its passport right there, reads the dry run, and confirms once; the mapping can be saved as a profile,
which is offered again when a file of the same layout arrives.
"""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import streamlit as st

from sac import ingest
from sac.i18n import name_column
from sac.ingest import profiles, readers, wide
from sac.ingest.readers import FileProblem
from sac.ingest.units import UnitLookup
from sac.ui.lang import lang, tr
from sac.ui.text import md_escape


def _indicators(store) -> pd.DataFrame:
    return store.df(f"SELECT indicator_id, {name_column(lang())} AS name, periodicity FROM indicators "
                    "ORDER BY indicator_id")


def _unit_names(store) -> dict[str, str]:
    return dict(store.cursor().execute(f"SELECT kato, {name_column(lang())} FROM regions").fetchall())


def _read(data: bytes, name: str, sheet: str | None) -> wide.Grid:
    """The sheet's cells, read once per file and sheet (a widget change reruns the page, not the reader)."""
    key = ("table_grid", hashlib.sha256(data).hexdigest(), sheet)
    held = st.session_state.get("table_grid")
    if held is None or held[0] != key:
        held = (key, wide.read_grid(data, name, sheet))
        st.session_state["table_grid"] = held
    return held[1]


def _rows_table(store, layout: wide.Layout, block: wide.Block, lookup: UnitLookup,
                spans: dict[str, wide.FormerSpan]) -> pd.DataFrame:
    """Row, the name as written, the unit it was read as, and its status (``spans``: the years of a row that are
    a former unit's, :func:`sac.ingest.wide.former_spans`)."""
    names = _unit_names(store)
    recs = []
    totals = {r for r, _ in block.totals}
    for r, name in sorted(block.rows + block.totals):
        code = lookup.resolve(name, allow_orgs=False)
        if r in totals:
            unit, status = "", tr("upload.status_total")
        elif code and name in spans:
            span = spans[name]
            former = lookup.names.get((span.unit, lang())) or lookup.names.get((span.unit, "ru")) or span.unit
            years = (f"{span.first}–{span.last}" if span.note else tr("upload.status_before", year=span.last + 1))
            unit = f"{names.get(code, code)} ({code})"
            status = tr("upload.status_unit_part_former", years=years, former=former)
        elif code:
            unit, status = f"{names.get(code, code)} ({code})", tr("upload.status_unit")
        elif lookup.resolve(name, allow_orgs=False, include_former=True):
            unit, status = "", tr("upload.status_former")
        else:
            closest = ", ".join(lookup.suggest(name))
            unit, status = "", tr("upload.status_unknown") + (f": {closest}" if closest else "")
        recs.append({tr("upload.col_row"): r, tr("upload.col_name_written"): name, tr("upload.col_unit"): unit,
                     tr("upload.col_status"): status})
    return pd.DataFrame(recs)


def _new_passport(store, user, key: str) -> str | None:
    """A form for a new indicator's passport; returns its code once created."""
    with st.form(f"{key}_passport"):
        c1, c2 = st.columns(2)
        code = c1.text_input(tr("upload.passport_code"), max_chars=40)
        unit = c2.text_input(tr("upload.passport_unit"), max_chars=60)
        name_en = st.text_input(tr("upload.passport_name_en"), max_chars=300)
        name_ru = st.text_input(tr("upload.passport_name_ru"), max_chars=300)
        name_kk = st.text_input(tr("upload.passport_name_kk"), max_chars=300)
        c3, c4, c5 = st.columns(3)
        periodicity = c3.selectbox(tr("upload.passport_periodicity"), ["year", "quarter", "month"],
                                   format_func={v: tr(f"upload.periodicity_{v}") for v in ("year", "quarter", "month")}.get)
        direction = c4.selectbox(tr("upload.passport_direction"), ["up", "down"],
                                 format_func={v: tr(f"upload.direction_{v}") for v in ("up", "down")}.get)
        aggregation = c5.selectbox(tr("upload.passport_aggregation"), ["sum", "mean", "none"],
                                   format_func={v: tr(f"upload.aggregation_{v}") for v in ("sum", "mean", "none")}.get)
        c6, c7 = st.columns(2)
        lo = c6.number_input(tr("upload.passport_min"), value=None)
        hi = c7.number_input(tr("upload.passport_max"), value=None)
        if not st.form_submit_button(tr("upload.passport_create"), type="primary"):
            return None
    if not code.strip() or not (name_en.strip() or name_ru.strip() or name_kk.strip()):
        st.error(tr("upload.passport_incomplete"))
        return None
    # the passport goes in through the importer: validated, audited, a batch that rolls back
    frame = pd.DataFrame([{"code": code.strip(), "name_en": name_en.strip() or None, "name_ru": name_ru.strip() or None,
                           "name_kk": name_kk.strip() or None, "unit_of_measure": unit.strip() or None,
                           "periodicity": periodicity, "direction": direction, "aggregation": aggregation,
                           "minimum": lo, "maximum": hi}])
    buf = io.BytesIO()
    frame.to_csv(buf, sep=";", index=False)
    rep = ingest.import_file(store, buf.getvalue(), "indicators", file_name=f"passport_{code.strip()}.csv",
                             user=user.username, dry_run=False)
    if rep.status != "committed":
        st.error(tr("upload.passport_refused", reasons=md_escape("; ".join(rep.errors["message"].astype(str).head(3)))))
        return None
    return code.strip()


def render(store, user, units: set[str] | None, nonce: int, problems_table) -> None:
    """The published-table flow. ``problems_table(report)``: the page's own problems table builder."""
    up = st.file_uploader(tr("upload.table_file"), type=["xlsx", "xls", "csv"], key=f"table_file_{nonce}")
    if up is None:
        st.caption(tr("upload.table_help"))
        return
    data = up.getvalue()
    try:
        sheets = readers.sheet_names(data) if readers.detect_format(up.name, data) == "xlsx" else []
        sheet = None
        if len(sheets) > 1:
            sheet = st.selectbox(tr("upload.sheet"), sheets, key=f"table_sheet_{nonce}")
        grid = _read(data, up.name, sheet)
        if len(grid.sheets) > 1 and not sheets:  # a legacy .xls with several sheets
            sheet = st.selectbox(tr("upload.sheet"), grid.sheets, key=f"table_sheet_{nonce}")
            grid = _read(data, up.name, sheet)
    except FileProblem as e:
        st.error(tr(f"upload.problem_{e.code}", column="", value=md_escape(e)), icon=":material/block:")
        return
    cur = store.cursor()
    try:
        lookup = UnitLookup.load(cur)
    finally:
        cur.close()
    layout = wide.understand(grid, wide.resolver(lookup))
    if not layout.blocks:
        st.error(tr("upload.table_no_layout"), icon=":material/block:")
        return
    matches = profiles.matching(store, layout)
    names = [b.name for b in layout.blocks]
    default_block = (matches[0].block if matches and matches[0].block in names else layout.block().name)
    block_name = default_block
    if len(names) > 1:
        block_name = st.selectbox(tr("upload.table_block"), names, index=names.index(default_block),
                                  key=f"table_block_{nonce}")
    block = layout.block(block_name) if block_name in names else layout.block()
    periods = sorted(block.periods.values())
    # the choices below belong to this sheet and block: another one starts them afresh (and offers its profile)
    sk = f"{nonce}_{profiles.fingerprint(layout)[:8]}_{names.index(block.name)}"

    st.subheader(tr("upload.table_understood"))
    if layout.title:
        st.text(tr("upload.table_title", title=layout.title))  # the file's own words: text, never markup
    st.text(tr("upload.table_shape", rows=", ".join(map(str, block.header_rows)), first=periods[0], last=periods[-1],
               n=len(periods), units=len(block.rows), totals=len(block.totals)))
    marks = {m for _, n in block.rows if (m := wide.name_mark(n))}
    notes = wide.workbook_notes(data, up.name, layout.grid, marks) if marks else []
    st.dataframe(_rows_table(store, layout, block, lookup, wide.former_spans(block, lookup, notes)), hide_index=True,
                 width="stretch")

    inds = _indicators(store)
    may_create = units is None  # a passport is reference data: analysts and admins
    options = ["__new__"] if may_create else []
    options += inds["indicator_id"].tolist()
    label = dict(zip(inds["indicator_id"], inds["indicator_id"] + " — " + inds["name"].astype(str), strict=True))
    label["__new__"] = tr("upload.indicator_new")
    if matches:
        st.info(tr("upload.table_profile_matches", name=md_escape(matches[0].name)), icon=":material/bookmark:")
    default = matches[0].indicator_id if matches and matches[0].indicator_id in options else None
    # a passport just created is chosen (set before the widget exists: Streamlit refuses it afterwards)
    if (pending := st.session_state.pop(f"table_pending_{sk}", None)) in options:
        st.session_state[f"table_indicator_{sk}"] = pending
    chosen = st.selectbox(tr("upload.table_indicator"), options, format_func=lambda v: label.get(v, v),
                          index=options.index(default) if default else None,
                          placeholder=tr("upload.table_indicator_pick"), key=f"table_indicator_{sk}")
    if chosen == "__new__":
        created = _new_passport(store, user, f"table_{sk}")
        if created:
            st.session_state[f"table_pending_{sk}"] = created
            st.rerun()
        return
    if not chosen:
        return
    document = st.text_input(tr("upload.table_document"), value=matches[0].source_document if matches else "",
                             max_chars=300, key=f"table_document_{sk}")
    key = ("table", up.file_id if hasattr(up, "file_id") else up.name, sheet, block.name, chosen, document,
           store.data_version())
    if st.session_state.get("table_dry_key") != key:
        with st.spinner(tr("upload.checking")):
            try:
                st.session_state["table_dry"] = wide.import_wide(
                    store, data, chosen, file_name=up.name, sheet=sheet, block=block.name, source_document=document,
                    user=user.username, allowed_units=units)
            except FileProblem as e:
                st.error(tr(f"upload.problem_{e.code}", column="", value=md_escape(e)))
                return
        st.session_state["table_dry_key"] = key
    w: wide.WideReport = st.session_state["table_dry"]
    rep = w.report
    st.subheader(tr("upload.dry_run"))
    m = st.columns(4)
    for col, (lab, value) in zip(m, [("inserted", rep.inserted), ("updated", rep.updated),
                                     ("unchanged", rep.unchanged), ("not_reported", rep.not_reported)], strict=True):
        col.metric(tr(f"upload.count_{lab}"), value)
    tc = w.totals_check
    if len(tc):
        off = tc[tc["difference"].abs() > 0.01 * tc["published"].abs().clip(lower=1)]
        (st.success if off.empty else st.warning)(
            tr("upload.table_totals", agree=len(tc) - len(off), n=len(tc)))
    if len(rep.problems):
        st.dataframe(problems_table(rep), hide_index=True, width="stretch")
    if not rep.ok:
        st.error(tr("upload.rejected", rows=rep.rejected), icon=":material/block:")
        return
    force = False
    if rep.duplicate_of is not None:
        st.warning(tr("upload.duplicate", batch=rep.duplicate_of), icon=":material/content_copy:")
        force = st.checkbox(tr("upload.force"), key=f"table_force_{sk}")
    profile_name = st.text_input(tr("upload.table_profile_name"), value=matches[0].name if matches else "",
                                 max_chars=80, key=f"table_profile_{sk}")
    if st.button(tr("upload.commit"), type="primary", key="table_commit",
                 disabled=rep.duplicate_of is not None and not force):
        if profile_name.strip():
            try:
                profiles.check_name(profile_name)
            except ValueError:
                st.error(tr("upload.table_profile_bad"))
                return
        with st.spinner(tr("upload.committing")):
            done = wide.import_wide(store, data, chosen, file_name=up.name, sheet=sheet, block=block.name,
                                    source_document=document, user=user.username, dry_run=False,
                                    allowed_units=units, force=force)
        if done.report.status != "committed":
            st.session_state["table_dry"] = done
            st.error(tr("upload.rejected", rows=done.report.rejected), icon=":material/block:")
            return
        if profile_name.strip():
            profiles.save(store, user.username, profile_name, chosen, layout, sheet=sheet, block=block.name,
                          source_document=document)
        st.session_state["upload_flash"] = tr("upload.committed", batch=done.report.batch_id,
                                              inserted=done.report.inserted, updated=done.report.updated)
        st.session_state["upload_nonce"] = nonce + 1
        st.session_state.pop("table_dry_key", None)
        st.rerun()
