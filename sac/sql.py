"""The one way a name or a text constant gets into SQL text.

Values go in as parameters (``?``) wherever DuckDB takes them. Where it cannot — a column or table name
(an identifier), or a constant inside generated DDL or a VALUES list — the text goes through
:func:`ident` or :func:`literal`, and nowhere else: every other f-string in the package interpolates only
names the code itself chose (temp-table prefixes, spec constants, ``c0``..``cN``).

Both follow SQL's own escaping (double the quote character); NUL, which DuckDB's parser ends a string on,
is refused rather than passed through. Unicode look-alikes (U+FF02, U+201C) need nothing: they are
ordinary characters inside a quoted name.
"""

from __future__ import annotations


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a NUL character cannot be part of an SQL name or constant")
    return text


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``a"b`` -> ``"a""b"``."""
    return '"' + _no_nul(str(name)).replace('"', '""') + '"'


def literal(text: object) -> str:
    """``text`` as an SQL string constant (``NULL`` for None): ``it's`` -> ``'it''s'``."""
    if text is None:
        return "NULL"
    return "'" + _no_nul(str(text)).replace("'", "''") + "'"
