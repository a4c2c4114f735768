"""Downloads open in Excel with the values a user saw: text as text (never a formula), numbers as numbers.

Formula injection (issue 8, finding 3): a text cell that starts with ``= + - @``, a tab, CR or LF (or one
of these after leading whitespace, or a full-width ``＝ ＋ － ＠``) is written with a leading ``'`` in both
files; XLSX text cells are typed as text. Everything is read back from the real bytes (csv, openpyxl).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from sac import export
from sac.auth import User
from sac.auth import accounts as acc
from sac.store import Store
from sac.views import rating as rating_views

ROOT = Path(__file__).resolve().parent.parent
TRIGGERS = frozenset("=+-@\t\r\n\0＝＋－＠")
PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(1+1)",
    "+1+1",
    "-1+1",
    "-",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "\u00a0 @SUM(1)",
    "＝1+1",
    "＋1",
]
# characters XML 1.0 cannot carry (openpyxl refuses the C0 controls and writes a broken file for U+FFFE/U+FFFF)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def dangerous(text: str) -> bool:
    """The rule the module docstring states: a trigger first, or first after leading whitespace."""
    return bool(text) and (text[0] in TRIGGERS or text.lstrip()[:1] in TRIGGERS)


def escaped(text: str) -> str:
    return "'" + text if dangerous(text) else text


def frame():
    return pd.DataFrame({
        "region": ["г. Алматы", "Абай облысы"],
        "plan": [76952.0, None],
        "share_pct": [12.5, 7.25],
        "date": pd.to_datetime(["2024-12-31", "2025-01-15"]),
    })


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def cells(ws):
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


# -- what was there before ---------------------------------------------------------------------------------------

def test_csv_has_a_bom_and_keeps_cyrillic_and_missing_as_empty():
    rows = read_csv(export.to_csv_bytes(frame()))
    assert rows[0] == ["region", "plan", "share_pct", "date"]
    assert rows[1] == ["г. Алматы", "76952.0", "12.5", "2024-12-31"]
    assert rows[2][:3] == ["Абай облысы", "", "7.25"]


def test_xlsx_has_title_header_values_formats_and_empty_missing():
    ws = read_xlsx(export.to_xlsx_bytes(frame(), title="Budget", note="Methodology version 1"))
    assert ws["A1"].value == "Budget"
    assert ws["A2"].value == "Methodology version 1"
    assert [c.value for c in ws[4]] == ["region", "plan", "share_pct", "date"]
    assert ws["A5"].value == "г. Алматы"
    assert ws["B5"].value == 76952.0 and ws["B5"].number_format == "#,##0.0##"
    assert ws["B6"].value is None  # missing stays missing, not 0
    assert ws["D5"].number_format == "dd.mm.yyyy"
    assert ws["D5"].value.year == 2024
    assert ws.freeze_panes == "A5"
    assert ws["A4"].font.bold


# -- formula injection ---------------------------------------------------------------------------------------------

def payload_frame() -> pd.DataFrame:
    n = len(PAYLOADS)
    return pd.DataFrame({
        "text": PAYLOADS,
        "=HEADER()": ["ok"] * n,                                   # a column name can come from data too
        "number": [-5.0] + [1.5] * (n - 1),                          # a negative number is a number, not text
        "count": pd.array([-3] + [None] * (n - 1), dtype="Int64"),
        "mixed": ["-7"] + [-7] + ["#N/A"] + [None] * (n - 3),        # an object column: text stays text
    })


def test_csv_prefixes_every_formula_trigger_in_text_and_headers_and_keeps_numbers():
    rows = read_csv(export.to_csv_bytes(payload_frame()))
    assert rows[0] == ["text", "'=HEADER()", "number", "count", "mixed"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert rows[1][2] == "-5.0" and rows[1][3] == "-3"              # numbers are not touched
    assert rows[2][3] == ""                                          # missing stays empty, never 0
    assert [r[4] for r in rows[1:4]] == ["'-7", "-7", "#N/A"]


def test_csv_quotes_every_text_field_so_a_separator_inside_text_cannot_start_a_cell():
    df = pd.DataFrame({"name": ['x,=1+1', 'x;=1+1', 'x"=1+1', "plain"], "n": [1, 2, 3, 4]})
    lines = export.to_csv_bytes(df).decode("utf-8-sig").splitlines()
    assert lines[0] == '"name","n"'
    assert lines[1:] == ['"x,=1+1",1', '"x;=1+1",2', '"x""=1+1",3', '"plain",4']


def test_xlsx_never_writes_a_formula_and_prefixes_triggers_in_cells_headers_title_and_note():
    data = export.to_xlsx_bytes(payload_frame(), sheet="=data", title="=TITLE()", note="@note")
    ws = read_xlsx(data)
    assert not [c.coordinate for c in cells(ws) if c.data_type == "f"]
    assert ws["A1"].value == "'=TITLE()" and ws["A2"].value == "'@note"
    header = [c.value for c in ws[4]]
    assert header == ["text", "'=HEADER()", "number", "count", "mixed"]
    texts = [ws.cell(row=5 + i, column=1) for i in range(len(PAYLOADS))]
    assert [c.data_type for c in texts] == ["s"] * len(PAYLOADS)
    assert [c.value for c in texts] == ["'" + p.replace("\r", "\n") for p in PAYLOADS]
    assert (ws["C5"].value, ws["C5"].data_type) == (-5, "n")
    assert (ws["D5"].value, ws["D5"].data_type) == (-3, "n") and ws["D6"].value is None
    assert [(ws[f"E{r}"].value, ws[f"E{r}"].data_type) for r in (5, 6, 7)] == [("'-7", "s"), (-7, "n"), ("#N/A", "s")]
    assert ws.title == "=data"                                        # a sheet name is never evaluated


def test_xlsx_replaces_characters_xml_cannot_carry_instead_of_failing():
    df = pd.DataFrame({"who": ["a\x01b", "\x00=1+1", "x\ufffey"]})
    ws = read_xlsx(export.to_xlsx_bytes(df, title="t\x07"))
    assert ws["A1"].value == "t\ufffd"
    assert [ws[f"A{r}"].value for r in (4, 5, 6)] == ["a\ufffdb", "'\ufffd=1+1", "x\ufffdy"]


def test_sheet_names_excel_refuses_are_made_valid():
    ws = read_xlsx(export.to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet="'a/b[c]*?:\\d'"))
    assert ws.title == "abcd"
    assert read_xlsx(export.to_xlsx_bytes(pd.DataFrame({"a": [1]}), sheet="[]")).title == "data"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=4), st.text(max_size=8))
def test_no_exported_text_ever_starts_with_a_trigger_and_the_text_survives(values, column):
    """Arbitrary text in cells and in a column name: every text cell read back is the text, prefixed with
    ``'`` exactly when it is dangerous; so no cell starts (even after whitespace) with an unescaped trigger."""
    assume(column != "n")
    df = pd.DataFrame({column or "c": values, "n": range(len(values))})
    head = escaped(column or "c")
    rows = read_csv(export.to_csv_bytes(df))
    assert rows[0] == [head, "n"]
    assert [r[0] for r in rows[1:]] == [escaped(v) for v in values]
    for text in [rows[0][0]] + [r[0] for r in rows[1:]]:
        assert not dangerous(text) or text.startswith("'")

    ws = read_xlsx(export.to_xlsx_bytes(df))
    def xlsx_text(v):
        return XML_ILLEGAL.sub("\ufffd", escaped(v).replace("\r\n", "\n").replace("\r", "\n"))
    assert ws["A1"].value == xlsx_text(column or "c") and ws["A1"].data_type == "s"
    got = [ws.cell(row=2 + i, column=1) for i in range(len(values))]
    assert [c.value if c.value is not None else "" for c in got] == [xlsx_text(v) for v in values]
    assert all(c.data_type == "s" for c in got if c.value is not None)
    assert [ws.cell(row=2 + i, column=2).value for i in range(len(values))] == list(range(len(values)))


