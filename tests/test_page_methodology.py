"""Methodology page: the generated document under one title, and an honest note where it is not translated."""

from __future__ import annotations

import pytest
from test_pages import open_page

PAGE = "pages/methodology.py"


@pytest.mark.parametrize("lang,title,note", [
    ("en", "Methodology", False), ("ru", "Методика", True), ("kk", "Әдістеме", True),
])
def test_one_title_and_a_note_when_the_body_is_in_english(app_env, lang, title, note):
    at = open_page(PAGE, lang)
    assert not at.exception
    assert at.title[0].value == title
    body = "\n".join(m.value for m in at.markdown)
    assert not body.lstrip().startswith("# ")            # the document's own H1 would repeat the title
    assert "## " in body or "### " in body               # its sections are there
    assert any("English" in i.value or "англий" in i.value or "ағылшын" in i.value for i in at.info) is note
