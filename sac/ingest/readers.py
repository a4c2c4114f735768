"""Files into DuckDB: CSV (UTF-8, UTF-8 with BOM, Windows-1251), XLSX, Parquet.

Every reader leaves a temporary table of VARCHAR cells ``c0 .. cN`` plus ``_row``, the
row number as Excel (or a text editor) shows it, header offset included, and returns
the headers as written in the file and the header's own row number. The header row is
found by scanning the first :data:`HEADER_SCAN_ROWS` rows for the one whose cells name
the most known columns, so merged title rows above it are skipped.

Every reader enforces :class:`Limits` before it materialises anything it cannot bound: the file's size,
rows, columns, a cell's length, a workbook's unpacked size and packing ratio (zip bombs), and the time
spent reading. Over a limit: :class:`FileProblem` with code ``limit`` and a message naming the limit (and
the row and column where one is to blame); the engine then writes nothing. Workbooks are streamed
(openpyxl read-only, dimensions reset so a lying ``<dimension>`` cannot pad every row to column XFD) and
reach DuckDB in chunks, never as one list of every cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from sac.sql import ident

HEADER_SCAN_ROWS = 15
XLSX_CHUNK_ROWS = 50_000   # rows of a workbook handed to DuckDB at a time


@dataclass(frozen=True)
class Limits:
    """What one uploaded file may hold. Defaults from the environment (``SAC_MAX_UPLOAD_MB``,
    ``SAC_MAX_ROWS``, ``SAC_MAX_COLUMNS``, ``SAC_MAX_READ_SECONDS``) read at each import."""
    max_bytes: int = 200 * 2**20           # the upload itself (Streamlit's own upload limit is 200 MB)
    max_rows: int = 5_000_000              # data rows (an XLSX sheet holds 1 048 576 at most anyway)
    max_columns: int = 1_000               # a wide published table has a few hundred at most
    max_cell_chars: int = 32_767           # Excel's own limit for one cell
    max_unpacked_bytes: int = 256 * 2**20  # all parts of a workbook, unpacked
    max_ratio: int = 100                   # unpacked / packed for a workbook part over 10 MB (zip bombs)
    max_parts: int = 10_000                # files inside a workbook
    max_shared_strings_bytes: int = 64 * 2**20  # openpyxl holds the shared-string table in memory
    max_seconds: float = 60.0              # reading (not validating) one file

    @classmethod
    def from_env(cls) -> Limits:
        env = os.environ

        def num(name: str, default, cast=int):
            try:
                return cast(env[name]) if env.get(name) else default
            except ValueError:
                return default

        d = cls()
        return cls(max_bytes=num("SAC_MAX_UPLOAD_MB", d.max_bytes // 2**20) * 2**20,
                   max_rows=num("SAC_MAX_ROWS", d.max_rows), max_columns=num("SAC_MAX_COLUMNS", d.max_columns),
                   max_seconds=num("SAC_MAX_READ_SECONDS", d.max_seconds, float))


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB"


def col_letter(i: int) -> str:
    """0 -> A, 26 -> AA (the column as a spreadsheet names it)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def check_size(data: bytes, limits: Limits) -> None:
    if len(data) > limits.max_bytes:
        raise FileProblem("limit", f"the file is {_mb(len(data))}; the limit is {_mb(limits.max_bytes)}")


def _check_columns(n: int, limits: Limits, row: int | None = None) -> None:
    if n > limits.max_columns:
        where = f"row {row} has" if row else "the header has"
        raise FileProblem("limit", f"{where} {_fmt(n)} columns; the limit is {_fmt(limits.max_columns)} columns")


class _Clock:
    def __init__(self, limits: Limits) -> None:
        self.limit = limits.max_seconds
        self.deadline = time.monotonic() + limits.max_seconds

    def check(self, row: int) -> None:
        if time.monotonic() > self.deadline:
            raise FileProblem("limit", f"reading the file took longer than {self.limit:g} s (stopped at row {row}); "
                                       "split it into smaller files")


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
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError as e:  # 0x98 is the one byte Windows-1251 leaves undefined
        line = data[: e.start].count(b"\n") + 1
        raise FileProblem("encoding", f"line {line}: byte 0x{data[e.start]:02X} is neither UTF-8 nor Windows-1251 "
                                      "text; save the file as CSV UTF-8") from None


