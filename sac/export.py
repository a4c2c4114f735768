"""Table exports: CSV that Excel opens in Cyrillic, and formatted XLSX; text stays text, numbers stay numbers.

Pure (no streamlit): pages call these through ``sac.ui.widgets.download_table``.

Formula injection (OWASP "CSV Injection", ASVS 5 requirement 1.2.10). Exported tables carry text other
people typed (a user name tried at the sign-in form lands in the admin's audit log), and a spreadsheet runs a
cell that starts with ``=`` (or ``+ - @``) as a formula: ``=HYPERLINK(…)`` leaks data, ``=cmd|' /C calc'!A0``
runs a program through DDE. So, in both files:

- a *text* cell is **dangerous** when its first character is one of ``= + - @``, tab, CR, LF or NUL (OWASP's
  list, ASVS's NUL, and LF for good measure), or when that is the first character after leading whitespace
  (spreadsheets may trim it: LibreOffice's "trim spaces" import option, a user's TRIM). The full-width
  ``＝ ＋ － ＠`` (U+FF1D, U+FF0B, U+FF0D, U+FF20) count too: no spreadsheet we know of evaluates them on
  import, but a Japanese-locale input method turns a typed ``＝`` into ``=``, and the cost is one apostrophe on
  text no data here starts with;
- a dangerous text cell is written with a single quote in front (``'=HYPERLINK(…)``), as OWASP recommends.
  Nothing else in the text changes, so the original is the cell without its first character;
- the rule covers every text the file carries: cells, column headers (they can come from data: a pivot on
  names), and in XLSX the title and note rows;
- **numbers are never touched**: -5 is the number -5 in both files (only text is neutralised), missing stays
  an empty cell, never 0. Booleans, dates and numbers inside an object column stay what they are.

CSV: every text field is enclosed in double quotes with inner quotes doubled (RFC 4180; pandas'
``QUOTE_NONNUMERIC``), numbers are bare. A separator or a quote inside text (``x,=1+1``) therefore cannot
start a new cell in any reader that honours RFC 4180 quoting. What we do not do: insert apostrophes in the
*middle* of text. A program that ignores the quotes, or splits on a separator other than the comma without
honouring them, can still cut a cell in two; OWASP's only complete answer (an apostrophe before every cell)
would show on every value. The XLSX download has no such weakness and is the one to open in Excel.

XLSX: every ``str`` is written as a text cell (``data_type 's'``): openpyxl would otherwise store a string
that starts with ``=`` as a formula and ``#N/A`` as an error. The apostrophe is added as in the CSV, although a
text cell cannot run, for two reasons: the same value reads the same in both downloads, and a text cell
``=…`` turns into a live formula as soon as someone edits it (F2, Enter) or saves the sheet as CSV; ``'=…``
does not. Characters XML 1.0 cannot carry (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF) become U+FFFD:
openpyxl refuses the first (the download failed) and writes an unreadable file with the others. CR and CRLF
are stored as LF, which is what any XML reader (Excel included) would make of them anyway. Sheet names are
never evaluated; characters Excel refuses in them (``[ ] : * ? / \\``, a leading or trailing ``'``) are dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import numbers
import re

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")

#: first characters that make a text cell a formula (or that a spreadsheet may strip in front of one)
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0" "\uff1d\uff0b\uff0d\uff20")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
# values of an object column that are not text and are written as they are
_NOT_TEXT = (numbers.Number, np.bool_, decimal.Decimal, dt.date, dt.datetime, dt.time, dt.timedelta, np.datetime64,
             np.timedelta64, pd.Timestamp, pd.Timedelta)


def is_dangerous(text: str) -> bool:
    """True when a spreadsheet could take ``text`` for a formula (see the module docstring)."""
    return bool(text) and (text[0] in FORMULA_TRIGGERS or text.lstrip()[:1] in FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """``text`` with a ``'`` in front when it is dangerous, else unchanged."""
    return "'" + text if is_dangerous(text) else text


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float | np.floating) and np.isnan(v))
    except TypeError:
        return False


