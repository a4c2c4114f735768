"""Published tables as they are: regions down, years (or years and quarters) across.

The Bureau of National Statistics publishes a table per indicator: a title row (often with a footnote
mark), one or two header rows (the year, merged over its quarters, then ``I quarter … IV quarter, year``),
a totals row, a row per region under whatever name the table uses, ``-`` where there is no figure, and
notes below. Some sheets hold several blocks (by sex, urban / rural) under label rows; some a second
section with its own year row. :func:`understand` finds all of that in a grid of cells; :func:`to_long`
turns one block into (unit, period, value) rows with the sheet's own row and column for each; and
:func:`import_wide` sends them through the ordinary importer (``indicator_values``), so every rule,
limit, permission and the all-or-nothing commit are the same as for any upload, and every problem names
the workbook's own row and column.

Missing is missing: an empty cell, ``-``, ``…``, ``x`` is *not reported* (counted, a warning, never a
value and never a rejected file).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sac.ingest import parse, readers
from sac.ingest.readers import FileProblem, Limits
from sac.ingest.units import _FOOTNOTE_HEAD, _FOOTNOTE_TAIL, _LETTERS  # a title's marks are a name's marks

NOT_REPORTED = {"", "-", "–", "—", "−", "…", "...", "..", ".", "x", "х", "*", "n/a", "н/д", "нет данных"}
MAX_XLS_BYTES = 20 * 2**20  # a legacy .xls sheet is held whole (calamine); BIFF caps it at 65 536 x 256 cells

_QUARTER = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_RE = re.compile(r"^(i{1,3}|iv|[1-4])\s*(-?\s*(й|ый|ші|шы|st|nd|rd|th))?\s*"
                         r"(quarter|qtr|q|квартал|кв|тоқсан|токсан)\.?$")
_YEAR_WORDS = {"year", "год", "за год", "жыл", "annual", "всего за год", "итого за год"}


@dataclass
class Grid:
    sheets: list[str]
    sheet: str
    rows: list[list[str | None]]   # cell texts; rows[0] is the sheet's row 1
    transposed: bool = False       # rows are the sheet's columns (years down, regions across)

    def transpose(self) -> Grid:
        width = max((len(r) for r in self.rows), default=0)
        rows = [[r[j] if j < len(r) else None for r in self.rows] for j in range(width)]
        return Grid(self.sheets, self.sheet, rows, not self.transposed)

    def cell_ref(self, r: int, j: int) -> tuple[int, str]:
        """(row number, column letter) in the sheet of the cell at row ``r`` (1-based), column ``j`` (0-based)."""
        return (j + 1, readers.col_letter(r - 1)) if self.transposed else (r, readers.col_letter(j))


@dataclass
class Block:
    label: str | None                   # the label row above it ('Мужчины', 'Городская местность'), if any
    header_rows: list[int]              # 1-based rows of its period header
    periods: dict[int, str]             # column index -> period code ('2001', '2001-Q1')
    rows: list[tuple[int, str]] = field(default_factory=list)        # (row number, name as written)
    totals: list[tuple[int, str]] = field(default_factory=list)      # the 'Республика Казахстан' rows

    @property
    def name(self) -> str:
        return self.label or f"rows {self.header_rows[-1] + 1}–"


@dataclass
class Layout:
    sheet: str
    title: str | None
    region_col: int
    blocks: list[Block]
    unknown: list[tuple[int, str]]      # rows with figures whose name is no known unit
    grid: Grid | None = None            # the grid it was read from (transposed when the table was)

    def block(self, label: str | None = None) -> Block:
        """The block labelled ``label`` (case-insensitive, as written or its number from 1), else the one
        with the most unit rows."""
        if not self.blocks:
            raise FileProblem("no_header", "no row of years (or years and quarters) above a column of region names")
        if label:
            want = label.strip().lower()
            for i, b in enumerate(self.blocks, start=1):
                if want in (str(i), (b.label or "").strip().lower(), b.name.strip().lower()):
                    return b
            raise FileProblem("no_sheet", f"no block {label!r}; the blocks are "
                                          + ", ".join(f"{i} {b.name!r}" for i, b in enumerate(self.blocks, 1)))
        return max(self.blocks, key=lambda b: len(b.rows))


# -- reading a grid ---------------------------------------------------------------------

def read_grid(data: bytes, file_name: str, sheet: str | None = None, limits: Limits | None = None) -> Grid:
    """The cells of one sheet as text (numbers as the reader writes them: ``2005``, ``65.63``)."""
    limits = limits or Limits.from_env()
    readers.check_size(data, limits)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or Path(file_name).suffix.lower() == ".xls":
        return _read_xls(data, sheet, limits)
    fmt = readers.detect_format(file_name, data)
    if fmt == "xlsx":
        wb = readers.open_workbook(data, limits)
        try:
            names = list(wb.sheetnames)
            ws = _pick(wb, names, sheet)
            rows = list(readers.sheet_rows(ws, limits))
            return Grid(names, ws.title, rows)
        except FileProblem:
            raise
        except Exception as e:  # damaged XML mid-way
            raise FileProblem("unreadable", f"XLSX: the workbook is damaged ({readers.clean_error(e)})") from None
        finally:
            wb.close()
    if fmt == "csv":
        text, _ = readers.decode(data)
        head = text[:readers.HEAD_BYTES].splitlines()[: readers.HEADER_SCAN_ROWS + 1]
        try:
            rows = [[c if c != "" else None for c in r]
                    for r in csv.reader(io.StringIO(text), delimiter=readers.sniff_delimiter(head))]
        except csv.Error as e:
            raise FileProblem("unreadable", f"CSV: {e}") from None
        if len(rows) > limits.max_rows:
            raise FileProblem("limit", f"the file has {len(rows)} rows; the limit is {limits.max_rows}")
        return Grid([], "", rows)
    raise FileProblem("unreadable", "a published table is read from XLSX, XLS or CSV")


def _pick(wb, names: list[str], sheet: str | None):
    if sheet:
        if sheet not in names:
            raise FileProblem("no_sheet", f"no sheet named {sheet!r}; the sheets are {names}")
        return wb[sheet]
    # the first sheet with any cell (published workbooks often carry an empty 'Лист1')
    return wb[names[0]]


def _read_xls(data: bytes, sheet: str | None, limits: Limits) -> Grid:
    import python_calamine as pc

    if len(data) > MAX_XLS_BYTES:
        raise FileProblem("limit", f"a legacy .xls file of {len(data) / 2**20:.1f} MB; the limit is "
                                   f"{MAX_XLS_BYTES / 2**20:g} MB (save it as .xlsx)")
    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(wb.sheet_names)
        name = sheet or names[0]
        if name not in names:
            raise FileProblem("no_sheet", f"no sheet named {name!r}; the sheets are {names}")
        sh = wb.get_sheet_by_name(name)
        if sh.height > limits.max_rows or sh.width > limits.max_columns:
            raise FileProblem("limit", f"the sheet is {sh.height} rows by {sh.width} columns; the limits are "
                                       f"{limits.max_rows} rows and {limits.max_columns} columns")
        # calamine's grid starts at the first used cell: pad back to row 1, column A
        top, left = sh.start or (0, 0)
        rows = [[None] * left + [_text(v) for v in r] for r in sh.to_python(skip_empty_area=False)]
        rows = [[] for _ in range(top)] + rows
    except FileProblem:
        raise
    except Exception as e:  # calamine raises its own kinds for a broken file
        raise FileProblem("unreadable", f"XLS: not a readable workbook ({readers.clean_error(e)})") from None
    for r, cells in enumerate(rows, start=1):
        for j, c in enumerate(cells):
            if c is not None and len(c) > limits.max_cell_chars:
                raise FileProblem("limit", f"row {r}, column {readers.col_letter(j)}: a cell of {len(c)} characters; "
                                           f"the limit is {limits.max_cell_chars}")
    return Grid(names, name, rows)


def _text(v) -> str | None:
    if v is None or v == "":
        return None
    return readers.cell_text(v)


# -- understanding it ---------------------------------------------------------------------

def _norm(text: str | None) -> str:
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower().replace("ё", "е")
    return re.sub(r"\s+", " ", s)


def strip_footnote_marks(text: str) -> str:
    """``text`` without the footnote marks at its end, read as region names read them
    (:func:`sac.ingest.units.alias_key`): ``Unemployment rate1)`` -> ``Unemployment rate``, ``(больницы)3)`` ->
    ``(больницы)``, ``школ*`` -> ``школ``, ``rate²`` -> ``rate``; a leading ``*`` goes too. The words stay as
    written (case, spacing inside); a text that is nothing but a mark is kept."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    while (m := _FOOTNOTE_TAIL.search(s)) and _LETTERS.search(s[:m.start()]):
        s = s[:m.start()].rstrip()
    return _FOOTNOTE_HEAD.sub("", s) if _LETTERS.search(_FOOTNOTE_HEAD.sub("", s)) else s


