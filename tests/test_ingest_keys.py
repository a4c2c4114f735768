"""The natural key of indicator_values stays unique without a PRIMARY KEY (migration 005).

The importer is the one write path: a key twice in a file is refused, a stored key is updated in place.
These tests import, re-import, overlap and roll back, and after each step count rows against distinct keys.
The demo builder, the other writer, is checked on the demo database.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sac.store
from sac.ingest import RollbackRefused, import_file, rollback
from sac.store import MIGRATIONS_DIR, Store

ROOT = Path(__file__).resolve().parent.parent
KEY = "indicator_id, unit_code, period, source_document"


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "template.duckdb"
    with Store(path) as s, s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) VALUES "
                    "('UNEMP', 'Unemployment', 'Безработица', 'Жұмыссыздық', 'quarter'), "
                    "('SME', 'SMEs', 'МСП', 'ШОБ', 'year')")
    return path


@pytest.fixture
def store(tmp_path, template_db):
    path = tmp_path / "sac.duckdb"
    shutil.copyfile(template_db, path)
    with Store(path) as s:
        yield s


def _keys(store) -> tuple[int, int]:
    """(rows, distinct natural keys) of indicator_values."""
    return store.df(f"SELECT count(*) AS n, count(DISTINCT ({KEY})) AS k FROM indicator_values").iloc[0].tolist()


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_migration_005_keeps_rows_columns_and_the_view_and_drops_the_index(tmp_path, monkeypatch):
    old = tmp_path / "migrations_001_004"
    old.mkdir()
    for p in sorted(MIGRATIONS_DIR.glob("00[1-4]_*.sql")):
        shutil.copy(p, old / p.name)
    monkeypatch.setattr(sac.store, "MIGRATIONS_DIR", old)
    path = tmp_path / "old.duckdb"
    with Store(path) as s:
        assert s.applied_migrations() == [1, 2, 3, 4]
        with s.write() as cur:
            cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity, source_document) "
                        "VALUES ('UNEMP', 'U', 'U', 'U', 'quarter', 'LAW')")
            cur.execute("INSERT INTO indicator_values VALUES ('UNEMP', '75', '2024-Q1', 'LAW', 5, 4.5, 7), "
                        "('UNEMP', '75', '2024-Q1', 'OTHER', 6, NULL, 8), ('UNEMP', '71', '2024-Q2', '', NULL, 3, NULL)")
        before = s.df("SELECT * FROM indicator_values ORDER BY ALL")
        cells_before = s.df("SELECT * FROM v_indicator_cells ORDER BY ALL")
        cols_before = s.df("SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                           "WHERE table_name = 'indicator_values' ORDER BY ordinal_position")
    monkeypatch.setattr(sac.store, "MIGRATIONS_DIR", MIGRATIONS_DIR)
    with Store(path) as s:
        assert 5 in s.applied_migrations()
        assert s.df("SELECT * FROM indicator_values ORDER BY ALL").equals(before)
        assert s.df("SELECT * FROM v_indicator_cells ORDER BY ALL").equals(cells_before)
        assert s.df("SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                    "WHERE table_name = 'indicator_values' ORDER BY ordinal_position").equals(cols_before)
        kinds = s.df("SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'indicator_values'")
        assert "PRIMARY KEY" not in set(kinds["constraint_type"]) and "FOREIGN KEY" not in set(kinds["constraint_type"])
        assert s.scalar("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'indicator_values'") == 0
        # the plan of the indicator's own document wins in the view, as before
        assert s.df("SELECT plan, plan_source FROM v_indicator_cells WHERE unit_code = '75'").iloc[0].tolist() == [
            5.0, "LAW"]


def test_the_same_file_again_updates_nothing_and_adds_no_row(store, tmp_path):
    p = _csv(tmp_path / "a.csv", "indicator;region;period;plan;fact\nUNEMP;75;2024-Q1;5;4\nUNEMP;71;2024-Q1;5;3\n")
    assert import_file(store, p, "indicator_values", dry_run=False).inserted == 2
    again = import_file(store, p, "indicator_values", dry_run=False, force=True)
    assert (again.status, again.inserted, again.updated, again.unchanged) == ("committed", 0, 0, 2)
    assert _keys(store) == [2, 2]


def test_overlapping_files_update_the_shared_keys_in_place(store, tmp_path):
    a = _csv(tmp_path / "a.csv", "indicator;region;period;plan;fact\nUNEMP;75;2024-Q1;5;4\nUNEMP;71;2024-Q1;5;3\n")
    b = _csv(tmp_path / "b.csv", "indicator;region;period;fact\nUNEMP;Алматы;1 кв. 2024;4,5\nUNEMP;10;2024-Q1;2\n")
    import_file(store, a, "indicator_values", dry_run=False)
    rb = import_file(store, b, "indicator_values", dry_run=False)
    assert (rb.inserted, rb.updated) == (1, 1)
    assert _keys(store) == [3, 3]
    got = store.cursor().execute("SELECT unit_code, plan, fact FROM indicator_values ORDER BY unit_code").fetchall()
    assert got == [("10", None, 2.0), ("71", 5.0, 3.0), ("75", 5.0, 4.5)]


def test_an_absent_and_a_blank_source_document_are_the_same_key(store, tmp_path):
    a = _csv(tmp_path / "a.csv", "indicator;region;period;fact\nUNEMP;75;2024-Q1;1\n")
    b = _csv(tmp_path / "b.csv", "indicator;region;period;source document;fact\nUNEMP;75;2024-Q1;  ;2\n")
    import_file(store, a, "indicator_values", dry_run=False)
    rb = import_file(store, b, "indicator_values", dry_run=False)
    assert (rb.inserted, rb.updated) == (0, 1)
    assert _keys(store) == [1, 1] and store.scalar("SELECT fact FROM indicator_values") == 2.0


def test_one_key_written_two_ways_in_a_file_is_refused(store, tmp_path):
    """'75' and 'Алматы', '2024-Q1' and '1 кв. 2024' are one key once mapped: the file is refused, nothing stored."""
    p = _csv(tmp_path / "dup.csv", "indicator;region;period;fact\nUNEMP;75;2024-Q1;1\nUNEMP;Алматы;1 кв. 2024;2\n"
                                   "UNEMP;71;2024-Q1;3\n")
    rep = import_file(store, p, "indicator_values", dry_run=False)
    assert rep.status == "rejected"
    assert rep.errors[["row", "code", "value"]].to_dict("records") == [
        {"row": 2, "code": "duplicate_key", "value": "rows 2, 3"},
        {"row": 3, "code": "duplicate_key", "value": "rows 2, 3"}]
    assert _keys(store) == [0, 0]


def test_rollback_and_reimport_leave_one_row_per_key(store, tmp_path):
    a = _csv(tmp_path / "a.csv", "indicator;region;period;plan\nUNEMP;75;2024-Q1;5\nSME;75;2024;9\n")
    b = _csv(tmp_path / "b.csv", "indicator;region;period;plan\nUNEMP;75;2024-Q1;6\nSME;71;2024;1\n")
    import_file(store, a, "indicator_values", dry_run=False)
    rb = import_file(store, b, "indicator_values", dry_run=False)
    rollback(store, rb.batch_id)
    assert _keys(store) == [2, 2] and store.scalar("SELECT plan FROM indicator_values WHERE unit_code = '75' "
                                                   "AND indicator_id = 'UNEMP'") == 5.0
    import_file(store, b, "indicator_values", dry_run=False, force=True)
    assert _keys(store) == [3, 3]


# keys: indicator UNEMP, a region and a quarter of 2024; values: a fact
_rows = st.dictionaries(st.tuples(st.sampled_from(["75", "71", "10"]), st.integers(1, 4)),
                        st.integers(0, 99), min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(_rows, min_size=1, max_size=4))
def test_any_sequence_of_overlapping_imports_keeps_one_row_per_key_with_the_last_value(store, tmp_path, files):
    with store.write() as cur:
        cur.execute("DELETE FROM indicator_values")
        cur.execute("DELETE FROM upload_batches")
    expected: dict[tuple[str, int], int] = {}
    for i, rows in enumerate(files):
        body = "".join(f"UNEMP;{u};2024-Q{q};{v}\n" for (u, q), v in rows.items())
        p = _csv(tmp_path / f"f{i}.csv", "indicator;region;period;fact\n" + body)
        assert import_file(store, p, "indicator_values", dry_run=False, force=True).status == "committed"
        expected.update(rows)
        assert _keys(store) == [len(expected), len(expected)]
    got = store.df("SELECT unit_code, period, fact FROM indicator_values")
    assert {(u, int(p[-1])): int(f) for u, p, f in got.itertuples(index=False)} == expected


def test_rolling_back_indicators_still_used_by_values_is_refused(store, tmp_path):
    p = _csv(tmp_path / "ind.csv", "code;name;periodicity\nNEW1;New;year\n")
    batch = import_file(store, p, "indicators", dry_run=False).batch_id
    v = _csv(tmp_path / "v.csv", "indicator;region;period;fact\nNEW1;75;2024;1\n")
    import_file(store, v, "indicator_values", dry_run=False)
    with pytest.raises(RollbackRefused, match="used elsewhere.*NEW1"):
        rollback(store, batch)
    assert store.scalar("SELECT count(*) FROM indicators WHERE indicator_id = 'NEW1'") == 1


def test_the_insert_drops_insertion_order_for_its_own_cursor_only(store, tmp_path, monkeypatch):
    import sac.ingest.engine as engine

    seen = {}

    class Spy:
        def __init__(self, cur):
            self._cur = cur

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO indicator_values"):
                seen["writer"] = self._cur.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
                seen["reader"] = store.scalar("SELECT current_setting('preserve_insertion_order')")
            return self._cur.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._cur, name)

    original = engine._write
    monkeypatch.setattr(engine, "_write", lambda cur, prep, user: original(Spy(cur), prep, user))
    p = _csv(tmp_path / "a.csv", "indicator;region;period;fact\nUNEMP;75;2024-Q1;1\n")
    assert import_file(store, p, "indicator_values", dry_run=False).status == "committed"
    assert seen == {"writer": False, "reader": True}
    assert store.scalar("SELECT current_setting('preserve_insertion_order')") is True


def test_the_demo_writes_each_key_once(demo_store):
    for table, key in (("indicator_values", KEY),
                       ("budget_lines", "program_code, subprogram_code, unit_code, period, source_document")):
        n, k = demo_store.df(f"SELECT count(*) AS n, count(DISTINCT ({key})) AS k FROM {table}").iloc[0].tolist()
        assert n == k and n > 0, table


def test_no_writer_relies_on_a_key_constraint_of_indicator_values():
    """INSERT OR REPLACE / ON CONFLICT need a unique index, which indicator_values no longer has."""
    pattern = re.compile(r"(INSERT\s+OR\s+(REPLACE|IGNORE)\s+INTO|ON\s+CONFLICT)[^;]{0,400}?indicator_values|"
                         r"indicator_values[^;]{0,400}?ON\s+CONFLICT", re.IGNORECASE | re.DOTALL)
    offenders = [str(p.relative_to(ROOT)) for p in [*ROOT.joinpath("sac").rglob("*.py"), ROOT / "app.py",
                                                     *ROOT.joinpath("pages").rglob("*.py")]
                 if p.exists() and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


# -- a file that leaves the document out (issue 9: parallel rows picked alphabetically) ----------------------

def _one_indicator_store(tmp_path):
    from sac.store import Store

    s = Store(tmp_path / "doc.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "VALUES ('POP', 'Population', 'Население', 'Халық', 'year')")
    return s


def test_file_without_document_updates_the_single_stored_row(tmp_path):
    from sac.ingest import import_file

    s = _one_indicator_store(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("indicator;region;period;document;fact\nPOP;75;2022;Bureau 2023;2000\n", encoding="utf-8")
    assert import_file(s, first, "indicator_values", dry_run=False).status == "committed"
    second = tmp_path / "b.csv"
    second.write_text("indicator;region;period;fact\nPOP;75;2022;2100\n", encoding="utf-8")
    rep = import_file(s, second, "indicator_values", dry_run=False)
    assert (rep.status, rep.inserted, rep.updated) == ("committed", 0, 1)
    assert s.df("SELECT source_document, fact FROM indicator_values").to_dict("records") == [
        {"source_document": "Bureau 2023", "fact": 2100.0}]
    s.close()


def test_file_without_document_is_refused_when_two_documents_hold_the_value(tmp_path):
    from sac.ingest import import_file

    s = _one_indicator_store(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("indicator;region;period;document;fact\nPOP;75;2022;Bureau 2023;2000\n"
                     "POP;75;2022;Akimat report;1990\n", encoding="utf-8")
    assert import_file(s, first, "indicator_values", dry_run=False).status == "committed"
    before = s.df("SELECT * FROM indicator_values ORDER BY source_document")
    second = tmp_path / "b.csv"
    second.write_text("indicator;region;period;fact\nPOP;75;2022;2100\nPOP;71;2022;1300\n", encoding="utf-8")
    rep = import_file(s, second, "indicator_values", dry_run=False)
    assert rep.status == "rejected"
    err = rep.errors.iloc[0]
    assert (err["row"], err["code"]) == (2, "ambiguous_document")
    assert "Akimat report, Bureau 2023" in err["message"]
    assert s.df("SELECT * FROM indicator_values ORDER BY source_document").equals(before)
    s.close()


def test_blank_document_cell_adopts_too_and_a_new_key_has_no_document(tmp_path):
    from sac.ingest import import_file

    s = _one_indicator_store(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("indicator;region;period;document;fact\nPOP;75;2022;Bureau 2023;2000\n", encoding="utf-8")
    import_file(s, first, "indicator_values", dry_run=False)
    second = tmp_path / "b.csv"
    second.write_text("indicator;region;period;document;fact\nPOP;75;2022;;2100\nPOP;71;2022;;1300\n",
                      encoding="utf-8")
    rep = import_file(s, second, "indicator_values", dry_run=False)
    assert (rep.status, rep.inserted, rep.updated) == ("committed", 1, 1)
    got = s.df("SELECT unit_code, source_document, fact FROM indicator_values ORDER BY unit_code")
    assert got.to_dict("records") == [{"unit_code": "71", "source_document": "", "fact": 1300.0},
                                      {"unit_code": "75", "source_document": "Bureau 2023", "fact": 2100.0}]
    s.close()


def test_not_reported_cells_are_missing_with_a_warning_never_a_rejected_file(tmp_path):
    """Issue 9: '-', '…', 'x' say 'no figure': a warning naming row and column, nothing stored as zero."""
    from sac.ingest import import_file

    s = _one_indicator_store(tmp_path)
    f = tmp_path / "nr.csv"
    f.write_text("indicator;region;period;plan;fact\n"
                 "POP;75;2022;;-\n"          # row 2: nothing reported: skipped
                 "POP;71;2022;1300;…\n"      # row 3: plan only
                 "POP;79;2022;x;1100\n"      # row 4: fact only
                 "POP;10;2022;;12 345\n", encoding="utf-8")
    rep = import_file(s, f, "indicator_values", dry_run=False)
    assert rep.status == "committed", rep.problems
    assert (rep.inserted, rep.not_reported) == (3, 3)
    warned = rep.warnings[["row", "column", "code"]].to_dict("records")
    assert warned == [{"row": 2, "column": "fact", "code": "not_reported"},
                      {"row": 3, "column": "fact", "code": "not_reported"},
                      {"row": 4, "column": "plan", "code": "not_reported"}]
    got = s.df("SELECT unit_code, plan, fact FROM indicator_values ORDER BY unit_code")
    assert got["unit_code"].tolist() == ["10", "71", "79"]
    assert got.set_index("unit_code")["fact"].isna().tolist() == [False, True, False]  # missing, not 0
    assert got.set_index("unit_code")["plan"].isna().tolist() == [True, False, True]
    s.close()


def test_passport_bounds_are_errors_and_a_tenfold_jump_is_a_warning(tmp_path):
    """Issue 9: a share outside 0-100 names row, column, value and bound; 10x the own median is warned."""
    from sac.ingest import import_file

    s = _one_indicator_store(tmp_path)
    p = tmp_path / "passport.csv"
    p.write_text("code;name;periodicity;minimum;maximum\nSHARE;Share;year;0;100\n", encoding="utf-8")
    assert import_file(s, p, "indicators", dry_run=False).status == "committed"
    assert s.df("SELECT min_value, max_value FROM indicators WHERE indicator_id = 'SHARE'").iloc[0].tolist() == [0, 100]
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator;region;period;fact\nSHARE;75;2022;45\nSHARE;71;2022;145\nSHARE;79;2022;-1\n",
                   encoding="utf-8")
    rep = import_file(s, bad, "indicator_values", dry_run=False)
    assert rep.status == "rejected"
    errs = rep.errors[["row", "column", "code"]].to_dict("records")
    assert errs == [{"row": 3, "column": "fact", "code": "out_of_bounds"},
                    {"row": 4, "column": "fact", "code": "out_of_bounds"}]
    assert "145.0 (bounds 0.0 to 100.0)" in rep.errors.iloc[0]["message"]
    assert s.scalar("SELECT count(*) FROM indicator_values") == 0

    good = tmp_path / "good.csv"
    good.write_text("indicator;region;period;fact\nPOP;75;2020;2000\nPOP;75;2021;2050\n", encoding="utf-8")
    assert import_file(s, good, "indicator_values", dry_run=False).status == "committed"
    jump = tmp_path / "jump.csv"
    jump.write_text("indicator;region;period;fact\nPOP;75;2022;2100000\nPOP;75;2023;2100\n", encoding="utf-8")
    rep = import_file(s, jump, "indicator_values")
    assert rep.ok  # a warning, not an error
    assert rep.warnings[["row", "code"]].to_dict("records") == [{"row": 2, "code": "far_from_history"}]
    s.close()
