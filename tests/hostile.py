"""Hostile upload files (issue 8): seeded, bounded builders, the store's fingerprint, and the payloads.

Every builder returns a :class:`Case` — ``(name, data, expect)`` — whose :class:`Expect` says what a user
must see: the file is taken (exit 0, so many rows) or refused (exit 1, a message naming the limit or the
row and column), never a traceback, never rows from a refused file. :func:`corpus` is the whole set, the
same bytes on every run (``random.Random(seed)``); generating it takes a few seconds and at most a few
hundred MB for a moment (the zip bombs are deflated from a repeated chunk, never held whole).

:func:`snapshot` fingerprints a store (row count and an order-independent hash of every table, the
catalogue, a few global settings) so a test can say exactly what an import changed.

``tests/test_hostile_corpus.py`` runs the corpus through the CLI and the upload page (in subprocesses:
``tests/hostile_driver.py``); ``tests/test_sql_names.py`` feeds :data:`HOSTILE_NAMES` and
:data:`HOSTILE_VALUES` to every kind and reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import NamedTuple

SEED = 8

# What a refusal over a limit must say (the limit by name, in words a user reads).
LIMIT_RE = r"(?i:\blimit|too (?:many|large|big|long|wide)|exceed|at most|maximum|zip bomb)"
# What a refusal of a damaged or foreign file must say.
UNREADABLE_RE = r"(?i:could not be read|not a readable|damaged|unreadable|corrupt|not a (?:workbook|parquet)|invalid)"

OUTCOMES = {
    "ok": "dry run and commit exit 0; the commit inserts `inserted` rows",
    "rejected": "dry run and commit exit 1; every regex of `message` is in the output; nothing written",
    "ok_or_limit": "'ok', or 'rejected' with a message naming a limit (LIMIT_RE)",
    "ok_or_rejected": "'ok', or 'rejected' with every regex of `message` in the output",
}


@dataclass(frozen=True)
class Expect:
    """What a user must get from one file (see :data:`OUTCOMES`)."""
    kind: str = "indicator_values"
    outcome: str = "rejected"
    inserted: int | None = None
    message: tuple[str, ...] = ()
    heavy: bool = False                  # big when unpacked or parsed: run after the light files
    stored: tuple[str, object] | None = None  # (SQL, expected first value) after an 'ok' commit
    note: str = ""

    def __post_init__(self) -> None:
        assert self.outcome in OUTCOMES, self.outcome
        assert self.outcome == "rejected" or self.inserted is not None


class Case(NamedTuple):
    name: str
    data: bytes
    expect: Expect


def row_col(row: int, column: str) -> str:
    """The CLI's wording for a problem in one cell: ``row 3: 'fact': ...``."""
    return rf"row {row}: '{re.escape(column)}'"


# -- writers -------------------------------------------------------------------------

def csv_bytes(rows: list[list[object]], delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode(encoding)


class Raw(str):
    """A cell's XML written as is (formulas, shared strings, numbers as text)."""


_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(s: str) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _XML_BAD.sub(lambda m: f"_x{ord(m.group()):04X}_", s)   # the OOXML escape


_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '<Override PartName="/xl/sharedStrings.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
_SST_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def xlsx_cell(v: object) -> str:
    if v is None:
        return "<c/>"
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return f'<c t="b"><v>{int(v)}</v></c>'
    if isinstance(v, int | float):
        return f"<c><v>{v!r}</v></c>"
    return f'<c t="inlineStr"><is><t xml:space="preserve">{xml_text(str(v))}</t></is></c>'


def sheet_xml(rows: list[list[object]], dimension: str | None = None, row_numbers: bool = True) -> str:
    body = "".join((f'<row r="{i}">' if row_numbers else "<row>") + "".join(xlsx_cell(v) for v in r) + "</row>"
                   for i, r in enumerate(rows, 1))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f"{_SHEET_HEAD}{dim}<sheetData>{body}</sheetData></worksheet>"


def xlsx_bytes(rows: list[list[object]] | None = None, *, sheet: str | bytes | None = None,
               shared: list[str] = (), dimension: str | None = None, level: int = 6) -> bytes:
    """A minimal workbook (one sheet 'Data', inline strings unless a cell is :class:`Raw`), written by hand so
    that it can hold what openpyxl would refuse to write: lying dimensions, bombs, broken XML."""
    if sheet is None:
        sheet = sheet_xml(rows or [], dimension)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", _SST_HEAD + "".join(f'<si><t xml:space="preserve">{xml_text(s)}</t></si>'
                                                               for s in shared) + "</sst>")
    return buf.getvalue()