def year_of(text: str | None) -> int | None:
    """2005 from ``2005``, ``2005.0``, ``2005 год``; 2000 from the school year ``2000/01`` (the year it
    starts in, as the Bureau dates school-year counts: at the start of the school year)."""
    s = _norm(text)
    m = re.fullmatch(r"(\d{4})(?:\.0+)?(?: ?(?:г|год|года|жыл|жылы|year)\.?)?", s)
    if not m:
        m = re.fullmatch(r"(\d{4}) ?/ ?(\d{2}|\d{4})", s)
    if m and 1900 <= int(m.group(1)) <= 2100:
        return int(m.group(1))
    return None


def quarter_of(text: str | None) -> int | str | None:
    """1-4 for a quarter label (``I quarter``, ``II квартал``, ``3 кв.``, ``1-й квартал``), ``'year'`` for
    the year column of a quarter table, None otherwise."""
    s = _norm(text).replace("і", "i")
    s = re.sub(r"\s*(\d+\)|\*+)$", "", s)  # a footnote mark: 'year2)', 'year*'
    if s in _YEAR_WORDS:
        return "year"
    m = _QUARTER_RE.match(s)
    return _QUARTER[m.group(1)] if m else None


def _period_row(cells: list[str | None]) -> dict[int, int] | None:
    """{column: year} when at least three cells of the row are years and they rise from left to right
    (a row of counts that happen to lie in 1900-2100 does not), else None."""
    years = {j: y for j, c in enumerate(cells) if (y := year_of(c)) is not None}
    ordered = [years[j] for j in sorted(years)]
    if len(years) < 3 or any(b <= a for a, b in zip(ordered, ordered[1:], strict=False)):
        return None
    return years


