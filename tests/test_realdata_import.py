"""The Bureau of National Statistics' eight workbooks (../shared/realdata), exactly as published, import
through the CLI from an empty database (issue 9): what was read, what was not reported, what was stored,
and for the additive tables that the units of each year add up to the published national total."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from sac.cli import main
from sac.ingest import wide
from sac.ingest.units import UnitLookup
from sac.store import Store

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"

PASSPORTS = ("code;name_en;name_ru;name_kk;periodicity;direction;aggregation\n"
             "UNEMP;Unemployment rate;Уровень безработицы;Жұмыссыздық деңгейі;quarter;down;mean\n"
             "POP;Population;Население;Халық;year;up;sum\n"
             "LIFE;Life expectancy;Ожидаемая продолжительность жизни;Күтілетін өмір ұзақтығы;year;up;mean\n"
             "HOSP;Hospitals;Больницы;Ауруханалар;year;up;sum\n"
             "SCH;Schools;Школы;Мектептер;year;up;sum\n"
             "AIR;Emissions;Выбросы;Шығарындылар;year;down;sum\n"
             "ENV;Environmental spending;Затраты на охрану среды;Шығындар;year;up;sum\n"
             "APPL;Applicants;Обратившиеся;Өтініш бергендер;year;up;sum\n")

# file, indicator, figures stored, cells not reported, former-unit figures left out, additive
CASES = [
    ("unemployment_rate.xlsx", "UNEMP", 1452, 412, 68, False),
    ("population_jan1.xlsx", "POP", 380, 83, 17, True),
    ("life_expectancy.xlsx", "LIFE", 375, 87, 18, False),
    ("hospitals.xls", "HOSP", 358, 107, 18, True),
    ("schools.xlsx", "SCH", 374, 68, 18, True),
    ("air_emissions_stationary.xls", "AIR", 283, 82, 13, True),
    ("environmental_expenditure.xls", "ENV", 283, 82, 13, True),
    ("applied_to_employment_offices.xlsx", "APPL", 323, 38, 17, True),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "sac.duckdb"
    passports = path.parent / "indicators.csv"
    passports.write_text(PASSPORTS, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("SAC_DB_PATH", str(path))
    assert main(["import", str(passports), "--kind", "indicators"]) == 0
    yield path
    mp.undo()


def _cli(*args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.mark.parametrize(("name", "indicator", "stored", "not_reported", "former", "additive"), CASES)
def test_published_workbook_imports_as_it_is(db, name, indicator, stored, not_reported, former, additive):
    code, out = _cli("import-table", str(REALDATA / name), "--indicator", indicator, "--document", "BNS")
    assert code == 0, out
    assert "Traceback" not in out
    assert f"inserted {stored}," in out
    assert f"{not_reported} cells are not reported" in out
    if former:
        assert f"its {former} figures are not stored" in out
    with Store(db, read_only=True) as s:
        n = s.scalar("SELECT count(*) FROM indicator_values WHERE indicator_id = ?", [indicator])
        zeros_from_dashes = s.scalar("SELECT count(*) FROM indicator_values WHERE indicator_id = ? AND fact IS NULL",
                                     [indicator])
    assert (n, zeros_from_dashes) == (stored, 0)  # a '-' is never stored, as zero or otherwise
    if additive:
        assert "periods agree within 1%" in out
        line = next(x for x in out.splitlines() if x.startswith("totals row vs sum of units"))
        agree, total = line.split(": ")[1].split(" periods")[0].split(" of ")
        assert agree == total  # every year's units add up to the published national total


@pytest.mark.parametrize(("name", "indicator", "stored", "not_reported", "former", "additive"),
                         [c for c in CASES if c[5]])
def test_stored_units_add_up_to_the_national_total_from_2018(db, name, indicator, stored, not_reported, former,
                                                             additive):
    """From 2018 (no former unit any more) the stored regions of a year sum to the file's totals row."""
    with Store(db, read_only=True) as s:
        lookup = UnitLookup.load(s.cursor())
        stored_sums = s.df("SELECT period, sum(fact) AS total FROM indicator_values WHERE indicator_id = ? "
                           "GROUP BY period", [indicator]).set_index("period")["total"]
    grid = wide.read_grid((REALDATA / name).read_bytes(), name)
    layout = wide.understand(grid, wide.resolver(lookup))
    long = wide.to_long(grid, layout, layout.block(), periodicity="year")
    published = {r.period: wide.readers_number(r.value) for r in long.totals.itertuples(index=False)}
    checked = 0
    for period, total in published.items():
        if int(period) >= 2018 and period in stored_sums.index:
            assert stored_sums[period] == pytest.approx(total, rel=0.01), period
            checked += 1
    assert checked >= 4