def _best_header(rows: list[list[str]], score: Callable[[list[str]], int]) -> int:
    best, best_i = 0, -1
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        s = score(cells)
        if s > best:
            best, best_i = s, i
    if best_i < 0:
        raise FileProblem("no_header", f"no header row with known column names in the first {HEADER_SCAN_ROWS} rows")
    return best_i


def sniff_delimiter(lines: list[str]) -> str:
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


def read_csv(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score, path: str | None = None,
             limits: Limits | None = None) -> RawTable:
    """A CSV into ``table``. ``path`` (the same bytes on disk) lets DuckDB read a UTF-8 file directly."""
    limits = limits or Limits.from_env()
    check_size(data, limits)
    head, enc, text = _head(data)
    # DuckDB skips blank lines, which would shift row numbers: such files are copied with the blank lines
    # turned into rows of empty cells. So are files in other encodings, and bytes without a path.
    direct = enc in ("utf-8", "utf-8-sig") and path is not None and b"\n\n" not in data and b"\n\r\n" not in data
    if direct:
        return _load_csv(cur, table, path, head, score, limits)
    if text is None:
        text, enc = decode(data)
    delim = sniff_delimiter(head.splitlines()[: HEADER_SCAN_ROWS + 1])
    blank = re.compile(r"(?m)^[ \t]*\r?$\n?")
    fixed = blank.sub(lambda m: delim + ("\r\n" if "\r" in m.group(0) else "\n"), text)
    if fixed and not fixed.endswith("\n") and text.endswith("\n"):
        fixed += "\n"
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(fixed)
        return _load_csv(cur, table, tmp, head, score, limits)
    finally:
        os.unlink(tmp)


def _line_limit(limits: Limits) -> int:
    """DuckDB's longest line in bytes: every cell at its limit would need more, but a line this long is
    already no table a person made (four bytes a character, a few cells at the cell limit)."""
    return max(2 * 2**20, 8 * limits.max_cell_chars)


def clean_error(e: BaseException) -> str:
    """An engine's message without the temporary file's path."""
    return re.sub(r"(/[\w.\-]+)+", "<file>", str(e).splitlines()[0] if str(e) else type(e).__name__)[:300]


def _load_csv(cur: duckdb.DuckDBPyConnection, table: str, path: str, head_text: str, score,
              limits: Limits) -> RawTable:
    """The UTF-8 file ``path`` into ``table``; ``head_text``: its start, decoded (header row and delimiter)."""
    head = head_text.splitlines()[: HEADER_SCAN_ROWS + 1]
    delim = sniff_delimiter(head)
    try:
        rows = list(csv.reader(head[:HEADER_SCAN_ROWS], delimiter=delim))
    except csv.Error as e:  # a field over csv's own limit (128 KB), a NUL byte
        raise FileProblem("limit", f"the first {HEADER_SCAN_ROWS} rows cannot be read as CSV: {e}") from None
    for r, cells in enumerate(rows, start=1):
        _check_columns(len(cells), limits, r)
        for j, c in enumerate(cells):
            if len(c) > limits.max_cell_chars:
                raise FileProblem("limit", f"row {r}, column {col_letter(j)}: a cell of {_fmt(len(c))} characters; "
                                           f"the limit is {_fmt(limits.max_cell_chars)}")
    hi = _best_header(rows, score)
    headers = [h.strip() for h in rows[hi]]
    names = [f"c{i}" for i in range(len(headers))] + [f"x{i}" for i in range(8)]
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_src AS SELECT * FROM read_csv(?, header = false, skip = ?, "
            "delim = ?, quote = '\"', null_padding = true, "
            "auto_detect = false, columns = ?, strict_mode = false, max_line_size = ?)",
            [path, hi + 1, delim, {n: "VARCHAR" for n in names}, _line_limit(limits)],
        )
    except duckdb.Error as e:
        raise FileProblem("unreadable", f"CSV: {clean_error(e)}") from None
    n_rows = cur.execute(f"SELECT count(*) FROM {table}_src").fetchall()[0][0]
    if n_rows > limits.max_rows:
        cur.execute(f"DROP TABLE IF EXISTS {table}_src")
        raise FileProblem("limit", f"the file has {_fmt(n_rows)} rows; the limit is {_fmt(limits.max_rows)} rows")
    cols = ", ".join(f"c{i}" for i in range(len(headers)))
    # rowid follows insertion (= file) order; inside a transaction it starts at a large offset, hence min(rowid).
    # A view, not a copy: a million rows are not materialised twice.
    base = cur.execute(f"SELECT min(rowid) FROM {table}_src").fetchall()[0][0] or 0
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT CAST(rowid - {base} + {hi + 2} AS BIGINT) AS _row, "
                f"{cols} FROM {table}_src")
    return RawTable(table, headers, hi + 1)


