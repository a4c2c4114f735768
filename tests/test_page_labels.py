"""Words the database stores in English (units of measure, regional centres) shown in the reader's language."""

from __future__ import annotations

import pandas as pd
import pytest
from test_pages import open_page

from sac.views import labels


@pytest.mark.parametrize("unit,lang,expected", [
    ("% to previous year", "ru", "% к предыдущему году"),
    ("per 100 000 population", "kk", "100 000 тұрғынға"),
    ("mn USD", "en", "mn USD"),
    ("furlongs per fortnight", "ru", "furlongs per fortnight"),   # unknown: shown as stored, never dropped
    (None, "ru", None),
    (float("nan"), "kk", None),
])
def test_unit_text(unit, lang, expected):
    assert labels.unit_text(unit, lang) == expected


def test_every_unit_in_the_demo_is_translated(demo_store):
    units = demo_store.df("SELECT DISTINCT unit_of_measure AS u FROM indicators WHERE unit_of_measure IS NOT NULL")
    for lang in ("ru", "kk"):
        shown = labels.units_text(units["u"], lang)
        untranslated = sorted(u for u, s in zip(units["u"], shown, strict=True) if u == s and u != "%")
        assert not untranslated, f"{lang}: {untranslated}"


def test_every_regional_centre_is_translated(demo_store):
    centres = demo_store.df("SELECT centre_en FROM regions WHERE centre_en IS NOT NULL")["centre_en"]
    assert labels.centre_text("Oskemen", "ru") == "Усть-Каменогорск"
    assert all(labels.centre_text(c, "kk") for c in centres)
    assert labels.centre_text(None, "ru") is None


def test_units_text_keeps_missing_missing():
    out = labels.units_text(pd.Series(["thousand people", None]), "ru")
    assert out.iloc[0] == "тыс. человек" and pd.isna(out.iloc[1])


def test_region_profile_in_kazakh_names_its_centre_and_units_in_kazakh(app_env):
    at = open_page("pages/region.py", "kk", params={"region": "10"})
    assert not at.exception
    assert any("Семей" in c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "Өлшем бірлігі" in d.value.columns)
    assert "% to previous year" not in set(table["Өлшем бірлігі"])
