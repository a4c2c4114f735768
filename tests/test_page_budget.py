"""Budget page (issue 4) on the demo, and its view helpers (sac.views.budget)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from test_pages import open_directly as open_page

from sac.auth import User
from sac.store import Store
from sac.views import budget as views

PAGE = "pages/budget.py"
OFFICE = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
OFFICE_UNITS = {"75", "AKM-75", "PO-ADC", "AGP"}   # Almaty and the organisations of Almaty in the demo


def _table(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_seed_001_table_11_conflict_lists_every_amount_with_its_source(demo_store):
    conf = views.conflicts(demo_store, "068")
    c2021 = conf[conf["year"] == 2021]
    assert sorted(c2021["amount"].tolist()) == [27472.0, 76952.0, 80043.0]
    assert c2021["spread"].iloc[0] == 80043.0 - 27472.0
    assert c2021["source_document"].nunique() == 3


def test_execution_by_region_is_regions_only_and_ratios_match(demo_store):
    ex = views.execution(demo_store, 2025, "region")
    assert len(ex) == 20 and "MLSP" not in set(ex["key"])
    row = ex.set_index("key").loc["75"]
    assert row["execution"] == row["spent"] / row["plan"]


def test_incomplete_year_is_not_judged_for_spikes(demo_store):
    sp = views.year_end_spikes(demo_store, 2026)          # demo data reach October 2026
    assert not sp["complete"].any()
    assert sp["q4_share"].isna().all() and not sp["flagged"].any()
    full = views.year_end_spikes(demo_store, 2025)
    assert full["complete"].all() and full["flagged"].any()
    assert (full.loc[full["flagged"], "q4_share"] > 0.40).all()


def test_page_shows_the_068_conflict_in_million_tenge(app_env):
    at = open_page(PAGE, params={"program": "068", "year": "2025"})
    assert not at.exception
    conf = _table(at, "Source document")
    amounts = set(conf["Amount, mln KZT"])
    assert {"76,952", "27,472", "80,043"} <= amounts
    assert at.query_params["program"] in (["068"], "068")


def test_headline_figures_match_the_domain_for_a_region(app_env, demo_store):
    at = open_page(PAGE, "ru", params={"year": "2025", "region": "75"})
    assert not at.exception
    tot = views.totals(demo_store, 2025, None, "75").iloc[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Исполнение (освоено / план)"] == f"{100 * tot['execution']:.1f}%".replace(".", ",")
    assert "Освоено, млн тг" in metrics
    regions = next(d.value for d in at.dataframe if "75" in set(d.value.iloc[:, 0].astype(str)))
    assert regions.set_index(regions.columns[0]).loc["75", "Наименование"] == "г. Алматы"
    assert len(at.get("plotly_chart")) >= 3               # execution bars, cumulative, spikes


def test_spike_flags_appear_for_a_complete_year(app_env, demo_store):
    at = open_page(PAGE, params={"year": "2025"})
    assert not at.exception
    flagged = views.year_end_spikes(demo_store, 2025)
    assert flagged["flagged"].any()
    eff = _table(at, "Band")
    assert set(eff["Band"]) <= {"✓ High", "✓ Medium", "! Satisfactory", "✗ Unsatisfactory", "○ No data"}


def test_project_office_sees_only_its_regions(app_env):
    office = User(username="office", display_name="Office", role="project_office", units=frozenset({"75"}))
    at = open_page(PAGE, user=office, params={"year": "2025"})
    assert not at.exception
    regions = next(d.value for d in at.dataframe if "Name" in d.value.columns and "75" in set(d.value.iloc[:, 0]))
    assert regions.iloc[:, 0].tolist() == ["75"]


def test_all_programs_together_add_up_every_program_and_stop_at_the_last_month(demo_store):
    # Abai region, 2026: the demo's spending reaches October
    together = views.cumulative_by_month(demo_store, 2026, None, "10", True)
    tot = views.totals(demo_store, 2026, None, "10").iloc[0]
    assert together["month"].max() == 10                  # no flat November and December
    last = together.iloc[-1]
    assert last["annual_plan"] == pytest.approx(tot["plan"])            # every program's plan, not the first one's
    assert last["spent_cum"] == pytest.approx(tot["spent"])
    assert last["cum_share_spent"] == pytest.approx(tot["execution"])    # the line ends where the headline figure says
    per_program = views.cumulative_by_month(demo_store, 2026, None, "10")
    assert per_program.groupby("program_code")["month"].max().le(10).all()


@pytest.mark.parametrize("code,label", [("2026-10", "10.2026"), ("2026-03", "03.2026"), ("2026", "2026"),
                                        ("2026-Q3", "2026-Q3"), (None, "—")])
def test_period_label(code, label):
    assert views.period_label(code) == label


def test_an_unfinished_year_says_why_there_is_no_spike_chart(app_env):
    at = open_page(PAGE, params={"year": "2026"})
    assert not at.exception
    assert any("2026 is not over: the data reach 10.2026" in i.value for i in at.info)
    assert any("data up to 10.2026" in c.value for c in at.caption)
    assert not any("seed" in c.value for c in at.caption)


# -- a project office's scope covers every table and download (issue 8, finding 8) ------------------------------------

@pytest.fixture
def conflicts_env(demo_db_path, tmp_path, monkeypatch):
    """The demo plus program 068 planned with different amounts in two documents in Almaty and in Astana
    (the demo's own conflicts are the ministry's, MLSP)."""
    path = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    with Store(path) as s, s.write() as cur:
        for unit in ("75", "71"):
            cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, source_document, plan) VALUES "
                        "('068', ?, '2024', 'Akimat plan', 100), ('068', ?, '2024', 'Budget program 068', 150)",
                        [unit, unit])
        cur.execute("UPDATE meta SET value = '7100000' WHERE key = 'data_version'")   # no other test's cache
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return path


@pytest.fixture
def media(monkeypatch) -> list:
    """The media storages AppTest creates for its runs (each run's mock runtime has one): the last one holds the
    files behind the last run's download buttons."""
    made = []
    init = MemoryMediaFileStorage.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MemoryMediaFileStorage, "__init__", record)
    return made