def _periods(rows: list[list[str | None]], i: int, years: dict[int, int]) -> tuple[dict[int, str], list[int]]:
    """Period codes by column for a year row ``i`` (0-based) and, when the next row holds quarter labels,
    the two-level header: each year spans the columns up to the next year (its merged cell)."""
    nxt = rows[i + 1] if i + 1 < len(rows) else []
    quarters = {j: q for j, c in enumerate(nxt) if (q := quarter_of(c)) is not None}
    if len(quarters) < 3:
        return {j: str(y) for j, y in years.items()}, [i + 1]
    out: dict[int, str] = {}
    starts = sorted(years)
    for k, j0 in enumerate(starts):
        j1 = starts[k + 1] if k + 1 < len(starts) else max(quarters) + 1
        for j in range(j0, j1):
            q = quarters.get(j)
            if q == "year":
                out[j] = str(years[j0])
            elif q is not None:
                out[j] = f"{years[j0]}-Q{q}"
    return out, [i + 1, i + 2]


def understand(grid: Grid, resolve) -> Layout:
    """The layout of a published table, regions down and periods across, or the transpose (then
    ``layout.grid`` is the transposed grid). ``resolve(name) -> unit code | 'TOTAL' | None``."""
    layout = _understand(grid, resolve)
    if not any(b.rows for b in layout.blocks):
        other = _understand(grid.transpose(), resolve)
        if sum(len(b.rows) for b in other.blocks) > sum(len(b.rows) for b in layout.blocks):
            return other
    return layout


