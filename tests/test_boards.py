"""Information boards (issue 11): built on the demo for the whole SAC and a program in en, ru and kk, read back.

The PDFs are read with pypdf (text per page, in order) and each page is rendered to PNG under
``test-artifacts/boards/`` with pdftoppm (when installed) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from test_pages import open_directly, open_page

from sac import boards
from sac.auth import User
from sac.boards import weeks
from sac.store import Store

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "boards"
TODAY = dt.date(2026, 11, 23)          # the demo's today (conftest.TODAY): a Monday, ISO week 2026-W48
WEEK = "2026-W48"
PROGRAM = "P-HEALTH"                   # "Healthy Nation": an escalated, overdue instruction of its curator
SECTIONS = {
    "en": ["1. Decisions needed", "2. What changed since the previous board", "3. Key national indicators",
           "4. Rating of the regions", "5. Project portfolio", "6. Budget execution 2026"],
    "ru": ["1. Требуются решения", "2. Что изменилось с прошлой доски", "3. Ключевые национальные индикаторы",
           "4. Рейтинг регионов", "5. Портфель проектов", "6. Исполнение бюджета 2026"],
    "kk": ["1. Шешім қажет", "2. Алдыңғы тақтадан бері не өзгерді", "3. Негізгі ұлттық индикаторлар",
           "4. Өңірлер рейтингі", "5. Жобалар портфелі", "6. 2026 жылғы бюджеттің атқарылуы"],
}
KAZAKH = set("әғқңөұүі")
HOSTILE = "=cmd|' /C calc'!A0"
ANALYST = User(username="analyst", display_name="Analyst", role="analyst")
LEADER = User(username="leader", display_name="Leader", role="leadership")
OFFICE = User(username="po_almaty", display_name="Office", role="project_office", units=("75",))


def _copy(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / "sac.duckdb"
    shutil.copyfile(src, dst)
    return dst


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def body(text: str, titles: list[str]) -> str:
    """The text after the contents line on the first page (which names every section)."""
    return text[text.find(titles[-1]) + len(titles[-1]):]


def flat(text: str) -> str:
    """Text with line breaks and repeated spaces as single spaces (a table wraps its cells)."""
    return re.sub(r"\s+", " ", text)


def render_pngs(data: bytes, stem: str) -> list[Path]:
    """Each page as PNG in test-artifacts/boards/ (skipped quietly without pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        return []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{stem}.pdf"
    pdf.write_bytes(data)
    for old in ARTIFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / stem)], check=True)
    return sorted(ARTIFACTS.glob(f"{stem}-*.png"))


@pytest.fixture(scope="module")
def built(demo_db_path, tmp_path_factory):
    """A copy of the demo with the leadership and the program boards of week 2026-W48 in every language."""
    path = _copy(demo_db_path, tmp_path_factory.mktemp("boards"))
    s = Store(path)
    ctx = boards.Context(s, WEEK, TODAY)
    rows = {(node, lang): boards.build(s, node, WEEK, lang, built_by="test", ctx=ctx)
            for node in (boards.LEADERSHIP, PROGRAM) for lang in ("en", "ru", "kk")}
    yield s, rows
    s.close()


# -- weeks ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("week,today,expected", [
    ("2026-W48", dt.date(2026, 11, 23), dt.date(2026, 11, 23)),   # the running week: as of today
    ("2026-W47", dt.date(2026, 11, 23), dt.date(2026, 11, 22)),   # a past week: its Sunday
    ("2020-W53", dt.date(2026, 1, 1), dt.date(2021, 1, 3)),       # a 53-week year
])
def test_a_board_reports_as_of_the_end_of_its_week_or_today(week, today, expected):
    assert weeks.as_of(week, today) == expected


@pytest.mark.parametrize("week", ["2026-49", "2026-W54", "2025-W53", "W49"])
def test_a_bad_week_is_refused(week):
    with pytest.raises(ValueError):
        weeks.parse_week(week)


def test_a_future_week_is_refused():
    with pytest.raises(ValueError, match="not started"):
        weeks.as_of("2026-W50", dt.date(2026, 11, 23))


