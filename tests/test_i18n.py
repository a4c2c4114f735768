"""Every interface string exists in English, Russian and Kazakh, and code asks only for keys that exist."""

import re
import string
from pathlib import Path

import pytest

from sac import i18n
from sac.pages_registry import PAGES

ROOT = Path(__file__).resolve().parent.parent
DOC_EXAMPLES = {"ns", "namespace"}  # placeholders in docstrings
KEY_CALL = re.compile(r"""\b(?:tr|t)\(\s*["']([a-z0-9_]+\.[a-z0-9_]+)["']""")


def all_keys():
    for ns, entries in i18n.catalogues().items():
        for key, texts in entries.items():
            yield f"{ns}.{key}", texts


@pytest.mark.parametrize("key,texts", list(all_keys()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_key_has_three_languages_with_the_same_fields(key, texts):
    assert set(texts) >= set(i18n.LANGUAGES), f"{key} lacks {set(i18n.LANGUAGES) - set(texts)}"
    fields = {lang: {f for _, f, _, _ in string.Formatter().parse(texts[lang]) if f} for lang in i18n.LANGUAGES}
    for lang in i18n.LANGUAGES:
        assert texts[lang].strip(), f"{key} is empty in {lang}"
        assert fields[lang] == fields["en"], f"{key}: {lang} has fields {fields[lang]}, en has {fields['en']}"


def code_files():
    yield ROOT / "app.py"
    yield from (ROOT / "pages").glob("*.py")
    yield from (ROOT / "sac").rglob("*.py")


def test_code_asks_only_for_keys_that_exist():
    known = {k for k, _ in all_keys()}
    missing = []
    for path in code_files():
        for m in KEY_CALL.finditer(path.read_text(encoding="utf-8")):
            key = m.group(1)
            if key.split(".")[0] in DOC_EXAMPLES:
                continue
            # tr("ns.status_" + code): a prefix completed at run time; some key must start with it
            found = any(k.startswith(key) for k in known) if key.endswith("_") else key in known
            if not found:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert not missing, "keys with no catalogue entry:\n" + "\n".join(missing)


def test_every_page_has_a_translated_title_and_section():
    for page in PAGES:
        for lang in i18n.LANGUAGES:
            assert i18n.t(page.title_key, lang)
            assert i18n.t(page.section, lang)


def test_missing_translation_is_an_error_not_a_silent_key():
    with pytest.raises(i18n.MissingTranslation):
        i18n.t("common.no_such_key", "ru")


@pytest.mark.parametrize("x,lang,decimals,expected", [
    (1234.5, "ru", 1, "1\u00a0234,5"),
    (1234.5, "kk", 1, "1\u00a0234,5"),
    (1234.5, "en", 1, "1,234.5"),
    (76952, "ru", 0, "76\u00a0952"),
    (-3.25, "en", 2, "−3.25"),
    (None, "ru", 1, "—"),
    (float("nan"), "en", 0, "—"),
])
def test_numbers_are_formatted_for_the_language_and_missing_is_a_dash(x, lang, decimals, expected):
    assert i18n.fmt_number(x, lang, decimals) == expected


def test_percent_and_dates():
    assert i18n.fmt_pct(12.345, "ru") == "12,3%"
    assert i18n.fmt_pct(12.345, "en") == "12.3%"
    assert i18n.fmt_date("2024-12-31") == "31.12.2024"
    assert i18n.fmt_date(None) == "—"
