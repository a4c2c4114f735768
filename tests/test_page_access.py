"""Detail views opened by a URL parameter check the reader's rights (issue 8, finding 6).

A typed or shared link (``?instruction=``, ``?project=``, ``?region=``) must show nothing a menu would not have
offered the reader: the anonymous public reader of the situation room sees no instruction (issuer, responsible
official), and a project office sees no project, region or instruction outside its units. Either way the reader
is told plainly that the detail is not available to them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_pages import open_directly

from sac.auth import User
from sac.auth.permissions import can_see
from sac.ui.text import md_unescape

ROOT = Path(__file__).resolve().parent.parent
OFFICE = User("office", "Almaty project office (demo)", "project_office", frozenset({"75"}))
ADMIN = User("admin", "Admin", "admin")
PUBLIC = User(username="anonymous", display_name="Public", role="public", source="public")
NOT_AVAILABLE = "not available to you"


def open_as_public(path: str, params: dict) -> AppTest:
    """Nobody signed in, public views on: the app's own public reader."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["sac_lang"] = "en"
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(path)
    return at.run()


def shown(at: AppTest) -> str:
    """Every text a reader sees on the page, but tables and charts."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                                  "success") for e in getattr(at, kind)]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    parts += [pl.proto.label for pl in at.get("page_link")]
    return md_unescape("\n".join(parts))


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


@pytest.fixture
def public_env(app_env, monkeypatch):
    monkeypatch.setenv("SAC_PUBLIC_VIEWS", "1")
    return app_env


def _instruction(demo_store, instruction_id: str) -> dict:
    return demo_store.df("""
        SELECT i.title, i.region_kato, o.full_name AS official
        FROM instructions i LEFT JOIN officials o ON o.official_id = i.responsible_official
        WHERE i.instruction_id = ?""", [instruction_id]).iloc[0].to_dict()


# -- the rule -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user,kind,unit,expected", [
    (ADMIN, "instruction", "79", True),
    (PUBLIC, "instruction", "79", False),        # issuer and responsible official are internal
    (PUBLIC, "indicator", None, False),
    (None, "region", "75", False),
    (OFFICE, "instruction", "75", True),
    (OFFICE, "instruction", "79", False),
    (OFFICE, "instruction", None, False),        # a detail of no unit is not one of its units
    (OFFICE, "project", "33", False),
    (OFFICE, "region", "75", True),
    (OFFICE, "indicator", None, True),           # a passport is national
    (User("po", "PO", "project_office"), "region", "75", False),   # an office with no units sees none
])
def test_can_see(user, kind, unit, expected):
    assert can_see(user, kind, unit) is expected


def test_unknown_detail_kind_is_an_error():
    with pytest.raises(KeyError):
        can_see(ADMIN, "instructon", "75")


# -- the public reader ----------------------------------------------------------------------------------------------

def test_public_reader_does_not_see_an_instruction(public_env, demo_store):
    ins = _instruction(demo_store, "INS-002")
    at = open_as_public("pages/situation_room.py", {"instruction": "INS-002"})
    assert not at.exception
    text = shown(at)
    assert ins["title"] not in text and ins["official"] not in text and "OFF-0002" not in text
    assert any(NOT_AVAILABLE in w and "INS-002" in w for w in warnings(at))
    assert len(at.metric) == 4                                    # the published figures are still there


@pytest.mark.parametrize("path,params", [
    ("pages/projects.py", {"project": "PRJ-0029"}),
    ("pages/region.py", {"region": "75"}),
    ("pages/indicators.py", {"region": "75"}),
    ("pages/budget.py", {"region": "75"}),
    ("pages/data_quality.py", {}),
])
def test_public_reader_opens_no_unpublished_detail(public_env, path, params):
    at = open_as_public(path, params)
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is not open to you. Sign in with an account whose role may use it."]
    assert not at.dataframe and not at.metric


# -- a project office -------------------------------------------------------------------------------------------------

def test_office_does_not_see_another_regions_instruction(app_env, demo_store):
    ins = _instruction(demo_store, "INS-002")
    assert ins["region_kato"] == "79"
    at = open_directly("pages/situation_room.py", user=OFFICE, params={"instruction": "INS-002"})
    assert not at.exception
    text = shown(at)
    assert ins["title"] not in text and ins["official"] not in text
    assert any(NOT_AVAILABLE in w and "INS-002" in w for w in warnings(at))


def test_office_sees_its_own_regions_instruction(app_env, demo_store):
    ins = _instruction(demo_store, "INS-021")
    assert ins["region_kato"] == "75"
    at = open_directly("pages/situation_room.py", user=OFFICE, params={"instruction": "INS-021"})
    assert not at.exception
    assert ins["title"] in shown(at)
    assert not any(NOT_AVAILABLE in w for w in warnings(at))


def test_office_does_not_see_another_regions_project(app_env, demo_store):
    name = demo_store.scalar("SELECT name_en FROM projects WHERE project_id = 'PRJ-0001'")
    assert demo_store.scalar("SELECT region_kato FROM projects WHERE project_id = 'PRJ-0001'") != "75"
    at = open_directly("pages/projects.py", user=OFFICE, params={"project": "PRJ-0001"})
    assert not at.exception
    assert name not in shown(at)
    assert not [h for h in at.subheader if h.value.startswith("PRJ-0001")]
    assert any(NOT_AVAILABLE in w and "PRJ-0001" in w for w in warnings(at))


def test_office_sees_its_own_project(app_env, demo_store):
    name = demo_store.scalar("SELECT name_en FROM projects WHERE project_id = 'PRJ-0029'")
    at = open_directly("pages/projects.py", user=OFFICE, params={"project": "PRJ-0029"})
    assert not at.exception
    assert any(h.value == f"PRJ-0029 — {name}" for h in at.subheader)
    assert not any(NOT_AVAILABLE in w for w in warnings(at))


@pytest.mark.parametrize("path", ["pages/region.py", "pages/indicators.py", "pages/budget.py",
                                  "pages/projects.py"])
def test_office_does_not_see_another_region(app_env, path):
    at = open_directly(path, user=OFFICE, params={"region": "79", "year": "2025"})
    assert not at.exception
    assert any(NOT_AVAILABLE in w and "79" in w for w in warnings(at))
    assert "Shymkent" not in shown(at)
    assert not [h for h in at.header if h.value != "Almaty"]           # the region profile is its own


def test_office_own_region_has_no_refusal(app_env):
    at = open_directly("pages/region.py", user=OFFICE, params={"region": "75"})
    assert not at.exception
    assert [h.value for h in at.header] == ["Almaty"]
    assert not any(NOT_AVAILABLE in w for w in warnings(at))


def test_public_reader_of_the_methodology_sees_no_account_names(public_env):
    at = open_as_public("pages/methodology.py", {})
    assert not at.exception
    body = "\n".join(m.value for m in at.markdown)
    assert "adopted" in body and "by system" not in body                    # the author's account is internal
    versions = next(d.value for d in at.dataframe)
    assert "By" not in versions.columns and "Note" in versions.columns


def test_signed_in_reader_of_the_methodology_sees_who_adopted_it(app_env):
    at = open_directly("pages/methodology.py", user=ADMIN)
    assert not at.exception
    assert "by system" in "\n".join(m.value for m in at.markdown)
    assert "By" in next(d.value for d in at.dataframe).columns


@pytest.mark.parametrize("path", ["pages/budget.py", "pages/projects.py", "pages/indicators.py",
                                  "pages/data_quality.py", "pages/region.py", "pages/rating.py"])
def test_every_region_column_a_project_office_sees_is_its_own(app_env, path):
    at = open_directly(path, user=OFFICE, params={"year": "2025"})
    assert not at.exception
    seen = {c: set(d.value[c].astype(str)) for d in at.dataframe for c in d.value.columns
            if str(c).lower() == "region"}
    assert seen or path in ("pages/region.py", "pages/budget.py"), f"{path}: no region column to check"
    for column, values in seen.items():
        assert values <= {"Almaty"}, f"{path}: {column} holds {sorted(values - {'Almaty'})[:5]}"
