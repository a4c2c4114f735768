"""Every name a region goes by (issue 9): the alias table, the normaliser, former units, suggestions, the admin's
aliases (CLI, audit, used by the importer), and every region name in the Bureau's eight real workbooks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, main
from sac.ingest import import_file
from sac.ingest.parse import is_totals
from sac.ingest.units import ALIASES_CSV, FORMER_UNIT, UnitLookup, alias_key, package_aliases, package_conflicts
from sac.store import REGIONS_CSV, Store

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
with REGIONS_CSV.open(encoding="utf-8") as _f:
    REGIONS = {r["kato"]: r for r in csv.DictReader(_f)}
CURRENT = set(REGIONS)
CITIES = {k for k, r in REGIONS.items() if r["kind"] == "city"}


@pytest.fixture(scope="module")
def lookup():
    s = Store(":memory:")
    cur = s.cursor()
    yield UnitLookup.load(cur)
    cur.close()
    s.close()


def check(lookup, cases):
    got = {text: lookup.resolve(text) for text, _ in cases}
    assert got == dict(cases)


# -- one test per family of names ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kato", [
    ("Акмолинская", "11"), ("Акмолинская область", "11"), ("Акмолинская обл.", "11"), ("Акмолинская обл", "11"),
    ("Западно-Казахстанская", "27"), ("ЗАПАДНО-КАЗАХСТАНСКАЯ ОБЛАСТЬ", "27"), ("Восточно-Казахстанская обл.", "63"),
    ("Туркестанская область", "61"), ("Жетысуская область", "33"), ("Улытауская", "62"), ("Абайская обл", "10"),
    ("область Абай", "10"), ("область Жетісу", "33"), ("область Ұлытау", "62"), ("Мангистауская", "47"),
])
def test_russian_full_short_and_obl(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text, kato", [
    ("Ақмола облысы", "11"), ("Абай облысы", "10"), ("Абай", "10"), ("Жетісу", "33"), ("Ұлытау", "62"),
    ("Жетісу облысы", "33"), ("Батыс Қазақстан облысы", "27"), ("Шығыс Қазақстан", "63"), ("Түркістан облысы", "61"),
    ("Маңғыстау облысы", "47"), ("Қарағанды облысы", "35"), ("Солтүстік Қазақстан облысы", "59"),
    ("Шыгыс Казакстан облысы", "63"),   # typed without Kazakh letters
    ("Жетису", "33"), ("Улытау", "62"),   # the Bureau's Russian spellings of the Kazakh names
])
def test_kazakh(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text, kato", [
    ("Akmola Region", "11"), ("Akmolinskaya", "11"), ("Aktubinskaya", "15"), ("Aktobe", "15"), ("Almatinskaya", "19"),
    ("Jambyl", "31"), ("Zhambyl", "31"), ("Jambyl Region", "31"), ("Zhambylskaya", "31"), ("Jetisu", "33"),
    ("Zhetysu", "33"), ("Jetisu Region", "33"), ("Zhetisu ", "33"), ("Kostanaiskaya", "39"), ("Qaraghandy", "35"),
    ("West Kazakhstan", "27"), ("North Kazakhstan Region", "59"), ("East Kazakhstan", "63"), ("Turkestanskaya", "61"),
    ("Ulytau", "62"), ("Abai", "10"), ("Mangistau oblast", "47"), ("Kyzylordinskaya", "43"), ("Pavlodarskaya", "55"),
])
def test_english_official_and_transliterations(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text, kato", [
    ("ВКО", "63"), ("СКО", "59"), ("ЗКО", "27"), ("ШҚО", "63"), ("БҚО", "27"), ("СҚО", "59"), ("вко", "63"),
    ("VKO", "63"), ("ZKO", "27"),
])
def test_abbreviations(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text, kato", [
    ("Нур-Султан", "71"), ("г. Нур-Султан", "71"), ("Nur-Sultan", "71"), ("Нұр-Сұлтан қаласы", "71"),
    ("Астана", "71"), ("Акмола", "71"), ("г. Акмола", "71"), ("Akmola city", "71"), ("Целиноград", "71"),
    ("Алма-Ата", "75"), ("Alma-Ata", "75"), ("Чимкент", "79"), ("Целиноградская область", "11"),
    ("Алма-Атинская область", "19"), ("Джамбулская область", "31"), ("Гурьевская область", "23"),
    ("Уральская область", "27"), ("Кустанайская обл.", "39"),
])
def test_former_names_of_current_units(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text", ["Южно-Казахстанская", "Южно-Казахстанская область", "South Kazakhstan", "ЮКО",
                                  "Оңтүстік Қазақстан облысы", "51", "510000000", "KZ-YUZ", "Чимкентская область"])
def test_south_kazakhstan_is_a_former_unit(lookup, text):
    """Split in 2018 into Turkistan region (61) and Shymkent (79): neither, unless former units are asked for."""
    assert lookup.resolve(text) is None
    assert lookup.resolve(text, include_former=True) == "51"
    assert lookup.kinds["51"] == FORMER_UNIT


@pytest.mark.parametrize("text, kato", [
    ("г. Астана", "71"), ("Астана", "71"), ("г.Астана", "71"), ("город Астана", "71"), ("Астана қаласы", "71"),
    ("Astana city", "71"), ("г. Алматы", "75"), ("г.Алматы", "75"), ("Алматы", "75"), ("Алматы қ.", "75"),
    ("city of Almaty", "75"), ("г. Шымкент", "79"), ("Шымкент", "79"), ("Shymkent city", "79"), ("Shimkent city", "79"),
    ("гор. Шымкент", "79"),
])
def test_cities_with_and_without_g(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text, kato", [
    ("75", "75"), ("75.0", "75"), ("10", "10"), ("750000000", "75"), ("750000000.0", "75"), ("110000000", "11"),
    ("330000000", "33"), ("KZ-75", "75"), ("kz-71", "71"), ("KZ 19", "19"), ("KZ33", "33"), ("KZ-ALA", "75"),
    ("KZ-ALM", "19"), ("KZ-VOS", "63"),
])
def test_kato_and_iso_codes(lookup, text, kato):
    assert lookup.resolve(text) == kato


@pytest.mark.parametrize("text", ["751110000", "7500000000", "00", "KZ-99", "KZ-7"])
def test_codes_below_or_beside_region_level_are_not_regions(lookup, text):
    assert lookup.resolve(text) is None


@pytest.mark.parametrize("text, kato", [
    ("Туркестанская*", "61"), ("Туркестанская 1", "61"), ("Туркестанская ", "61"), ("г.Шымкент2)", "79"),
    ("г. Шымкент²", "79"), ("Turkestanskaya 3)", "61"), ("Shimkent city 3)", "79"), ("Kostanay (1)", "39"),
    ("«Акмолинская область»", "11"), ('"Алматы"', "75"), ("“Жетісу”", "33"), ("АКМОЛИНСКАЯ", "11"),
    ("  акмолинская   область  ", "11"), ("Актюбинская\u00a0обл.", "15"), ("Северо - Казахстанская", "59"),
    ("Костанаиская", None), ("Кызылордиңская", "43"),   # Kazakh letters fold where unambiguous
    ("Cеверо-Казахстанская", "59"),   # a Latin C in a Cyrillic word
    ("Жетiсу", "33"),                 # a Latin i for the Kazakh і
    ("Ёлка", None), ("Республика Казахстан", None),
])
def test_footnotes_quotes_case_spaces_and_look_alikes(lookup, text, kato):
    assert lookup.resolve(text) == kato


def test_yo_is_e():
    assert alias_key("Ё") == alias_key("е") == "е"
    assert alias_key("Семёновская область") == "region:семеновская"


# -- a region is never a city ---------------------------------------------------------------------------------

PAIRS = {
    "Almaty": (["Алматинская", "Almatinskaya", "Алматы облысы", "Almaty Region", "Алматинская обл.", "область Алматы",
                "Almaty oblast"], "19",
               ["Алматы", "г. Алматы", "Almaty", "Алматы қаласы", "Almaty city", "г.Алматы", "ALMATY"], "75"),
    "Astana": (["Акмолинская", "Ақмола облысы", "Akmola Region", "Akmola", "Ақмола", "Акмола облысы"], "11",
               ["Астана", "г. Астана", "Астана қаласы", "Astana city", "Акмола", "г. Акмола", "Akmola city",
                "Ақмола қаласы"], "71"),
    "Shymkent": (["Туркестанская", "Түркістан облысы", "Turkistan Region", "Turkistan", "Түркістан"], "61",
                 ["Шымкент", "г. Шымкент", "Shymkent city", "Шымкент қаласы"], "79"),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_region_and_city_pairs_never_collide(lookup, pair):
    regions, region, cities, city = PAIRS[pair]
    assert {n: lookup.resolve(n) for n in regions} == dict.fromkeys(regions, region)
    assert {n: lookup.resolve(n) for n in cities} == dict.fromkeys(cities, city)


@pytest.mark.parametrize("text", ["Шымкент облысы", "Shymkent Region", "Шымкентская", "г. Туркестан", "Turkistan city",
                                  "Түркістан қаласы", "г. Акмолинская", "г. Алматинская", "Астана облысы",
                                  "Astana Region", "г. Павлодар", "Karaganda city", "г. Алматы область"])
def test_a_city_word_never_finds_a_region_nor_a_region_word_a_city(lookup, text):
    assert lookup.resolve(text) is None


def test_no_package_alias_changes_kind_with_a_city_or_region_word(lookup):
    """For every package name: with a city word it is never a region, with a region word never a city."""
    for a in package_aliases():
        if alias_key(a.alias).isdigit() or alias_key(a.alias).startswith("kz-"):
            continue
        for text in (f"г. {a.alias}", f"{a.alias} city", f"{a.alias} қаласы"):
            got = lookup.resolve(text)
            assert got is None or got in CITIES, (text, got)
        for text in (f"{a.alias} область", f"{a.alias} облысы", f"{a.alias} Region"):
            got = lookup.resolve(text)
            assert got is None or got not in CITIES, (text, got)


# -- the package table ----------------------------------------------------------------------------------------

def test_package_table_is_consistent(lookup):
    rows = package_aliases()
    assert package_conflicts(rows) == []
    assert {a.kato for a in rows} == CURRENT | {"51"}
    assert {a.kato for a in rows if a.kind == FORMER_UNIT} == {"51"}
    for kato in CURRENT:
        kinds = {a.kind for a in rows if a.kato == kato}
        assert {"kk", "en_official", "kato2", "kato9", "iso"} <= kinds, kato
        assert kinds & {"ru_full", "ru_city"}, kato
    with ALIASES_CSV.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["alias", "kato", "kind", "note"]
    # every alias is reachable: none shadowed by another, none lost to normalisation
    assert [(a.alias, a.kato) for a in rows if lookup.resolve(a.alias, include_former=True) != a.kato] == []
    # and the regions table's own names, KATO and ISO codes are among them
    for kato, r in REGIONS.items():
        for text in (kato, r["iso"], r["name_en"], r["name_ru"], r["name_kk"]):
            assert lookup.resolve(text) == kato, text


# -- suggestions ----------------------------------------------------------------------------------------------

def test_suggest_closest_known_names(lookup):
    got = lookup.suggest("Акмолинскя")
    assert got[0] == "Акмолинская область (11)" and len(got) <= 3
    got = lookup.suggest("Almata")
    assert got[0] == "Almaty (75)" and "Almaty Region (19)" in got
    assert lookup.suggest("г. Алмата")[0] == "г. Алматы (75)"
    assert lookup.suggest("Южно-Казахстанск")[0] == "Южно-Казахстанская область (51, former unit)"
    assert lookup.suggest("Жетысу облыс")[0].endswith("(33)")
    assert lookup.suggest("751110000") == ["Almaty (75)"]   # a district code: the unit it lies in
    assert lookup.suggest("Xyzzy") == [] and lookup.suggest("") == []
    assert len(lookup.suggest("Алмата", n=1)) == 1


# -- every name in the Bureau's workbooks --------------------------------------------------------------------

def _is_figure(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return True
    s = str(v).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if s in ("-", "–", "—", "x", "х"):
        return True
    try:
        float(s)
    except ValueError:
        return False
    return True


def workbook_names(path: Path) -> dict[str, list[str]]:
    """Sheet -> the first-column names of its data rows.

    Rule: a row is a data row when its first cell is not blank and at least one of its other cells holds a figure
    (a number, a number stored as text such as '17 945', or a dash for no data). Titles, year and header rows
    ('Column1', 'годы'), population-group headings ('Мужчины', 'Городское население') and footnotes have no figure
    beside them and are skipped.
    """
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    out = {}
    for sheet in wb.sheet_names:
        rows = wb.get_sheet_by_name(sheet).to_python()
        out[sheet] = [str(r[0]) for r in rows
                      if r and str(r[0]).strip() and any(_is_figure(v) for v in r[1:] if str(v).strip())]
    return out


WORKBOOKS = sorted(REALDATA.glob("*.xls*")) if REALDATA.exists() else []


@pytest.mark.skipif(len(WORKBOOKS) != 8, reason="the eight workbooks of /work/shared/realdata are not here")
@pytest.mark.parametrize("path", WORKBOOKS, ids=[p.name for p in WORKBOOKS])
def test_every_region_name_in_the_real_workbooks_resolves(lookup, path):
    found: set[str] = set()
    for sheet, names in workbook_names(path).items():
        if not names:
            continue
        assert len(names) >= 17, (sheet, names)
        for name in names:
            if is_totals(name):
                continue
            kato = lookup.resolve(name)
            if kato is None:
                kato = lookup.resolve(name, include_former=True)
                assert kato == "51", f"{path.name} / {sheet}: {name!r} is not a known region ({lookup.suggest(name)})"
            else:
                assert kato in CURRENT, (sheet, name, kato)
            found.add(kato)
    # every workbook names at least the units that existed before the 2022 reform (Abai, Zhetysu, Ulytau are new)
    assert CURRENT - {"10", "33", "62"} <= found, sorted(CURRENT - found)


@pytest.mark.skipif(len(WORKBOOKS) != 8, reason="the eight workbooks of /work/shared/realdata are not here")
def test_the_workbooks_together_name_all_twenty_units_and_south_kazakhstan(lookup):
    found = set()
    for path in WORKBOOKS:
        for names in workbook_names(path).values():
            found |= {lookup.resolve(n, include_former=True) for n in names if not is_totals(n)}
    assert found == CURRENT | {"51"}


# -- the admin's aliases: CLI, audit, lookup, importer ---------------------------------------------------------

def make_store(path) -> Store:
    s = Store(path)
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) VALUES "
                    "('SME', 'Active SMEs', 'Действующие МСП', 'ШОБ', 'year')")
    return s


def _dry_run_units(path, csv_path):
    with Store(path) as s:
        rep = import_file(s, csv_path, "indicator_values", dry_run=True)
    return rep, rep.errors[rep.errors["code"] == "unknown_unit"]["value"].tolist()


def test_admin_aliases_from_the_cli_are_used_by_the_lookup_and_the_importer(tmp_path, monkeypatch, capsys):
    db = tmp_path / "sac.duckdb"
    monkeypatch.setenv("SAC_DB_PATH", str(db))
    make_store(db).close()
    upload = tmp_path / "u.csv"
    upload.write_text("indicator;region;period;fact\nSME;Семей;2024;1\nSME;ЮКО;2023;2\nSME;Алматы;2024;3\n",
                      encoding="utf-8")

    rep, unknown = _dry_run_units(db, upload)
    assert unknown == ["Семей", "ЮКО"]

    assert main(["aliases", "add", "Семей", "10", "--note", "centre of Abai region"]) == EXIT_OK
    assert main(["aliases", "add", "ЮКО", "61", "--note", "our office's files: Turkistan"]) == EXIT_OK  # admin wins
    assert main(["aliases", "add", "Алматы", "75"]) == EXIT_OK        # known: nothing written
    assert main(["aliases", "add", "Нигде", "99"]) == EXIT_REJECTED    # no such unit
    assert main(["aliases", "add", "12", "11"]) == EXIT_REJECTED       # codes are not aliases
    capsys.readouterr()
    assert main(["aliases", "list", "--source", "admin", "--csv"]) == EXIT_OK
    listed = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["alias"], r["kato"], r["source"]) for r in listed] == [("Семей", "10", "admin"), ("ЮКО", "61", "admin")]
    assert main(["aliases", "list", "--kato", "51"]) == EXIT_OK
    assert "package (overridden)" in capsys.readouterr().out   # the package's ЮКО -> 51, overridden

    with Store(db) as s:
        cur = s.cursor()
        lk = UnitLookup.load(cur)
        assert (lk.resolve("Семей"), lk.resolve("семей "), lk.resolve("ЮКО")) == ("10", "10", "61")
        assert lk.resolve("Южно-Казахстанская") is None             # the rest of the former unit is untouched
        assert cur.execute("SELECT kato, source FROM region_aliases WHERE alias = 'семей'").fetchall() == [
            ("10", "admin")]
    rep, unknown = _dry_run_units(db, upload)
    assert unknown == [] and rep.rejected == 0 and rep.inserted == 3

    assert main(["aliases", "remove", "СЕМЕЙ"]) == EXIT_OK
    assert main(["aliases", "remove", "Семей"]) == EXIT_NOT_FOUND
    assert main(["aliases", "remove", "Акмолинская"]) == EXIT_REJECTED   # a package alias
    rep, unknown = _dry_run_units(db, upload)
    assert unknown == ["Семей"]

    with Store(db) as s:
        log = s.df("SELECT actor, action, target, details FROM audit_log ORDER BY entry_id")
    assert log["action"].tolist() == ["region_alias_added", "region_alias_added", "region_alias_removed"]
    assert log["target"].tolist() == ["Семей", "ЮКО", "Семей"]
    assert all(a.startswith("cli:") for a in log["actor"])
    assert json.loads(log["details"][1])["previous"] == {"kato": "51", "source": "package"}


def test_lookup_works_before_the_alias_table_exists():
    """A store migrated before 006 (or read-only and older): the package's aliases still apply."""
    s = Store(":memory:")
    with s.write() as cur:
        cur.execute("DROP TABLE region_aliases")
    cur = s.cursor()
    assert UnitLookup.load(cur).resolve("Jambyl Region") == "31"
    cur.close()
    s.close()


