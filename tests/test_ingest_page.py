"""The upload page as a user meets it: upload, read the dry run, save, see the history, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sac.auth import User
from sac.store import Store

ROOT = Path(__file__).resolve().parent.parent
ADMIN = User(username="admin", display_name="Admin", role="admin")
OFFICE = User(username="po_almaty", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))

GOOD = "Показатель;Регион;Период;План;Факт\nUNEMP;г. Алматы;3 кв. 2024;4,8;4,9\nИтого;;;;\n".encode("cp1251")
BAD = "Показатель;Регион;Период;План;Факт\nUNEMP;г. Алматы;3 кв. 2024;4,8;четыре\n".encode()


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "sac.duckdb"
    with Store(path) as s, s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "VALUES ('UNEMP', 'u', 'u', 'u', 'quarter')")
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(ROOT)
    return path


def open_upload(user: User, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["sac_user"] = user
    at.session_state["sac_lang"] = lang
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def stored(db) -> list[tuple]:
    with Store(db) as s:
        return s.cursor().execute("SELECT unit_code, period, plan, fact FROM indicator_values").fetchall()


def test_upload_dry_run_commit_and_rollback(db):
    at = open_upload(ADMIN)
    assert not at.exception
    at.file_uploader[0].set_value(("report.csv", GOOD, "text/csv"))
    at.run()
    assert not at.exception
    m = metrics(at)
    assert (m["New rows"], m["Rows with errors"], m["Totals rows skipped"]) == ("1", "0", "1")
    problems = at.dataframe[0].value
    assert problems["Row"].tolist() == [3] and "Totals row skipped" in problems["Problem"].iloc[0]
    assert stored(db) == []                            # the dry run wrote nothing

    at.button(key="upload_commit").click()
    at.run()
    assert not at.exception
    assert "Saved as batch 1: new rows 1" in at.success[0].value
    assert stored(db) == [("75", "2024-Q3", 4.8, 4.9)]
    history = at.dataframe[0].value
    assert history["Batch"].tolist() == [1] and history["Status"].tolist() == ["Saved"]

    at.checkbox(key="upload_rb_sure_1").check()
    at.run()
    at.button(key="upload_rb_go").click()
    at.run()
    assert not at.exception
    assert "Batch 1 rolled back" in at.success[0].value
    assert stored(db) == []


def test_rejected_file_names_row_and_column_in_russian_and_saves_nothing(db):
    at = open_upload(ADMIN, "ru")
    at.file_uploader[0].set_value(("bad.csv", BAD, "text/csv"))
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["Строка"].tolist() == [2] and table["Столбец"].tolist() == ["Факт"]
    assert "«четыре» — не число" in table["Замечание"].iloc[0]
    assert "Файл отклонён" in at.error[0].value
    assert not [b for b in at.button if b.key == "upload_commit"]
    assert stored(db) == []


def test_project_office_may_not_upload_other_regions_nor_roll_back(db):
    other = b"indicator;region;period;fact\nUNEMP;71;2024-Q3;1\n"
    at = open_upload(OFFICE)
    at.file_uploader[0].set_value(("astana.csv", other, "text/csv"))
    at.run()
    assert not at.exception
    assert "is not one of your regions" in at.dataframe[0].value["Problem"].iloc[0]
    assert "Indicator passports" not in at.selectbox[0].options  # not for project offices
    assert not [c for c in at.checkbox if (c.key or "").startswith("upload_rb_sure")]


def test_workbook_with_several_sheets_offers_them(db):
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Cover"
    wb.active.append(["Quarterly report"])
    ws = wb.create_sheet("Data")
    ws.append(["indicator", "region", "period", "fact"])
    ws.append(["UNEMP", "75", "2024-Q3", 4.9])
    buf = io.BytesIO()
    wb.save(buf)
    at = open_upload(ADMIN)
    at.file_uploader[0].set_value(("book.xlsx", buf.getvalue(),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    at.run()
    assert "no header row" in at.dataframe[0].value["Problem"].iloc[0].lower()   # the cover sheet first
    sheet = [s for s in at.selectbox if s.label == "Sheet"][0]
    assert sheet.options == ["Cover", "Data"]
    sheet.set_value("Data")
    at.run()
    assert not at.exception
    assert metrics(at)["New rows"] == "1"