def test_a_profile_is_saved_and_reused(db):
    code, out = _cli("import-table", str(REALDATA / "life_expectancy.xlsx"), "--indicator", "LIFE",
                     "--sheet", "Женщины", "--block", "Женщины", "--document", "BNS women",
                     "--save-profile", "BNS life expectancy, women")
    assert code == 0 and "profile 'BNS life expectancy, women' saved" in out, out
    code, out = _cli("import-table", str(REALDATA / "life_expectancy.xlsx"), "--profile",
                     "BNS life expectancy, women", "--dry-run")
    assert code == 0, out
    assert "block 'Женщины'" in out and "would be inserted 0, would be updated 0, unchanged 375" in out
    code, out = _cli("import-table", str(REALDATA / "life_expectancy.xlsx"), "--profile", "no such")
    assert code == 4 and "no profile" in out


def test_a_block_that_does_not_exist_names_the_blocks(db):
    code, out = _cli("import-table", str(REALDATA / "population_jan1.xlsx"), "--indicator", "POP",
                     "--sheet", "Мужчины", "--block", "Дети", "--dry-run")
    assert code == 1
    assert "no block 'Дети'" in out and "'Городское население'" in out


def test_the_same_layout_next_time_is_offered_its_profile(db):
    code, out = _cli("import-table", str(REALDATA / "population_jan1.xlsx"), "--indicator", "POP", "--dry-run",
                     "--save-profile", "never saved on a dry run")
    assert code == 0 and "saved" not in out
    _cli("import-table", str(REALDATA / "schools.xlsx"), "--indicator", "SCH", "--save-profile", "BNS schools",
         "--force")
    code, out = _cli("import-table", str(REALDATA / "schools.xlsx"))
    assert code == 2 and "saved profiles for this layout: 'BNS schools' (SCH)" in out


@pytest.mark.parametrize(("text", "expected"), [
    ("I quarter", 1), ("II quarter", 2), ("III квартал", 3), ("IV quarter", 4), ("1 кв.", 1), ("2-й квартал", 2),
    ("year", "year"), ("year2)", "year"), ("год", "year"), ("жыл", "year"), ("2015", None), ("Akmolinskaya", None)])
def test_quarter_labels(text, expected):
    assert wide.quarter_of(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2005", 2005), ("2005.0", 2005), ("2005 год", 2005), ("2000/01", 2000), ("2022/2023", 2022), ("1899", None),
    ("17 945", None), ("Column1", None)])
def test_year_labels(text, expected):
    assert wide.year_of(text) == expected


def test_quarter_table_has_every_year_and_quarter():
    """The two-level header of unemployment_rate.xlsx: 23 years x (4 quarters + the year), footnote marks and
    all ('year2)' over 2015)."""
    grid = wide.read_grid((REALDATA / "unemployment_rate.xlsx").read_bytes(), "unemployment_rate.xlsx")
    layout = wide.understand(grid, lambda name: "TOTAL" if "Republic" in name else "x")
    periods = set(layout.block().periods.values())
    assert {str(y) for y in range(2001, 2024)} <= periods
    assert {f"{y}-Q{q}" for y in range(2001, 2024) for q in range(1, 5)} <= periods
    assert len(periods) == 23 * 5


