"""The audited import, with real files written in each test (XLSX, CSV in two encodings, Parquet)."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import duckdb
import openpyxl
import pandas as pd
import pytest

from sac.ingest import KINDS, RollbackRefused, batches, import_file, rollback, templates
from sac.ingest.parse import number_sql, parse_bool, parse_date, parse_period, region_key
from sac.ingest.specs import Field
from sac.store import Store

NBSP = "\u00a0"


def make_store(path) -> Store:
    s = Store(path)
    with s.write() as cur:
        cur.execute(
            "INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) VALUES "
            "('UNEMP', 'Unemployment rate', 'Уровень безработицы', 'Жұмыссыздық', 'quarter'), "
            "('SME', 'Active SMEs', 'Действующие МСП', 'ШОБ', 'year'), "
            "('M1', 'Monthly', 'Месячный', 'Айлық', 'month')")
        cur.execute("INSERT INTO organisations VALUES ('AKIMAT-ALA', 'akimat', 'Akimat of Almaty', 'Акимат Алматы', "
                    "'Алматы әкімдігі', '75')")
    return s


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """One migrated store file per module; each test works on its own copy (migrations take ~0.5 s)."""
    path = tmp_path_factory.mktemp("ingest") / "template.duckdb"
    make_store(path).close()
    return path


@pytest.fixture
def store(tmp_path, template_db):
    path = tmp_path / "sac.duckdb"
    shutil.copyfile(template_db, path)
    s = Store(path)
    yield s
    s.close()


def values(store, table="indicator_values", order="indicator_id, unit_code, period, source_document"):
    return store.df(f"SELECT * FROM {table} ORDER BY {order}")


def write_csv(path, text: str, encoding: str) -> None:
    path.write_bytes(text.encode(encoding))


# -- the XLSX a project office really sends ----------------------------------------------

def test_xlsx_with_russian_headers_title_row_blank_rows_and_totals_stores_every_value(store, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Отчёт"
    ws["A1"] = "Сведения о достижении КНИ за 2024 год"
    ws.merge_cells("A1:F1")
    ws.append([])                                                                    # row 2 blank
    ws.append(["Показатель", "Регион", "Период", "Документ", "План", "Факт"])        # row 3 header
    ws.append(["UNEMP", "г. Алматы", "3 кв. 2024", "НП", "1 234,5", f"1{NBSP}200,25"])  # row 4
    ws.append(["UNEMP", "Астана", "III квартал 2024", "НП", 4.8, "12,5%"])          # row 5
    ws.append([None, None, None, None, None, None])                                  # row 6 blank
    ws.append(["SME", "KZ-10", 2024, None, "76 952", "1,234.5"])                     # row 7
    ws.append(["M1", "Алматинская обл.", "шілде 2024", "", "5", None])               # row 8
    ws.append(["Итого", None, None, None, "78 191,5", None])                         # row 9
    p = tmp_path / "report.xlsx"
    wb.save(p)

    rep = import_file(store, p, "indicator_values", dry_run=False, user="po:almaty")

    assert rep.status == "committed", rep.problems
    assert (rep.header_row, rep.sheet, rep.inserted, rep.totals, rep.blank) == (3, "Отчёт", 4, 1, 1)
    info = rep.problems[rep.problems["code"] == "totals_row"]
    assert info["row"].tolist() == [9] and info["severity"].tolist() == ["info"]
    got = values(store).drop(columns="batch_id")
    expected = pd.DataFrame({
        "indicator_id": ["M1", "SME", "UNEMP", "UNEMP"],
        "unit_code": ["19", "10", "71", "75"],
        "period": ["2024-07", "2024", "2024-Q3", "2024-Q3"],
        "source_document": ["", "", "НП", "НП"],
        "plan": [5.0, 76952.0, 4.8, 1234.5],
        "fact": [None, 1234.5, 12.5, 1200.25],
    })
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert set(values(store)["batch_id"]) == {rep.batch_id}
    b = batches(store).iloc[0]
    assert (b.kind, b.file_name, b.uploaded_by, b.rows_inserted, b.rows_totals, b.status) == (
        "indicator_values", "report.xlsx", "po:almaty", 4, 1, "committed")
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'upload' AND target = ?",
                        [str(rep.batch_id)]) == 1
    # never stored as a region
    assert store.scalar("SELECT count(*) FROM indicator_values WHERE unit_code ILIKE '%итого%'") == 0


def test_xlsx_named_sheet_date_cells_and_percent_format(store, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "cover"
    ws = wb.create_sheet("data")
    ws.append(["instruction_id", "title", "issue_date", "due_date", "status", "done_date"])
    ws.append(["I-1", "Heating plan", dt.datetime(2024, 1, 15), "01.03.2024", "на контроле", None])
    ws.append(["I-2", "Roads", 45292, "2024-06-30", "Исполнено", "31.05.2024"])
    p = tmp_path / "instr.xlsx"
    wb.save(p)
    rep = import_file(store, p, "instructions", sheet="data", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT instruction_id, issue_date, due_date, status, done_date, escalated FROM instructions "
                   "ORDER BY 1")
    assert got["issue_date"].tolist() == [pd.Timestamp("2024-01-15"), pd.Timestamp("2024-01-01")]
    assert got["due_date"].tolist() == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-06-30")]
    assert got["status"].tolist() == ["on_control", "done"]
    assert got["escalated"].tolist() == [False, False]
    assert pd.isna(got["done_date"][0]) and got["done_date"][1] == pd.Timestamp("2024-05-31")

    missing = import_file(store, p, "instructions", sheet="nope")
    assert missing.errors["code"].tolist() == ["no_sheet"]


# -- one bad row rejects the file ----------------------------------------------------------

def test_one_bad_row_changes_nothing_and_is_named_by_row_and_column(store, tmp_path):
    first = tmp_path / "first.csv"
    write_csv(first, "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4.9\n", "utf-8")
    assert import_file(store, first, "indicator_values", dry_run=False).status == "committed"
    before, version = values(store), store.data_version()
    n_batches = len(batches(store))

    bad = tmp_path / "bad.csv"
    write_csv(bad, "Отчёт\n\nПоказатель;Регион;Период;План;Факт\n"
                   "UNEMP;71;2024-Q1;6;5,1\n"        # row 4: an update
                   "UNEMP;75;2024-Q1;5;пять\n"       # row 5: bad fact
                   "UNEMP;19;2024-Q1;5;5\n", "utf-8")
    rep = import_file(store, bad, "indicator_values", dry_run=False)

    assert rep.status == "rejected"
    errs = rep.errors[["row", "column", "value", "code"]].to_dict("records")
    assert errs == [{"row": 5, "column": "Факт", "value": "пять", "code": "unreadable_number"}]
    assert "'Факт'" in rep.errors["message"].iloc[0] and rep.rejected == 1
    pd.testing.assert_frame_equal(values(store), before)
    assert store.data_version() == version and len(batches(store)) == n_batches
    assert store.scalar("SELECT count(*) FROM hist_indicator_values") == 0  # no row image written either


@pytest.mark.parametrize("line, column, code", [
    ("NOPE;71;2024-Q1;1;1", "indicator", "unknown_indicator"),
    ("UNEMP;Атлантида;2024-Q1;1;1", "region", "unknown_unit"),
    ("UNEMP;71;2024;1;1", "period", "period_mismatch"),          # a yearly value for a quarterly indicator
    ("SME;71;2024-Q1;1;1", "period", "period_mismatch"),         # a quarterly value for a yearly indicator
    ("UNEMP;71;5 кв 2024;1;1", "period", "unreadable_period"),
    ("UNEMP;71;2024-Q1;1,2,3;1", "plan", "unreadable_number"),
    ("UNEMP;;2024-Q1;1;1", "region", "missing_value"),
    ("UNEMP;71;2024-Q1;;", "plan", "missing_value"),
    ("UNEMP;71;1989-Q1;1;1", "period", "unknown_period"),
])
def test_validation_errors_name_row_and_column(store, tmp_path, line, column, code):
    p = tmp_path / "f.csv"
    write_csv(p, f"indicator;region;period;plan;fact\nUNEMP;75;2024-Q2;1;1\n{line}\n", "utf-8")
    rep = import_file(store, p, "indicator_values")
    assert rep.errors[["row", "column", "code"]].to_dict("records") == [{"row": 3, "column": column, "code": code}]
    assert (rep.inserted, rep.rejected) == (1, 1)


def test_duplicate_key_inside_the_file_names_both_rows(store, tmp_path):
    p = tmp_path / "dup.csv"
    write_csv(p, "indicator,region,period,fact\nUNEMP,71,2024-Q1,1\nUNEMP,Astana,2024 Q1,2\nUNEMP,75,2024-Q1,3\n",
              "utf-8")
    rep = import_file(store, p, "indicator_values")
    dup = rep.errors[rep.errors["code"] == "duplicate_key"]
    assert dup["row"].tolist() == [2, 3] and set(dup["value"]) == {"rows 2, 3"}


def test_negative_budget_amount_is_an_error(store, tmp_path):
    p = tmp_path / "b.csv"
    write_csv(p, "Бюджетная программа;Регион;Период;План;Освоено\n068;71;2021;76 952;-5\n", "utf-8")
    rep = import_file(store, p, "budget")
    assert rep.errors[["row", "column", "code"]].to_dict("records") == [
        {"row": 2, "column": "Освоено", "code": "negative_amount"}]


def test_allowed_units_reject_other_regions(store, tmp_path):
    p = tmp_path / "po.csv"
    write_csv(p, "indicator;region;period;fact\nUNEMP;75;2024-Q1;1\nUNEMP;AKIMAT-ALA;2024-Q2;1\nUNEMP;71;2024-Q1;1\n",
              "utf-8")
    rep = import_file(store, p, "indicator_values", allowed_units={"75"})
    assert rep.errors[["row", "code", "value"]].to_dict("records") == [
        {"row": 4, "code": "unit_not_allowed", "value": "71"}]
    assert import_file(store, p, "indicators", allowed_units={"75"}).errors["code"].tolist() == ["kind_not_allowed"]


def test_outlier_fact_is_a_warning_and_does_not_block(store, tmp_path):
    hist = tmp_path / "h.csv"
    rows = "".join(f"M1;71;2024-{m:02d};{100 + m % 3}\n" for m in range(1, 11))
    write_csv(hist, "indicator;region;period;fact\n" + rows, "utf-8")
    assert import_file(store, hist, "indicator_values", dry_run=False).status == "committed"
    p = tmp_path / "new.csv"
    write_csv(p, "indicator;region;period;fact\nM1;71;2024-11;1000\nM1;71;2024-12;101\n", "utf-8")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed"
    assert rep.warnings[["row", "code", "value"]].to_dict("records") == [{"row": 2, "code": "outlier",
                                                                          "value": "1000"}]


# -- encodings and formats ------------------------------------------------------------------

CSV_RU = ("Показатель;Регион;Период;План;Факт\n"
          "UNEMP;г. Шымкент;2 кв. 2024;4,8;4,7\n"
          "UNEMP;Абай облысы;II квартал 2024;5,3;\n"
          "Всего;;;;\n")


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig", "utf-8", "utf-16"])
def test_csv_encodings(store, tmp_path, encoding):
    p = tmp_path / f"{encoding}.csv"
    write_csv(p, CSV_RU, encoding)
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed" and rep.totals == 1
    got = values(store)[["unit_code", "period", "plan", "fact"]]
    assert got.to_dict("records") == [
        {"unit_code": "10", "period": "2024-Q2", "plan": 5.3, "fact": None},
        {"unit_code": "79", "period": "2024-Q2", "plan": 4.8, "fact": 4.7},
    ] or got.fillna(-1).to_dict("records") == [
        {"unit_code": "10", "period": "2024-Q2", "plan": 5.3, "fact": -1},
        {"unit_code": "79", "period": "2024-Q2", "plan": 4.8, "fact": 4.7}]


def test_csv_in_windows_1251_whose_first_part_is_plain_ascii(store, tmp_path):
    """The reader decodes only the start of a file to guess its encoding; a Cyrillic region name far below,
    in Windows-1251, still reads as Windows-1251 (DuckDB refuses it as UTF-8 and the file is decoded whole)."""
    p = tmp_path / "late.csv"
    body = "".join(f"SME;71;{2000 + i % 50};D{i};{i};\n" for i in range(12_000))
    assert len(body) > 200_000  # well past the head the reader decodes
    write_csv(p, "indicator;region;period;document;plan;fact\n" + body + "SME;Алматы;2024;LAST;7;\n", "cp1251")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed" and rep.inserted == 12_001
    assert store.scalar("SELECT unit_code FROM indicator_values WHERE source_document = 'LAST'") == "75"


def test_parquet_with_typed_columns(store, tmp_path):
    p = tmp_path / "v.parquet"
    pd.DataFrame({"indicator_id": ["SME", "SME"], "unit_code": ["71", "75"], "period": ["2023", "2024"],
                  "plan": [1_310_000.0, None], "fact": [1_300_500.5, 1_400_000.0]}).to_parquet(p)
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed"
    got = values(store)
    assert got["plan"].isna().tolist() == [False, True]
    assert got["plan"][0] == 1_310_000.0 and got["fact"].tolist() == [1_300_500.5, 1_400_000.0]
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"indicator_id": ["SME"], "unit_code": ["71"], "period": ["2024"], "plan": [-1.0]}).to_parquet(bad)
    assert import_file(store, bad, "budget").errors["code"].tolist() == ["missing_column"]


# -- numbers, periods, dates, regions, totals --------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("1 234,5", 1234.5), (f"1{NBSP}234,5", 1234.5), ("1\u202f234,5", 1234.5), ("12,5%", 12.5), ("76 952", 76952),
    ("1,234.5", 1234.5), ("1.234,5", 1234.5), ("1,234,567", 1234567), ("1,5", 1.5), ("-3", -3), ("\u22123,5", -3.5),
    ("0", 0), ("  7  ", 7), ("1e3", 1000), ("", None), ("   ", None), ("abc", None), ("nan", None), ("1,2,3", None),
    ("12.5.3", None),
])
def test_numbers(text, expected):
    got = duckdb.sql(f"SELECT {number_sql('x')} FROM (SELECT ?::VARCHAR AS x)", params=[text]).fetchall()[0][0]
    assert got == expected


@pytest.mark.parametrize("text, expected", [
    ("2024", "2024"), ("2024 г.", "2024"), ("2024 жыл", "2024"), ("2024.0", "2024"),
    ("2024-Q3", "2024-Q3"), ("2024 Q3", "2024-Q3"), ("Q3 2024", "2024-Q3"), ("3 кв. 2024", "2024-Q3"),
    ("3 кв 2024 г.", "2024-Q3"), ("III квартал 2024", "2024-Q3"), ("III квартал 2024 года", "2024-Q3"),
    ("3-й квартал 2024", "2024-Q3"), ("IV кв. 2024", "2024-Q4"), ("I квартал 2025", "2025-Q1"),
    ("2024 жылғы 3 тоқсан", "2024-Q3"), ("ІІ тоқсан 2024", "2024-Q2"),
    ("2024-07", "2024-07"), ("07.2024", "2024-07"), ("июль 2024", "2024-07"), ("Июль 2024 г.", "2024-07"),
    ("шілде 2024", "2024-07"), ("қыркүйек 2024", "2024-09"), ("желтоқсан 2023", "2023-12"), ("July 2024", "2024-07"),
    ("2024-07-01", "2024-07"),
    ("5 кв 2024", None), ("2024-13", None), ("foo", None), ("", None), ("Q5 2024", None),
])
def test_periods(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize("value, expected", [
    ("31.12.2024", dt.date(2024, 12, 31)), ("2024-12-31", dt.date(2024, 12, 31)), ("45657", dt.date(2024, 12, 31)),
    ("45657.0", dt.date(2024, 12, 31)), ("2024-12-31 00:00:00", dt.date(2024, 12, 31)), ("1/2/2024", dt.date(2024, 2, 1)),
    (dt.datetime(2024, 5, 1, 10), dt.date(2024, 5, 1)), ("31.02.2024", None), ("tomorrow", None), ("", None),
])
def test_dates(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value, expected", [("да", True), ("Иә", True), ("yes", True), ("1", True), ("нет", False),
                                             ("жоқ", False), ("0", False), ("maybe", None)])
def test_booleans(value, expected):
    assert parse_bool(value) is expected


REGION_NAMES = [
    ("71", "71"), ("KZ-71", "71"), ("kz-71", "71"), ("г. Астана", "71"), ("Астана", "71"), ("Астана қаласы", "71"),
    ("г.Алматы", "75"), ("Алматы", "75"), ("ALMATY", "75"), ("Almaty Region", "19"), ("Алматинская обл.", "19"),
    ("Алматинская область", "19"), ("Алматы облысы", "19"), ("Абайская обл", "10"), ("ЗАПАДНО-КАЗАХСТАНСКАЯ ОБЛАСТЬ", "27"),
    ("Ұлытау облысы", "62"), ("AKIMAT-ALA", "AKIMAT-ALA"), ("akimat-ala", "AKIMAT-ALA"),
]


def test_regions_recognised(store, tmp_path):
    """One file, one row per spelling (each in its own year so keys differ): every spelling -> its code."""
    p = tmp_path / "r.csv"
    write_csv(p, "indicator;region;period;fact\n" + "".join(
        f"SME;{name};{2001 + i};1\n" for i, (name, _) in enumerate(REGION_NAMES)), "utf-8")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT CAST(period AS INTEGER) - 2001 AS i, unit_code FROM indicator_values ORDER BY 1")
    assert list(zip([n for n, _ in REGION_NAMES], got["unit_code"], strict=True)) == REGION_NAMES


def test_region_keys_never_collide():
    rows = duckdb.sql("SELECT kato, name_en, name_ru, name_kk FROM read_csv('sac/reference/regions.csv', "
                      "all_varchar = true)").fetchall()
    seen: dict[str, str] = {}
    for kato, *names in rows:
        for n in names:
            assert seen.setdefault(region_key(n), kato) == kato, n


TOTALS_WORDS = ["Итого", "ИТОГО по республике", "Всего", "Барлығы", "Жиыны", "Total", "Республика Казахстан",
                "Қазақстан Республикасы"]


def test_totals_rows_are_reported_not_stored(store, tmp_path):
    p = tmp_path / "t.csv"
    write_csv(p, "region;indicator;period;fact\n75;SME;2024;1\n" + "".join(f"{w};SME;2024;2\n" for w in TOTALS_WORDS)
              + "Восточно-Казахстанская область;SME;2024;3\n", "utf-8")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed" and rep.inserted == 2 and rep.totals == len(TOTALS_WORDS)
    notes = rep.problems[rep.problems["code"] == "totals_row"]
    assert notes["row"].tolist() == list(range(3, 3 + len(TOTALS_WORDS)))
    assert [v.split(" SME")[0] for v in notes["value"]] == TOTALS_WORDS
    assert sorted(store.df("SELECT unit_code FROM indicator_values")["unit_code"]) == ["63", "75"]


@pytest.mark.parametrize("headers", [
    "Indicator,Unit code,Period,Source document,Plan,Fact",
    "показатель,КАТО,период,документ,план,факт",
    "көрсеткіш,като,кезең,құжат,жоспар,нақты",
    "  INDICATOR ,  Region: , Period. ,Source-Document,PLAN,fact ",
])
def test_header_synonyms(store, tmp_path, headers):
    p = tmp_path / "h.csv"
    write_csv(p, headers + "\nSME,75,2024,doc,1,2\n", "utf-8")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "committed", rep.problems
    assert store.df("SELECT unit_code, source_document, plan, fact FROM indicator_values").to_dict("records") == [
        {"unit_code": "75", "source_document": "doc", "plan": 1.0, "fact": 2.0}]


def test_no_synonym_names_two_columns_of_one_kind():
    from sac.ingest.parse import norm_header
    for spec in KINDS.values():
        owner: dict[str, str] = {}
        for f in spec.fields:
            for k in Field.keys(f):
                assert owner.setdefault(k, f.name) == f.name or k == norm_header(owner[k]), (spec.kind, k)


# -- dry run, replace semantics, duplicates, rollback -----------------------------------------------

def test_dry_run_counts_and_writes_nothing(store, tmp_path):
    a = tmp_path / "a.csv"
    write_csv(a, "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4\nUNEMP;75;2024-Q1;5;4\n", "utf-8")
    import_file(store, a, "indicator_values", dry_run=False)
    version = store.data_version()
    b = tmp_path / "b.csv"
    write_csv(b, "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4\nUNEMP;75;2024-Q1;5;3\n"
                 "UNEMP;19;2024-Q1;5;3\nUNEMP;nowhere;2024-Q1;5;3\n", "utf-8")
    rep = import_file(store, b, "indicator_values")
    assert (rep.status, rep.inserted, rep.updated, rep.unchanged, rep.rejected) == ("dry_run", 1, 1, 1, 1)
    assert store.data_version() == version and len(batches(store)) == 1


def test_absent_columns_keep_stored_values(store, tmp_path):
    plan = tmp_path / "plan.csv"
    write_csv(plan, "indicator;region;period;plan\nUNEMP;71;2024-Q1;5\n", "utf-8")
    fact = tmp_path / "fact.csv"
    write_csv(fact, "indicator;region;period;fact\nUNEMP;71;2024-Q1;4,9\n", "utf-8")
    import_file(store, plan, "indicator_values", dry_run=False)
    rep = import_file(store, fact, "indicator_values", dry_run=False)
    assert rep.updated == 1
    assert store.df("SELECT plan, fact FROM indicator_values").to_dict("records") == [{"plan": 5.0, "fact": 4.9}]


def test_same_file_twice_warns_then_refuses_unless_forced(store, tmp_path):
    p = tmp_path / "a.csv"
    write_csv(p, "indicator;region;period;plan\nUNEMP;71;2024-Q1;5\n", "utf-8")
    first = import_file(store, p, "indicator_values", dry_run=False)
    dry = import_file(store, p, "indicator_values")
    assert dry.duplicate_of == first.batch_id and dry.warnings["code"].tolist() == ["duplicate_file"]
    assert dry.unchanged == 1
    again = import_file(store, p, "indicator_values", dry_run=False)
    assert again.status == "rejected" and again.errors["code"].tolist() == ["duplicate_file"]
    forced = import_file(store, p, "indicator_values", dry_run=False, force=True)
    assert forced.status == "committed" and forced.unchanged == 1


def _snapshot(store):
    return {t: store.df(f"SELECT * FROM {t} ORDER BY ALL") for t in ("indicator_values", "budget_lines")}


def test_rollback_restores_exactly_and_respects_order(store, tmp_path):
    base = tmp_path / "base.csv"
    write_csv(base, "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4\nUNEMP;75;2024-Q1;5;4\n"
                    "UNEMP;19;2024-Q1;5;4\n", "utf-8")
    b0 = import_file(store, base, "indicator_values", dry_run=False).batch_id
    before = _snapshot(store)

    a = tmp_path / "a.csv"   # updates 71 and 75, inserts 10
    write_csv(a, "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;6;;\nUNEMP;75;2024-Q1;5;4,5\n"
                 "UNEMP;10;2024-Q1;1;1\n", "utf-8")
    ra = import_file(store, a, "indicator_values", dry_run=False)
    assert (ra.inserted, ra.updated) == (1, 2)
    b = tmp_path / "b.csv"   # changes 75 again (a row batch a changed), and 19 (only the base's)
    write_csv(b, "indicator;region;period;fact\nUNEMP;75;2024-Q1;9\nUNEMP;19;2024-Q1;8\n", "utf-8")
    rb = import_file(store, b, "indicator_values", dry_run=False)
    after_b = _snapshot(store)

    with pytest.raises(RollbackRefused, match=rf"later batch {rb.batch_id}"):
        rollback(store, ra.batch_id)
    pd.testing.assert_frame_equal(_snapshot(store)["indicator_values"], after_b["indicator_values"])
    with pytest.raises(RollbackRefused, match=rf"later batches {ra.batch_id}, {rb.batch_id} changed"):
        rollback(store, b0)

    assert rollback(store, rb.batch_id, user="admin") == {"batch_id": rb.batch_id, "restored": 2, "deleted": 0}
    assert rollback(store, ra.batch_id, user="admin") == {"batch_id": ra.batch_id, "restored": 2, "deleted": 1}
    pd.testing.assert_frame_equal(_snapshot(store)["indicator_values"], before["indicator_values"])
    with pytest.raises(RollbackRefused, match="already rolled back"):
        rollback(store, ra.batch_id)
    st = batches(store).set_index("batch_id")
    assert st.loc[ra.batch_id, "status"] == "rolled_back" and st.loc[ra.batch_id, "rolled_back_by"] == "admin"
    assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'rollback'") == 2
    # with everything later rolled back, the first batch can go too: the table is empty again
    rollback(store, b0)
    assert store.scalar("SELECT count(*) FROM indicator_values") == 0


def test_rollback_of_disjoint_batch_leaves_later_batch(store, tmp_path):
    a = tmp_path / "a.csv"
    write_csv(a, "indicator;region;period;fact\nUNEMP;71;2024-Q1;1\n", "utf-8")
    b = tmp_path / "b.csv"
    write_csv(b, "indicator;region;period;fact\nUNEMP;75;2024-Q1;2\n", "utf-8")
    ra = import_file(store, a, "indicator_values", dry_run=False)
    import_file(store, b, "indicator_values", dry_run=False)
    rollback(store, ra.batch_id)
    assert store.df("SELECT unit_code, fact FROM indicator_values").to_dict("records") == [
        {"unit_code": "75", "fact": 2.0}]


# -- other kinds ---------------------------------------------------------------------------------------

def test_budget_projects_contributions_indicators(store, tmp_path):
    bud = tmp_path / "budget.csv"
    write_csv(bud, "Бюджетная программа;Подпрограмма;Регион;Период;Документ;Утверждено;Уточненный;Выделено;Освоено\n"
                   "068;;71;2021;Закон;76 952;80 043;27 472;27 000,5\n"
                   "068;011;71;2021;Закон;1;;;\n", "cp1251")
    rep = import_file(store, bud, "budget", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT program_code, subprogram_code, plan, revised, allocated, spent FROM budget_lines ORDER BY 2")
    assert got.fillna(-1).to_dict("records") == [
        {"program_code": "068", "subprogram_code": "", "plan": 76952.0, "revised": 80043.0, "allocated": 27472.0,
         "spent": 27000.5},
        {"program_code": "068", "subprogram_code": "011", "plan": 1.0, "revised": -1, "allocated": -1, "spent": -1}]

    prj = tmp_path / "projects.csv"
    write_csv(prj, "Код проекта;Наименование;Регион;Этап;Статус;Бюджет;Затраты;Готовность;Плановое окончание;"
                   "Консультант\n"
                   "P-1;Школа;г. Алматы;Реализация;зеленый;1 200;450;40%;31.12.2025;да\n"
                   "P-2;Дорога;71;planning;red;10;;0,5;2026-01-01;нет\n", "utf-8")
    rep = import_file(store, prj, "projects", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT project_id, name_en, name_ru, region_kato, lifecycle_stage, status_reported, is_active, "
                   "budget, cost_to_date, percent_complete, planned_end, consultant_involved FROM projects ORDER BY 1")
    assert got.iloc[0].to_dict() == {
        "project_id": "P-1", "name_en": "Школа", "name_ru": "Школа", "region_kato": "75",
        "lifecycle_stage": "implementation", "status_reported": "green", "is_active": True, "budget": 1200.0,
        "cost_to_date": 450.0, "percent_complete": 0.4, "planned_end": pd.Timestamp("2025-12-31"),
        "consultant_involved": True}
    assert got["percent_complete"].tolist() == [0.4, 0.5]

    con = tmp_path / "contrib.csv"
    write_csv(con, "project;indicator;region;contribution\nP-1;UNEMP;75;0,2\nP-9;UNEMP;75;1\n", "utf-8")
    rep = import_file(store, con, "contributions")
    assert rep.errors[["row", "code"]].to_dict("records") == [{"row": 3, "code": "unknown_project"}]

    ind = tmp_path / "ind.csv"
    write_csv(ind, "Код;Наименование;Атауы;Периодичность;Направление;Вес\nNEW1;Новый;Жаңа;квартал;снижение;2\n",
              "utf-8")
    rep = import_file(store, ind, "indicators", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT * FROM indicators WHERE indicator_id = 'NEW1'").iloc[0]
    assert (got.name_en, got.name_ru, got.name_kk, got.periodicity, got.direction, got.weight, got.aggregation,
            got.cumulative) == ("Новый", "Новый", "Жаңа", "quarter", "down", 2.0, "mean", False)


def test_projects_negative_budget_and_bad_share(store, tmp_path):
    p = tmp_path / "p.csv"
    write_csv(p, "project_id;name;budget;percent complete\nP-1;A;-5;50%\nP-2;B;5;150%\n", "utf-8")
    rep = import_file(store, p, "projects")
    assert rep.errors[["row", "column", "code"]].to_dict("records") == [
        {"row": 2, "column": "budget", "code": "negative_amount"},
        {"row": 3, "column": "percent complete", "code": "out_of_range"}]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_templates_are_importable(store, tmp_path, kind):
    p = tmp_path / f"{kind}.xlsx"
    p.write_bytes(templates(kind))
    ws = openpyxl.load_workbook(p).active
    assert [c.value for c in ws[1]] == [f.name for f in KINDS[kind].fields]
    with store.write() as cur:  # the examples refer to KNI-01 and P-001
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "VALUES ('KNI-01', 'x', 'x', 'x', 'quarter') ON CONFLICT DO NOTHING")
        cur.execute("INSERT INTO projects (project_id, name_en) VALUES ('P-001', 'x') ON CONFLICT DO NOTHING")
    rep = import_file(store, p, kind)
    assert rep.ok, rep.problems
    assert rep.inserted + rep.updated + rep.unchanged == 1 and rep.blank == 1


def test_passport_batches_roll_back_by_their_history(store, tmp_path):
    first = tmp_path / "p1.csv"
    write_csv(first, "code;name;periodicity;weight\nUNEMP;Unemployment (new name);quarter;2\nNEW1;New;year;1\n",
              "utf-8")
    before = store.df("SELECT * FROM indicators ORDER BY indicator_id")
    rep = import_file(store, first, "indicators", dry_run=False)
    assert (rep.inserted, rep.updated) == (1, 1)
    assert store.scalar("SELECT weight FROM indicators WHERE indicator_id = 'UNEMP'") == 2.0
    assert rollback(store, rep.batch_id) == {"batch_id": rep.batch_id, "restored": 1, "deleted": 1}
    pd.testing.assert_frame_equal(store.df("SELECT * FROM indicators ORDER BY indicator_id"), before)


def test_batches_not_loaded_by_the_importer_are_not_rolled_back(store):
    with store.write() as cur:
        cur.execute("INSERT INTO upload_batches (kind, file_name, sha256, uploaded_by, rows_inserted) "
                    "VALUES ('regions', 'demo', 'x', 'demo', 20), ('indicators', 'demo', 'y', 'demo', 3)")
    with pytest.raises(RollbackRefused, match="not loaded by the importer"):
        rollback(store, 1)
    with pytest.raises(RollbackRefused, match="no recorded history"):
        rollback(store, 2)
    assert store.scalar("SELECT count(*) FROM indicators") == 3


def test_xlsx_percent_formatted_cells_keep_percent_units(store, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["indicator", "region", "period", "fact"])
    ws.append(["SME", "75", "2024", 0.125])
    ws["D2"].number_format = "0.0%"
    p = tmp_path / "pct.xlsx"
    wb.save(p)
    assert import_file(store, p, "indicator_values", dry_run=False).status == "committed"
    assert store.scalar("SELECT fact FROM indicator_values") == 12.5


def test_passport_with_unknown_goal_node_is_rejected_not_crashed(store, tmp_path):
    p = tmp_path / "p.csv"
    write_csv(p, "code;name;periodicity;node\nNEW1;New;year;NP-404\n", "utf-8")
    rep = import_file(store, p, "indicators", dry_run=False)
    assert rep.status == "rejected"
    assert rep.errors[["row", "column", "code"]].to_dict("records") == [
        {"row": 2, "column": "node", "code": "unknown_reference"}]


def test_a_database_constraint_the_checks_miss_rejects_the_file(store, tmp_path, monkeypatch):
    """A rule only the database knows (here a CHECK on a helper table written in the same transaction)."""
    import sac.ingest.engine as engine

    p = tmp_path / "p.csv"
    write_csv(p, "project_id;name;percent complete\nP-1;A;0,5\n", "utf-8")
    with store.write() as cur:
        cur.execute("CREATE TABLE guard (x INTEGER CHECK (x < 0))")
    original = engine._write

    def failing(cur, prep, user):
        bid = original(cur, prep, user)
        cur.execute("INSERT INTO guard VALUES (1)")
        return bid

    monkeypatch.setattr(engine, "_write", failing)
    rep = import_file(store, p, "projects", dry_run=False)
    assert rep.status == "rejected" and rep.errors["code"].tolist() == ["constraint"]
    assert store.scalar("SELECT count(*) FROM projects") == 0 and len(batches(store)) == 0


def test_templates_mark_the_required_columns():
    """Issue 9: the indicators template did not say that periodicity is required."""
    ws = openpyxl.load_workbook(io.BytesIO(templates("indicators"))).active
    header = [c.value for c in ws[1]]
    notes = dict(zip(header, [c.value or "" for c in ws[2]], strict=True))
    assert notes["periodicity"].startswith("required")
    assert "required" in notes["indicator_id"]
    assert not notes["direction"].startswith("required")
    values = openpyxl.load_workbook(io.BytesIO(templates("indicator_values"))).active
    notes = dict(zip([c.value for c in values[1]], [c.value or "" for c in values[2]], strict=True))
    assert notes["fact"].startswith("this or another value column")
