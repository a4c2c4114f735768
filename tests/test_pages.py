"""Every page in the registry renders on the demo in all three languages, for a role that may open it.

Page-specific content is asserted in tests/test_page_<name>.py; this walk makes sure no page is left
untested and no interface string is missing in any language.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sac.auth import User
from sac.i18n import LANGUAGES
from sac.pages_registry import PAGES

ROOT = Path(__file__).resolve().parent.parent
ADMIN = User(username="admin", display_name="Admin", role="admin")


def open_page(path: str, lang: str = "en", user: User = ADMIN, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["sac_user"] = user
    at.session_state["sac_lang"] = lang
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(path)
    at.run()
    return at


def open_directly(path: str, lang: str = "en", user: User = ADMIN, params: dict | None = None) -> AppTest:
    """Open ``path`` directly (not after the default page), signed in as ``user``, with URL ``params``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["sac_user"] = user
    at.session_state["sac_lang"] = lang
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.switch_page(path)
    return at.run()


def test_every_page_file_is_registered_and_every_registered_page_exists():
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    registered = {p.path for p in PAGES} | {"pages/account.py"}
    assert on_disk == registered


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", [p.path for p in PAGES])
def test_page_renders_in_every_language(app_env, path, lang):
    at = open_page(path, lang)
    assert not at.exception, f"{path} [{lang}]: {at.exception}"
    assert at.title or at.header, f"{path} [{lang}] shows no title"