def _understand(grid: Grid, resolve) -> Layout:
    rows = grid.rows
    width = max((len(r) for r in rows[:200]), default=0)
    # the region column: of the first three, the one naming the most units
    def hits(j: int) -> int:
        return sum(1 for r in rows if len(r) > j and r[j] and resolve(r[j]) not in (None,))
    region_col = max(range(min(3, width) or 1), key=hits)
    first_header = next((i for i, r in enumerate(rows) if _period_row(r)), 0)
    title = next((strip_footnote_marks(c) for r in rows[:first_header] for c in r if c and c.strip()), None)

    blocks: list[Block] = []
    unknown: list[tuple[int, str]] = []
    current: Block | None = None
    periods: dict[int, str] = {}
    header: list[int] = []
    label: str | None = None
    i = 0
    while i < len(rows):
        cells = rows[i]
        years = _period_row(cells)
        if years:
            periods, header = _periods(rows, i, years)
            current, label = None, None
            i += len(header)
            continue
        name = cells[region_col].strip() if len(cells) > region_col and cells[region_col] else ""
        has_values = any(c is not None and _norm(c) not in NOT_REPORTED for j, c in enumerate(cells) if j in periods)
        if not periods or not name:
            i += 1
            continue
        code = resolve(name)
        if code is None and not has_values:
            label, current = name, None      # a label row: 'Мужчины', 'Городская местность', or a note
            i += 1
            continue
        if current is None:
            current = Block(label, header, periods)
            blocks.append(current)
        if code == "TOTAL":
            current.totals.append((i + 1, name))
        elif code is None:
            unknown.append((i + 1, name))
            current.rows.append((i + 1, name))
        else:
            current.rows.append((i + 1, name))
        i += 1
    blocks = [b for b in blocks if b.rows or b.totals]
    return Layout(grid.sheet, title, region_col, blocks, unknown, grid)


# -- one block as long rows ----------------------------------------------------------------

@dataclass
class LongTable:
    frame: pd.DataFrame          # row, column (letter), header (period label), name, period, value (text)
    not_reported: int            # cells with '-', '…', 'x' or nothing
    totals: pd.DataFrame         # the totals row(s): period, value (text)


def to_long(grid: Grid, layout: Layout, block: Block, periodicity: str | None = None) -> LongTable:
    """The block's cells as long rows; ``periodicity`` ('year' | 'quarter' | 'month') keeps only the
    columns of that kind (a quarter table's 'year' column is another indicator's figure)."""
    recs, tot, missing = [], [], 0
    columns = {j: p for j, p in block.periods.items() if periodicity is None or parse.period_kind(p) == periodicity}
    for r, name in block.rows + block.totals:
        cells = grid.rows[r - 1]
        for j, period in columns.items():
            v = cells[j] if j < len(cells) else None
            if v is None or _norm(v) in NOT_REPORTED:
                if (r, name) in block.rows:
                    missing += 1
                continue
            row, letter = grid.cell_ref(r, j)
            rec = {"row": row, "column": letter, "name": name, "period": period, "value": v.strip()}
            (tot if (r, name) in block.totals else recs).append(rec)
    cols = ["row", "column", "name", "period", "value"]
    return LongTable(pd.DataFrame(recs, columns=cols), missing, pd.DataFrame(tot, columns=cols))


# -- footnotes: a current unit's row that carries a former unit's years -----------------------

@dataclass(frozen=True)
class Footnote:
    mark: str                        # '*', '**', '1' (written '1)', '(1)', '1 ')
    text: str                        # as written, mark included
    years: tuple[int, int] | None    # the span it names ('за 1999-2016гг.', 'from 2010 to 2017'), if any


@dataclass(frozen=True)
class FormerSpan:
    """Years of a row named as a current unit whose figures are a former unit's (the Bureau's ``Туркестанская*``:
    South Kazakhstan region until its note's last year)."""
    unit: str                        # the former unit's code ('51')
    first: int
    last: int
    note: str | None                 # the table's note that says so; None: the name's mark, no note found

    def covers(self, period: str) -> bool:
        return self.first <= int(str(period)[:4]) <= self.last


_NOTE = re.compile(r"^\s*(\*+|\(?\d{1,2}\))\s*(?=\S)")
_NOTE_YEARS = re.compile(r"((?:19|20)\d{2})\s*(?:гг?\.?)?\s*(?:-|–|—|to|по|до)\s*((?:19|20)\d{2})", re.IGNORECASE)
_NAME_MARK = re.compile(r"(?:\s*(\*+)|\s*[(\[]?(\d{1,2})[)\]]|(?<=[^\W\d_])(\d{1,2})|\s+(\d{1,2}))\s*$")


