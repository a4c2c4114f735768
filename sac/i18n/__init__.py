"""Message catalogues and locale formatting for English, Russian and Kazakh.

Every interface string lives in a catalogue file ``sac/i18n/<namespace>.json``
shaped ``{"key": {"en": "...", "ru": "...", "kk": "..."}}`` and is looked up as
``t("namespace.key", lang, **fields)``. One namespace per page or module, so two
people never edit the same file. ``tests/test_i18n.py`` fails when a key lacks a
language or code asks for a key no catalogue has.

Numbers: ``1,234.5`` in English, ``1 234,5`` (non-breaking space) in Russian and
Kazakh; dates dd.mm.yyyy everywhere; missing values print as an em dash, never 0.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "ru", "kk")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
DEFAULT_LANGUAGE = "en"
CATALOGUE_DIR = Path(__file__).resolve().parent
MISSING = "—"
NBSP = "\u00a0"


class MissingTranslation(KeyError):
    pass


@cache
def catalogues() -> dict[str, dict[str, dict[str, str]]]:
    """All catalogues: {namespace: {key: {lang: text}}}."""
    out = {}
    for p in sorted(CATALOGUE_DIR.glob("*.json")):
        out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
    return out


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **fields) -> str:
    """The text of ``namespace.key`` in ``lang``, with ``{fields}`` filled in."""
    ns, _, name = key.partition(".")
    try:
        text = catalogues()[ns][name][lang]
    except KeyError as e:
        raise MissingTranslation(f"no {lang!r} text for {key!r}") from e
    return text.format(**fields) if fields else text


def is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x) or x is _pd_na()  # NaN, pd.NA
    except (TypeError, ValueError):
        return x is _pd_na()


def _pd_na():
    import pandas as pd

    return pd.NA


def fmt_number(x, lang: str = DEFAULT_LANGUAGE, decimals: int = 0, unit: str | None = None) -> str:
    """``1 234,5`` (ru, kk) or ``1,234.5`` (en); missing is an em dash."""
    if is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    s = f"{x:,.{decimals}f}"
    if lang in ("ru", "kk"):
        s = s.replace(",", NBSP).replace(".", ",")
    s = s.replace("-", "−") if s.startswith("-") else s
    return f"{s}{NBSP}{unit}" if unit else s


def fmt_pct(x, lang: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A percentage with one decimal: ``12.5%`` (en), ``12,5%`` (ru, kk). ``x`` is already in percent."""
    if is_missing(x):
        return MISSING
    return fmt_number(x, lang, decimals) + "%"


def fmt_date(d) -> str:
    """dd.mm.yyyy, or an em dash for a missing date."""
    if is_missing(d):
        return MISSING
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d[:10])
    if hasattr(d, "to_pydatetime"):
        d = d.to_pydatetime()
    return d.strftime("%d.%m.%Y")


def name_column(lang: str) -> str:
    """The column holding names in ``lang``: ``name_en``, ``name_ru`` or ``name_kk``."""
    return f"name_{lang if lang in LANGUAGES else DEFAULT_LANGUAGE}"
