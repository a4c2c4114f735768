"""Parsing what people type into spreadsheets: headers, numbers, periods, dates, yes/no.

Numbers are parsed in DuckDB SQL (:func:`number_sql`), because a file has as many
distinct numbers as rows. Periods, dates, booleans and region names repeat, so they
are parsed once per *distinct* value in Python (:func:`parse_period`, :func:`parse_date`,
...) and joined back to the rows in SQL: fast on a million rows, and each rule is a
small pure function the tests pin one case at a time.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# -- headers ---------------------------------------------------------------

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def norm_header(text: object) -> str:
    """A header as a comparison key: lower case, 'ё' -> 'е', no spaces or punctuation.

    >>> norm_header(" Source  document: ")
    'sourcedocument'
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).lower().replace("ё", "е")
    return _PUNCT.sub("", s)


# -- numbers (SQL) ---------------------------------------------------------

def number_clean_sql(col: str) -> str:
    """Stage 1 of number parsing (of a trimmed cell): Unicode minus -> '-', drop '%', spaces, NBSP, narrow NBSP,
    thin space and apostrophes (thousands separators). Plain replace() calls: cheaper than a regex or
    translate() on a million rows."""
    s = col
    for ch, to in (("\u2212", "-"), ("%", ""), (" ", ""), ("\u00a0", ""), ("\u202f", ""), ("\u2009", ""),
                   ("''", "")):
        s = f"replace({s}, '{ch}', '{to}')"
    return s


def number_from_clean_sql(s: str) -> str:
    """Stage 2: a cleaned VARCHAR column ``s`` (see :func:`number_clean_sql`) -> DOUBLE or NULL.

    ``1,234.5`` and ``1.234,5``: the separator that comes last is the decimal one.
    A single comma without a point is a decimal comma (the Russian and Kazakh convention):
    ``1,234`` is 1.234; several commas (or several points) must group thousands (``1,234,567``).
    Anything else that is not a plain finite number (letters, 'nan', 'inf', '1_000') is NULL.
    """
    body = f"""(CASE
        WHEN NOT regexp_full_match({s}, '[+-]?[0-9.,]*[0-9][0-9.,]*([eE][+-]?[0-9]+)?') THEN NULL
        WHEN NOT contains({s}, ',') AND NOT contains({s}, '.') THEN {s}
        WHEN contains({s}, ',') AND contains({s}, '.') THEN
            CASE WHEN strpos(reverse({s}), ',') < strpos(reverse({s}), '.')
                 THEN replace(replace({s}, '.', ''), ',', '.') ELSE replace({s}, ',', '') END
        WHEN length({s}) - length(replace({s}, ',', '')) > 1 THEN
            CASE WHEN regexp_full_match({s}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+') THEN replace({s}, ',', '') END
        WHEN length({s}) - length(replace({s}, '.', '')) > 1 THEN
            CASE WHEN regexp_full_match({s}, '[+-]?[0-9]{{1,3}}([.][0-9]{{3}})+') THEN replace({s}, '.', '') END
        ELSE replace({s}, ',', '.') END)"""
    return f"TRY_CAST({body} AS DOUBLE)"


def number_fast_sql(col: str) -> str:
    """:func:`number_sql` for a trimmed column, with a fast path for the plain numbers most cells hold
    (``1234``, ``-12,5``, ``0.75``): CASE evaluates the full path only on the other rows."""
    return (f"(CASE WHEN regexp_full_match({col}, '-?[0-9]+([.,][0-9]+)?') THEN CAST(replace({col}, ',', '.') AS DOUBLE) "
            f"ELSE {number_from_clean_sql(f'({number_clean_sql(col)})')} END)")


def number_sql(col: str) -> str:
    """A DuckDB expression parsing the VARCHAR column ``col`` into DOUBLE (NULL when blank or unreadable).

    Accepts ``1 234,5`` (space or NBSP thousands, decimal comma), ``1,234.5``, ``1.234,5``,
    ``12,5%`` (-> 12.5: the percent sign is dropped, the value stays in percent units),
    ``76 952``, a Unicode minus. Blank -> NULL (missing, never zero). One expression for
    tests and small tables; the importer runs the two stages in two projections.
    """
    return number_from_clean_sql(f"({number_clean_sql(f'trim({col})')})")


