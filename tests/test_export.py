"""Downloads open in Excel with the values a user saw."""

import io

import pandas as pd
from openpyxl import load_workbook

from sac import export


def frame():
    return pd.DataFrame({
        "region": ["г. Алматы", "Абай облысы"],
        "plan": [76952.0, None],
        "share_pct": [12.5, 7.25],
        "date": pd.to_datetime(["2024-12-31", "2025-01-15"]),
    })


def test_csv_has_a_bom_and_keeps_cyrillic_and_missing_as_empty():
    data = export.to_csv_bytes(frame())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig").splitlines()
    assert text[0] == "region,plan,share_pct,date"
    assert text[1].startswith("г. Алматы,76952.0,12.5,2024-12-31")
    assert text[2].startswith("Абай облысы,,7.25,")


def test_xlsx_has_title_header_values_formats_and_empty_missing():
    wb = load_workbook(io.BytesIO(export.to_xlsx_bytes(frame(), title="Budget", note="Methodology version 1")))
    ws = wb.active
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