def cell_text(value, number_format: str | None = None) -> str | None:
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


def check_workbook(data: bytes, limits: Limits) -> None:
    """Refuse a workbook whose parts unpack past the limits (zip bombs) before any XML is parsed.

    Python's zip reader never inflates a part past its declared size, so the declared sizes bound what
    openpyxl can be made to hold."""
    check_size(data, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise FileProblem("unreadable", f"XLSX: not a readable workbook ({clean_error(e)})") from None
    if len(parts) > limits.max_parts:
        raise FileProblem("limit", f"the workbook has {_fmt(len(parts))} parts; the limit is {_fmt(limits.max_parts)}")
    total = sum(p.file_size for p in parts)
    if total > limits.max_unpacked_bytes:
        raise FileProblem("limit", f"the workbook unpacks to {_mb(total)}; the limit is "
                                   f"{_mb(limits.max_unpacked_bytes)}")
    for p in parts:
        if p.file_size > 10 * 2**20 and p.file_size > limits.max_ratio * max(p.compress_size, 1):
            raise FileProblem("limit", f"the workbook part {p.filename!r} unpacks {p.file_size // max(p.compress_size, 1)}"
                                       f" times its packed size (the limit is {limits.max_ratio}): a zip bomb")
        if p.filename.lower().endswith("sharedstrings.xml") and p.file_size > limits.max_shared_strings_bytes:
            raise FileProblem("limit", f"the workbook's text table is {_mb(p.file_size)}; the limit is "
                                       f"{_mb(limits.max_shared_strings_bytes)}")


def open_workbook(data: bytes, limits: Limits):
    import openpyxl

    check_workbook(data, limits)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a broken file
        raise FileProblem("unreadable", f"XLSX: not a readable workbook ({clean_error(e)})") from None


def sheet_names(data: bytes, limits: Limits | None = None) -> list[str]:
    """The sheets of a workbook, in order (empty when the bytes are not a readable workbook or break a limit:
    the importer then reports why)."""
    try:
        wb = open_workbook(data, limits or Limits.from_env())
    except FileProblem:
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def sheet_rows(ws, limits: Limits):
    """The sheet's rows as lists of cell texts, streamed, each checked against the limits."""
    clock = _Clock(limits)
    ws.reset_dimensions()  # a lying <dimension ref="A1:XFD1048576"> would pad every row to 16 384 cells
    for r, cells in enumerate(ws.iter_rows(), start=1):
        if r > limits.max_rows + 1:
            raise FileProblem("limit", f"the sheet has more than {_fmt(limits.max_rows)} rows; the limit is "
                                       f"{_fmt(limits.max_rows)} rows")
        if r % 1000 == 0:
            clock.check(r)
        while cells and cells[-1].value is None:  # trailing empty cells: formatting only
            cells = cells[:-1]
        _check_columns(len(cells), limits, r)
        out = []
        for j, c in enumerate(cells):
            v = c.value
            if isinstance(v, str) and len(v) > limits.max_cell_chars:
                raise FileProblem("limit", f"row {r}, column {col_letter(j)}: a cell of {_fmt(len(v))} characters; "
                                           f"the limit is {_fmt(limits.max_cell_chars)}")
            out.append(cell_text(v, getattr(c, "number_format", None)))
        yield out


def read_xlsx(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score, sheet: str | None = None,
              limits: Limits | None = None) -> RawTable:
    """The first sheet (or ``sheet``) of a workbook into ``table``, streamed in chunks."""
    limits = limits or Limits.from_env()
    wb = open_workbook(data, limits)
    try:
        if sheet:
            if sheet not in wb.sheetnames:
                raise FileProblem("no_sheet", f"no sheet named {sheet!r}; the sheets are {wb.sheetnames}")
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        title = ws.title
        rows = sheet_rows(ws, limits)
        head: list[list[str | None]] = []
        for cells in rows:
            head.append(cells)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        hi = _best_header([[c or "" for c in r] for r in head], score)
        headers = [(h or "").strip() for h in head[hi]]
        while headers and not headers[-1]:
            headers.pop()
        n = len(headers)
        cols = [f"c{i}" for i in range(n)]
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} (_row BIGINT"
                    f"{''.join(f', {c} VARCHAR' for c in cols)})")
        first = hi + 2  # the Excel row number of the first body row
        chunk: list[list[str | None]] = [(r + [None] * n)[:n] for r in head[hi + 1:]]
        for cells in rows:
            chunk.append((cells + [None] * n)[:n])
            if len(chunk) >= XLSX_CHUNK_ROWS:
                _append(cur, table, chunk, cols, first)
                first += len(chunk)
                chunk = []
        _append(cur, table, chunk, cols, first)
    except FileProblem:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        raise
    except Exception as e:  # a part that breaks mid-way (truncated XML, bad zip data): the file, not us
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        raise FileProblem("unreadable", f"XLSX: the workbook is damaged ({clean_error(e)})") from None
    finally:
        wb.close()
    return RawTable(table, headers, hi + 1, title)