def _cell_text(v):
    """A cell of an object / string column: text neutralised, numbers, dates and missing left alone, anything
    else (lists, dicts) as its text, neutralised."""
    if isinstance(v, str):
        return neutralise(v)
    if _missing(v) or isinstance(v, _NOT_TEXT):
        return v
    return neutralise(str(v))


def _text_columns(df: pd.DataFrame) -> list[int]:
    return [j for j in range(df.shape[1])
            if not (pd.api.types.is_numeric_dtype(df.iloc[:, j]) or pd.api.types.is_bool_dtype(df.iloc[:, j])
                    or pd.api.types.is_datetime64_any_dtype(df.iloc[:, j])
                    or pd.api.types.is_timedelta64_dtype(df.iloc[:, j]))]


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised; numeric, boolean and date columns
    are the same objects (dtypes kept)."""
    out = df.copy(deep=False)
    out.columns = [neutralise(str(c)) for c in df.columns]
    for j in _text_columns(df):
        col = df.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        out.isetitem(j, pd.Series([_cell_text(v) for v in col.tolist()], index=df.index, dtype=object))
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so that Excel opens Russian and Kazakh text correctly; missing stays empty; text in
    double quotes and neutralised, numbers bare (see the module docstring)."""
    return safe_frame(df).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def _xlsx_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", neutralise(text).replace("\r\n", "\n").replace("\r", "\n"))


def _text_cell(ws, row: int, column: int, text: str):
    """A cell holding ``text`` as text, never a formula or an error value."""
    cell = ws.cell(row=row, column=column, value=_xlsx_text(text))
    cell.data_type = "s"
    return cell


def sheet_title(name: str) -> str:
    """``name`` as a sheet name Excel accepts (31 characters, none of ``[]:*?/\\``, no ``'`` at either end)."""
    title = _XML_ILLEGAL.sub("", _SHEET_ILLEGAL.sub("", str(name)))[:31].strip("'")
    return title or "data"


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
    dd.mm.yyyy dates, widths fitted to content, an autofilter. Missing values are empty cells; text is
    written as text cells, neutralised (see the module docstring)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(sheet)
    row = 1
    if title:
        _text_cell(ws, row, 1, title).font = Font(bold=True, size=13)
        row += 1
    if note:
        _text_cell(ws, row, 1, note).font = Font(italic=True, color="555555")
        row += 1
    if title or note:
        row += 1
    header_row = row
    for j, col in enumerate(df.columns, start=1):
        c = _text_cell(ws, header_row, j, str(col))
        c.font = Font(bold=True)
        c.fill = HEADER_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
    formats = [_number_format(df.iloc[:, j], str(col)) for j, col in enumerate(df.columns)]
    for i, values in enumerate(df.itertuples(index=False, name=None), start=header_row + 1):
        for j, v in enumerate(values, start=1):
            if isinstance(v, list | dict | tuple | set):
                v = str(v)
            elif _missing(v):
                continue
            if isinstance(v, str):
                _text_cell(ws, i, j, v)
                continue
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif hasattr(v, "item"):
                v = v.item()
                if v is None:  # numpy's NaT
                    continue
            if not isinstance(v, bool | numbers.Number | decimal.Decimal | dt.date | dt.time | dt.timedelta):
                _text_cell(ws, i, j, str(v))
                continue
            cell = ws.cell(row=i, column=j, value=v)
            if formats[j - 1]:
                cell.number_format = formats[j - 1]
    for j, col in enumerate(df.columns, start=1):
        sample = [len(str(col))] + [len(str(x)) for x in df.iloc[:200, j - 1].tolist()]
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, max(sample) + 2))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if len(df.columns):
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(df.columns))}{header_row + max(len(df), 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
