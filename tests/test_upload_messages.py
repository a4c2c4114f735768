"""Every problem the importer can report has a message on the upload page in English, Russian and Kazakh
(a code without one raised MissingTranslation on the page: the user saw an error instead of the reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sac.ingest import MESSAGES

CATALOGUE = json.loads((Path(__file__).resolve().parent.parent / "sac/i18n/upload.json").read_text("utf-8"))


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_problem_code_has_a_page_message_in_three_languages(code):
    entry = CATALOGUE.get(f"problem_{code}")
    assert entry is not None, f"upload.problem_{code} is missing"
    assert {lang: bool(entry.get(lang, "").strip()) for lang in ("en", "ru", "kk")} == {
        "en": True, "ru": True, "kk": True}