# -- periods ---------------------------------------------------------------

_MONTHS = {
    # Russian (nominative, genitive, short), Kazakh, English
    1: ("январь", "января", "янв", "қаңтар", "january", "jan"),
    2: ("февраль", "февраля", "фев", "ақпан", "february", "feb"),
    3: ("март", "марта", "мар", "наурыз", "march", "mar"),
    4: ("апрель", "апреля", "апр", "сәуір", "april", "apr"),
    5: ("май", "мая", "мамыр", "may"),
    6: ("июнь", "июня", "июн", "маусым", "june", "jun"),
    7: ("июль", "июля", "июл", "шілде", "july", "jul"),
    8: ("август", "августа", "авг", "тамыз", "august", "aug"),
    9: ("сентябрь", "сентября", "сен", "сент", "қыркүйек", "september", "sep", "sept"),
    10: ("октябрь", "октября", "окт", "қазан", "october", "oct"),
    11: ("ноябрь", "ноября", "ноя", "нояб", "қараша", "november", "nov"),
    12: ("декабрь", "декабря", "дек", "желтоқсан", "december", "dec"),
}
# keys as _period_text leaves them (Cyrillic і -> Latin i)
MONTH_NAMES = {name.replace("і", "i"): m for m, names in _MONTHS.items() for name in names}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_Q_WORD = r"(?:кв|квартал|квартала|тоқсан|токсан|q|qtr|quarter)"
_YEAR_WORD = r"(?:г|года|год|ж|жыл|жылы|жылғы|year)?"
_QNUM = r"([1-4]|iv|iii|ii|i)"


def _period_text(value: object) -> str:
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    s = s.replace("ё", "е").replace("і", "i")  # Cyrillic і typed for a Roman I
    s = re.sub(r"[.,]", " ", s)
    s = re.sub(r"(\d)(-?(?:й|ый|ші|шы|nd|rd|th|st))\b", r"\1", s)  # 3-й, 3-ші
    s = s.replace("-", " - ")
    return re.sub(r"\s+", " ", s).strip()


def _q(token: str) -> int:
    return _ROMAN[token] if token in _ROMAN else int(token)


def parse_period(value: object) -> str | None:
    """The canonical period code (``'2024'``, ``'2024-Q3'``, ``'2024-07'``) or None when unreadable.

    Years: ``2024``, ``2024 г.``, ``2024 жыл``, an Excel number ``2024.0``.
    Quarters: ``2024-Q3``, ``Q3 2024``, ``3 кв. 2024``, ``III квартал 2024``, ``3-й квартал 2024 г.``,
    ``2024 жылғы 3 тоқсан``. Months: ``2024-07``, ``07.2024``, ``июль 2024``, ``шілде 2024``,
    ``July 2024``, a date ``2024-07-01`` / ``01.07.2024`` (-> its month).
    """
    if value is None:
        return None
    raw = str(value).strip()
    if not raw:
        return None
    if re.fullmatch(r"\d{4}\.0+", raw):
        raw = raw.split(".")[0]
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?", raw) or None
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        return f"{y}-{mo:02d}" if 1 <= mo <= 12 else None
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", raw)
    if m:
        mo, y = int(m.group(2)), int(m.group(3))
        return f"{y}-{mo:02d}" if 1 <= mo <= 12 else None
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})", raw) or re.fullmatch(r"(\d{1,2})[-/.](\d{4})", raw)
    if m:
        a, b = m.group(1), m.group(2)
        y, mo = (int(a), int(b)) if len(a) == 4 else (int(b), int(a))
        return f"{y}-{mo:02d}" if 1 <= mo <= 12 else None
    s = _period_text(raw)
    m = re.fullmatch(rf"(\d{{4}}) ?{_YEAR_WORD}", s)
    if m:
        return m.group(1)
    for pat, yi, qi in (
        (r"(\d{4}) ?- ?q ?([1-4])", 1, 2),
        (r"(\d{4}) ?q ?([1-4])", 1, 2),
        (rf"{_QNUM} ?{_Q_WORD} ?(\d{{4}}) ?{_YEAR_WORD}", 2, 1),
        (r"q ?([1-4]) ?-? ?(\d{4})", 2, 1),
        (rf"(\d{{4}}) ?{_YEAR_WORD} ?{_QNUM} ?{_Q_WORD}", 1, 2),
    ):
        m = re.fullmatch(pat, s)
        if m:
            return f"{m.group(yi)}-Q{_q(m.group(qi))}"
    m = re.fullmatch(rf"([^\d\s]+) (\d{{4}}) ?{_YEAR_WORD}", s) or re.fullmatch(rf"(\d{{4}}) ?{_YEAR_WORD} ([^\d\s]+)", s)
    if m:
        a, b = m.group(1), m.group(2)
        name, year = (a, b) if not a.isdigit() else (b, a)
        if name in MONTH_NAMES:
            return f"{year}-{MONTH_NAMES[name]:02d}"
    return None