def name_mark(name: str) -> str | None:
    """The footnote mark at the end of a name, as a note writes it: '*' for ``Туркестанская*``, '1' for
    ``Туркестанская 1``, ``г.Шымкент2)`` (2), ``Turkestanskaya 3)`` (3); None when there is none."""
    m = _NAME_MARK.search(unicodedata.normalize("NFKC", str(name)).rstrip())
    if not m or not _LETTERS.search(str(name)[:m.start()]):
        return None
    return next(g for g in m.groups() if g)


def notes_of(grid: Grid) -> list[Footnote]:
    """The sheet's footnotes: cells that begin with a mark ('*', '1)', '(2)') and go on in words."""
    out = []
    for row in grid.rows:
        for cell in row:
            if not cell or not (m := _NOTE.match(cell)) or not _LETTERS.search(cell[m.end():]):
                continue
            mark = m.group(1).strip("()")
            y = _NOTE_YEARS.search(cell)
            out.append(Footnote(mark, cell.strip(), (int(y.group(1)), int(y.group(2))) if y else None))
    return out


def workbook_notes(data: bytes, file_name: str, grid: Grid, marks: set[str]) -> list[Footnote]:
    """The notes of ``grid``'s sheet and, for the ``marks`` it has no note for, of the workbook's other sheets
    (the Bureau writes the note once per workbook: life expectancy's '*Данные за 1999-2016гг. …' is under the
    men's and women's sheets, not under 'Все население')."""
    notes = notes_of(grid)
    missing = marks - {n.mark for n in notes}
    for sheet in grid.sheets:
        if not missing:
            break
        if sheet == grid.sheet:
            continue
        found = [n for n in notes_of(read_grid(data, file_name, sheet)) if n.mark in missing]
        notes += found
        missing -= {n.mark for n in found}
    return notes


def _former_named(text: str, lookup) -> str | None:
    """The former unit a note names ('по Южно-Казахстанской области' -> '51'): a former unit's alias, its last
    two letters free (Russian cases), found in the note's letters; None when it names none."""
    letters = "".join(_LETTERS.findall(unicodedata.normalize("NFKC", text).lower().replace("ё", "е")))
    for key, alias in lookup.sources.items():
        if alias.kato not in lookup.former:
            continue
        core = "".join(_LETTERS.findall(key.partition(":")[2] or key))
        if len(core) >= 6 and core[:-2] in letters:
            return alias.kato
    return None


def former_spans(block: Block, lookup, notes: list[Footnote]) -> dict[str, FormerSpan]:
    """By name as written: the rows of ``block`` named as a current unit whose figures for some years are a former
    unit's. A row's footnote mark leads to its note; a note that names a former unit and a span of years
    (``*Данные за 1999-2016гг. по Южно-Казахстанской области``) gives those years to that unit. A mark with no note
    at all, on a unit that a reform made out of a former unit, gives the former unit the years before the unit
    began (``Туркестанская*`` before 2018). A note about something else (``3) Data for the Turkestan region … from
    2010 to 2017 estimates``) leaves the row to its unit."""
    from sac.metrics import territory

    by_mark: dict[str, list[Footnote]] = {}
    for n in notes:
        by_mark.setdefault(n.mark, []).append(n)
    out: dict[str, FormerSpan] = {}
    for _, name in block.rows:
        unit, mark = lookup.resolve(name, allow_orgs=False), name_mark(name)
        if unit is None or mark is None:
            continue
        if mark in by_mark:
            for n in by_mark[mark]:
                former = _former_named(n.text, lookup) if n.years else None
                if former and former != unit:
                    out[name] = FormerSpan(former, n.years[0], n.years[1], n.text)
                    break
            continue
        began = territory.first_year(unit)
        before = [r.from_kato for r in territory.reforms().itertuples()
                  if r.to_kato == unit and r.from_kato != unit and r.from_kato in lookup.former]
        if began is not None and before:
            out[name] = FormerSpan(before[0], 1900, began - 1, None)
    return out


# -- the import ------------------------------------------------------------------------------

@dataclass
class WideReport:
    """What a published table's import did: the importer's own report with the workbook's rows and columns,
    plus what the table held."""
    report: object                      # sac.ingest.engine.ImportReport
    layout: Layout
    block: Block
    cells: int                          # figures sent to the importer
    not_reported: int                   # '-', '…', 'x', empty
    totals_check: pd.DataFrame          # period, published (the totals row), regions (their sum), difference