def _deflate(head: bytes, block: bytes = b"", times: int = 0, tail: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of ``head + block * times + tail``, compressing ``block`` once: after a
    full flush deflate starts afresh, so every repetition packs to the same bytes. 300 MB in a few ms."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    packed = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH) if times else b""
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    return first + packed * times + last, crc, len(head) + len(block) * times + len(tail)


def _zip(parts: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A zip of already deflated parts ({name: (deflated, crc, size)}), written by hand."""
    out, central = io.BytesIO(), []
    for name, (packed, crc, size) in parts.items():
        offset, nb = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(nb), 0))
        out.write(nb + packed)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(packed), size,
                                   len(nb), 0, 0, 0, 0, 0, offset) + nb)
    cd = b"".join(central)
    at = out.tell()
    out.write(cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(cd), at, 0))
    return out.getvalue()


def xlsx_bomb(part: str, head: str, repeated: bytes, times: int, tail: str, shared: list[str] = (),
              sheet: str | None = None) -> bytes:
    """A workbook whose ``part`` unpacks to ``head + repeated * times + tail`` (the zip bomb of issue 8), never
    held unpacked: ``repeated`` is deflated once and its packed bytes repeated."""
    parts = {"[Content_Types].xml": _CT, "_rels/.rels": _RELS, "xl/workbook.xml": _WB,
             "xl/_rels/workbook.xml.rels": _WB_RELS, "xl/worksheets/sheet1.xml": sheet or "",
             "xl/sharedStrings.xml": _SST_HEAD + "".join(f"<si><t>{xml_text(s)}</t></si>" for s in shared) + "</sst>"}
    packed = {name: _deflate(text.encode()) for name, text in parts.items() if name != part}
    packed[part] = _deflate(head.encode(), repeated, times, tail.encode())
    return _zip(packed)


def parquet_bytes(columns: dict[str, list], types: dict[str, object] | None = None, **write_options) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = types or {}
    arrays = [pa.array(v, type=types.get(k, pa.string())) for k, v in columns.items()]
    table = pa.Table.from_arrays(arrays, names=list(columns))
    buf = io.BytesIO()
    pq.write_table(table, buf, **write_options)
    return buf.getvalue()


def table_file(fmt: str, headers: list[str], rows: list[list[object]]) -> tuple[str, bytes]:
    """(file name, bytes) of one table as CSV, XLSX or Parquet (every Parquet column a string)."""
    if fmt == "csv":
        return "table.csv", csv_bytes([headers, *rows])
    if fmt == "xlsx":
        return "table.xlsx", xlsx_bytes([headers, *rows])
    if fmt == "parquet":
        assert len(set(headers)) == len(headers), "Parquet column names must differ"
        cols = {h: [None if r[i] is None else str(r[i]) for r in rows] for i, h in enumerate(headers)}
        return "table.parquet", parquet_bytes(cols)
    raise ValueError(fmt)


# -- hostile names and values (tests/test_sql_names.py) ---------------------------------------

# The Parquet reader of 539812e put a file's column names into CAST("{name}" AS VARCHAR): these close the
# quote. None normalises to a known column name (they stay "not used" columns), none has leading or
# trailing spaces (headers are stripped) or a line break (a CSV header is one line). '@TMP@' stands for a
# directory of the test's own (files an injected COPY or ATTACH would create).
HOSTILE_NAMES: tuple[str, ...] = (
    'x" AS VARCHAR) AS c0, (SELECT 1) AS c1 FROM (SELECT 1); UPDATE users SET role=\'admin\' '
    "WHERE username='office'; --",
    'x"; DELETE FROM audit_log; --',
    'x" AS VARCHAR) AS c0 FROM read_parquet(?); COPY (SELECT * FROM users) TO \'@TMP@/leak.csv\'; --',
    "x\"; ATTACH '@TMP@/evil.duckdb' AS evil; --",
    "x\" || (SELECT content FROM read_text('/etc/passwd')) || \"",
    'x"; INSTALL httpfs; LOAD httpfs; --',
    "x'; DROP TABLE users; --",
    "Robert'); DROP TABLE projects;--",
    "x /* comment */ y */ z /*",
    "-- a comment",
    "''",
    "'",
    '"',
    '""',
    "\\",
    '\\"; --',
    "x\uff02 AS VARCHAR) AS c9 --",          # U+FF02 FULLWIDTH QUOTATION MARK
    "x\u201c AS VARCHAR)\u201d --",           # U+201C/U+201D quotation marks
    "\u202ecod.exe",                          # right-to-left override
    "zero\u200bwidth\u200djoiner",
    "{column!r} {value} %s %(x)s $1 ? :name",  # format strings and parameter markers
    "Показатель'); --x",                      # Cyrillic with SQL; normalises to no known column
    "x" * 10_000,
    "Ж" * 10_000,
)

# Cell texts a text column must store exactly as written (no leading/trailing spaces, which cells lose;
# no control characters, which are refused; none starts a totals row).
HOSTILE_VALUES: tuple[str, ...] = (
    "Robert'); DROP TABLE projects;--",
    "x\"; UPDATE users SET role='admin'; --",
    "'; COPY (SELECT * FROM users) TO '@TMP@/leak2.csv'; --",
    "/* comment */ -- comment",
    "'",
    "''",
    '"',
    "\\",
    "\\'; --",
    "\uff02\u201c\u201d\u2018\u2019",
    "=HYPERLINK(\"http://example.invalid\",\"x\")",
    "{value} %s ?",
    "\u202eRTL \U0001F642",
    "x" * 10_000,
)


# -- the store's fingerprint ---------------------------------------------------------------

SETTINGS = ("threads", "memory_limit", "enable_external_access", "autoinstall_known_extensions",
            "autoload_known_extensions", "lock_configuration", "access_mode", "allow_unsigned_extensions",
            "allow_community_extensions", "temp_directory", "default_order", "preserve_insertion_order")


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(cur, full: bool = True) -> dict[str, object]:
    """{key: fingerprint}: ``table:<name>`` (rows, order-independent md5 of the rows) for every table of the
    store, ``audit_log`` (its rows), ``meta`` (without data_version), ``data_version``, the catalogue
    (tables, views, sequences, indexes, attached databases) and, when ``full``, macros and a few global
    settings (a scan of every function: 50 ms)."""
    out: dict[str, object] = {}
    tables = [r[0] for r in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database() "
        "ORDER BY 1").fetchall()]
    sql = " UNION ALL ".join(
        f"SELECT {i} AS i, count(*) AS n, coalesce(md5(string_agg(h, ',' ORDER BY h)), '') AS h "
        f"FROM (SELECT md5(CAST(x AS VARCHAR)) AS h FROM {_qi(t)} x)" for i, t in enumerate(tables))
    for i, n, h in cur.execute(sql).fetchall():
        out[f"table:{tables[i]}"] = (int(n), h)
    out["audit_log"] = [tuple(str(v) for v in r) for r in cur.execute(
        "SELECT entry_id, occurred_at, actor, action, target, details FROM audit_log ORDER BY entry_id").fetchall()]
    out["meta"] = cur.execute("SELECT key, value FROM meta WHERE key <> 'data_version' ORDER BY 1").fetchall()
    out["data_version"] = int(cur.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchall()[0][0])
    out["catalog:tables"] = tables
    out["catalog:views"] = cur.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND NOT temporary ORDER BY 1").fetchall()
    out["catalog:sequences"] = cur.execute(
        "SELECT sequence_name FROM duckdb_sequences() WHERE NOT temporary ORDER BY 1").fetchall()
    out["catalog:indexes"] = cur.execute("SELECT index_name, table_name FROM duckdb_indexes() ORDER BY 1").fetchall()
    out["catalog:databases"] = cur.execute(
        "SELECT database_name, path FROM duckdb_databases() WHERE NOT internal ORDER BY 1").fetchall()
    if full:
        out["catalog:macros"] = cur.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE NOT internal ORDER BY 1").fetchall()
        names = ", ".join("'" + s + "'" for s in SETTINGS)
        out["settings"] = cur.execute(
            f"SELECT name, value FROM duckdb_settings() WHERE name IN ({names}) ORDER BY 1").fetchall()
    return out


def changed(before: dict, after: dict) -> set[str]:
    """The fingerprint keys whose value differs (a key on one side only counts)."""
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def commit_changes_ok(before: dict, after: dict, table: str) -> list[str]:
    """What a commit into ``table`` changed that it must not have (empty: only the intended things).

    Allowed: ``table``, ``hist_<table>``, ``upload_batches`` (one row more), ``audit_log`` (the old entries
    exactly as they were, one new 'upload' entry), ``data_version`` (+1)."""
    bad = []
    allowed = {f"table:{table}", f"table:hist_{table}", "table:upload_batches", "table:audit_log", "audit_log",
               "data_version", "table:meta"}
    for k in sorted(changed(before, after) - allowed):
        bad.append(f"{k} changed")
    if after["meta"] != before["meta"]:
        bad.append("meta rows other than data_version changed")
    if after["data_version"] != before["data_version"] + 1:
        bad.append(f"data_version {before['data_version']} -> {after['data_version']} (expected +1)")
    old, new = before["audit_log"], after["audit_log"]
    if new[: len(old)] != old:
        bad.append("earlier audit_log entries changed")
    added = new[len(old):]
    if [a[3] for a in added] != ["upload"]:
        bad.append(f"audit_log gained {[a[3] for a in added]} (expected one 'upload')")
    nb, na = before["table:upload_batches"][0], after["table:upload_batches"][0]
    if na != nb + 1:
        bad.append(f"upload_batches {nb} -> {na} rows (expected one more)")
    return bad


# -- the corpus ----------------------------------------------------------------------------

IV_HEAD = ["indicator", "region", "period", "document", "fact"]


def _iv_rows(tag: str, n: int, fact=lambda i: i + 1) -> list[list[object]]:
    """``n`` valid indicator_values rows (UNEMP, Almaty, one quarter each) under the document ``tag``."""
    quarters = [f"{y}-Q{q}" for y in range(2001, 2050) for q in range(1, 5)]
    return [["UNEMP", "75", quarters[i % len(quarters)], f"{tag}-{i // len(quarters)}", fact(i)] for i in range(n)]


def _good(fmt: str) -> Case:
    tag = f"good-{fmt}"
    name, data = table_file(fmt, IV_HEAD, _iv_rows(tag, 3))
    return Case(f"{tag}.{fmt}", data, Expect(outcome="ok", inserted=3, note="a plain valid file: the harness works"))


def _random_bytes(rnd: random.Random, n: int) -> bytes:
    return bytes(rnd.getrandbits(8) for _ in range(n))


def csv_cases(rnd: random.Random) -> list[Case]:
    head = ";".join(IV_HEAD)
    good = csv_bytes([IV_HEAD, *_iv_rows("csv-trunc", 4)])
    cases = [
        _good("csv"),
        Case("header_only.csv", (head + "\n").encode(), Expect(message=(r"no data rows",))),
        Case("empty.csv", b"", Expect(message=(r"(?i:no header|no data|empty)",))),
        Case("newlines_only.csv", b"\n\r\n\n\n", Expect(message=(r"(?i:no header|no data|empty)",))),
        Case("truncated_mid_row.csv", good[: good.rindex(b"Q")],
             Expect(message=(row_col(5, "period"),), note="the last row cut inside its period")),
        Case("truncated_in_quote.csv", good[: good.rindex(b"\n", 0, len(good) - 1) + 1] + b'UNEMP;75;"2001-Q',
             Expect(message=(rf"row 5|{UNREADABLE_RE}",), note="the file ends inside an open quote")),
        Case("nul_in_cell.csv", (head + "\nUNEMP;75;2001-Q1;nul\x00doc;1\n").encode(),
             Expect(message=(row_col(2, "document"),),
                    note="a NUL in a text cell is refused, naming row and column (sac/ingest: 'control_char')")),
        Case("escape_in_cell.csv", (head + "\nUNEMP;75;2001-Q1;esc\x1b[31mred;1\n").encode(),
             Expect(message=(row_col(2, "document"),), note="a terminal escape in a text cell")),
        Case("nul_in_header.csv", (head.replace("fact", "fa\x00ct") + "\nUNEMP;75;2001-Q1;nulhead;1\n").encode(),
             Expect(outcome="ok_or_rejected", inserted=1, message=(r"(?i:NUL|control|header|could not be read)",),
                    note="a header that is 'fact' but for a NUL")),
        Case("cp1251_0x98.csv",
             "Показатель;Регион;Период;Документ;Факт\nUNEMP;75;2001-Q1;док".encode("cp1251") + b"\x98;1\n",
             Expect(outcome="ok_or_rejected", inserted=1, message=(r"(?i:0x98|encod|line 2|row 2)",),
                    note="0x98 is undefined in Windows-1251: 539812e's decode() raised UnicodeDecodeError")),
        Case("utf16_odd_length.csv", "\ufeffindicator;region;period;fact\n".encode("utf-16-le") + b"U",
             Expect(message=(rf"(?i:utf-16|encod|no data|{UNREADABLE_RE})",),
                    note="UTF-16 with a BOM and an odd byte count")),
        Case("mixed_encodings.csv",
             (head + "\nUNEMP;Алматы;2001-Q1;mixed;1\n").encode("utf-8")
             + "UNEMP;Астана;2001-Q2;mixed;2\n".encode("cp1251"),
             Expect(outcome="ok_or_rejected", inserted=2, message=(r"row [23]: 'region'|(?i:encod)",),
                    note="a UTF-8 file with one Windows-1251 line")),
        Case("formulas.csv", csv_bytes([IV_HEAD, ["UNEMP", "75", "2001-Q1", "=1+1", 1],
                                        ["UNEMP", "75", "2001-Q2", "=HYPERLINK(\"http://x.invalid\",\"y\")", 2],
                                        ["UNEMP", "75", "2001-Q3", "+cmd|'/C calc'!A0", 3],
                                        ["UNEMP", "75", "2001-Q4", "@SUM(A1:A9)", 4]]),
             Expect(outcome="ok", inserted=4,
                    stored=("SELECT list(source_document ORDER BY period) FROM indicator_values "
                            "WHERE batch_id = (SELECT max(batch_id) FROM upload_batches)",
                            ["=1+1", "=HYPERLINK(\"http://x.invalid\",\"y\")", "+cmd|'/C calc'!A0", "@SUM(A1:A9)"]),
                    note="formulas are text: stored as written, never evaluated")),
        Case("quotes_and_delimiters.csv", csv_bytes([IV_HEAD, ["UNEMP", "75", "2002-Q1", 'a;b "c" \'d\'', 1]]),
             Expect(outcome="ok", inserted=1,
                    stored=("SELECT source_document FROM indicator_values "
                            "WHERE batch_id = (SELECT max(batch_id) FROM upload_batches)", 'a;b "c" \'d\''))),
        Case("nan_inf.csv", csv_bytes([IV_HEAD] + [["UNEMP", "75", f"2003-Q{i + 1}", "naninf", v]
                                                   for i, v in enumerate(["1e309", "-1e309", "NaN", "inf"])]
                                      + [["UNEMP", "75", "2004-Q1", "naninf", "-Infinity"]]),
             Expect(message=tuple(row_col(r, "fact") for r in range(2, 7)),
                    note="must not be stored as infinity or NaN: an error naming row and column")),
        Case("nan_inf_budget.csv", csv_bytes([["program", "region", "period", "plan", "spent"],
                                              ["068", "75", "2020", "1e309", "NaN"]]),
             Expect(kind="budget", message=(row_col(2, "plan"), row_col(2, "spent")))),
        Case("nan_inf_projects.csv", csv_bytes([["project", "name", "percent complete", "staff", "budget"],
                                                ["P-INF", "p", "NaN", "1e309", "-1e309"]]),
             Expect(kind="projects", message=(row_col(2, "percent complete"), row_col(2, "staff"),
                                               row_col(2, "budget")))),
        Case("absurd_dates.csv", csv_bytes([
            ["instruction_id", "title", "issue_date", "due_date", "status"],
            ["I-1", "t", "0001-01-01", "2024-12-31", "on control"],
            ["I-2", "t", "2024-01-01", "9999-12-31", "on control"],
            ["I-3", "t", "01.01.0001", "31.12.9999", "on control"],
            ["I-4", "t", "2024-01-01", "2958465", "on control"]]),   # Excel's serial for 9999-12-31
            Expect(kind="instructions",
                   message=(row_col(2, "issue_date"), row_col(3, "due_date"), row_col(4, "issue_date"),
                            row_col(4, "due_date"), row_col(5, "due_date")),
                   note="dates 0001-01-01 and 9999-12-31 are refused naming row and column")),
        Case("absurd_dates_projects.csv", csv_bytes([
            ["project", "name", "planned start", "planned end"],
            ["P-D1", "p", "0001-01-01", "9999-12-31"]]).replace(b"planned start", "плановое начало".encode())
            .replace(b"planned end", "плановое окончание".encode()),
            Expect(kind="projects", message=(row_col(2, "плановое начало"), row_col(2, "плановое окончание")))),
        Case("duplicate_headers.csv", csv_bytes([["indicator", "region", "period", "document", "fact", "fact"],
                                                 ["UNEMP", "75", "2005-Q1", "dup", 1, 2]]),
             Expect(outcome="ok_or_rejected", inserted=1, message=(r"'fact'",),
                    note="two 'fact' columns: the first is used and the second named as not used, or refused")),
        Case("header_cell_130k.csv",
             (head + ";" + "H" * 130_000 + "\nUNEMP;75;2006-Q1;bighead;1;x\n").encode(),
             Expect(outcome="ok_or_limit", inserted=1,
                    note="a header cell over csv's 128 KB field limit: 539812e raised _csv.Error")),
        Case("huge_cell.csv", (head + "\nUNEMP;75;2006-Q2;" + "D" * 900_000 + ";1\n").encode(),
             Expect(outcome="ok_or_rejected", inserted=1,
                    message=(rf"{row_col(2, 'document')}|{LIMIT_RE}",), note="a 900 000-character text cell")),
        Case("random_text_rows.csv",
             (head + "\n" + "\n".join(";".join("".join(rnd.choice("ab;=\"'\\ 0.,-") for _ in range(8))
                                               for _ in range(5)) for _ in range(20)) + "\n").encode(),
             Expect(message=(rf"row \d+|line \d+|{UNREADABLE_RE}",), note="garbage under a good header")),
    ]
    for i in range(3):
        data = _random_bytes(rnd, rnd.randint(500, 8000))
        cases.append(Case(f"random_bytes_{i}.csv", data,
                          Expect(message=(rf"(?i:no header|encod|utf-8|windows-1251|byte 0x|{UNREADABLE_RE}|{LIMIT_RE})",))))
    # ~1 MB, 10 000 columns (539812e: 115 s)
    extra = [f"x{i}" for i in range(9_995)]
    line = ";".join(["9"] * len(extra))
    rows = [";".join(["UNEMP", "75", f"20{10 + i // 4}-Q{i % 4 + 1}", "wide", str(i)]) + ";" + line
            for i in range(50)]
    cases.append(Case("10000_columns.csv", (";".join(IV_HEAD + extra) + "\n" + "\n".join(rows) + "\n").encode(),
                      Expect(outcome="ok_or_limit", inserted=50, heavy=True,
                             note="1 MB, 10 000 columns: 539812e took 115 s")))
    return cases


def _formula(f: str, v: object = None, t: str | None = None) -> Raw:
    tt = f' t="{t}"' if t else ""
    return Raw(f"<c{tt}><f>{xml_text(f)}</f>" + ("" if v is None else f"<v>{xml_text(str(v))}</v>") + "</c>")


def xlsx_cases(rnd: random.Random) -> list[Case]:
    good = xlsx_bytes([IV_HEAD, *_iv_rows("xlsx-trunc", 5)])
    head_xml = "".join(xlsx_cell(h) for h in IV_HEAD)
    cases = [
        _good("xlsx"),
        Case("random_bytes.xlsx", _random_bytes(rnd, 4096), Expect(message=(UNREADABLE_RE,))),
        Case("pk_garbage.xlsx", b"PK\x03\x04" + _random_bytes(rnd, 4096), Expect(message=(UNREADABLE_RE,))),
        Case("truncated.xlsx", good[: len(good) * 2 // 3], Expect(message=(UNREADABLE_RE,))),
        Case("truncated_xml.xlsx", xlsx_bytes(sheet=sheet_xml([IV_HEAD, *_iv_rows("x", 5)])[:-60]),
             Expect(message=(UNREADABLE_RE,), note="the sheet's XML ends mid-row: openpyxl raises while iterating")),
        Case("raw_nul_byte.xlsx", xlsx_bytes(sheet=sheet_xml([IV_HEAD, ["UNEMP", "75", "2007-Q1", "nul", 1]])
                                             .replace("nul", "n\x00ul")),
             Expect(message=(UNREADABLE_RE,), note="a NUL byte inside the sheet's XML")),
        Case("header_only.xlsx", xlsx_bytes([IV_HEAD]), Expect(message=(r"no data rows",))),
        Case("empty_sheet.xlsx", xlsx_bytes([]), Expect(message=(r"(?i:no header|no data|empty)",))),
        Case("dimension_lie.xlsx", xlsx_bytes([IV_HEAD, ["UNEMP", "75", "2007-Q2", "dim", 1]],
                                              dimension="A1:XFD1048576"),
             Expect(outcome="ok", inserted=1, note="<dimension ref='A1:XFD1048576'/> over two rows")),
        Case("dimension_lie_far_cell.xlsx",
             xlsx_bytes(sheet=f'{_SHEET_HEAD}<dimension ref="A1:XFD1048576"/><sheetData><row r="1">{head_xml}</row>'
                              f'<row r="2">{"".join(xlsx_cell(v) for v in ["UNEMP", "75", "2007-Q3", "far", 1])}'
                              '</row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                              "</sheetData></worksheet>"),
             Expect(outcome="ok_or_limit", inserted=1, heavy=True,
                    note="the lying dimension plus one cell at XFD1048576: every row between padded to 16 384")),
        Case("formulas.xlsx", xlsx_bytes([IV_HEAD,
                                          ["UNEMP", "75", "2008-Q1", _formula('HYPERLINK("http://x.invalid","y")',
                                                                              "y", "str"), _formula("2+3", 5)],
                                          ["UNEMP", "75", "2008-Q2", "formula", _formula("1/0")]]),
             Expect(message=(row_col(3, "fact"),),
                    note="a formula without a cached value is an empty cell: its row is refused by name")),
        Case("inf.xlsx", xlsx_bytes([IV_HEAD, ["UNEMP", "75", "2008-Q3", "inf", Raw("<c><v>1e309</v></c>")],
                                     ["UNEMP", "75", "2008-Q4", "inf", Raw("<c><v>-1E309</v></c>")],
                                     ["UNEMP", "75", "2009-Q1", "inf", "inf"],
                                     ["UNEMP", "75", "2009-Q2", "inf", "NaN"]]),
             Expect(message=tuple(row_col(r, "fact") for r in range(2, 6)),
                    note="numeric cells 1e309 / -1E309 read as infinity")),
        Case("nan_number_cell.xlsx", xlsx_bytes([IV_HEAD, ["UNEMP", "75", "2009-Q3", "nan", Raw("<c><v>NaN</v></c>")]]),
             Expect(message=(rf"{row_col(2, 'fact')}|{UNREADABLE_RE}",),
                    note="<v>NaN</v> in a number cell: openpyxl's int('NaN') raises while iterating")),
        Case("absurd_dates.xlsx", xlsx_bytes([
            ["instruction_id", "title", "issue_date", "due_date", "status"],
            ["I-X1", "t", "0001-01-01", "2024-12-31", "done"],
            ["I-X2", "t", "2024-01-01", 2958465, "done"],        # Excel serial of 9999-12-31
            ["I-X3", "t", 1, "31.12.9999", "done"]]),             # serial 1: 1899-12-31
            Expect(kind="instructions", message=(row_col(2, "issue_date"), row_col(3, "due_date"),
                                                  row_col(4, "issue_date"), row_col(4, "due_date")))),
        Case("duplicate_headers.xlsx", xlsx_bytes([["indicator", "region", "period", "document", "fact", "fact"],
                                                   ["UNEMP", "75", "2009-Q4", "dup", 1, 2]]),
             Expect(outcome="ok_or_rejected", inserted=1, message=(r"'fact'",))),
        Case("huge_inline_cell_100k.xlsx", xlsx_bytes([IV_HEAD, ["UNEMP", "75", "2010-Q1", "B" * 100_000, 1]]),
             Expect(outcome="ok_or_rejected", inserted=1, message=(rf"{row_col(2, 'document')}|{LIMIT_RE}",),
                    note="a 100 000-character cell (Excel's own limit is 32 767)")),
        Case("10000_columns.xlsx", xlsx_bytes([IV_HEAD + [f"x{i}" for i in range(9_995)],
                                               ["UNEMP", "75", "2010-Q2", "wide", 1] + [9] * 9_995]),
             Expect(outcome="ok_or_limit", inserted=1)),
    ]
    # a ~300 KB workbook whose only shared string is 300 MB (issue 8: 4.4 GB after 4 minutes)
    sheet = sheet_xml([[Raw('<c t="s"><v>1</v></c>'), Raw('<c t="s"><v>2</v></c>'), Raw('<c t="s"><v>3</v></c>'),
                        Raw('<c t="s"><v>4</v></c>'), Raw('<c t="s"><v>5</v></c>')],
                       ["UNEMP", "75", "2010-Q3", Raw('<c t="s"><v>0</v></c>'), 1]])
    sst_tail = "</t></si>" + "".join(f"<si><t>{h}</t></si>" for h in IV_HEAD) + "</sst>"
    cases.append(Case("zip_bomb_shared_string.xlsx",
                      xlsx_bomb("xl/sharedStrings.xml", _SST_HEAD + "<si><t>", b"A" * (1 << 20), 300, sst_tail,
                                sheet=sheet),
                      Expect(message=(LIMIT_RE,), heavy=True,
                             note="300 MB of one cell in sharedStrings.xml, 300 KB packed")))
    # the same as an inline string in the sheet itself
    cases.append(Case("zip_bomb_inline_cell.xlsx",
                      xlsx_bomb("xl/worksheets/sheet1.xml",
                                f'{_SHEET_HEAD}<sheetData><row r="1">{head_xml}</row><row r="2">'
                                + "".join(xlsx_cell(v) for v in ["UNEMP", "75", "2010-Q4"])
                                + '<c t="inlineStr"><is><t>', b"A" * (1 << 20), 200,
                                "</t></is></c><c><v>1</v></c></row></sheetData></worksheet>"),
                      Expect(message=(LIMIT_RE,), heavy=True, note="200 MB of one inline cell, 200 KB packed")))
    # ~100-200 KB, 300 000 rows (issue 8: 7.8 GB RSS). Every row the same key: refused as duplicates or a limit.
    row = (b'<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c><c t="s"><v>3</v></c>'
           b'<c><v>5</v></c></row>') * 10_000
    head_row = '<row><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c><c t="s"><v>7</v></c>' \
               '<c t="s"><v>8</v></c></row>'
    cases.append(Case("300000_rows.xlsx",
                      xlsx_bomb("xl/worksheets/sheet1.xml", f"{_SHEET_HEAD}<sheetData>{head_row}", row, 30,
                                "</sheetData></worksheet>",
                                shared=["UNEMP", "75", "2011-Q1", "rows300k", *IV_HEAD]),
                      Expect(message=(rf"appears more than once|{LIMIT_RE}",), heavy=True,
                             note="300 000 rows of one key in ~100 KB")))
    return cases


def parquet_cases(rnd: random.Random) -> list[Case]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _iv_rows("pq-trunc", 5)
    good = parquet_bytes({h: [str(r[i]) for r in rows] for i, h in enumerate(IV_HEAD)})
    cases = [
        _good("parquet"),
        Case("random_bytes.parquet", b"PAR1" + _random_bytes(rnd, 4096) + b"PAR1", Expect(message=(UNREADABLE_RE,))),
        Case("truncated.parquet", good[: len(good) // 2], Expect(message=(UNREADABLE_RE,))),
        Case("nan_inf.parquet", parquet_bytes(
            {"indicator": ["UNEMP"] * 4, "region": ["75"] * 4, "period": ["2012-Q1", "2012-Q2", "2012-Q3", "2012-Q4"],
             "document": ["pq-nan"] * 4, "fact": [float("nan"), float("inf"), float("-inf"), 1.0]},
            {"fact": pa.float64()}),
            Expect(message=tuple(row_col(r, "fact") for r in (2, 3, 4)), note="NaN and ±inf in a DOUBLE column")),
        Case("absurd_dates.parquet", parquet_bytes(
            {"instruction_id": ["I-P1", "I-P2"], "title": ["t", "t"], "issue_date": [dt.date(1, 1, 1), dt.date(2024, 1, 1)],
             "due_date": [dt.date(2024, 12, 31), dt.date(9999, 12, 31)], "status": ["done", "done"]},
            {"issue_date": pa.date32(), "due_date": pa.date32()}),
            Expect(kind="instructions", message=(row_col(2, "issue_date"), row_col(3, "due_date")))),
        Case("nul_in_cell.parquet", parquet_bytes(
            {"indicator": ["UNEMP"], "region": ["75"], "period": ["2013-Q1"], "document": ["n\x00ul"], "fact": ["1"]}),
            Expect(message=(row_col(2, "document"),))),
        Case("nul_in_name.parquet", parquet_bytes(
            {"indicator": ["UNEMP"], "region": ["75"], "period": ["2013-Q2"], "document": ["nulname"], "fa\x00ct": ["1"]}),
            Expect(outcome="ok_or_rejected", inserted=1, message=(rf"(?i:NUL|control|{UNREADABLE_RE})",),
                   note="a column name 'fa<NUL>ct'")),
        Case("nested_types.parquet", parquet_bytes(
            {"indicator": ["UNEMP"], "region": ["75"], "period": ["2013-Q3"], "document": ["nested"],
             "fact": ["1"], "extra": [{"a": [1, 2], "b": "x\"; DROP TABLE users; --"}]},
            {"extra": pa.struct([("a", pa.list_(pa.int64())), ("b", pa.string())])}),
            Expect(outcome="ok", inserted=1, note="a struct column nobody asked for")),
        Case("10000_columns.parquet", parquet_bytes(
            {"indicator": ["UNEMP"], "region": ["75"], "period": ["2013-Q4"], "document": ["wide"], "fact": ["1"],
             **{f"x{i}": ["9"] for i in range(9_995)}}, compression="none", write_statistics=False),
            Expect(outcome="ok_or_limit", inserted=1, heavy=True)),
    ]
    # duplicate column names (pyarrow allows them)
    t = pa.Table.from_arrays([pa.array(["UNEMP"]), pa.array(["75"]), pa.array(["2014-Q1"]), pa.array(["dupname"]),
                              pa.array(["1"]), pa.array(["2"])],
                             names=["indicator", "region", "period", "document", "fact", "fact"])
    buf = io.BytesIO()
    pq.write_table(t, buf)
    cases.append(Case("duplicate_names.parquet", buf.getvalue(),
                      Expect(outcome="ok_or_rejected", inserted=1, message=(r"'fact'|(?i:duplicate|twice)",))))
    # 10 000 000 rows of one key, dictionary + RLE encoded: a few KB
    n = 10_000_000
    idx = pa.array(np.zeros(n, dtype="int32"))
    cols = {h: pa.DictionaryArray.from_arrays(idx, pa.array([v])) for h, v in
            zip(IV_HEAD, ["UNEMP", "75", "2014-Q2", "rle", "1"], strict=True)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="zstd", write_statistics=False)
    del cols, idx
    cases.append(Case("10m_rows_rle.parquet", buf.getvalue(),
                      Expect(message=(rf"appears more than once|{LIMIT_RE}",), heavy=True,
                             note="10 000 000 rows of one key in a few KB")))
    # one 64 MB cell, zstd: a few KB
    cases.append(Case("huge_cell_64mb.parquet", parquet_bytes(
        {"indicator": ["UNEMP"], "region": ["75"], "period": ["2014-Q3"], "document": ["C" * (64 << 20)], "fact": ["1"]},
        compression="zstd", compression_level=1, use_dictionary=False, write_statistics=False),
        Expect(message=(rf"{row_col(2, 'document')}|{LIMIT_RE}",), heavy=True, note="a 64 MB text cell")))
    return cases


def corpus(seed: int = SEED) -> list[Case]:
    """Every hostile file, the same bytes for the same seed."""
    rnd = random.Random(seed)
    cases = [*csv_cases(rnd), *xlsx_cases(rnd), *parquet_cases(rnd)]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must differ"
    return cases


def seed_store(store) -> None:
    """A fresh :class:`sac.store.Store`: indicators UNEMP (quarterly) and SME (yearly), an organisation, a
    project, and the demo accounts (users, user_units, their audit entries), bcrypt at its cheapest."""
    from sac.auth import accounts

    with store.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) VALUES "
                    "('UNEMP', 'Unemployment rate', 'Уровень безработицы', 'Жұмыссыздық', 'quarter'), "
                    "('SME', 'Active SMEs', 'Действующие МСП', 'ШОБ', 'year')")
        cur.execute("INSERT INTO organisations VALUES ('AKIMAT-ALA', 'akimat', 'Akimat of Almaty', 'Акимат Алматы', "
                    "'Алматы әкімдігі', '75')")
        cur.execute("INSERT INTO projects (project_id, name_en) VALUES ('P-1', 'Project one')")
    rounds, accounts.BCRYPT_ROUNDS = accounts.BCRYPT_ROUNDS, 4
    try:
        accounts.ensure_demo_accounts(store)
    finally:
        accounts.BCRYPT_ROUNDS = rounds