# -- the PDF -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_leadership_board_has_its_sections_in_order_and_the_figures_that_must_be_there(built, lang):
    s, rows = built
    row = rows[(boards.LEADERSHIP, lang)]
    data = boards.get_board(s, row["board_id"])["pdf"]
    text = flat(pdf_text(data))
    where = [body(text, SECTIONS[lang]).find(title) for title in SECTIONS[lang]]
    assert all(w >= 0 for w in where), dict(zip(SECTIONS[lang], where, strict=True))
    assert where == sorted(where)
    assert WEEK in text
    dv, mv = row["data_version"], row["methodology_version"]
    version = {"en": f"Data version {dv} · methodology version {mv}",
               "ru": f"Версия данных {dv} · версия методики {mv}",
               "kk": f"Деректер нұсқасы {dv} · әдістеме нұсқасы {mv}"}[lang]
    assert version in text
    red = {"en": "Consumer price inflation: red in 18 regions", "ru": "красная зона в 18 регионах",
           "kk": "18 өңірде қызыл аймақ"}[lang]
    assert red in text                                        # one line for the indicator red across regions
    assert "Complete the digitalisation of akimat services: Atyrau Region" in text   # 149 days overdue
    if lang == "kk":
        assert KAZAKH <= set(text), KAZAKH - set(text)
    pages = render_pngs(data, f"leadership_{lang}")
    assert len(pages) == len(PdfReader(io.BytesIO(data)).pages) or not pages


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_program_board_lists_its_own_escalated_instruction_and_indicators(built, lang):
    s, rows = built
    data = boards.get_board(s, rows[(PROGRAM, lang)]["board_id"])["pdf"]
    text = flat(pdf_text(data))
    where = [body(text, SECTIONS[lang]).find(title) for title in SECTIONS[lang]]
    assert all(w >= 0 for w in where) and where == sorted(where)
    assert "Analyse the causes of the rise in infant mortality: Kostanay Region" in text   # escalated, overdue
    assert "Complete the digitalisation" not in text             # another curator's instruction
    infant = {"en": "Infant mortality", "ru": "Младенческая смертность", "kk": "Нәресте өлімі"}[lang]
    assert infant in text
    assert "Consumer price inflation" not in text and "инфляция" not in text.lower()   # not this program's
    if lang == "kk":
        assert KAZAKH <= set(text), KAZAKH - set(text)
    render_pngs(data, f"program_{lang}")


def test_pdf_is_a4_with_embedded_fonts_and_page_numbers(built):
    s, rows = built
    reader = PdfReader(io.BytesIO(boards.get_board(s, rows[(boards.LEADERSHIP, "en")]["board_id"])["pdf"]))
    n = len(reader.pages)
    for i, page in enumerate(reader.pages, 1):
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(w), round(h)) == (595, 842)                  # A4 in points
        assert f"Page {i} of {n}" in page.extract_text()
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor                      # the TrueType program is in the file
            assert "DejaVu" in str(descriptor["/FontName"])


def test_no_page_is_an_orphan(built):
    """The last page of every board carries more than a few lines (sac.boards.pdf.ORPHAN_MM of content)."""
    s, rows = built
    for row in rows.values():
        pages = PdfReader(io.BytesIO(boards.get_board(s, row["board_id"])["pdf"])).pages
        last = [ln for ln in (pages[-1].extract_text() or "").splitlines() if ln.strip()]
        assert len(pages) == 1 or len(last) >= 6, (row["node_id"], row["language"], last)


# -- the store: revisions, immutability, audit -------------------------------------------------------------------

def test_a_second_build_is_revision_two_and_revision_one_is_unchanged(built):
    s, rows = built
    first = rows[(PROGRAM, "en")]
    before = boards.get_board(s, first["board_id"])
    again = boards.build(s, PROGRAM, WEEK, "en", built_by="test", today=TODAY)
    assert again["revision"] == first["revision"] + 1
    assert again["board_id"] != first["board_id"]
    assert again["content_hash"] == first["content_hash"]         # nothing changed in the store
    after = boards.get_board(s, first["board_id"])
    assert after["pdf"] == before["pdf"] and after["xlsx"] == before["xlsx"] and after["revision"] == 1
    listed = boards.list_boards(s, node_id=PROGRAM, week=WEEK)
    assert sorted(listed.loc[listed["language"] == "en", "revision"]) == [1, 2]


def test_every_build_and_download_is_audited(built):
    from sac import audit

    s, rows = built
    built_ids = set(audit.entries(s, "board_built")["target"])
    assert {str(r["board_id"]) for r in rows.values()} <= built_ids
    board_id = rows[(boards.LEADERSHIP, "ru")]["board_id"]
    boards.record_download(s, board_id, "pdf", "leader")
    last = audit.entries(s, "board_downloaded", limit=1).iloc[0]
    assert (last["actor"], last["target"]) == ("leader", str(board_id)) and '"pdf"' in last["details"]


def test_a_board_write_leaves_the_data_version(built):
    s, _ = built
    v = s.data_version()
    boards.build(s, boards.LEADERSHIP, WEEK, "kk", built_by="test", today=TODAY)
    assert s.data_version() == v


