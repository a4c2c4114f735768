"""The audited import: read, validate in DuckDB SQL, diff against the store, commit or roll back.

Flow for one file (all set-based SQL over temporary tables, never a Python loop over rows):

1. ``readers`` put the cells into ``_ing_raw`` (VARCHAR, with the Excel row number ``_row``);
2. headers are matched to the kind's columns (:mod:`sac.ingest.specs`);
3. blank rows are dropped; totals rows ('Итого', 'Барлығы', 'Республика Казахстан', ...) are
   dropped and reported (severity ``info``), never stored as a region;
4. ``_ing_stage`` holds the typed values: numbers parsed by SQL expressions; periods, dates,
   units, yes/no, enumerations and referenced codes mapped once per distinct cell (with their
   reference and periodicity flags) and joined back on the cell;
5. problems are found by SQL: the row rules (missing, unreadable, unknown, periodicity, negative
   amounts, ranges) flag the rows that break any of them while staging, and are then listed from
   those few rows; duplicate keys by a count per key; modified z-score outliers against history;
6. ``_ing_diff`` classifies each row as insert / update / unchanged against the stored table.

The natural key of a table is unique because this is its one write path: a key twice in a file is
an error, and a stored key is updated in place, never inserted again (indicator_values has no
PRIMARY KEY index since migration 005: the index cost more than the rest of a large import).

Commit (:func:`import_file` with ``dry_run=False``) redoes 1-6 inside ``store.write()`` and, only
when there is no error, writes the batch row, the previous row images (migration 002), the
rows and the audit entry in that one transaction. Any error: nothing is written.

Replace semantics on the natural key, column by column: a column present in the file replaces
the stored value (a blank cell stores NULL); a column absent from the file keeps the stored
value (so a plan file and a fact file can be uploaded separately). New rows get NULL, or the
schema default, for absent columns.

The same file (same SHA-256 and kind as a committed batch) is warned about in the dry run and
refused at commit unless ``force=True``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from sac import audit, datasets
from sac.ingest import parse, readers
from sac.ingest.specs import ALL_NAMES_REQUIRED, KINDS, NAME_FALLBACK, Field, Kind
from sac.ingest.units import UnitLookup
from sac.sql import ident, literal

PROBLEM_LIMIT = 10_000
OUTLIER_Z = 3.5          # METHODOLOGY.md §8: modified z-score of a fact against the unit's own history
OUTLIER_MIN_HISTORY = 4  # stored values needed before the z-score means anything
HISTORY_RATIO = 10       # a fact this many times (or this fraction of) its unit's own median is warned about

PROBLEM_COLUMNS = ["row", "column", "value", "severity", "code", "message"]

MESSAGES = {
    "missing_column": "required column {column!r} is not in the file",
    "missing_value": "{column!r} is empty",
    "unreadable_number": "{column!r}: {value!r} is not a number",
    "unreadable_int": "{column!r}: {value!r} is not a whole number",
    "unreadable_date": "{column!r}: {value!r} is not a date (use dd.mm.yyyy)",
    "unreadable_period": "{column!r}: {value!r} is not a period (2024, 2024-Q3, 3 кв. 2024, 2024-07, июль 2024)",
    "unreadable_bool": "{column!r}: {value!r} is not yes/no",
    "unreadable_enum": "{column!r}: {value!r} is not one of the allowed values",
    "unknown_unit": "{column!r}: {value!r} is neither a known region (KATO, ISO or name) nor an organisation",
    "unknown_region": "{column!r}: {value!r} is not a known region (KATO, ISO or name)",
    "unknown_indicator": "{column!r}: indicator {value!r} does not exist",
    "unknown_project": "{column!r}: project {value!r} does not exist",
    "unknown_reference": "{column!r}: {value!r} does not exist in the reference data",
    "constraint": "the database refused the rows: {value}",
    "unknown_period": "{column!r}: period {value!r} is outside the calendar",
    "period_mismatch": "{column!r}: {value!r} does not match the indicator's periodicity",
    "negative_amount": "{column!r}: {value!r} is negative, which an amount cannot be",
    "out_of_range": "{column!r}: {value!r} is out of range",
    "duplicate_key": "{column!r}: this key appears more than once in the file ({value})",
    "unit_not_allowed": "{column!r}: {value!r} is not one of your regions",
    "data_set_closed": "{column!r}: this row would change the data set {value}, which is no longer open; ask an "
                       "analyst to return it (or an admin to unlock it) first",
    "kind_not_allowed": "your role may not upload this kind of data",
    "duplicate_file": "this file was already committed as batch {value}",
    "outlier": "{column!r}: {value!r} is far from this unit's own history (modified z-score above 3.5): confirm it",
    "totals_row": "totals row skipped: {value!r}",
    "republic_budget_row": "{value!r} is the republic as a whole, skipped: upload the republican budget under the "
                           "organisation code of the ministry that administers the programme (e.g. MLSP, MF)",
    "ignored_column": "column {column!r} is not used",
    "no_header": "no header row with known column names in the first 15 rows",
    "no_sheet": "no such sheet: {value}",
    "unreadable": "the file could not be read: {value}",
    "empty": "the file has no data rows",
    "limit": "over a limit: {value}",
    "out_of_bounds": "{column!r}: {value}: outside the indicator's plausible bounds (its passport)",
    "far_from_history": "{column!r}: {value!r} is over 10 times (or under a tenth of) this unit's own median: "
                        "confirm it",
    "not_reported": "{column!r}: not reported ('-', '…', 'x'): left missing, never zero",
    "former_unit": "{value!r} is a former unit (South Kazakhstan region until 2018): its figures are not stored",
    "not_reported_cells": "{value} cells are not reported ('-', '…', 'x' or empty): left missing, never zero",
    "encoding": "the file's text: {value}",
    "too_long": "{column!r}: a cell of {value} characters; the limit is 32 767 (Excel's own)",
    "control_char": "{column!r}: {value!r} holds a NUL or another control character",
    "not_finite": "{column!r}: {value!r} is not a finite number",
    "date_out_of_range": "{column!r}: {value!r} is outside the years 1900-2100",
    "ambiguous_document": "{column!r}: no document given, and this value is stored under several ({value}): "
                          "add a document column saying which",
}


class BatchNotFound(LookupError):
    pass


class RollbackRefused(RuntimeError):
    """Rolling back would undo a later committed batch's changes, or the batch is already rolled back."""


@dataclass
class ImportReport:
    """What an import did (or would do). ``problems`` columns: row (Excel row number, NA for the
    whole file), column (header as written), value, severity ('error' | 'warning' | 'info'), code, message."""
    kind: str
    file_name: str
    sha256: str
    status: str = "dry_run"          # 'dry_run' | 'committed' | 'rejected'
    batch_id: int | None = None
    sheet: str | None = None
    header_row: int | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    totals: int = 0
    blank: int = 0
    not_reported: int = 0            # number cells with '-', '…', 'x': missing, never zero
    duplicate_of: int | None = None
    columns: dict[str, str] = field(default_factory=dict)   # header as written -> column
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    problems_total: int = 0

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "warning"]

    @property
    def ok(self) -> bool:
        return self.errors.empty

    def counts(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "totals": self.totals, "warnings": len(self.warnings),
                "not_reported": self.not_reported}