# -- the real exports ----------------------------------------------------------------------------------------------

@pytest.fixture
def captured(monkeypatch):
    """Every table the pages hand to the exporters in this test, with the bytes they made."""
    seen = {"csv": [], "xlsx": []}
    to_csv, to_xlsx = export.to_csv_bytes, export.to_xlsx_bytes

    def csv_spy(df, *a, **k):
        data = to_csv(df, *a, **k)
        seen["csv"].append((df, data))
        return data

    def xlsx_spy(df, *a, **k):
        data = to_xlsx(df, *a, **k)
        seen["xlsx"].append((df, k.get("title"), data))
        return data

    monkeypatch.setattr(export, "to_csv_bytes", csv_spy)
    monkeypatch.setattr(export, "to_xlsx_bytes", xlsx_spy)
    return seen


EVIL = '=HYPERLINK("http://x","y")'


def test_audit_export_of_a_hostile_user_name_is_text(tmp_path, monkeypatch, captured):
    """A sign-in attempt under the user name ``=HYPERLINK(…)`` and an account with that display name reach
    the admin's audit download (pages/audit.py) as text, never as a live formula."""
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "x.duckdb"
    with Store(path) as s:
        acc.ensure_demo_accounts(s)
        with pytest.raises(acc.SignInFailed):
            acc.authenticate(s, EVIL, "whatever")
        acc.add_user(s, "admin", "evil", "analyst", "a-long-password", display_name=EVIL)
        acc.update_user(s, "admin", "evil", display_name="@" + EVIL)
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages/audit.py"), default_timeout=30)
    at.session_state["sac_user"] = User("admin", "Demo administrator", "admin")
    at.session_state["sac_lang"] = "en"
    at.run()
    assert not at.exception
    (log, csv_bytes), = captured["csv"]
    (_, _, xlsx_bytes), = captured["xlsx"]
    assert EVIL.lower() in log["target"].tolist()                   # the page exported the real log

    rows = read_csv(csv_bytes)
    target = rows[0].index("target")
    assert "'" + EVIL.lower() in [r[target] for r in rows[1:]]
    for r in rows:
        assert all(not dangerous(v) or v.startswith("'") for v in r)

    ws = read_xlsx(xlsx_bytes)
    assert not [c.coordinate for c in cells(ws) if c.data_type == "f"]
    values = [c.value for c in cells(ws)]
    assert "'" + EVIL.lower() in values
    assert any(isinstance(v, str) and json.dumps(EVIL) in v for v in values)  # display names, in the details
    assert all(not dangerous(v) or v.startswith("'") for v in values if isinstance(v, str))
    ids = [c.value for c in ws["A"][3:]]
    assert all(isinstance(i, int) for i in ids) and {c.data_type for c in ws["A"][3:]} == {"n"}