def period_kind(code: str) -> str:
    """'year' | 'quarter' | 'month' of a canonical period code."""
    return "quarter" if "-Q" in code else ("month" if "-" in code else "year")


# -- dates -----------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object) -> dt.date | None:
    """A date from ``31.12.2024``, ``31/12/2024``, ``2024-12-31`` (time part ignored), an Excel serial number
    (``45657`` or ``45657.0`` -> 2024-12-31), or a ``datetime``; None when unreadable."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if not s:
        return None
    try:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?: .*)?", s)
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = re.fullmatch(r"(\d{1,6})(?:\.0+)?", s)
        if m and 1 <= int(m.group(1)) <= 2958465:  # Excel serial date
            return _EXCEL_EPOCH + dt.timedelta(days=int(m.group(1)))
    except ValueError:
        return None
    return None


# -- booleans and enumerations ------------------------------------------------

_TRUE = {"1", "1.0", "true", "yes", "y", "да", "д", "иә", "ия", "+", "x", "истина"}
_FALSE = {"0", "0.0", "false", "no", "n", "нет", "н", "жоқ", "-", "ложь"}


def parse_bool(value: object) -> bool | None:
    """Yes/no in English, Russian, Kazakh, 1/0, +/-; None when unreadable or blank."""
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def parse_enum(value: object, synonyms: dict[str, str]) -> str | None:
    """The canonical code for ``value`` by its normalised header-style key, or None."""
    if value is None:
        return None
    return synonyms.get(norm_header(value))


# -- regions and other units ---------------------------------------------------

_CITY_MARK = re.compile(r"(^|\s)(г|гор|город|қ|қаласы|city|city of)(\.|\s|$)", re.IGNORECASE)
_OBL = re.compile(r"(^|\s)обл(\.|\s|$)", re.IGNORECASE)


def region_key(name: object) -> str:
    """A region name as a comparison key, tolerant of 'г.', 'обл.', 'қаласы', 'city', case and spacing.

    'г. Алматы', 'Алматы', 'Алматы қаласы' and 'Almaty' are the city; 'Алматинская обл.' and
    'Алматинская область' are one region; 'Алматы облысы' and 'Almaty Region' keep their region
    word, so the region never collides with the city.
    """
    s = unicodedata.normalize("NFKC", str(name)).lower().replace("ё", "е")
    s = _OBL.sub(" область ", s)
    s = _CITY_MARK.sub(" ", _CITY_MARK.sub(" ", s))
    return norm_header(s)


TOTALS_RE = re.compile(
    r"^\s*(итого|всего|барлығы|барлыгы|жиыны|жиынтығы|total|grand total|subtotal|"
    r"республика казахстан|казахстан|қазақстан республикасы|казахстан республикасы|по республике|"
    r"республика бойынша|рк|kazakhstan|republic of kazakhstan)\b",
    re.IGNORECASE)


def is_totals(value: object) -> bool:
    """Whether a cell marks a totals row ('Итого', 'Всего', 'Барлығы', 'Жиыны', 'Total', 'Республика Казахстан')."""
    if value is None:
        return False
    return bool(TOTALS_RE.match(unicodedata.normalize("NFKC", str(value)).replace("ё", "е")))