class _Rejected(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


KINDS_BY_TABLE = {k.table: k for k in KINDS.values()}

_seq = itertools.count(1)
_seq_lock = threading.Lock()


def _table_columns(cur, table: str) -> list[str]:
    return [r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
        "ORDER BY ordinal_position", [table]).fetchall()]


def _first(rows: list):
    """The first row or None (DuckDB 2 wants results fetched to the end before the next statement)."""
    return rows[0] if rows else None


# -- header matching -------------------------------------------------------------

def _matcher(spec: Kind) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in spec.fields:
        for k in f.keys():
            out.setdefault(k, f.name)
    return out


def match_headers(spec: Kind, headers: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """({column: index in file}, [(problem code, header)]): the first header naming a column wins."""
    m = _matcher(spec)
    found: dict[str, int] = {}
    issues = []
    for i, h in enumerate(headers):
        col = m.get(parse.norm_header(h))
        if col is None or col in found:
            if h:
                issues.append(("ignored_column", h))
            continue
        found[col] = i
    return found, issues


# -- mapping of distinct values ------------------------------------------------------

def _map_values(f: Field, values: list[str], units: UnitLookup) -> pd.DataFrame:
    """raw -> val (typed) for the distinct cells of one column, as written; val NA when unreadable."""
    if f.type in ("unit", "region"):
        vals = [units.resolve(v, allow_orgs=f.type == "unit") for v in values]
        return pd.DataFrame({"raw": values, "val": pd.array(vals, dtype="string")})
    if f.type == "period":
        return pd.DataFrame({"raw": values, "val": pd.array([parse.parse_period(v) for v in values], dtype="string")})
    if f.type == "date":
        return pd.DataFrame({"raw": values, "val": pd.Series([parse.parse_date(v) for v in values], dtype="object")})
    if f.type == "bool":
        return pd.DataFrame({"raw": values, "val": pd.array([parse.parse_bool(v) for v in values], dtype="boolean")})
    if f.type == "enum":
        return pd.DataFrame({"raw": values,
                             "val": pd.array([parse.parse_enum(v, f.choices) for v in values], dtype="string")})
    raise ValueError(f.type)


# Types mapped once per distinct cell (see _mapping); text columns with a ``ref`` are mapped too.
_MAPPED = ("unit", "region", "period", "date", "bool", "enum")


def _mapping(cur, f: Field, raw_name: str, cell: str, mname: str, units) -> list[str]:
    """Create ``mname``: one row per distinct non-NULL cell of column ``cell`` of ``raw_name``, with
    raw (the cell as written), t (trimmed, NULL when blank), val (typed; NULL when unreadable),
    _tot (the cell starts a totals row) and extras, whose names are returned: known (the value exists
    in the table ``ref`` names, or in periods for a period), kind ('year' | 'quarter' | 'month' of a
    period), periodicity (of the referenced indicator)."""
    src = f"(SELECT DISTINCT {cell} AS raw FROM {raw_name} WHERE {cell} IS NOT NULL)"
    view = None
    if f.type in _MAPPED:
        cells = [v for (v,) in cur.execute(src).fetchall()]
        view = f"{mname}_v"
        cur.register(view, _map_values(f, cells, units))
        src = f"(SELECT CAST(raw AS VARCHAR) AS raw, CAST(val AS {_SQL_TYPE.get(f.type, 'VARCHAR')}) AS val FROM {view})"
    else:  # text looked up in a reference table
        src = f"(SELECT raw, NULLIF(trim(raw), '') AS val FROM {src})"
    extras, cols, join = [], [], ""
    if f.ref == "indicators":
        join = "LEFT JOIN indicators i ON i.indicator_id = m.val"
        cols += ["i.indicator_id IS NOT NULL AS known", "i.periodicity AS periodicity",
                 "i.min_value AS min_value", "i.max_value AS max_value"]
        extras += ["known", "periodicity", "min_value", "max_value"]
    elif f.ref:
        table, column = f.ref.split(".")
        cols.append(f"m.val IN (SELECT {column} FROM {table}) AS known")
        extras.append("known")
    if f.type == "period":
        cols += ["m.val IN (SELECT code FROM periods) AS known",
                 "CASE WHEN m.val LIKE '%-Q%' THEN 'quarter' WHEN m.val LIKE '%-%' THEN 'month' ELSE 'year' END AS kind"]
        extras += ["known", "kind"]
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {mname} AS SELECT m.raw, NULLIF(trim(m.raw), '') AS t, m.val, "
                    f"regexp_matches(m.raw, '(?i){_TOTALS_SQL}') AS _tot{''.join(', ' + c for c in cols)} "
                    f"FROM {src} m {join}")
    finally:
        if view:
            cur.unregister(view)
    return extras


_SQL_TYPE = {"date": "DATE", "bool": "BOOLEAN"}
# Cells that say "no figure" in published statistics and office files (after trimming).
NOT_REPORTED = ("-", "–", "—", "−", "…", "...", "..", "x", "х", "X", "Х", "н/д", "n/a", "N/A")
NOT_REPORTED_SQL = ", ".join(literal(x) for x in NOT_REPORTED)

_TOTALS_SQL = ("^\\s*(итого|всего|барлығы|барлыгы|жиыны|жиынтығы|total|grand total|subtotal|республика казахстан|"
               "казахстан|қазақстан республикасы|казахстан республикасы|по республике|республика бойынша|рк|"
               "kazakhstan|republic of kazakhstan)(\\s|$|[.,:;()\\-])")


_REPUBLIC_SQL = ("(республика казахстан|казахстан|қазақстан республикасы|казахстан республикасы|по республике|"
                 "республика бойынша|^\\s*рк(\\s|$)|kazakhstan|republic of kazakhstan)")


def _trimmed(cell: str) -> str:
    """``NULLIF(trim(cell), '')``, trimming only the cells that may need it. DuckDB's trim removes ' ' and the
    Unicode space separators (Zs) and nothing else, so a non-empty ASCII cell without a space is left as it is:
    most cells of a file (codes, numbers) skip the copy trim makes."""
    return (f"CASE WHEN {cell} < '!' OR contains({cell}, ' ') OR strlen({cell}) <> length({cell}) "
            f"THEN NULLIF(trim({cell}), '') ELSE {cell} END")


def _suggest_units(cur, frame: pd.DataFrame) -> None:
    """An unknown unit's message lists the closest known names (for the first 200 distinct values)."""
    unknown = frame["code"].isin(["unknown_unit", "unknown_region"])
    if not unknown.any():
        return
    lookup = UnitLookup.load(cur)
    cache: dict[str, list[str]] = {}
    for i in frame.index[unknown]:
        v = frame.at[i, "value"]
        if v not in cache and len(cache) < 200:
            cache[v] = lookup.suggest(v)
        if cache.get(v):
            frame.at[i, "message"] += "; closest known: " + ", ".join(cache[v])


# -- preparing one file ----------------------------------------------------------------

