"""The documents in docs/ say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from sac import methodology
from sac.commands.methodology import DOCS_NOTE

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_methodology_is_the_generated_methodology_page_of_version_1():
    expected = DOCS_NOTE + methodology.render_markdown(methodology.default(), "en")
    assert (DOCS / "METHODOLOGY.md").read_text(encoding="utf-8") == expected, (
        "docs/METHODOLOGY.md is out of date: python -m sac methodology export docs/METHODOLOGY.md --defaults")


def test_architecture_names_every_module_it_describes():
    text = (DOCS / "ARCHITECTURE.md").read_text(encoding="utf-8")
    root = DOCS.parent


    for path in set(re.findall(r"`((?:sac|pages|bench|tests)/[\w/]+\.(?:py|sql))`", text)):
        assert (root / path).exists(), f"docs/ARCHITECTURE.md names {path}, which does not exist"