# -- week over week, a hostile name -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def planted(demo_db_path, tmp_path_factory):
    """Boards of weeks 47 and 48 around a change: between them a green cell of the program turns red, and a
    project off track is renamed to a formula."""
    path = _copy(demo_db_path, tmp_path_factory.mktemp("planted"))
    s = Store(path)
    first = boards.build(s, PROGRAM, "2026-W47", "en", built_by="test", today=TODAY)
    ctx = boards.Context(s, WEEK, TODAY)
    scope = ctx.scope(PROGRAM)
    cells = ctx.node_cells(scope)
    cell = cells[(cells["rag"] == "green") & cells["direction"].isin(["up", "down"])].sort_values(
        ["indicator_id", "unit_code"]).iloc[0]
    bad = float(cell["plan"]) * (0.5 if cell["direction"] == "up" else 2.0)
    sev = ctx.node_projects(scope)
    victim = sev[(sev["status_computed"] == "red") & sev["is_active"].astype(bool)].sort_values(
        ["overdue", "slip_days"], ascending=False).iloc[0]["project_id"]
    with s.write() as cur:
        cur.execute("UPDATE indicator_values SET fact = ? WHERE indicator_id = ? AND unit_code = ? AND period = ?",
                    [bad, cell["indicator_id"], cell["unit_code"], cell["period"]])
        cur.execute("UPDATE projects SET name_en = ?, name_ru = ?, name_kk = ? WHERE project_id = ?",
                    [HOSTILE, HOSTILE, HOSTILE, victim])
    second = boards.build(s, PROGRAM, WEEK, "en", built_by="test", today=TODAY)
    yield s, first, second, cell
    s.close()


def test_week_over_week_lists_the_indicator_that_turned_red(planted):
    s, first, second, cell = planted
    assert second["previous_board_id"] == first["board_id"]
    text = body(flat(pdf_text(boards.get_board(s, second["board_id"])["pdf"])), SECTIONS["en"])
    changes = text[text.find("2. What changed"):text.find("3. Key national indicators")]
    assert "Compared with the board of week 2026-W47" in changes
    region = s.scalar("SELECT name_en FROM regions WHERE kato = ?", [cell["unit_code"]])
    assert f"✗ Turned red {cell['name_en']} 1: {region}" in changes
    first_text = flat(pdf_text(boards.get_board(s, first["board_id"])["pdf"]))
    assert "This is the first board of this node" in first_text and "Turned red" not in first_text
    render_pngs(boards.get_board(s, second["board_id"])["pdf"], "program_week_over_week")


def test_xlsx_has_the_sections_as_sheets_and_a_hostile_name_stays_text(planted):
    s, first, second, _ = planted
    wb = openpyxl.load_workbook(io.BytesIO(boards.get_board(s, second["board_id"])["xlsx"]))
    assert wb.sheetnames[0] == "Board"
    titles = [t.split(". ", 1)[1] for t in SECTIONS["en"]]
    assert len(wb.sheetnames) == 1 + len(titles)
    for i, (name, title) in enumerate(zip(wb.sheetnames[1:], titles, strict=True), 1):
        assert f"{i} {title}".startswith(name)                     # Excel keeps 31 characters of a name
    hostile = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and "cmd|" in c.value]
    assert hostile, "the renamed project is on the board"
    for c in hostile:
        assert c.data_type == "s" and not c.value.startswith("=")
    about = {r[0].value: r[1].value for r in wb["Board"].iter_rows(max_col=2)}
    versions = f"data {second['data_version']}, methodology {second['methodology_version']}"
    assert about["Week"].startswith(WEEK) and about["Versions"] == versions
    assert second["data_version"] == s.data_version() == first["data_version"] + 1   # the planted commit
    numbers = [c.value for ws in wb.worksheets[1:] for row in ws.iter_rows() for c in row
               if isinstance(c.value, int | float) and not isinstance(c.value, bool)]
    assert numbers, "figures stay numbers"


# -- the page ------------------------------------------------------------------------------------------------------

@pytest.fixture
def page_env(demo_db_path, tmp_path, monkeypatch):
    path = _copy(demo_db_path, tmp_path)
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(ROOT)
    return path