@dataclass
class _Prepared:
    report: ImportReport
    spec: Kind
    present: list[str]          # columns whose values the file supplies (after name fallbacks)
    ok: bool
    diff: str | None = None     # temp table: key, present columns, _op ('insert' | 'update' | 'unchanged')
    raw_name: str | None = None  # prefix of this import's temp tables


def _prepare(cur, data: bytes, file_name: str, spec: Kind, sheet: str | None, allowed_units: set[str] | None,
             path: str | None, force: bool, committing: bool) -> _Prepared:
    sha = hashlib.sha256(data).hexdigest()
    rep = ImportReport(kind=spec.kind, file_name=file_name, sha256=sha)
    probs: list[pd.DataFrame] = []

    def file_problem(code: str, column: str | None = None, value: object = None, severity: str = "error") -> None:
        probs.append(pd.DataFrame([{"row": pd.NA, "column": column, "value": None if value is None else str(value),
                                    "severity": severity, "code": code}]))

    def finish(ok: bool, present: list[str]) -> _Prepared:
        frame = pd.concat(probs, ignore_index=True) if probs else pd.DataFrame(columns=PROBLEM_COLUMNS[:-1])
        frame = frame.astype({"row": "Int64"}) if len(frame) else frame
        rep.problems_total = len(frame)
        frame = frame.sort_values(["row", "severity"], na_position="first", kind="stable").head(PROBLEM_LIMIT)
        frame["message"] = [MESSAGES[c].format(column=col, value=v)
                            for c, col, v in zip(frame["code"], frame["column"], frame["value"], strict=True)]
        _suggest_units(cur, frame)
        rep.problems = frame.reset_index(drop=True)[PROBLEM_COLUMNS]
        rep.rejected = int(frame.loc[frame["severity"] == "error", "row"].dropna().nunique())
        return _Prepared(rep, spec, present, ok and rep.ok)

    dup = cur.execute("SELECT max(batch_id) FROM upload_batches WHERE sha256 = ? AND kind = ? AND status = 'committed'",
                      [sha, spec.kind]).fetchall()[0][0]
    if dup is not None:
        rep.duplicate_of = int(dup)
        file_problem("duplicate_file", value=dup, severity="error" if committing and not force else "warning")
    if allowed_units is not None and (not spec.office or not any(f.type in ("unit", "region") for f in spec.fields)):
        file_problem("kind_not_allowed")
        return finish(False, [])

    matcher = _matcher(spec)

    def score(cells: list[str]) -> int:
        return len({matcher[k] for k in (parse.norm_header(c) for c in cells) if k in matcher})

    fmt = readers.detect_format(file_name, data)
    with _seq_lock:
        n = next(_seq)
    raw_name = f"_ing_raw_{n}"
    try:
        if fmt == "xlsx":
            raw = readers.read_xlsx(cur, data, raw_name, score, sheet)
        elif fmt == "parquet":
            raw = readers.read_parquet(cur, data, raw_name, score)
        else:
            raw = readers.read_csv(cur, data, raw_name, score, path)
    except readers.FileProblem as e:
        file_problem(e.code, value=str(e))
        return finish(False, [])
    except (duckdb.Error, ValueError, OSError, EOFError, LookupError, MemoryError) as e:
        # a damaged file that a library chokes on: the user gets why, never a traceback with server paths
        file_problem("unreadable", value=f"{fmt.upper()}: {readers.clean_error(e)}")
        return finish(False, [])
    rep.sheet, rep.header_row = raw.sheet, raw.header_row
    # headers are quoted into SQL constants (problem listings), which cannot hold NUL: shown as U+FFFD
    raw.headers = [h.replace("\x00", "\ufffd") for h in raw.headers]
    found, issues = match_headers(spec, raw.headers)
    for code, h in issues:
        file_problem(code, column=h, severity="info")
    rep.columns = {raw.headers[i]: col for col, i in found.items()}
    header = {col: raw.headers[i] for col, i in found.items()}
    missing = [f.name for f in spec.fields if f.required and f.name not in found]
    fallback = NAME_FALLBACK.get(spec.kind)
    if fallback and not any(c in found for c in (fallback[0], *fallback[1])):
        missing.append(fallback[0])
    for m in missing:
        file_problem("missing_column", column=m)
    if spec.one_of and not any(c in found for c in spec.one_of):
        file_problem("missing_column", column=" / ".join(spec.one_of))
    if missing or (spec.one_of and not any(c in found for c in spec.one_of)):
        return finish(False, [])

    # -- rows: blank, totals --------------------------------------------------------
    cells = [f"c{i}" for i in range(len(raw.headers))]
    # Blank rows, and note rows whose first cell starts with '#' (the templates' ru/kk header note).
    # The cheap '< !' tests come first so that trim() only runs on the rare cells that start with a space.
    blank_sql = ("((" + " AND ".join(f"(r.{c} IS NULL OR r.{c} < '!')" for c in cells) + ") AND "
                 + " AND ".join(f"coalesce(trim(r.{c}), '') = ''" for c in cells)
                 + " OR (r.c0 < '$' AND starts_with(trim(r.c0), '#')))")
    totals_cols = sorted({"c0", *[f"c{found[f.name]}" for f in spec.fields
                                  if f.name in found and f.type in ("unit", "region", "text") and f.required]})

    # -- typed staging, in three projections ------------------------------------------------
    # Columns with few distinct values (codes, periods, dates, yes/no, referenced ids) are mapped
    # once per *distinct cell* into a small table ({raw_name}_m_<column>: the cell as written, its
    # trimmed text, the typed value and flags) and joined back on the cell itself, so their cells
    # are never trimmed, parsed or looked up row by row. Other text and numbers are trimmed per row.
    # s1: cells, trimmed text of the other columns, the blank flag, totals flags of unmapped cells;
    # s2: joined to the mappings (typed values, flags);  s3: numbers parsed, the totals note.
    units = UnitLookup.load(cur)
    mapped = {f.name for f in spec.fields if f.name in found and (f.type in _MAPPED or f.ref)}
    s1 = ["r._row", f"{blank_sql} AS _blank"]
    s2 = ["s1._row", "s1._blank"]
    s3 = ["_row", "_blank", "(NOT _blank AND _tot) AS _totals"]
    tot_parts: list[str] = []
    note_cols = []
    for c in totals_cols:
        note_cols.append(f"_{c}")
        s1.append(f"r.{c} AS _{c}")
        s2.append(f"s1._{c}")
        owner = next((f for f in spec.fields if f.name in mapped and f"c{found[f.name]}" == c), None)
        if owner is None:
            s1.append(f"regexp_matches(coalesce(r.{c}, ''), '(?i){_TOTALS_SQL}') AS _tot_{c}")
            tot_parts.append(f"s1._tot_{c}")
        else:
            tot_parts.append(f"coalesce({raw_name}_m_{owner.name}._tot, FALSE)")
    s2.append(f"({' OR '.join(tot_parts)}) AS _tot")
    s3.append(f"CASE WHEN _tot AND NOT _blank THEN concat_ws(' ', {', '.join(note_cols)}) END AS _note")
    joins = []
    not_reported: list[str] = []   # number columns whose '-', '…', 'x' cells are flagged <name>__nr
    for f in spec.fields:
        if f.name not in found:
            continue
        c = f"c{found[f.name]}"
        raw_col, val = ident(f.name + "__raw"), ident(f.name)
        if f.name in mapped:
            mname = f"{raw_name}_m_{f.name}"
            extras = _mapping(cur, f, raw_name, c, mname, units)
            s1.append(f"r.{c} AS {ident(f.name + '__cell')}")
            joins.append(f"LEFT JOIN {mname} ON {mname}.raw = s1.{ident(f.name + '__cell')}")
            s2 += [f"{mname}.t AS {raw_col}", f"{mname}.val AS {val}",
                   *(f"{mname}.{x} AS {ident(f.name + '__' + x)}" for x in extras)]
            s3 += [raw_col, val, *(ident(f.name + "__" + x) for x in extras)]
            continue
        s1.append(f"{_trimmed('r.' + c)} AS {raw_col}")
        s2.append(f"s1.{raw_col}")
        if f.type in ("number", "amount", "share", "int"):  # '-', '…', 'x': not reported, missing (never zero)
            s3.append(f"CASE WHEN {raw_col} IN ({NOT_REPORTED_SQL}) THEN NULL ELSE {raw_col} END AS {raw_col}")
            s3.append(f"coalesce({raw_col} IN ({NOT_REPORTED_SQL}), FALSE) AS {ident(f.name + '__nr')}")
            not_reported.append(f.name)
        else:
            s3.append(raw_col)
        if f.type in ("number", "amount", "share", "int"):
            num = parse.number_fast_sql(raw_col)
            if f.type == "share":  # '45%' or 45 -> 0.45; 0.45 stays
                num = (f"(CASE WHEN {raw_col} LIKE '%\\%%' ESCAPE '\\' OR {num} > 1 "
                       f"THEN {num} / 100 ELSE {num} END)")
            s3.append(f"{num} AS {val}")
        elif f.type == "text":
            if f.default is not None and f.name in spec.key:
                s2.append(f"coalesce(s1.{raw_col}, {literal(f.default)}) AS {val}")
            else:
                s2.append(f"s1.{raw_col} AS {val}")
            s3.append(val)
        else:
            raise ValueError(f.type)
    present = [f.name for f in spec.fields if f.name in found]
    if fallback:  # name_en NOT NULL: fill it from the other languages (and the others from it, for passports)
        names = [n for n in (fallback[0], *fallback[1]) if n in found]
        targets = [fallback[0]] + ([*fallback[1]] if spec.kind in ALL_NAMES_REQUIRED else [])
        for t in targets:
            order = [t] + [n for n in names if n != t]
            expr = f"coalesce({', '.join(ident(n) for n in order if n in found)})"
            s3 = [o for o in s3 if o != ident(t)] + [f"{expr} AS {ident(t)}"]
            if t not in present:
                present.append(t)
    # -- problems --------------------------------------------------------------------
    # Row-by-row rules are gathered as (condition, select) pairs: the typed staging flags the rows that
    # break any of them (_bad, few), and each rule then reads only those rows.
    checks: list[tuple[str, str]] = []

    def check(code: str, col: str, where: str, value: str | None = None, severity: str = "error") -> None:
        value = value or ident(col + "__raw")
        checks.append((f"({where})", f"SELECT _row AS row, {literal(header.get(col, col))} AS column, "
                       f"CAST({value} AS VARCHAR) AS value, '{severity}' AS severity, '{code}' AS code"))

    unreadable = {"number": "unreadable_number", "amount": "unreadable_number", "share": "unreadable_number",
                  "int": "unreadable_int", "date": "unreadable_date", "period": "unreadable_period",
                  "bool": "unreadable_bool", "enum": "unreadable_enum", "unit": "unknown_unit",
                  "region": "unknown_region"}
    for f in spec.fields:
        if f.name not in found:
            continue
        v, r = ident(f.name), ident(f.name + "__raw")
        if f.required:
            check("missing_value", f.name, f"{r} IS NULL")
        if f.type in unreadable:
            check(unreadable[f.type], f.name, f"{r} IS NOT NULL AND {v} IS NULL")
        if f.type in ("number", "amount", "share", "int"):  # '1e309' parses to infinity: not a value anyone meant
            check("not_finite", f.name, f"{v} IS NOT NULL AND NOT isfinite({v})")
        if f.type == "int":
            check("unreadable_int", f.name, f"{v} IS NOT NULL AND isfinite({v}) AND {v} <> round({v})")
        if f.type == "date":
            check("date_out_of_range", f.name, f"{v} < DATE '1900-01-01' OR {v} > DATE '2100-12-31'")
        if f.type == "text":
            check("too_long", f.name, f"length({r}) > {readers.Limits().max_cell_chars}", value=f"length({r})")
            check("control_char", f.name, f"regexp_matches({r}, '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]')",
                  value=f"regexp_replace({r}, '[\\x00-\\x1f]', '?', 'g')")
        if f.type == "amount":
            check("negative_amount", f.name, f"{v} < 0")
        if f.type == "share":
            check("out_of_range", f.name, f"{v} < 0 OR {v} > 1")
        if f.lo is not None:
            check("out_of_range", f.name, f"{v} < {f.lo}")
        if f.hi is not None:
            check("out_of_range", f.name, f"{v} > {f.hi}")
        if f.ref:  # the mapping looked each distinct value up (see _mapping)
            check("unknown_indicator" if f.ref == "indicators" else "unknown_reference", f.name,
                  f"{v} IS NOT NULL AND NOT {ident(f.name + '__known')}")
        if f.type == "period":
            check("unknown_period", f.name, f"{v} IS NOT NULL AND NOT {ident(f.name + '__known')}")
        if f.type in ("unit", "region") and allowed_units is not None:
            region_of = units.region_of
            ok_codes = sorted(c for c, rk in region_of.items() if c in allowed_units or rk in allowed_units)
            in_list = ", ".join(literal(c) for c in ok_codes) or "NULL"
            check("unit_not_allowed", f.name, f"{v} IS NOT NULL AND {v} NOT IN ({in_list})"
                  if f.required else f"{v} IS NULL OR {v} NOT IN ({in_list})")
    if spec.kind == "contributions":
        check("unknown_project", "project_id",
              "project_id IS NOT NULL AND project_id NOT IN (SELECT project_id FROM projects)")
    for name in not_reported:
        check("not_reported", name, ident(name + "__nr"), value="NULL", severity="warning")
    skip_nr = "FALSE"  # a row whose every value is 'not reported' is skipped (warned), not stored, not an error
    if spec.one_of:
        cols = [c for c in spec.one_of if c in found]
        all_null = " AND ".join(f"{ident(c + '__raw')} IS NULL" for c in cols)
        any_nr = " OR ".join(ident(c + "__nr") for c in cols if c in not_reported) or "FALSE"
        skip_nr = f"({all_null} AND ({any_nr}))"
        check("missing_value", cols[0], f"{all_null} AND NOT ({any_nr})")
    if fallback:
        check("missing_value", fallback[0], f"{ident(fallback[0])} IS NULL", value="NULL")
    if spec.kind == "indicator_values":
        # the passport's plausible bounds (issue 9), from the indicator's mapping
        for col in ("plan", "fact"):
            if col in found:
                v = ident(col)
                check("out_of_bounds", col, f"{v} < indicator_id__min_value OR {v} > indicator_id__max_value",
                      value=f"CAST({v} AS VARCHAR) || ' (bounds ' || coalesce(CAST(indicator_id__min_value AS VARCHAR), "
                            f"'-inf') || ' to ' || coalesce(CAST(indicator_id__max_value AS VARCHAR), '+inf') || ')'")
        # the indicator's periodicity and the period's kind come from the two mappings
        check("period_mismatch", "period",
              "period IS NOT NULL AND indicator_id__periodicity IS NOT NULL "
              "AND period__kind <> indicator_id__periodicity")
    all_rows = f"{raw_name}_all"
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {all_rows} AS SELECT *, ({' OR '.join(w for w, _ in checks)}) AS _bad, "
        f"{skip_nr} AS _skip "
        f"FROM (SELECT {', '.join(s3)} FROM ("
        f"SELECT {', '.join(s2)} FROM (SELECT {', '.join(s1)} FROM {raw_name} r) s1 {' '.join(joins)}) s2)")
    _drop_raw(cur, raw_name)  # the cells are all in {all_rows} now: give their memory back for what follows
    nr_count = " + ".join(f"count(*) FILTER ({ident(n + '__nr')} AND NOT _blank AND NOT _totals)"
                          for n in not_reported) or "0"
    rep.rows_read, rep.blank, rep.totals, rep.not_reported, skipped = cur.execute(
        f"SELECT count(*), count(*) FILTER (_blank), count(*) FILTER (_totals), {nr_count}, "
        f"count(*) FILTER (_skip AND NOT _blank AND NOT _totals) FROM {all_rows}").fetchall()[0]
    if rep.totals:
        # In a budget the republic is no totals row but the republican budget, which has no unit of its own here:
        # skipped all the same, but said as a warning with what to do instead.
        republic = (f"regexp_matches(coalesce(_note, ''), '(?i){_REPUBLIC_SQL}')" if spec.kind == "budget"
                    else "FALSE")
        probs.append(cur.execute(
            f"SELECT _row AS row, NULL AS column, _note AS value, "
            f"CASE WHEN {republic} THEN 'warning' ELSE 'info' END AS severity, "
            f"CASE WHEN {republic} THEN 'republic_budget_row' ELSE 'totals_row' END AS code "
            f"FROM {all_rows} WHERE _totals ORDER BY 1").df())
    for name in not_reported if skipped else ():  # the skipped rows are not in the stage the checks read
        probs.append(cur.execute(
            f"SELECT _row AS row, ? AS column, NULL AS value, 'warning' AS severity, 'not_reported' AS code "
            f"FROM {all_rows} WHERE _skip AND {ident(name + '__nr')} AND NOT _blank AND NOT _totals "
            f"ORDER BY 1 LIMIT {PROBLEM_LIMIT}", [header.get(name, name)]).df())
    if rep.rows_read - rep.blank - rep.totals - skipped == 0:
        file_problem("empty")
        return finish(False, [])
    stage = f"{raw_name}_stage"
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {stage} AS SELECT * FROM {all_rows} "
                "WHERE NOT _blank AND NOT _totals AND NOT _skip")

    bad = f"{raw_name}_bad"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {bad} AS SELECT * FROM {stage} WHERE _bad")
    selects = [f"{sel} FROM {bad} WHERE {w}" for w, sel in checks]
    stage = _adopt_stored_document(cur, spec, stage, present, raw_name, header, selects)
    # A key twice in the file: the keys that repeat are found by a count per key (no row numbers
    # carried through a million groups); only their rows are then listed.
    key_cols = [k for k in spec.key if k in present]
    key_list = ", ".join(ident(k) for k in key_cols)
    selects.append(
        f"SELECT d._row AS row, {literal(header.get(key_cols[0], key_cols[0]))} AS column, "
        f"'rows ' || string_agg(d._row::VARCHAR, ', ' ORDER BY d._row) OVER (PARTITION BY {key_list}) AS value, "
        f"'error' AS severity, 'duplicate_key' AS code FROM (SELECT s._row, {', '.join(f's.{ident(k)}' for k in key_cols)} "
        f"FROM {stage} s SEMI JOIN (SELECT {key_list} FROM {stage} "
        f"WHERE {' AND '.join(f'{ident(k)} IS NOT NULL' for k in key_cols)} GROUP BY ALL HAVING count(*) > 1) k "
        f"ON {' AND '.join(f's.{ident(k)} = k.{ident(k)}' for k in key_cols)}) d")
    if spec.kind == "indicator_values" and "fact" in found and cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM indicator_values WHERE fact IS NOT NULL LIMIT 1)").fetchall()[0][0]:
        # METHODOLOGY.md §8: a fact far from the same unit's own stored history is flagged, not dropped.
        # (Skipped when nothing is stored yet: there is no history to compare with.)
        selects.append(
            f"SELECT s._row AS row, {literal(header['fact'])} AS column, s.fact__raw AS value, 'warning' AS severity, "
            f"'outlier' AS code FROM {stage} s JOIN ("
            f"  SELECT indicator_id, unit_code, median(fact) AS med, count(*) AS n FROM indicator_values "
            f"  WHERE fact IS NOT NULL AND (indicator_id, unit_code) IN "
            f"    (SELECT DISTINCT indicator_id, unit_code FROM {stage}) GROUP BY ALL) h USING (indicator_id, unit_code) "
            f"JOIN (SELECT v.indicator_id, v.unit_code, median(abs(v.fact - m.med)) AS mad FROM indicator_values v "
            f"  JOIN (SELECT indicator_id, unit_code, median(fact) AS med FROM indicator_values WHERE fact IS NOT NULL "
            f"        AND (indicator_id, unit_code) IN (SELECT DISTINCT indicator_id, unit_code FROM {stage}) "
            f"        GROUP BY ALL) m USING (indicator_id, unit_code) WHERE v.fact IS NOT NULL GROUP BY ALL) d "
            f"  USING (indicator_id, unit_code) "
            f"WHERE h.n >= {OUTLIER_MIN_HISTORY} AND d.mad > 0 AND s.fact IS NOT NULL "
            f"AND abs(0.6745 * (s.fact - h.med) / d.mad) > {OUTLIER_Z}")
        # Issue 9: a fact more than HISTORY_RATIO times the unit's own median (a thousand typed for a million,
        # a share typed in per mille): warned even with too little history for the z-score.
        selects.append(
            f"SELECT s._row AS row, {literal(header['fact'])} AS column, s.fact__raw AS value, 'warning' AS severity, "
            f"'far_from_history' AS code FROM {stage} s JOIN ("
            f"  SELECT indicator_id, unit_code, median(fact) AS med FROM indicator_values "
            f"  WHERE fact IS NOT NULL AND (indicator_id, unit_code) IN "
            f"    (SELECT DISTINCT indicator_id, unit_code FROM {stage}) GROUP BY ALL) h USING (indicator_id, unit_code) "
            f"WHERE s.fact IS NOT NULL AND h.med <> 0 AND (abs(s.fact) > {HISTORY_RATIO} * abs(h.med) "
            f"OR abs(s.fact) * {HISTORY_RATIO} < abs(h.med))")
    # Issue 12: a row that would change a figure inside a submitted, approved or locked data set
    guarded = datasets.refusal_select(
        spec.kind, stage, spec.table, spec.key,
        [c for c in present if c not in spec.key and c in _table_columns(cur, spec.table)], present,
        {k: spec.field(k).default for k in spec.key if k not in present},
        header.get("period", header.get(datasets.GUARDED.get(spec.kind, ("", ""))[0], "period")))
    if guarded:
        selects.append(guarded)
    errors_tbl = f"{raw_name}_err"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {errors_tbl} AS {' UNION ALL '.join(selects)}")
    probs.append(cur.execute(f"SELECT * FROM {errors_tbl} ORDER BY row LIMIT {PROBLEM_LIMIT}").df())
    n_err_rows = cur.execute(f"SELECT count(DISTINCT row) FROM {errors_tbl} WHERE severity = 'error'").fetchall()[0][0]

    # -- diff against the store ----------------------------------------------------------
    table_cols = _table_columns(cur, spec.table)
    values = [c for c in present if c not in spec.key and c in table_cols]
    on = " AND ".join(f"t.{ident(k)} = " + (f"s.{ident(k)}" if k in present else literal(spec.field(k).default))
                      for k in spec.key)
    same = " AND ".join(f"t.{ident(c)} IS NOT DISTINCT FROM s.{ident(c)}" for c in values) or "TRUE"
    diff = f"{raw_name}_diff"
    key_sel = ", ".join(f"s.{ident(k)}" if k in present else f"{literal(spec.field(k).default)} AS {ident(k)}"
                        for k in spec.key)
    ok_rows = (f"(SELECT * FROM {stage} WHERE _row NOT IN "
               f"(SELECT row FROM {errors_tbl} WHERE severity = 'error' AND row IS NOT NULL))") if n_err_rows else stage
    diff_sql = (f"SELECT {key_sel}{''.join(f', s.{ident(c)}' for c in values)}, CASE WHEN t.{ident(spec.key[0])} IS NULL "
                f"THEN 'insert' WHEN {same} THEN 'unchanged' ELSE 'update' END AS _op "
                f"FROM {ok_rows} s LEFT JOIN {spec.table} t ON {on}")
    counts = ("SELECT count(*) FILTER (_op = 'insert'), count(*) FILTER (_op = 'update'), "
              "count(*) FILTER (_op = 'unchanged') FROM ")
    if committing and n_err_rows == 0:  # the writer reads it three times: materialised once
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {diff} AS {diff_sql}")
        rep.inserted, rep.updated, rep.unchanged = cur.execute(counts + diff).fetchall()[0]
    else:  # a dry run (or a file that will be refused) only counts
        diff = None
        rep.inserted, rep.updated, rep.unchanged = cur.execute(f"{counts} ({diff_sql})").fetchall()[0]
    prepared = finish(n_err_rows == 0, values)
    prepared.report.rejected = max(prepared.report.rejected, n_err_rows)
    prepared.diff, prepared.raw_name = diff, raw_name
    return prepared