def _download(at, media: list, key: str) -> pd.DataFrame:
    """The CSV behind the download button ``key``."""
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key))
    data = media[-1].get_file(button.proto.url.rsplit("/", 1)[1]).content
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)


def test_conflicts_table_and_download_are_a_project_offices_own(conflicts_env, media):
    at = open_page(PAGE, user=OFFICE, params={"year": "2025"})
    assert not at.exception
    conf = _table(at, "Source document")
    assert set(conf["Unit"]) == {"75"}                                   # Almaty's conflict, not MLSP's or Astana's
    assert set(_download(at, media, "dl_conflicts_csv")["Unit"]) == {"75"}


def test_conflicts_table_shows_every_unit_to_an_analyst(conflicts_env, media):
    at = open_page(PAGE, user=User("analyst", "Analyst", "analyst"), params={"year": "2025"})
    assert not at.exception
    assert {"75", "71", "MLSP"} <= set(_table(at, "Source document")["Unit"])
    assert {"75", "71", "MLSP"} <= set(_download(at, media, "dl_conflicts_csv")["Unit"])


def test_every_budget_table_and_download_of_a_project_office_is_its_own(conflicts_env, media):
    at = open_page(PAGE, user=OFFICE, params={"year": "2025"})
    assert not at.exception
    for table in at.dataframe:
        df = table.value
        if "Unit" in df.columns:
            assert set(df["Unit"]) <= OFFICE_UNITS
    regions = next(d.value for d in at.dataframe if "Name" in d.value.columns and "75" in set(d.value.iloc[:, 0]))
    assert set(regions.iloc[:, 0]) <= OFFICE_UNITS
    assert set(_download(at, media, "dl_regions_csv").iloc[:, 0]) <= OFFICE_UNITS


# -- issue 9: budget defects found on real data --------------------------------------------------------------------

MLSP_RU = "Министерство труда и социальной защиты населения"


