"""Words stored in English in the database, in the reader's language.

The schema keeps one ``indicators.unit_of_measure`` and one ``regions.centre_en``; their translations live
in the catalogues (``sac/i18n/units.json``, keyed by the stored unit; ``region.centre_<name>``). A value
the catalogue does not know is shown as stored, never dropped; missing stays missing.
"""

from __future__ import annotations

import pandas as pd

from sac import i18n


def unit_text(unit, lang: str) -> str | None:
    """``unit`` ('% to previous year') in ``lang`` ('% к предыдущему году'); as stored when unknown; None if missing."""
    if i18n.is_missing(unit):
        return None
    return i18n.catalogues().get("units", {}).get(str(unit), {}).get(lang, str(unit))


def units_text(units: pd.Series, lang: str) -> pd.Series:
    """:func:`unit_text` over a column; missing stays missing."""
    return units.astype(object).map(lambda u: unit_text(u, lang))


def centre_text(centre_en, lang: str) -> str | None:
    """A regional centre's English name ('Oskemen') in ``lang`` ('Усть-Каменогорск'); as stored when unknown."""
    if i18n.is_missing(centre_en):
        return None
    return i18n.catalogues().get("region", {}).get(f"centre_{centre_en}", {}).get(lang, str(centre_en))