def region_letter_of(layout: Layout) -> str:
    """Where the region names are: a column letter, or 'row N' in a transposed table."""
    return f"row {layout.region_col + 1}" if layout.grid.transposed else readers.col_letter(layout.region_col)


def resolver(lookup):
    """``resolve(name)`` for :func:`understand`: 'TOTAL' for a totals row, a unit code, or None."""
    def resolve(name: str):
        if parse.is_totals(name):
            return "TOTAL"
        return lookup.resolve(name, allow_orgs=False, include_former=True)
    return resolve


def import_wide(store, source: str | Path | bytes, indicator_id: str, *, file_name: str | None = None,
                sheet: str | None = None, block: str | None = None, source_document: str = "",
                user: str = "anonymous", dry_run: bool = True, allowed_units: set[str] | None = None,
                force: bool = False) -> WideReport:
    """Read a published table (regions down, periods across) and import one block of it as the facts of
    ``indicator_id``, through :func:`sac.ingest.engine.import_file` (same rules, limits and commit)."""
    from sac.ingest.engine import import_file
    from sac.ingest.units import UnitLookup

    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), file_name or "upload"
    else:
        data, name = Path(source).read_bytes(), file_name or Path(source).name
    grid = read_grid(data, name, sheet)
    cur = store.cursor()
    try:
        lookup = UnitLookup.load(cur)
        row = cur.execute("SELECT periodicity, aggregation FROM indicators WHERE indicator_id = ?",
                          [indicator_id]).fetchall()
    finally:
        cur.close()
    if not row:
        raise FileProblem("unknown_indicator", f"indicator {indicator_id!r} does not exist: create its passport first")
    aggregation = row[0][1]  # the totals row is checked against the units' sum only for an additive indicator
    layout = understand(grid, resolver(lookup))
    chosen = layout.block(block)
    long = to_long(layout.grid, layout, chosen, periodicity=row[0][0])
    # A former unit (South Kazakhstan region, until 2018) is no current unit and has no home in the store
    # yet: its rows are left out and said, never put under Turkistan region or Shymkent. So are the years a
    # current unit's row carries for a former unit by the table's own note ('Туркестанская*' 1999-2016).
    marks = {m for _, n in chosen.rows if (m := name_mark(n))}
    spans = former_spans(chosen, lookup, workbook_notes(data, name, grid, marks) if marks else [])
    former = long.frame["name"].map(lambda n: lookup.resolve(n, allow_orgs=False) is None
                                    and lookup.resolve(n, allow_orgs=False, include_former=True) is not None)
    former |= pd.Series([n in spans and spans[n].covers(p) for n, p in zip(long.frame["name"], long.frame["period"],
                                                                           strict=True)], index=long.frame.index,
                        dtype=bool)
    former_rows = long.frame[former]
    totals_check = _totals_check(long, lookup) if aggregation == "sum" else pd.DataFrame(columns=TOTALS_COLUMNS)
    long.frame = long.frame[~former].reset_index(drop=True)
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\n")
    w.writerow(["indicator", "region", "period", "document", "fact"])
    for rec in long.frame.itertuples(index=False):
        w.writerow([indicator_id, lookup.resolve(rec.name, allow_orgs=False) or rec.name, rec.period,
                    source_document, rec.value])
    label = f"{name} [{grid.sheet}{' / ' + chosen.label if chosen.label else ''}]"
    rep = import_file(store, out.getvalue().encode("utf-8"), "indicator_values", file_name=label, user=user,
                      dry_run=dry_run, allowed_units=allowed_units, force=force)
    # problems name the workbook's own row and column, not the generated table's
    where = {i + 2: (r.row, f"{r.column} ({r.period})") for i, r in enumerate(long.frame.itertuples(index=False))}
    if len(rep.problems):
        from sac.ingest.engine import MESSAGES

        probs = rep.problems.copy()
        mapped = [where.get(int(x)) if not pd.isna(x) else None for x in probs["row"]]
        region_letter = region_letter_of(layout)
        probs["column"] = [c if m is None else (region_letter if c == "region" else m[1])
                           for m, c in zip(mapped, probs["column"], strict=True)]
        probs["row"] = pd.array([m[0] if m else pd.NA for m in mapped], dtype="Int64")
        probs["message"] = [MESSAGES[c].format(column=col, value=v)
                            for c, col, v in zip(probs["code"], probs["column"], probs["value"], strict=True)]
        # a region's name is one problem of its row, not one per figure
        rep.problems = probs.drop_duplicates(["row", "column", "code"]).reset_index(drop=True)
        rep.problems_total = len(rep.problems)
        rep.rejected = int(rep.errors["row"].dropna().nunique())
    if len(former_rows):
        # one warning per row named: the name, and the years when only some of its years are the former unit's
        # ('Туркестанская* 1999–2016'), so the page's translated message says which
        extra = pd.DataFrame([{"row": cells["row"].iloc[0], "column": region_letter_of(layout),
                               "value": _former_value(who, cells, spans), "severity": "warning", "code": "former_unit",
                               "message": _former_message(who, cells, spans, lookup)}
                              for who, cells in former_rows.groupby("name", sort=False)]).astype({"row": "Int64"})
        rep.problems = pd.concat([rep.problems.astype({"row": "Int64"}), extra], ignore_index=True)
        rep.problems_total += len(extra)
    if long.not_reported:  # '-', '…', 'x', empty: counted and said, never a value, never a rejected file
        rep.not_reported += long.not_reported
        note = pd.DataFrame([{"row": pd.NA, "column": None, "value": str(long.not_reported), "severity": "warning",
                              "code": "not_reported_cells",
                              "message": f"{long.not_reported} cells are not reported ('-', '…', 'x' or empty): "
                                         "left missing, never zero"}]).astype({"row": "Int64"})
        rep.problems = pd.concat([note, rep.problems.astype({"row": "Int64"})], ignore_index=True)
        rep.problems_total += 1
    if rep.header_row is not None:
        rep.header_row = chosen.header_rows[0]
    rep.sheet = grid.sheet or None
    return WideReport(rep, layout, chosen, len(long.frame), long.not_reported, totals_check)