def _rank_cells(ws, header="Rank"):
    row = next(r for r in range(1, 6) if header in [c.value for c in ws[r]])
    col = [c.value for c in ws[row]].index(header) + 1
    return [ws.cell(row=r, column=col) for r in range(row + 1, ws.max_row + 1)]


def test_rating_export_frame_carries_numeric_ranks_and_numbers(demo_store):
    """sac.views.rating.export_table: rank 11 of a tie is the number 11 (not the text or formula '=11'),
    movement and the previous rank are numbers, and missing stays empty."""
    table = rating_views.rating_table(demo_store, "2025")
    rated = table[table["rated"]]
    assert "=11" in rated["rank_label"].tolist()                     # the demo has a tie at 11
    df = rating_views.export_table(rated, "en")
    assert list(df.columns) == ["Rank", "Region", "Score", "Coverage", "Movement", "Previous rank",
                                "Rank band (5–95%)", "Indicators with data"]
    for col in ("Rank", "Score", "Coverage", "Movement", "Previous rank", "Indicators with data"):
        assert pd.api.types.is_numeric_dtype(df[col]), col
    assert df["Rank"].tolist() == rated["rank"].tolist()
    assert df["Movement"].tolist() == [m if pd.notna(p) else pd.NA
                                       for m, p in zip(rated["movement"], rated["rank_prev"], strict=True)]

    ws = read_xlsx(export.to_xlsx_bytes(df, title="Regional rating — 2025"))
    ranks = _rank_cells(ws)
    assert {c.data_type for c in ranks} == {"n"}
    assert [c.value for c in ranks].count(11) == 2 and all(isinstance(c.value, int) for c in ranks)
    assert [c.value for c in ranks] == sorted(c.value for c in ranks)
    assert not [c.coordinate for c in cells(ws) if c.data_type == "f"]
    rows = read_csv(export.to_csv_bytes(df))
    assert [int(r[0]) for r in rows[1:]] == rated["rank"].tolist()


def test_rating_page_downloads_numbers_not_formulas(app_env, demo_store, captured):
    """The rating page's own downloads (table, not rated, rank history): no formula, numeric ranks."""
    from test_pages import open_page

    at = open_page("pages/rating.py", params={"period": "2025", "kind": "plan_fulfilment", "agg": "arithmetic"})
    assert not at.exception
    assert captured["xlsx"]
    for _, _, data in captured["xlsx"]:
        ws = read_xlsx(data)
        assert not [c.coordinate for c in cells(ws) if c.data_type == "f"]
        assert all(not dangerous(c.value) for c in cells(ws) if isinstance(c.value, str))
    table = next(data for _, title, data in captured["xlsx"] if title and title.startswith("Regional rating"))
    ranks = _rank_cells(read_xlsx(table))
    assert {c.data_type for c in ranks} == {"n"}
    assert [c.value for c in ranks].count(11) == 2
    history = next(df for df, _ in captured["csv"] if "Region" in df.columns and "2025" in df.columns)
    assert pd.api.types.is_integer_dtype(history["2025"])
    hist_rows = read_csv(export.to_csv_bytes(history))
    assert all(re.fullmatch(r"\d*", r[hist_rows[0].index("2025")]) for r in hist_rows[1:])