LOOSE_KEY = "source_document"  # a key column a file may leave out (or blank): see _adopt_stored_document


def _adopt_stored_document(cur, spec: Kind, stage: str, present: list[str], raw_name: str, header: dict,
                           selects: list[str]) -> str:
    """Keep the natural key unambiguous when a file leaves the source document out (or blank).

    A row with no document whose other key columns match exactly one stored row updates that row (it takes
    the stored row's document); matching several stored rows (one value under two documents) is an error
    naming their documents, since nobody can tell which one the file means; matching none is inserted with
    no document. Without this, a file without a ``document`` column added a parallel row beside the stored
    one, and ``v_indicator_cells`` picked between them alphabetically. Returns the stage to diff against.
    """
    if LOOSE_KEY not in spec.key:
        return stage
    others = [k for k in spec.key if k != LOOSE_KEY]
    if any(k not in present for k in others):
        return stage
    doc = f"s.{ident(LOOSE_KEY)}" if LOOSE_KEY in present else "''"
    on = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in others)
    match = f"{raw_name}_docs"
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {match} AS SELECT s._row, count(DISTINCT t.{ident(LOOSE_KEY)}) AS n, "
                f"min(t.{ident(LOOSE_KEY)}) AS doc, string_agg(DISTINCT t.{ident(LOOSE_KEY)}, ', ' ORDER BY "
                f"t.{ident(LOOSE_KEY)}) AS docs FROM {stage} s JOIN {spec.table} t ON {on} "
                f"WHERE coalesce({doc}, '') = '' GROUP BY s._row")
    column = header.get(LOOSE_KEY, header.get(others[0], others[0]))
    selects.append(f"SELECT _row AS row, {literal(column)} AS column, docs AS value, 'error' AS severity, "
                   f"'ambiguous_document' AS code FROM {match} WHERE n > 1")
    adopted = f"{raw_name}_stage_doc"
    if LOOSE_KEY in present:
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {adopted} AS SELECT s.* REPLACE (CASE WHEN m.n = 1 THEN m.doc "
                    f"ELSE s.{ident(LOOSE_KEY)} END AS {ident(LOOSE_KEY)}) FROM {stage} s "
                    f"LEFT JOIN {match} m USING (_row)")
    else:
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {adopted} AS SELECT s.*, CASE WHEN m.n = 1 THEN m.doc ELSE '' END "
                    f"AS {ident(LOOSE_KEY)} FROM {stage} s LEFT JOIN {match} m USING (_row)")
        present.append(LOOSE_KEY)
    return adopted