def _fresh_store(tmp_path, monkeypatch, data_version: int) -> Store:
    """An empty store (regions and calendar only) with the demo accounts, opened by the app; ``data_version`` apart
    from every other test's (the page cache is keyed on it, not on the file)."""
    from sac.auth import accounts

    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "sac.duckdb"
    s = Store(path)
    accounts.ensure_demo_accounts(s)
    with s.write() as cur:
        cur.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", [str(data_version)])
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return s


def _cells(at) -> list[str]:
    """Every cell and column name of every table on the page, as text."""
    out = []
    for d in at.dataframe:
        out += [str(c) for c in d.value.columns]
        out += [str(x) for x in d.value.astype(object).to_numpy().ravel()]
    return out


def _no_nan(values) -> None:
    bad = [v for v in values if v is None or str(v).strip().lower() in ("nan", "none", "<na>", "nat")
           or (not isinstance(v, str) and pd.isna(v))]
    assert not bad, bad


@pytest.fixture
def ministry_only(tmp_path, monkeypatch):
    """Budget lines of a ministry only (unit_code an org_id), the plan carried in two documents with different
    amounts and the spending in two documents with different amounts; no region has a line."""
    s = _fresh_store(tmp_path, monkeypatch, 9_100_000)
    with s.write() as cur:
        cur.execute("INSERT INTO organisations VALUES ('MLSP', 'state_body', "
                    "'Ministry of Labour and Social Protection of the Population', ?, "
                    "'Еңбек және халықты әлеуметтік қорғау министрлігі', NULL)", [MLSP_RU])
        cur.execute("INSERT INTO budget_programs VALUES ('068', 'Enbek', 'Еңбек', 'Еңбек', 'MLSP', NULL)")
        cur.execute("INSERT INTO budget_lines (program_code, unit_code, period, source_document, plan, spent) VALUES "
                    "('068', 'MLSP', '2024', 'Budget law', 100, 90), ('068', 'MLSP', '2024', 'Treasury report', 100, 95),"
                    "('068', 'MLSP', '2023', 'Budget law', 80, NULL), ('068', 'MLSP', '2023', 'Strategic plan', 70, NULL)")
    yield s
    s.close()


def test_organisations_budget_without_any_region_still_shows_conflicts(ministry_only):
    at = open_page(PAGE, "ru", params={"year": "2024"})
    assert not at.exception
    conf = _table(at, "Исходный документ")
    assert set(conf["Стадия"]) == {"План", "Освоено"}               # the 2023 plan and the 2024 spending
    assert set(conf["Единица"]) == {"MLSP"}
    assert set(conf["Наименование единицы"]) == {MLSP_RU}          # the ministry's name in the reader's language
    assert any("ни у одного региона нет строк бюджета" in i.value for i in at.info)
    programs = _table(at, "Освоено, млн тг")
    assert programs.iloc[:, 0].tolist() == ["068"]                   # the ministry's execution counts in programs
    _no_nan(_cells(at))


def test_conflicts_name_the_phase_that_disagrees_in_every_language(ministry_only):
    for lang, phase, spent in (("en", "Phase", "Spent"), ("kk", "Кезеңі", "Игерілді")):
        at = open_page(PAGE, lang, params={"year": "2024"})
        assert not at.exception
        conf = next(d.value for d in at.dataframe if phase in d.value.columns)
        assert spent in set(conf[phase])


def _upload(store, tmp_path, name: str, kind: str, text: str) -> None:
    from sac.ingest import import_file

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    rep = import_file(store, path, kind, dry_run=False)
    assert rep.status == "committed", rep.problems


@pytest.fixture
def uploaded_unknown_programme(tmp_path, monkeypatch):
    """Program 777 uploaded through the importer with no row in budget_programs: Almaty monthly through December
    2024 in one document, the year's spending in another with a different amount; program 068 is known."""
    s = _fresh_store(tmp_path, monkeypatch, 9_200_000)
    with s.write() as cur:
        cur.execute("INSERT INTO budget_programs VALUES ('068', 'Enbek', 'Еңбек', 'Еңбек', NULL, NULL)")
    rows = [f"777;75;2024-{m:02d};Execution report;100;{10 * m}" for m in range(1, 13)]
    rows += ["777;75;2024;Treasury report;1200;700", "068;75;2024;Execution report;50;40"]
    _upload(s, tmp_path, "budget.csv", "budget", "program;unit;period;document;plan;spent\n" + "\n".join(rows) + "\n")
    yield s
    s.close()


