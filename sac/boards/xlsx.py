"""The board as a workbook: a sheet about the board, then one sheet per section with its texts and tables.

Numbers stay numbers, dates are dates, text is a text cell neutralised as ``sac.export`` does for every download
(a project named ``=cmd|' /C calc'!A0`` is stored as the text ``'=cmd|…``, never a formula). A chart's data is
written as a small table (its label and value), so nothing in the PDF is missing from the workbook.
"""

from __future__ import annotations

import datetime as _dt
import io
import numbers

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from sac import export
from sac.boards.model import Bars, Board, Col, Link, Mark, Table, Text
from sac.boards.weeks import parse_week
from sac.i18n import t

_FORMATS = {"int": "#,##0", "pct": "0.0", "date": "dd.mm.yyyy"}


def _put(ws, row: int, col: int, value, c: Col | None = None):
    """One cell: text through sac.export's text cell (neutralised, never a formula), numbers and dates as such."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, Link):
        cell = export._text_cell(ws, row, col, value.text)
        cell.hyperlink = value.url      # a hyperlink is an attribute, not a formula
        cell.font = Font(color="005AA0", underline="single")
        return cell
    if isinstance(value, Mark):
        return export._text_cell(ws, row, col, value.text)
    if isinstance(value, bool) or not isinstance(value, numbers.Number | _dt.date):
        return export._text_cell(ws, row, col, str(value))
    cell = ws.cell(row=row, column=col, value=value)
    if c is not None:
        fmt = _FORMATS.get(c.kind)
        if c.kind == "num":
            fmt = "#,##0" + ("." + "0" * c.decimals if c.decimals else "")
        if fmt:
            cell.number_format = fmt
    return cell


def _table(ws, row: int, block: Table, widths: dict[int, float]) -> int:
    if block.title:
        export._text_cell(ws, row, 1, block.title).font = Font(bold=True)
        row += 1
    if not block.rows:
        if block.empty:
            export._text_cell(ws, row, 1, block.empty).font = Font(italic=True)
            row += 1
        return row + 1
    for j, c in enumerate(block.columns, start=1):
        cell = export._text_cell(ws, row, j, c.header)
        cell.font = Font(bold=True)
        cell.fill = export.HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        widths[j] = max(widths.get(j, 8), min(60, len(c.header) + 2))
    row += 1
    for values in block.rows:
        for j, (v, c) in enumerate(zip(values, block.columns, strict=True), start=1):
            cell = _put(ws, row, j, v, c)
            if cell is not None and isinstance(cell.value, str):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                widths[j] = max(widths.get(j, 8), min(60, max(len(x) for x in cell.value.split("\n")) + 2))
        row += 1
    if block.note:
        export._text_cell(ws, row, 1, block.note).font = Font(italic=True, color="555555")
        row += 1
    return row + 1


def _bars(ws, row: int, block: Bars, widths: dict[int, float]) -> int:
    export._text_cell(ws, row, 1, block.title).font = Font(bold=True)
    row += 1
    if block.stacked is not None:
        tones = [tone for tone, _ in (block.legend or [])]
        words = dict(block.legend or [])
        for j, h in enumerate([""] + [words.get(x, x) for x in tones], start=1):
            if h:
                export._text_cell(ws, row, j, h).font = Font(bold=True)
        row += 1
        for label, parts, _ in block.stacked:
            export._text_cell(ws, row, 1, label)
            by_tone = {tone: v for v, tone in parts}
            for j, tone in enumerate(tones, start=2):
                _put(ws, row, j, by_tone.get(tone))
            row += 1
    else:
        for b in block.bars:
            export._text_cell(ws, row, 1, b.label)
            if b.value is not None:
                ws.cell(row=row, column=2, value=round(float(b.value), 6))
            row += 1
        if block.reference is not None:
            export._text_cell(ws, row, 1, block.reference_label or "")
            ws.cell(row=row, column=2, value=round(float(block.reference), 6))
            row += 1
    widths[1] = max(widths.get(1, 8), 40)
    return row + 1


def render(board: Board, *, revision: int, built_at: _dt.datetime, built_by: str, content_hash: str) -> bytes:
    lang = board.language
    wb = Workbook()
    ws = wb.active
    ws.title = export.sheet_title(t("boards.sheet_about", lang))
    monday, sunday = parse_week(board.week)
    about = [
        (t("boards.doc_title", lang), f"{board.node_code} {board.node_name}" if board.node_code else board.node_name),
        (t("boards.meta_level", lang), t(f"boards.level_{board.node_level}", lang)),
        (t("boards.meta_week", lang), t("boards.meta_week_value", lang, week=board.week, monday=monday.strftime("%d.%m.%Y"),
                                        sunday=sunday.strftime("%d.%m.%Y"))),
        (t("boards.meta_as_of", lang), board.as_of),
        (t("boards.meta_period", lang), board.period),
        (t("boards.meta_budget_year", lang), board.budget_year),
        (t("boards.meta_versions", lang), t("boards.meta_versions_value", lang, data=board.data_version,
                                            method=board.methodology_version)),
        (t("boards.meta_built", lang), t("boards.meta_built_value", lang, at=built_at.strftime("%d.%m.%Y %H:%M"),
                                         by=built_by, revision=revision)),
        (t("boards.meta_hash", lang), content_hash),
    ]
    for i, (k, v) in enumerate(about, start=1):
        export._text_cell(ws, i, 1, k).font = Font(bold=True)
        cell = _put(ws, i, 2, v, Col("", "date") if isinstance(v, _dt.date) else None)
        if cell is not None and isinstance(v, _dt.date):
            cell.number_format = "dd.mm.yyyy"
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 80
    used = {ws.title}
    for i, sec in enumerate(board.sections, 1):
        name = export.sheet_title(f"{i} {sec.title}")
        while name in used:
            name = export.sheet_title(name[:28] + f" {i}")
        used.add(name)
        s = wb.create_sheet(name)
        export._text_cell(s, 1, 1, f"{i}. {sec.title}").font = Font(bold=True, size=13)
        row, widths = 3, {}
        for block in sec.blocks:
            if isinstance(block, Table):
                row = _table(s, row, block, widths)
            elif isinstance(block, Bars):
                row = _bars(s, row, block, widths)
            elif isinstance(block, Text):
                export._text_cell(s, row, 1, block.text).font = Font(italic=block.tone is None,
                                                                     color="A03C00" if block.tone else "333333")
                row += 2
        for j, w in widths.items():
            s.column_dimensions[get_column_letter(j)].width = w
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