def _drop_raw(cur, raw_name: str) -> None:
    """Drop the reader's cells (a view over ``<raw_name>_src`` for CSV, a table otherwise)."""
    is_view = cur.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?",
                          [raw_name]).fetchall()[0][0]
    cur.execute(f"DROP {'VIEW' if is_view else 'TABLE'} IF EXISTS temp.{ident(raw_name)}")
    cur.execute(f"DROP TABLE IF EXISTS temp.{ident(raw_name + '_src')}")


def _drop_temp(cur, raw_name: str) -> None:
    """Drop this import's temporary views and tables (a closed cursor drops them too)."""
    for (name,) in cur.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE ?",
                               [raw_name + "%"]).fetchall():
        cur.execute(f"DROP VIEW IF EXISTS temp.{ident(name)}")
    for (name,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE ?",
                               [raw_name + "%"]).fetchall():
        cur.execute(f"DROP TABLE IF EXISTS temp.{ident(name)}")


def _write(cur, prep: _Prepared, user: str) -> int:
    rep, spec = prep.report, prep.spec
    diff = prep.diff
    table_cols = _table_columns(cur, spec.table)
    bid = cur.execute(
        "INSERT INTO upload_batches (kind, file_name, sha256, uploaded_by, rows_inserted, rows_updated, rows_unchanged,"
        " rows_rejected, sheet, rows_warned, rows_totals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING batch_id",
        [spec.kind, rep.file_name, rep.sha256, user, rep.inserted, rep.updated, rep.unchanged, rep.rejected,
         rep.sheet, len(rep.warnings), rep.totals]).fetchall()[0][0]
    hist = f"hist_{spec.table}"
    on = " AND ".join(f"t.{ident(k)} = d.{ident(k)}" for k in spec.key)
    keys = ", ".join(ident(k) for k in spec.key)
    cur.execute(f"INSERT INTO {hist} SELECT t.*, {bid}, 'update' FROM {spec.table} t JOIN {diff} d ON {on} "
                "WHERE d._op = 'update'")
    values = prep.present
    has_batch = "batch_id" in table_cols
    if not has_batch:  # tables with batch_id know their inserted rows by it (see rollback): no copy of a million keys
        cur.execute(f"INSERT INTO {hist} ({keys}, hist_batch_id, hist_op) SELECT {keys}, {bid}, 'insert' FROM {diff} "
                    "WHERE _op = 'insert'")
    sets = [f"{ident(c)} = d.{ident(c)}" for c in values] + ([f"batch_id = {bid}"] if has_batch else [])
    if sets:
        cur.execute(f"UPDATE {spec.table} t SET {', '.join(sets)} FROM {diff} d WHERE {on} AND d._op = 'update'")
    cols = [*spec.key, *values]
    sel = [f"{ident(c)}" for c in cols]
    for f in spec.fields:  # NOT NULL columns with a default the file does not supply
        if f.name not in cols and f.default is not None and f.name in table_cols:
            cols.append(f.name)
            sel.append(literal(f.default) if not isinstance(f.default, bool | int | float) else str(f.default).upper()
                       if isinstance(f.default, bool) else str(f.default))
    if has_batch:
        cols.append("batch_id")
        sel.append(str(bid))
    # The stored rows have no order of their own (row numbers were taken when the file was read), so the
    # insert need not keep the file's: lets DuckDB write its row groups in parallel without re-ordering.
    # SESSION scope: this cursor's client context only (the setting is GLOBAL by default: a plain SET would
    # change it for every reader of the store). Reset on success; on failure the cursor is discarded.
    cur.execute("SET SESSION preserve_insertion_order = false")
    cur.execute(f"INSERT INTO {spec.table} ({', '.join(ident(c) for c in cols)}) SELECT {', '.join(sel)} "
                f"FROM {diff} WHERE _op = 'insert'")
    cur.execute("RESET SESSION preserve_insertion_order")
    audit.record(cur, user, "upload", target=str(bid), details={
        "kind": spec.kind, "file_name": rep.file_name, "sha256": rep.sha256, **rep.counts()})
    return int(bid)


