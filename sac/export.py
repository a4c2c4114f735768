"""Table exports: CSV that Excel opens in Cyrillic, and formatted XLSX.

Pure (no streamlit): pages call these through ``sac.ui.widgets.download_table``.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so that Excel opens Russian and Kazakh text correctly; missing stays empty."""
    return df.to_csv(index=False).encode("utf-8-sig")


def _number_format(series: pd.Series, column: str) -> str | None:
    name = column.lower()
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        return "#,##0"
    if pd.api.types.is_float_dtype(series):
        if name.endswith("%") or "pct" in name or "share" in name or "%" in name:
            return "0.0"
        return "#,##0.0##"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "dd.mm.yyyy"
    return None


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "data", title: str | None = None,
                  note: str | None = None) -> bytes:
    """A formatted workbook: optional title and note rows, bold frozen header, grouped numbers,
    dd.mm.yyyy dates, widths fitted to content, an autofilter. Missing values are empty cells."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    row = 1
    if title:
        ws.cell(row=row, column=1, value=title).font = Font(bold=True, size=13)
        row += 1
    if note:
        ws.cell(row=row, column=1, value=note).font = Font(italic=True, color="555555")
        row += 1
    if title or note:
        row += 1
    header_row = row
    for j, col in enumerate(df.columns, start=1):
        c = ws.cell(row=header_row, column=j, value=str(col))
        c.font = Font(bold=True)
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    formats = {col: _number_format(df[col], str(col)) for col in df.columns}
    for i, values in enumerate(df.itertuples(index=False), start=header_row + 1):
        for j, (col, v) in enumerate(zip(df.columns, values, strict=True), start=1):
            if v is None or (not isinstance(v, str) and pd.isna(v)) if not isinstance(v, list | dict | tuple) else False:
                continue
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif hasattr(v, "item") and not isinstance(v, str):
                v = v.item()
            if isinstance(v, list | dict | tuple):
                v = str(v)
            cell = ws.cell(row=i, column=j, value=v)
            if formats[col]:
                cell.number_format = formats[col]
    for j, col in enumerate(df.columns, start=1):
        sample = [len(str(col))] + [len(str(x)) for x in df[col].head(200).tolist()]
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, max(sample) + 2))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if len(df.columns):
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(df.columns))}{header_row + max(len(df), 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