def test_a_transposed_table_years_down_regions_across(db, tmp_path):
    """Hand-made: regions across, years down, a '-' and a text where a figure should be (named by its cell)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Население на 1 января, человек"])
    ws.append([])
    ws.append([None, "Акмолинская", "г. Алматы", "ВКО", "Республика Казахстан"])
    ws.append([2021, 100, 200, "-", 300])
    ws.append([2022, 110, "двести", 5, 325])
    ws.append([2023, 120, 230, 6, 356])
    path = tmp_path / "transposed.xlsx"
    wb.save(path)
    code, out = _cli("import-table", str(path), "--indicator", "POP", "--dry-run")
    assert code == 1, out  # one text in a figure's place: the file is refused, naming the cell
    assert "row 5: 'C (2022)': 'двести' is not a number" in out
    assert "1 cells are not reported" in out
    with Store(db) as s:
        lookup = UnitLookup.load(s.cursor())
    grid = wide.read_grid(path.read_bytes(), path.name)
    layout = wide.understand(grid, wide.resolver(lookup))
    long = wide.to_long(layout.grid, layout, layout.block(), periodicity="year")
    assert layout.grid.transposed
    got = {(r.name, r.period): (r.row, r.column, r.value) for r in long.frame.itertuples(index=False)}
    assert got[("г. Алматы", "2023")] == (6, "C", "230")
    assert got[("ВКО", "2022")] == (5, "D", "5")
    assert len(got) == 8 and long.not_reported == 1


@pytest.mark.parametrize(("name", "sheet", "title"), [
    ("unemployment_rate.xlsx", None, "Unemployment rate"),                                      # 'Unemployment rate1)'
    ("hospitals.xls", None, "Количество медицинских учреждений (больницы)"),                    # '…(больницы)3)'
    ("schools.xlsx", None, "Число общеобразовательных школ"),                                   # '…школ1)'
    ("life_expectancy.xlsx", "Мужчины", "Ожидаемая продолжительность жизни мужчин при рождении в Республике Казахстан"),
])
def test_the_understood_title_drops_the_bureaus_footnote_mark(name, sheet, title):
    grid = wide.read_grid((REALDATA / name).read_bytes(), name, sheet)
    assert wide.understand(grid, lambda n: "TOTAL" if "Respub" in n or "Республика" in n else "x").title == title


@pytest.mark.parametrize(("text", "expected"), [
    ("Unemployment rate1)", "Unemployment rate"), ("Численность населения*", "Численность населения"),
    ("Численность населения **", "Численность населения"), ("Число школ (1)", "Число школ"),
    ("Число школ [2]", "Число школ"), ("Population²", "Population"), ("*Выбросы", "Выбросы"),
    ("Выбросы, 2005-2022", "Выбросы, 2005-2022"), ("Выбросы (тыс. тонн)", "Выбросы (тыс. тонн)"), ("1)", "1)")])
def test_footnote_marks_leave_a_title_as_they_leave_a_name(text, expected):
    assert wide.strip_footnote_marks(text) == expected


# -- 'Туркестанская*': a current unit's row that carries South Kazakhstan's years (issue 9) ------------------------

# workbook, indicator, the row as written, the last year the table's note gives to South Kazakhstan
MARKED = [("life_expectancy.xlsx", "LIFE", "Туркестанская*", 2016),     # '*Данные за 1999-2016гг. по Южно-…'
          ("population_jan1.xlsx", "POP", "Туркестанская 1", 2016),     # '1) Данные за 2000-2016гг. по Южно-…'
          ("schools.xlsx", "SCH", "Туркестанская*", 2017)]              # '* Данные за 2000-2017 гг. по Южно-…'


@pytest.mark.parametrize(("name", "indicator", "row_name", "last_former"), MARKED)
def test_turkistans_marked_row_stores_south_kazakhstans_years_nowhere(db, name, indicator, row_name, last_former):
    """The Bureau's note says the marked Turkistan row is South Kazakhstan region up to a year (2016 or 2017, as
    each workbook's note says; Shymkent is reported apart from 2017 where the note stops at 2016): those figures
    are left out with the former_unit warning naming the row, never stored under Turkistan region (61)."""
    code, out = _cli("import-table", str(REALDATA / name), "--indicator", indicator, "--document", "BNS", "--force")
    assert code == 0, out
    warning = next(x for x in out.splitlines() if "former_unit" in x or f"'{row_name}'" in x)
    assert f"'{row_name}' " in warning and "South Kazakhstan Region (51, former unit)" in warning
    assert f"–{last_former} is" in warning and f"from {last_former + 1} the row is Turkistan Region (61)" in warning
    with Store(db, read_only=True) as s:
        first = s.scalar("SELECT min(period) FROM indicator_values WHERE indicator_id = ? AND unit_code = '61'",
                         [indicator])
        others = s.scalar("SELECT min(period) FROM indicator_values WHERE indicator_id = ? AND unit_code = '11'",
                          [indicator])
    assert first == str(last_former + 1)           # Turkistan region's series begins where the note ends
    assert int(others) < last_former               # Akmola's does not: only the marked row lost years


def test_a_note_that_names_no_former_unit_leaves_the_row_to_its_unit():
    """unemployment_rate.xlsx: 'Turkestanskaya 3)' under '3) Data for the Turkestan region and the city of Shymkent
    from 2010 to 2017 estimates based on data from SKO' — estimates for Turkistan's own territory."""
    with Store(":memory:") as s:
        lookup = UnitLookup.load(s.cursor())
    data = (REALDATA / "unemployment_rate.xlsx").read_bytes()
    grid = wide.read_grid(data, "unemployment_rate.xlsx")
    block = wide.understand(grid, wide.resolver(lookup)).block()
    notes = wide.workbook_notes(data, "unemployment_rate.xlsx", grid, {"3"})
    assert [(n.mark, n.years) for n in notes if n.mark == "3"] == [("3", (2010, 2017))]
    assert wide.former_spans(block, lookup, notes) == {}


def _marked_table(tmp_path, note: str | None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Население на 1 января"])
    ws.append([None, 2016, 2017, 2018, 2019])
    ws.append(["Акмолинская", 740, 738, 736, 735])
    ws.append(["Туркестанская*", 2800, 2840, 1977, 1983])
    ws.append(["г. Шымкент", "-", "-", 952, 1009])
    if note:
        ws.append([note])
    path = tmp_path / "marked.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize(("note", "left_out", "why"), [
    ("* Данные за 2016-2016 гг. по Южно-Казахстанской области.", ["2016"], "by the table's note"),
    (None, ["2016", "2017"], "by its footnote mark, before the unit began"),   # no note: the years before 2018
    ("* Данные оценочные.", [], None),                                         # a note about something else
])
def test_a_marked_row_without_the_bureaus_exact_note(db, tmp_path, note, left_out, why):
    code, out = _cli("import-table", str(_marked_table(tmp_path, note)), "--indicator", "POP", "--document", "hand",
                     "--dry-run")
    assert code == 0, out
    if left_out:
        assert f"its {len(left_out)} figures are not stored" in out and why in out
        assert f"'Туркестанская*' {left_out[0]}–{left_out[-1]} is South Kazakhstan Region" in out
    else:
        assert "former unit" not in out
    assert f"would be inserted {10 - len(left_out)}," in out