def _source(source: str | Path | bytes, file_name: str | None) -> tuple[bytes, str, str | None]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), file_name or "upload", None
    p = Path(source)
    return p.read_bytes(), file_name or p.name, str(p)


def import_file(store, source: str | Path | bytes, kind: str, *, file_name: str | None = None,
                sheet: str | None = None, user: str = "anonymous", dry_run: bool = True,
                allowed_units: set[str] | None = None, force: bool = False) -> ImportReport:
    """Validate ``source`` (a path or the file's bytes) as ``kind`` and, unless ``dry_run``, commit it.

    Returns an :class:`ImportReport`: status 'dry_run', 'committed' (with ``batch_id``) or 'rejected'
    (errors, nothing written). ``allowed_units``: the KATO codes a project-office user may upload
    (rows of other regions are errors); None = all. ``force`` commits a file already committed once.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
    spec = KINDS[kind]
    data, name, path = _source(source, file_name)
    if dry_run:
        cur = store.cursor()
        try:
            prep = _prepare(cur, data, name, spec, sheet, allowed_units, path, force, committing=False)
            return prep.report
        finally:
            cur.close()
    try:
        with store.write() as cur:
            prep = _prepare(cur, data, name, spec, sheet, allowed_units, path, force, committing=True)
            if not prep.ok:
                raise _Rejected(prep.report)
            try:
                prep.report.batch_id = _write(cur, prep, user)
            except duckdb.ConstraintException as e:  # a rule the checks above do not know: refuse, write nothing
                rep = prep.report
                extra = pd.DataFrame([{"row": pd.NA, "column": None, "value": str(e), "severity": "error",
                                       "code": "constraint", "message": MESSAGES["constraint"].format(value=str(e))}])
                rep.problems = pd.concat([rep.problems.astype({"row": "Int64"}), extra.astype({"row": "Int64"})],
                                         ignore_index=True)
                raise _Rejected(rep) from e
            _drop_temp(cur, prep.raw_name)
    except _Rejected as r:
        r.report.status = "rejected"
        return r.report
    prep.report.status = "committed"
    return prep.report


# -- batches and rollback ----------------------------------------------------------------

def batches(store) -> pd.DataFrame:
    """Upload batches, newest first: batch_id, kind, file_name, sha256, uploaded_by, uploaded_at, rows_inserted,
    rows_updated, rows_unchanged, rows_rejected, rows_warned, rows_totals, sheet, status, rolled_back_at,
    rolled_back_by."""
    return store.df(
        "SELECT batch_id, kind, file_name, sha256, uploaded_by, uploaded_at, rows_inserted, rows_updated, "
        "rows_unchanged, rows_rejected, rows_warned, rows_totals, sheet, status, rolled_back_at, rolled_back_by "
        "FROM upload_batches ORDER BY batch_id DESC")


def spec_for_batch_kind(kind: str) -> Kind | None:
    """The importer's spec for an upload_batches.kind: an import kind, or a table name (the demo loader
    names its batches after the tables); None for tables the importer does not handle."""
    if kind in KINDS:
        return KINDS[kind]
    return next((k for k in KINDS.values() if k.table == kind), None)


def blocking_batches(cur, batch_id: int) -> list[int]:
    """Later committed batches that changed rows this batch wrote (they must be rolled back first).

    Tables with a ``batch_id`` column: a later batch that overwrote a row this batch wrote kept the
    row's image, whose ``batch_id`` is this batch. Passports (no ``batch_id``): rows are matched by key.
    """
    row = _first(cur.execute("SELECT kind FROM upload_batches WHERE batch_id = ?", [batch_id]).fetchall())
    if row is None:
        raise BatchNotFound(f"no upload batch {batch_id}")
    spec = spec_for_batch_kind(row[0])
    if spec is None:
        return []
    hist = f"hist_{spec.table}"
    if "batch_id" in _table_columns(cur, spec.table):
        sql = (f"SELECT DISTINCT h.hist_batch_id FROM {hist} h JOIN upload_batches b ON b.batch_id = h.hist_batch_id "
               f"WHERE h.batch_id = ? AND h.hist_batch_id > ? AND b.status = 'committed' ORDER BY 1")
    else:
        on = " AND ".join(f"h2.{ident(k)} = h1.{ident(k)}" for k in spec.key)
        sql = (f"SELECT DISTINCT h2.hist_batch_id FROM {hist} h1 JOIN {hist} h2 ON {on} "
               f"JOIN upload_batches b ON b.batch_id = h2.hist_batch_id "
               f"WHERE h1.hist_batch_id = ? AND h2.hist_batch_id > ? AND b.status = 'committed' ORDER BY 1")
    return [r[0] for r in cur.execute(sql, [batch_id, batch_id]).fetchall()]


# Stored rows that refer to another table's key, kept by this write path rather than a foreign key
# (indicator_values lost its keys in migration 005; contributions never had them). Rolling back the batch
# that added a key others still refer to would leave orphans: refused, naming who refers to it.
DEPENDENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "indicators": (("indicator_values", "indicator_id"), ("project_contributions", "indicator_id"),
                   ("budget_program_indicators", "indicator_id")),
    "projects": (("project_contributions", "project_id"),),
    "organisations": (("indicator_values", "unit_code"), ("budget_lines", "unit_code"), ("officials", "org_id"),
                      ("user_units", "unit_code"), ("budget_programs", "administrator")),
    "budget_programs": (("budget_lines", "program_code"), ("budget_program_indicators", "program_code")),
}


def _dependents(cur, table: str, inserted: str) -> list[str]:
    """'<table> holds rows of K1, K2 (batch 7)' for each dependent table with rows referring to the
    keys of ``inserted`` (a subquery of the rows a batch added)."""
    out = []
    key = KINDS_BY_TABLE[table].key[0]
    for dep, col in DEPENDENTS.get(table, ()):
        has_batch = "batch_id" in _table_columns(cur, dep)
        rows = cur.execute(
            f"SELECT string_agg(DISTINCT CAST(d.{ident(col)} AS VARCHAR), ', ' ORDER BY CAST(d.{ident(col)} AS VARCHAR)), "
            + ("string_agg(DISTINCT CAST(d.batch_id AS VARCHAR), ', ') " if has_batch else "NULL ")
            + f"FROM {dep} d JOIN {inserted} h ON d.{ident(col)} = h.{ident(key)}").fetchall()
        keys, bids = rows[0] if rows else (None, None)
        if keys:
            out.append(f"{dep} holds rows of {keys}" + (f" from batch {bids}: roll that back first" if bids else ""))
    return out


def rollback(store, batch_id: int, user: str = "anonymous") -> dict:
    """Restore exactly what was stored before ``batch_id``: previous values back, inserted rows removed.

    Refused (:class:`RollbackRefused`) when the batch is already rolled back, or when a later batch
    still committed changed the same rows (named in the message: roll it back first).
    Raises :class:`BatchNotFound` for an unknown id. Returns {'batch_id', 'restored', 'deleted'}.
    """
    with store.write() as cur:
        row = _first(cur.execute("SELECT kind, status FROM upload_batches WHERE batch_id = ?", [batch_id]).fetchall())
        if row is None:
            raise BatchNotFound(f"no upload batch {batch_id}")
        kind, status = row
        if status != "committed":
            raise RollbackRefused(f"batch {batch_id} is already rolled back")
        spec = spec_for_batch_kind(kind)
        if spec is None:
            raise RollbackRefused(f"batch {batch_id} ({kind}) was not loaded by the importer and cannot be rolled back")
        later = blocking_batches(cur, batch_id)
        if later:
            names = ", ".join(str(b) for b in later)
            word = "batch" if len(later) == 1 else "batches"
            raise RollbackRefused(f"batch {batch_id} cannot be rolled back: later {word} {names} changed the same rows "
                                  f"and {'is' if len(later) == 1 else 'are'} still committed; roll back {names} first")
        closed = datasets.rollback_refusal(cur, spec.kind, spec.table, batch_id)
        if closed:
            raise RollbackRefused(f"batch {batch_id} cannot be rolled back: its rows are in data sets that are not "
                                  f"open ({'; '.join(closed)}); an admin must unlock them first")
        hist, table = f"hist_{spec.table}", spec.table
        on = " AND ".join(f"t.{ident(k)} = h.{ident(k)}" for k in spec.key)
        cols = [c for c in _table_columns(cur, table) if c not in spec.key]
        if "batch_id" not in cols:  # passports: only rows with a history entry can be undone
            n_hist, n_rows = cur.execute(
                f"SELECT (SELECT count(*) FROM {hist} WHERE hist_batch_id = ?), rows_inserted + rows_updated "
                "FROM upload_batches WHERE batch_id = ?", [batch_id, batch_id]).fetchall()[0]
            if n_hist < n_rows:
                raise RollbackRefused(f"batch {batch_id} has no recorded history (not loaded by the importer) "
                                      "and cannot be rolled back")
        if "batch_id" in cols:
            # rows still carrying this batch's id and without a previous image are the rows it inserted
            # (later batches that overwrote them have been rolled back: blocking_batches saw to that)
            on_i = " AND ".join(f"i.{ident(k)} = p.{ident(k)}" for k in spec.key)
            inserted = (f"(SELECT i.* FROM {table} i WHERE i.batch_id = {int(batch_id)} AND NOT EXISTS (SELECT 1 FROM "
                        f"{hist} p WHERE p.hist_batch_id = {int(batch_id)} AND p.hist_op = 'update' AND {on_i}))")
        else:
            inserted = f"(SELECT * FROM {hist} WHERE hist_batch_id = {int(batch_id)} AND hist_op = 'insert')"
        deleted = cur.execute(f"SELECT count(*) FROM {inserted}").fetchall()[0][0]
        used = _dependents(cur, table, inserted)
        if used:
            raise RollbackRefused(f"batch {batch_id} cannot be rolled back: rows it added are used elsewhere ("
                                  + "; ".join(used) + ")")
        restored = cur.execute(f"SELECT count(*) FROM {hist} WHERE hist_batch_id = ? AND hist_op = 'update'",
                               [batch_id]).fetchall()[0][0]
        try:
            cur.execute(f"DELETE FROM {table} t USING {inserted} h WHERE {on}")
        except duckdb.ConstraintException as e:
            raise RollbackRefused(f"batch {batch_id} cannot be rolled back: rows it added are used elsewhere "
                                  f"({e})") from e
        if cols:
            cur.execute(f"UPDATE {table} t SET {', '.join(f'{ident(c)} = h.{ident(c)}' for c in cols)} "
                        f"FROM (SELECT * FROM {hist} WHERE hist_batch_id = {int(batch_id)} AND hist_op = 'update') h "
                        f"WHERE {on}")
        cur.execute("UPDATE upload_batches SET status = 'rolled_back', rolled_back_at = ?, rolled_back_by = ? "
                    "WHERE batch_id = ?", [dt.datetime.now(), user, batch_id])
        audit.record(cur, user, "rollback", target=str(batch_id),
                     details={"kind": kind, "restored": restored, "deleted": deleted})
    return {"batch_id": batch_id, "restored": int(restored), "deleted": int(deleted)}