TOTALS_COLUMNS = ["period", "published", "regions", "difference"]


def _years(cells: pd.DataFrame) -> str:
    years = sorted({int(str(p)[:4]) for p in cells["period"]})
    return f"{years[0]}–{years[-1]}"


def _former_value(name: str, cells: pd.DataFrame, spans: dict[str, FormerSpan]) -> str:
    return f"{name} {_years(cells)}" if name in spans else name


def _former_message(name: str, cells: pd.DataFrame, spans: dict[str, FormerSpan], lookup) -> str:
    n = len(cells)
    span = spans.get(name)
    if span is None:
        return f"{name!r} is a former unit (South Kazakhstan region until 2018): its {n} figures are not stored"
    last = max(int(str(p)[:4]) for p in cells["period"])
    why = f"by the table's note {span.note!r}" if span.note else "by its footnote mark, before the unit began"
    return (f"{name!r} {_years(cells)} is {lookup.display(span.unit, 'en')} {why}: its {n} figures are not "
            f"stored; from {last + 1} the row is {lookup.display(lookup.resolve(name, allow_orgs=False), 'en')}")


def _totals_check(long: LongTable, lookup) -> pd.DataFrame:
    """Per period: the published total, the sum of the current units' figures, and the difference."""
    cols = TOTALS_COLUMNS
    if long.totals.empty or long.frame.empty:
        return pd.DataFrame(columns=cols)
    num = readers_number
    # the units of each year, former ones included (South Kazakhstan in the years it existed)
    f = long.frame.assign(v=[num(v) for v in long.frame["value"]],
                          unit=[lookup.resolve(n, allow_orgs=False, include_former=True) for n in long.frame["name"]])
    regions = f[f["unit"].notna()].groupby("period")["v"].sum(min_count=1)
    t = long.totals.assign(v=[num(v) for v in long.totals["value"]]).groupby("period")["v"].first()
    out = pd.DataFrame({"published": t, "regions": regions}).dropna(subset=["published"])
    out["difference"] = out["regions"] - out["published"]
    return out.reset_index(names="period")[cols]


def readers_number(text: str) -> float | None:
    """A figure as the Bureau writes it: ``17 945``, ``65,63``, ``2346.2999999999997``."""
    s = unicodedata.normalize("NFKC", str(text)).replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None