def test_the_importer_takes_the_names_it_used_to_reject(tmp_path):
    """Names seen on real data that were 'neither a known region nor an organisation' before issue 9."""
    names = {"Jambyl Region": "31", "Jetisu Region": "33", "ВКО": "63", "область Абай": "10", "750000000": "75",
             "Туркестанская*": "61", "г.Шымкент2)": "79", "Akmolinskaya": "11"}
    body = "indicator;region;period;fact\n" + "".join(f"SME;{n};{2001 + i};1\n" for i, n in enumerate(names))
    upload, with_former = tmp_path / "u.csv", tmp_path / "f.csv"
    upload.write_text(body, encoding="utf-8")
    with_former.write_text(body + "SME;Южно-Казахстанская;2017;1\n", encoding="utf-8")
    with make_store(tmp_path / "sac.duckdb") as s:
        rep = import_file(s, with_former, "indicator_values", dry_run=True)
        assert rep.errors[["value", "code"]].to_dict("records") == [
            {"value": "Южно-Казахстанская", "code": "unknown_unit"}]   # a former unit is never stored as a current one
        rep = import_file(s, upload, "indicator_values", dry_run=False)
        assert rep.status == "committed", rep.problems
        got = s.df("SELECT CAST(period AS INTEGER) - 2001 AS i, unit_code FROM indicator_values ORDER BY 1")
    assert got["unit_code"].tolist() == list(names.values())
