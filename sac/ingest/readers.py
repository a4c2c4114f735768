"""Files into DuckDB: CSV (UTF-8, UTF-8 with BOM, Windows-1251), XLSX, Parquet.

Every reader leaves a temporary table of VARCHAR cells ``c0 .. cN`` plus ``_row``, the
row number as Excel (or a text editor) shows it, header offset included, and returns
the headers as written in the file and the header's own row number. The header row is
found by scanning the first :data:`HEADER_SCAN_ROWS` rows for the one whose cells name
the most known columns, so merged title rows above it are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

HEADER_SCAN_ROWS = 15


class FileProblem(ValueError):
    """The file as a whole cannot be read (not the format, no header row, empty)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class RawTable:
    name: str               # temp table: _row BIGINT, c0..cN VARCHAR
    headers: list[str]      # as written in the file
    header_row: int         # 1-based row number of the header
    sheet: str | None = None


def detect_format(file_name: str, data: bytes) -> str:
    """'xlsx' | 'parquet' | 'csv' from the magic bytes, then the extension."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:2] == b"PK":
        return "xlsx"
    ext = Path(file_name).suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext == ".parquet":
        return "parquet"
    return "csv"


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 with a BOM (Excel's "Unicode text"), UTF-8 (BOM stripped) when it decodes,
    else Windows-1251 (which decodes any byte string: the last resort)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251"), "cp1251"


def _best_header(rows: list[list[str]], score: Callable[[list[str]], int]) -> int:
    best, best_i = 0, -1
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        s = score(cells)
        if s > best:
            best, best_i = s, i
    if best_i < 0:
        raise FileProblem("no_header", f"no header row with known column names in the first {HEADER_SCAN_ROWS} rows")
    return best_i


def _sniff_delimiter(lines: list[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in (";", ",", "\t", "|")}
    return max(counts, key=lambda d: counts[d])


HEAD_BYTES = 200_000   # the start of a file decoded to find its header row and delimiter


def _head(data: bytes) -> tuple[str, str, str | None]:
    """(the first :data:`HEAD_BYTES` as text, cut at a line end; the file's encoding; the whole text when it
    had to be decoded). A UTF-8 file whose body past the head is plain ASCII (codes and numbers) is known
    to be UTF-8 without decoding it all: DuckDB reads it itself."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # not UTF-16
        bom = data.startswith(b"\xef\xbb\xbf")
        head = data[3 if bom else 0:HEAD_BYTES]
        if len(data) > HEAD_BYTES and b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and (len(data) <= HEAD_BYTES or data[len(head) + (3 if bom else 0):].isascii()):
            return text, "utf-8-sig" if bom else "utf-8", None
    full, enc = decode(data)
    return full[:HEAD_BYTES], enc, full


def read_csv(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score, path: str | None = None) -> RawTable:
    """A CSV into ``table``. ``path`` (the same bytes on disk) lets DuckDB read a UTF-8 file directly."""
    head, enc, text = _head(data)
    # DuckDB skips blank lines, which would shift row numbers: such files are copied with the blank lines
    # turned into rows of empty cells. So are files in other encodings, and bytes without a path.
    direct = enc in ("utf-8", "utf-8-sig") and path is not None and b"\n\n" not in data and b"\n\r\n" not in data
    if direct:
        return _load_csv(cur, table, path, head, score)
    if text is None:
        text, enc = decode(data)
    delim = _sniff_delimiter(head.splitlines()[: HEADER_SCAN_ROWS + 1])
    blank = re.compile(r"(?m)^[ \t]*\r?$\n?")
    fixed = blank.sub(lambda m: delim + ("\r\n" if "\r" in m.group(0) else "\n"), text)
    if fixed and not fixed.endswith("\n") and text.endswith("\n"):
        fixed += "\n"
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(fixed)
        return _load_csv(cur, table, tmp, head, score)
    finally:
        os.unlink(tmp)


