"""The upload page's published-table way in (issue 9), as an analyst meets it with the Bureau's workbooks
exactly as published: drop the file, read what was understood, create the indicator's passport right there
or pick one, read the dry run, save once with a profile; the next file of that layout is offered the profile.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sac.auth import User
from sac.store import Store
from tests.test_realdata_import import CASES, PASSPORTS, REALDATA

ROOT = Path(__file__).resolve().parent.parent
ANALYST = User(username="analyst", display_name="Analyst", role="analyst")
OFFICE = User(username="po_almaty", display_name="PO Almaty", role="project_office", units=frozenset({"75"}))


@pytest.fixture
def db(tmp_path, monkeypatch):
    from sac.ingest import import_file

    path = tmp_path / "sac.duckdb"
    with Store(path) as s:
        rep = import_file(s, PASSPORTS.encode(), "indicators", file_name="passports.csv", dry_run=False)
        assert rep.status == "committed"
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(ROOT)
    return path


def open_table_mode(user: User) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["sac_user"] = user
    at.session_state["sac_lang"] = "en"
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    at.segmented_control[0].set_value("A published table (regions × years)")
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str) -> None:
    at.file_uploader[0].set_value((name, (REALDATA / name).read_bytes(), "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception


def by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def indicator_box(at: AppTest):
    return by_label(at.selectbox, "Indicator these figures are facts of")


def texts(at: AppTest) -> str:
    return "\n".join([t.value for t in at.text] + [e.value for e in at.error] + [w.value for w in at.warning]
                     + [s.value for s in at.success] + [i.value for i in at.info])


@pytest.mark.parametrize(("name", "indicator", "stored", "not_reported", "former", "additive"), CASES)
def test_each_bureau_workbook_imports_through_the_page(db, name, indicator, stored, not_reported, former, additive):
    at = open_table_mode(ANALYST)
    upload(at, name)
    rows = at.dataframe[0].value
    assert "not a known unit" not in " ".join(rows["Status"].astype(str))  # every row's name was recognised
    assert (rows["Status"] == "unit").sum() >= 17
    indicator_box(at).set_value(indicator)
    at.run()
    assert not at.exception, at.exception
    m = {x.label: x.value for x in at.metric}
    assert (m["New rows"], m["Not reported"]) == (str(stored), str(not_reported))
    if additive:
        assert "periods agree within 1%" in texts(at)
        line = next(x for x in texts(at).splitlines() if "periods agree" in x)
        agree, n = line.split("against the sum of units: ")[1].split(" periods")[0].split(" of ")
        assert agree == n
    at.button(key="table_commit").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Saved as batch" in s.value or "batch" in s.value for s in at.success), texts(at)
    with Store(db) as s:
        assert s.scalar("SELECT count(*) FROM indicator_values WHERE indicator_id = ?", [indicator]) == stored


def test_new_passport_on_the_page_then_a_profile_offered_next_time(db):
    at = open_table_mode(ANALYST)
    upload(at, "life_expectancy.xlsx")
    at.selectbox(key="table_sheet_0").set_value("Мужчины")
    at.run()
    indicator_box(at).set_value("__new__")
    at.run()
    assert not at.exception, at.exception
    at.text_input[0].input("LIFE_M")
    at.text_input[1].input("years")
    at.text_input[2].input("Life expectancy, men")
    at.text_input[3].input("Ожидаемая продолжительность жизни, мужчины")
    at.text_input[4].input("Күтілетін өмір ұзақтығы, ерлер")
    at.form_submit_button[0].click()
    at.run()
    assert not at.exception, at.exception
    at.run()  # the page reruns itself once the passport exists
    with Store(db) as s:
        assert s.scalar("SELECT periodicity FROM indicators WHERE indicator_id = 'LIFE_M'") == "year"
        assert s.df("SELECT kind, file_name FROM upload_batches ORDER BY batch_id").values.tolist() == [
            ["indicators", "passports.csv"], ["indicators", "passport_LIFE_M.csv"]]
    assert indicator_box(at).value == "LIFE_M"
    assert by_label(at.selectbox, "Block of the sheet").value == "Мужчины"
    by_label(at.text_input, "Save this mapping as a profile (optional name)").input("BNS life expectancy, men")
    at.button(key="table_commit").click()
    at.run()
    assert not at.exception, at.exception

    again = open_table_mode(ANALYST)
    upload(again, "life_expectancy.xlsx")
    again.selectbox(key="table_sheet_0").set_value("Мужчины")
    again.run()
    assert "A saved profile fits this layout: BNS life expectancy, men" in texts(again)
    assert indicator_box(again).value == "LIFE_M"
    m = {x.label: x.value for x in again.metric}
    assert (m["New rows"], m["Unchanged rows"]) == ("0", "375")      # 1999-2016 of 'Туркестанская*' left out


def test_a_project_office_cannot_create_a_passport_and_sees_other_regions_refused(db):
    at = open_table_mode(OFFICE)
    upload(at, "population_jan1.xlsx")
    options = indicator_box(at).options
    assert not any("New indicator" in o for o in options)
    indicator_box(at).set_value("POP")
    at.run()
    assert not at.exception
    problems = " ".join(at.dataframe[1].value["Problem"].astype(str))
    assert "is not one of your regions" in problems
    assert any("rejected" in e.value.lower() or "error" in e.value.lower() for e in at.error)
    assert "table_commit" not in [b.key for b in at.button]  # nothing to save: the file touches other regions


def test_the_understood_title_is_the_tables_without_its_footnote_mark(db):
    at = open_table_mode(ANALYST)
    upload(at, "unemployment_rate.xlsx")                      # its title cell reads 'Unemployment rate1)'
    assert "Title: Unemployment rate" in [t.value for t in at.text]
    assert "1)" not in next(t.value for t in at.text if t.value.startswith("Title:"))


@pytest.mark.parametrize(("name", "row_name", "years"), [("life_expectancy.xlsx", "Туркестанская*", "1999–2016"),
                                                         ("population_jan1.xlsx", "Туркестанская 1", "2000–2016")])
def test_turkistans_marked_row_says_which_years_are_south_kazakhstans(db, name, row_name, years):
    """The note that gives the row's early years to South Kazakhstan is on the men's and women's sheets; the page
    reads it for 'Все население' too and says what will not be stored, then stores the rest under Turkistan."""
    at = open_table_mode(ANALYST)
    upload(at, name)
    rows = at.dataframe[0].value.set_index("Name as written")
    assert rows.loc[row_name, "Read as"] == "Turkistan Region (61)"
    assert rows.loc[row_name, "Status"] == f"unit; {years}: South Kazakhstan Region, a former unit: not stored"
    indicator_box(at).set_value({"life_expectancy.xlsx": "LIFE", "population_jan1.xlsx": "POP"}[name])
    at.run()
    problems = " ".join(at.dataframe[1].value["Problem"].astype(str))
    assert f"“{row_name} {years}” is a former unit" in problems