def _downloads(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_analyst_builds_a_board_and_finds_it_in_the_archive(page_env):
    at = open_page("pages/boards.py", "en", ANALYST)
    assert not at.exception
    assert at.info and "No board has been built" in at.info[0].value
    at.selectbox(key="board_node").set_value(PROGRAM)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "revision 1" in at.success[0].value
    assert _downloads(at) == ["Download PDF", "Download XLSX"]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 1
    with Store(page_env, read_only=True) as s:
        log = s.df("SELECT actor, action FROM audit_log WHERE action = 'board_built'")
    assert log["actor"].tolist() == ["analyst"]


def test_leadership_reads_the_archive_but_cannot_build(page_env):
    with Store(page_env) as s:
        boards.build(s, boards.LEADERSHIP, WEEK, "ru", built_by="analyst", today=TODAY)
    at = open_page("pages/boards.py", "ru", LEADER)
    assert not at.exception
    assert not [b for b in at.button if "Построить" in b.label]
    assert "board_build" not in {f.proto.form_id for f in at.get("form")}
    assert _downloads(at) == ["Скачать PDF", "Скачать XLSX"]


@pytest.mark.parametrize("who", ["public", "project_office"])
def test_public_and_project_offices_cannot_open_boards(page_env, monkeypatch, who):
    if who == "public":
        monkeypatch.setenv("SAC_PUBLIC_VIEWS", "1")
        from test_page_access import open_as_public
        at = open_as_public("pages/boards.py", {})
    else:
        at = open_directly("pages/boards.py", "en", OFFICE)
    assert not at.exception
    assert not _downloads(at) and not at.get("form")
    assert "Information boards" not in [t.value for t in at.title]


def test_node_list_is_in_goal_map_order_with_the_sac_first(demo_store):
    nodes = boards.board_nodes(demo_store)
    assert nodes["node_id"].iloc[0] == boards.LEADERSHIP
    ids = nodes["node_id"].tolist()
    assert ids.index("NP1") < ids.index("P-ENBEK") < ids.index("BD-EMPLOY") < ids.index("GP-YOUTHJOB") < ids.index("NP2")
    assert boards.find_node(demo_store, "1.1") == "P-ENBEK" and boards.find_node(demo_store, "leadership") == "SAC"
    assert set(nodes["level"]) == {"sac", "national_priority", "program", "basic_direction", "project_group"}
    assert not pd.isna(nodes["name_kk"]).any()


# -- the command line, while a serving process holds the store open ------------------------------------------------

def test_cli_builds_and_exports_while_the_app_serves(demo_db_path, tmp_path):
    import os
    import sys

    from sac.store import ServingStore

    db = _copy(demo_db_path, tmp_path)
    app = ServingStore(db)            # what the app holds: no lock between its own writes
    try:
        env = {**os.environ, "SAC_DB_PATH": str(db), "SAC_LOCK_TIMEOUT": "10", "PYTHONPATH": str(ROOT)}
        week = weeks.week_of(dt.date.today())
        run = subprocess.run([sys.executable, "-m", "sac", "board", "build", "--week", week, "--node", "1.1",
                              "--lang", "kk"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        m = re.search(r"^board (\d+): P-ENBEK " + week + r" kk revision 1 ", run.stdout, re.M)
        assert m, run.stdout
        board_id = int(m.group(1))
        listed = boards.list_boards(app, node_id="P-ENBEK")           # the serving process sees it at once
        assert listed["board_id"].tolist() == [board_id]
        out = subprocess.run([sys.executable, "-m", "sac", "board", "export", str(board_id), "--pdf",
                              str(tmp_path / "b.pdf"), "--xlsx", str(tmp_path / "b.xlsx")], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert (tmp_path / "b.pdf").read_bytes()[:5] == b"%PDF-" and (tmp_path / "b.xlsx").stat().st_size > 0
        actions = app.df("SELECT action, actor FROM audit_log WHERE action LIKE 'board_%' ORDER BY entry_id")
        assert actions["action"].tolist() == ["board_built", "board_downloaded", "board_downloaded"]
        assert actions["actor"].str.startswith("cli:").all()
        missing = subprocess.run([sys.executable, "-m", "sac", "board", "build", "--node", "NO-SUCH"], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=120)
        assert missing.returncode == 4 and "no goal-map node" in missing.stderr
    finally:
        app.close()


def test_a_regional_plan_reports_its_region_and_a_node_without_indicators_still_builds(built):
    s, _ = built
    almaty = boards.build(s, "P-ALMATY", WEEK, "en", built_by="test", today=TODAY)
    text = flat(pdf_text(boards.get_board(s, almaty["board_id"])["pdf"]))
    assert "Plan-fact of Almaty for 2025" in text
    after = body(text, SECTIONS["en"])
    assert "Turkistan Region" not in after[after.find("3. Key national indicators"):]     # only Almaty's cells
    empty = boards.build(s, "GP-KINDER", WEEK, "en", built_by="test", today=TODAY)
    text = flat(pdf_text(boards.get_board(s, empty["board_id"])["pdf"]))
    assert "No indicator is attached to this node." in text and "5. " not in text.split("Contents")[1][:200]