def _append(cur: duckdb.DuckDBPyConnection, table: str, chunk: list[list[str | None]], cols: list[str],
            first: int) -> None:
    if not chunk:
        return
    frame = pd.DataFrame(chunk, columns=cols, dtype=object)
    frame.insert(0, "_row", range(first, first + len(chunk)))
    view = f"{table}_chunk"
    cur.register(view, frame)
    try:
        sel = "".join(f", CAST({c} AS VARCHAR)" for c in cols)
        cur.execute(f"INSERT INTO {table} SELECT CAST(_row AS BIGINT){sel} FROM {view}")
    finally:
        cur.unregister(view)


def read_parquet(cur: duckdb.DuckDBPyConnection, data: bytes, table: str, score,
                 limits: Limits | None = None) -> RawTable:
    """A Parquet file into ``table``; the header is row 1, the first record row 2 (as in a spreadsheet).
    Column names come from the file: they reach SQL only through :func:`sac.sql.ident`."""
    limits = limits or Limits.from_env()
    check_size(data, limits)
    fd, tmp = tempfile.mkstemp(suffix=".parquet")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        try:
            n_rows = cur.execute("SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [tmp]).fetchall()[0][0]
            unpacked = cur.execute("SELECT coalesce(sum(total_uncompressed_size), 0) FROM parquet_metadata(?)",
                                   [tmp]).fetchall()[0][0]
            names = [r[0] for r in cur.execute("DESCRIBE SELECT * FROM read_parquet(?)", [tmp]).fetchall()]
        except duckdb.Error as e:
            raise FileProblem("unreadable", f"Parquet: {clean_error(e)}") from None
        _check_columns(len(names), limits)
        if n_rows > limits.max_rows:
            raise FileProblem("limit", f"the file has {_fmt(n_rows)} rows; the limit is {_fmt(limits.max_rows)} rows")
        if unpacked > limits.max_unpacked_bytes:
            raise FileProblem("limit", f"the file unpacks to {_mb(unpacked)}; the limit is "
                                       f"{_mb(limits.max_unpacked_bytes)}")
        if score(names) == 0:
            raise FileProblem("no_header", "no known column names in the Parquet file")
        cols = ", ".join(f"CAST({ident(n)} AS VARCHAR) AS c{i}" for i, n in enumerate(names))
        try:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT CAST(file_row_number + 2 AS BIGINT) AS _row, "
                        f"{cols} FROM read_parquet(?, file_row_number = true)", [tmp])
            too_long = _first_too_long(cur, table, len(names), limits)
        except duckdb.Error as e:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            raise FileProblem("unreadable", f"Parquet: {clean_error(e)}") from None
        if too_long:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            row, j, n = too_long
            raise FileProblem("limit", f"row {row}, column {names[j]!r}: a cell of {_fmt(n)} characters; "
                                       f"the limit is {_fmt(limits.max_cell_chars)}")
    finally:
        os.unlink(tmp)
    return RawTable(table, [str(n) for n in names], 1)


def _first_too_long(cur, table: str, n_cols: int, limits: Limits) -> tuple[int, int, int] | None:
    """(row, column index, length) of the first cell over the cell limit, or None."""
    if not n_cols:
        return None
    longest = "greatest(" + ", ".join(f"coalesce(length(c{i}), 0)" for i in range(n_cols)) + ")"
    hit = cur.execute(f"SELECT _row, {', '.join(f'length(c{i})' for i in range(n_cols))} FROM {table} "
                      f"WHERE {longest} > ? ORDER BY _row LIMIT 1", [limits.max_cell_chars]).fetchall()
    if not hit:
        return None
    lengths = [x or 0 for x in hit[0][1:]]
    j = max(range(n_cols), key=lambda i: lengths[i])
    return int(hit[0][0]), j, lengths[j]