def _load_csv(cur: duckdb.DuckDBPyConnection, table: str, path: str, head_text: str, score) -> RawTable:
    """The UTF-8 file ``path`` into ``table``; ``head_text``: its start, decoded (header row and delimiter)."""
    head = head_text.splitlines()[: HEADER_SCAN_ROWS + 1]
    delim = _sniff_delimiter(head)
    rows = list(csv.reader(head[:HEADER_SCAN_ROWS], delimiter=delim))
    hi = _best_header(rows, score)
    headers = [h.strip() for h in rows[hi]]
    names = [f"c{i}" for i in range(len(headers))] + [f"x{i}" for i in range(8)]
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_src AS SELECT * FROM read_csv(?, header = false, skip = ?, "
            "delim = ?, quote = '\"', null_padding = true, "
            "auto_detect = false, columns = ?, strict_mode = false)",
            [path, hi + 1, delim, {n: "VARCHAR" for n in names}],
        )
    except duckdb.Error as e:
        raise FileProblem("unreadable", f"CSV: {e}") from e
    cols = ", ".join(f"c{i}" for i in range(len(headers)))
    # rowid follows insertion (= file) order; inside a transaction it starts at a large offset, hence min(rowid).
    # A view, not a copy: a million rows are not materialised twice.
    base = cur.execute(f"SELECT min(rowid) FROM {table}_src").fetchall()[0][0] or 0
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT CAST(rowid - {base} + {hi + 2} AS BIGINT) AS _row, "
                f"{cols} FROM {table}_src")
    return RawTable(table, headers, hi + 1)


def _cell_text(value, number_format: str | None = None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if number_format and "%" in number_format:
            value = value * 100  # a cell formatted as 12.5% holds 0.125: keep the percent units it shows
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    return str(value)


def sheet_names(data: bytes) -> list[str]:
    """The sheets of a workbook, in order (empty when the bytes are not a readable workbook)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # not a workbook: the importer reports it
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_xlsx(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score, sheet: str | None = None) -> RawTable:
    """The first sheet (or ``sheet``) of a workbook into ``table``."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a broken file
        raise FileProblem("unreadable", f"XLSX: {e}") from e
    try:
        if sheet:
            if sheet not in wb.sheetnames:
                raise FileProblem("no_sheet", f"no sheet named {sheet!r}; the sheets are {wb.sheetnames}")
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        rows: list[list[str | None]] = []
        for r in ws.iter_rows():
            rows.append([_cell_text(c.value, getattr(c, "number_format", None)) for c in r])
    finally:
        wb.close()
    hi = _best_header([[c or "" for c in r] for r in rows], score)
    headers = [(h or "").strip() for h in rows[hi]]
    while headers and not headers[-1]:
        headers.pop()
    n = len(headers)
    body = [(r + [None] * n)[:n] for r in rows[hi + 1:]]
    frame = pd.DataFrame(body, columns=[f"c{i}" for i in range(n)], dtype=object)
    frame.insert(0, "_row", range(hi + 2, hi + 2 + len(body)))
    _register(cur, frame, table)
    return RawTable(table, headers, hi + 1, ws.title)


def read_parquet(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score) -> RawTable:
    """A Parquet file into ``table``; the header is row 1, the first record row 2 (as in a spreadsheet)."""
    fd, tmp = tempfile.mkstemp(suffix=".parquet")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        names = [r[0] for r in cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [tmp]).fetchall()]
        cols = ", ".join(f'CAST("{n}" AS VARCHAR) AS c{i}' for i, n in enumerate(names))
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT CAST(file_row_number + 2 AS BIGINT) AS _row, "
                    f"{cols} FROM read_parquet(?, file_row_number = true)", [tmp])
    except duckdb.Error as e:
        raise FileProblem("unreadable", f"Parquet: {e}") from e
    finally:
        os.unlink(tmp)
    if score(names) == 0:
        raise FileProblem("no_header", "no known column names in the Parquet file")
    return RawTable(table, names, 1)


def _register(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str) -> None:
    view = f"{table}_frame"
    cur.register(view, frame)
    try:
        cols = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in frame.columns if c != "_row")
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT CAST(_row AS BIGINT) AS _row"
                    f"{', ' if cols else ''}{cols} FROM {view} ORDER BY _row")
    finally:
        cur.unregister(view)
