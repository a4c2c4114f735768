"""Data is shown as text, never as markup (issue 8, finding 7).

Names, titles and labels that came from the database or an upload are written into a copy of the demo with
Markdown, Streamlit directives, LaTeX and HTML in them; every page is rendered, and no element that renders
Markdown (text, captions, headings, alerts, metrics, labels, tabs, expanders, page links, tooltips) may carry
that markup unescaped, while the reader still sees the characters. Charts get the same names and must not
carry plotly's HTML from them.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest
from test_pages import open_page

from sac import charts
from sac.auth import User
from sac.pages_registry import PAGES
from sac.store import Store
from sac.ui.text import md_code, md_escape, md_unescape

HOSTILE = "![x](http://127.0.0.1:9/x.png) [link](http://evil) **bold** <b>b</b> :red[red] $x^2$"
# what each piece of HOSTILE looks like while it is still markup (escaped characters never match: see live_markup)
ACTIVE = ("](http", "![", "**bold**", "<b>", ":red[", "$x^2$")
CHART_HOSTILE = '<a href="http://evil">link</a> <b>bold</b> <span style="font-size:60px">big</span> %{meta}'
CHART_ACTIVE = ("<a href", "<b>bold</b>", "<span style=\"font-size:60px", "%{meta}")

# (table, column) pairs that pages show: the hostile text is appended to every value
HOSTILE_COLUMNS = [
    ("regions", "name_en"), ("regions", "centre_en"), ("organisations", "name_en"), ("officials", "full_name"),
    ("officials", "position"), ("goal_nodes", "name_en"), ("indicators", "name_en"),
    ("indicators", "unit_of_measure"), ("budget_programs", "name_en"), ("projects", "name_en"),
    ("projects", "risks"), ("instructions", "title"), ("instructions", "issuer"), ("users", "display_name"),
    ("methodology_versions", "note"), ("methodology_versions", "created_by"),
]


# -- the escaping rule ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,escaped", [
    ("г. Алматы", "г. Алматы"),                              # ordinary names come out unchanged
    ("Almaty project office (demo)", "Almaty project office (demo)"),
    ("2030-Q3", "2030-Q3"),
    ("**x**", r"\*\*x\*\*"),
    ("![x](http://e/x.png)", r"!\[x\](http\://e/x.png)"),
    ("<b>b</b>", r"\<b\>b\</b\>"),
    (":red[red] :material/home:", r"\:red\[red\] \:material\/home\:"),
    ("$x^2$", r"\$x^2\$"),
    ("# title", r"\# title"),
    ("- item", r"\- item"),
    ("> quote", r"\> quote"),
    ("1. first", r"1\. first"),
    ("2) second", r"2\) second"),
    ("1.5 million", "1.5 million"),
    ("see www.evil.kz", r"see www\.evil.kz"),
    ("a@b.kz", r"a\@b.kz"),
    ("two\nlines\n# no heading", "two lines # no heading"),
    ("back\\slash `code` ~strike~ _em_ & c|d {e}", r"back\\slash \`code\` \~strike\~ \_em\_ \& c\|d \{e\}"),
    ("WEAR_UTIL snake_case", "WEAR_UTIL snake_case"),             # inside a word an underscore emphasises nothing
    (None, ""),
])
def test_md_escape(raw, escaped):
    assert md_escape(raw) == escaped
    if raw is not None and "\n" not in raw:
        assert md_unescape(md_escape(raw)) == raw          # the reader sees exactly the characters


def test_live_markup_sees_through_escapes():
    assert live_markup(HOSTILE) == list(ACTIVE)
    assert live_markup(md_escape(HOSTILE)) == []
    assert live_markup("**" + md_escape(HOSTILE) + "**") == []           # our own bold around escaped data


@pytest.mark.parametrize("raw,code", [("admin", "`admin`"), ("a`b", "``a`b``"), ("`x", "`` `x ``")])
def test_md_code(raw, code):
    assert md_code(raw) == code


# -- every page, on a demo full of hostile names -----------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_db(demo_db_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    with Store(path) as s, s.write() as cur:
        for table, column in HOSTILE_COLUMNS:
            cur.execute(f"UPDATE {table} SET {column} = coalesce({column}, '') || ' ' || ?", [HOSTILE])
        # a data version no other test's database has: the process-wide cache must not serve their frames here
        cur.execute("UPDATE meta SET value = '7000000' WHERE key = 'data_version'")
    return path


@pytest.fixture
def hostile_env(hostile_db, monkeypatch):
    monkeypatch.setenv("SAC_DB_PATH", str(hostile_db))
    monkeypatch.delenv("SAC_PUBLIC_VIEWS", raising=False)
    monkeypatch.chdir(charts.REGIONS_CSV.parents[2])
    return hostile_db


ADMIN = User("admin", "Demo administrator " + HOSTILE, "admin")
OFFICE = User("office", "Almaty office " + HOSTILE, "project_office", frozenset({"75"}))
PLAIN_ELEMENTS = {"Text", "Code", "Json", "Divider", "Exception"}   # shown verbatim, or ours alone


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in (children.values() if isinstance(children, dict) else children or []):
        yield from _walk(child)


def markdown_texts(at) -> list[tuple[str, str]]:
    """(element, source) of every Markdown-rendering text on the page, sidebar included."""
    out = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        kind = type(node).__name__
        if proto is None or kind in PLAIN_ELEMENTS or getattr(node, "type", "") == "plotly_chart":
            continue
        d = MessageToDict(proto, preserving_proto_field_name=True)
        for key in ("body", "label", "help", "delta", "title", "caption"):
            if isinstance(d.get(key), str):
                out.append((f"{kind}.{key}", d[key]))
        if kind == "Radio":
            out += [(f"{kind}.option", o) for o in d.get("options", [])]
        if isinstance(d.get("columns"), str):   # a dataframe's column tooltips
            for name, cfg in json.loads(d["columns"]).items():
                if isinstance(cfg, dict) and isinstance(cfg.get("help"), str):
                    out.append((f"{kind}.column[{name}].help", cfg["help"]))
    return out


def _strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _strings(v)


_ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")


def live_markup(text: str) -> list[str]:
    """The pieces of ACTIVE that ``text`` still carries as markup: a backslash-escaped character is text, so
    it is blanked out before looking (``\\](http`` is a bracket and a parenthesis, not a link)."""
    bare = _ESCAPED.sub("\x00", text)
    return [a for a in ACTIVE if a in bare]


def chart_texts(at) -> list[str]:
    return [s for node in _walk(at._tree) if getattr(node, "type", "") == "plotly_chart"
            for s in _strings(json.loads(node.proto.spec))]


# page, URL parameters, whether its Markdown shows names from the data
PAGE_CASES = [
    ("pages/situation_room.py", {"instruction": "INS-001"}, True),
    ("pages/rating.py", {}, True),
    ("pages/region.py", {"region": "75"}, True),
    ("pages/indicators.py", {"region": "75"}, True),
    ("pages/budget.py", {"year": "2025"}, False),
    ("pages/projects.py", {"project": "PRJ-0029"}, True),
    ("pages/data_quality.py", {}, True),
    ("pages/upload.py", {}, False),
    ("pages/submissions.py", {}, True),
    ("pages/boards.py", {}, False),   # no board built in this store: names only in the pickers
    ("pages/methodology.py", {}, True),
    ("pages/audit.py", {}, False),
    ("pages/users.py", {}, False),
    ("pages/account.py", {}, True),
]


def test_every_page_is_checked():
    assert {p.path for p in PAGES} | {"pages/account.py"} == {c[0] for c in PAGE_CASES}


@pytest.mark.parametrize("path,params,shows_names", PAGE_CASES, ids=[c[0] for c in PAGE_CASES])
def test_names_from_the_data_are_shown_as_text(hostile_env, path, params, shows_names):
    at = open_page(path, "en", user=ADMIN, params=params)
    assert not at.exception, at.exception
    texts = markdown_texts(at)
    assert texts, f"{path}: nothing rendered"
    live = [(where, t) for where, t in texts if live_markup(t)]
    assert not live, f"{path}: data rendered as markup in {live[:5]}"
    seen = " ".join(md_unescape(t) for _, t in texts)
    assert HOSTILE in seen or not shows_names, f"{path}: the names are not shown"
    assert not [s for s in chart_texts(at) if "<b>b</b>" in s], f"{path}: a chart renders HTML from the data"


def test_the_sidebar_shows_the_users_name_as_text(hostile_env):
    # the first run, on the default page: AppTest drops app.py's sidebar after a switch_page
    at = AppTest.from_file(str(charts.REGIONS_CSV.parents[2] / "app.py"), default_timeout=60)
    at.session_state["sac_user"] = ADMIN
    at.session_state["sac_lang"] = "en"
    at.run()
    assert not at.exception
    texts = markdown_texts(at)
    assert not [(w, t) for w, t in texts if live_markup(t)]
    assert any(ADMIN.display_name in md_unescape(t) for _, t in texts)


def test_a_project_office_sees_its_scoped_pages_as_text(hostile_env):
    for path, params in (("pages/situation_room.py", {}), ("pages/projects.py", {"project": "PRJ-0029"}),
                         ("pages/region.py", {"region": "75"})):
        at = open_page(path, "en", user=OFFICE, params=params)
        assert not at.exception, at.exception
        live = [(w, t) for w, t in markdown_texts(at) if live_markup(t)]
        assert not live, f"{path}: data rendered as markup in {live[:5]}"


# -- charts, without a browser ---------------------------------------------------------------------------------------

def _names(n: int = 3) -> list[str]:
    return [f"{CHART_HOSTILE} {i}" for i in range(n)]


def _chart_cases() -> dict[str, object]:
    names = _names()
    when = pd.to_datetime(["2024-01-01", "2025-01-01", "2026-01-01"])
    return {
        "tile_map": lambda: charts.tile_map(pd.DataFrame({"kato": ["71", "75", "79"], "score": [10.0, 50.0, np.nan],
                                                          "name": names, "tip": names}),
                                            "score", label_col="name", hover_col="tip", title=CHART_HOSTILE,
                                            colorbar_title=CHART_HOSTILE),
        "rating_dots": lambda: charts.rating_dots(pd.DataFrame({
            "unit_name": names, "score": [80.0, 70.0, np.nan], "rank": [1, 2, np.nan], "rank_label": ["1", "2", None],
            "coverage": [1.0, 1.0, 0.2]})),
        "rank_history": lambda: charts.rank_history(pd.DataFrame({
            "period": ["2024", "2025", "2024"], "unit_name": [names[0], names[0], names[1]], "rank": [1, 2, 2]}),
            highlight=[names[0]], rank_title=CHART_HOSTILE),
        "indicator_series": lambda: charts.indicator_series(
            pd.DataFrame({"period_start": when, "plan": [1.0, 2.0, 3.0], "fact": [1.0, np.nan, 2.5]}),
            target_value=4.0, target_year=2027, projection=3.5, unit_of_measure=CHART_HOSTILE, title=CHART_HOSTILE),
        "plan_fact_bars": lambda: charts.plan_fact_bars(pd.DataFrame({
            "unit_name": names, "plan": [1.0, 2.0, 3.0], "fact": [1.0, np.nan, 2.0], "rag": ["green", None, "red"]}),
            unit_of_measure=CHART_HOSTILE),
        "cumulative_execution": lambda: charts.cumulative_execution(pd.DataFrame({
            "month": [1, 2, 1], "cum_share_spent": [0.1, 0.2, 0.3], "elapsed_share": [1 / 12, 2 / 12, 1 / 12],
            "program": [names[0], names[0], names[1]]}), program_col="program"),
        "execution_bars": lambda: charts.execution_bars(pd.DataFrame({"name": names, "execution": [0.5, np.nan, 1.1]})),
        "spike_bars": lambda: charts.spike_bars(pd.DataFrame({"program": names, "q4_share": [0.3, 0.6, np.nan],
                                                              "flagged": [False, True, False]})),
        "project_timeline": lambda: charts.project_timeline(pd.DataFrame({
            "name": names, "planned_start": when, "planned_end": when + pd.Timedelta(days=200),
            "forecast_end": [when[0] + pd.Timedelta(days=300), pd.NaT, when[2] + pd.Timedelta(days=100)],
            "status_computed": ["red", "green", None]})),
        "goal_sunburst": lambda: charts.goal_sunburst(pd.DataFrame({
            "id": ["a", "b", "c"], "parent": [None, "a", "a"], "name": names, "score": [90.0, np.nan, 50.0],
            "level": ["program", CHART_HOSTILE, "project"], "responsible": names}),
            labels={"score": CHART_HOSTILE}),
        "ratio_bars": lambda: charts.ratio_bars(pd.DataFrame({
            "group": names, "ratio": [0.5, np.nan, 1.0], "numerator": [1, 0, 2], "denominator": [2, 0, 2]})),
    }


def test_every_chart_builder_is_checked():
    assert set(_chart_cases()) == {n for n in charts.__all__ if n[0].islower() and n not in {
        "rag_label", "normalise_rag", "score_colours", "separators", "chart_config", "plain"}}


@pytest.mark.parametrize("name", list(_chart_cases()))
def test_chart_shows_hostile_names_as_text(name):
    fig = _chart_cases()[name]()
    texts = list(_strings(json.loads(fig.to_json())))
    live = [t for t in texts if any(a in t for a in CHART_ACTIVE)]
    assert not live, f"{name}: plotly would render markup from the data: {live[:3]}"
    assert any(charts.plain(CHART_HOSTILE) in t for t in texts), f"{name}: the names are gone"