def _program_options(at) -> list[str]:
    return next(b for b in at.selectbox if b.label == "Budget program").options


def test_an_uploaded_programme_without_a_name_shows_its_code_never_nan(uploaded_unknown_programme, media):
    at = open_page(PAGE, params={"year": "2024"})
    assert not at.exception
    assert "777" in _program_options(at)                            # the filter lists every program with lines
    assert "068 — Enbek" in _program_options(at)
    _no_nan(_cells(at))
    conf = _table(at, "Source document")
    assert set(conf["Code"]) == {"777"} and set(conf["Phase"]) == {"Spent"}
    for key in ("dl_programs_csv", "dl_spikes_csv", "dl_conflicts_csv"):
        got = _download(at, media, key)
        _no_nan(got["Name"].tolist())
    assert "777" in set(_download(at, media, "dl_spikes_csv")["Code"])


def test_an_uploaded_programme_is_named_once_its_name_is_uploaded(uploaded_unknown_programme, tmp_path, media):
    _upload(uploaded_unknown_programme, tmp_path, "programs.csv", "budget_programs",
            "program;name;name_ru;атауы\n777;Village roads;Сельские дороги;Ауыл жолдары\n")
    at = open_page(PAGE, params={"year": "2024", "program": "777"})
    assert not at.exception
    assert "777 — Village roads" in _program_options(at)
    assert set(_table(at, "Source document")["Name"]) == {"Village roads"}
    assert set(_download(at, media, "dl_spikes_csv")["Name"]) == {"Village roads"}
    at = open_page(PAGE, "ru", params={"year": "2024", "program": "777"})
    assert set(_table(at, "Исходный документ")["Наименование"]) == {"Сельские дороги"}


# -- issue 9, item 4: the republic as a unit in a budget upload (the importer's; pinned as it is today) -------------

def test_a_budget_row_of_the_republic_is_a_warning_saying_what_to_do(tmp_path, monkeypatch):
    """A budget row whose unit is 'Республика Казахстан' (the republican budget) is skipped (the republic has no
    unit here) with a warning that says to upload it under the ministry's organisation code; it was an 'info'
    totals row before (issue 9). Nothing of it is stored."""
    from sac.ingest import import_file

    s = _fresh_store(tmp_path, monkeypatch, 9_300_000)
    path = tmp_path / "republic.csv"
    path.write_text("program;unit;period;document;plan\n068;Республика Казахстан;2024;Budget law;1000\n"
                    "068;75;2024;Budget law;10\n", encoding="utf-8")
    rep = import_file(s, path, "budget", dry_run=False)
    assert rep.status == "committed" and rep.totals == 1
    problems = rep.problems
    row2 = problems[problems["row"] == 2]
    assert row2[["severity", "code"]].values.tolist() == [["warning", "republic_budget_row"]]
    assert "organisation code of the ministry" in row2["message"].iloc[0]
    assert s.df("SELECT unit_code, plan FROM budget_lines").values.tolist() == [["75", 10.0]]
    s.close()


def test_conflicts_table_puts_what_disagrees_first_and_fits_1440_px(app_env):
    """Program names of 80 characters pushed Phase and Amount off the right edge: now they come first and every
    column has a width, the whole within the 980 px the main column has at 1440 px (measured in chromium)."""
    import json
    at = open_page(PAGE, params={"program": "068", "year": "2025"})
    assert not at.exception
    element = next(d for d in at.dataframe if "Source document" in d.value.columns)
    assert list(element.value.columns)[:3] == ["Phase", "Amount, mln KZT", "Spread (max − min), mln KZT"]
    config = json.loads(element.proto.columns)
    widths = {c: config.get(c, {}).get("width") for c in element.value.columns}
    assert all(isinstance(w, int) for w in widths.values()), widths
    assert sum(widths.values()) <= 980
