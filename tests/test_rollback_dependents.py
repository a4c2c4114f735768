"""Rolling back a batch whose new rows a later batch of another kind refers to is refused, for every
dependent kind (issue 8, finding 10): a project's contributions, an indicator's values and contributions.
Nothing changes when it is refused; once the dependent batch is rolled back, the first one rolls back."""

from __future__ import annotations

import pytest

from sac.ingest import RollbackRefused, import_file, rollback
from tests.test_ingest import make_store, write_csv


@pytest.fixture
def store(tmp_path):
    s = make_store(tmp_path / "sac.duckdb")
    yield s
    s.close()


def _commit(store, path, kind):
    rep = import_file(store, path, kind, dry_run=False)
    assert rep.status == "committed", rep.problems
    return rep.batch_id


def _tables(store):
    # as text, so that missing values compare equal (NaN != NaN)
    return {t: store.df(f"SELECT * FROM {t} ORDER BY ALL").astype(str).to_dict("records")
            for t in ("projects", "indicators", "project_contributions", "indicator_values")}


def test_projects_batch_with_later_contributions_is_refused_then_rolls_back(store, tmp_path):
    prj = tmp_path / "projects.csv"
    write_csv(prj, "project_id;name;region\nP-NEW;School;75\n", "utf-8")
    b_prj = _commit(store, prj, "projects")
    con = tmp_path / "contrib.csv"
    write_csv(con, "project;indicator;region;contribution\nP-NEW;UNEMP;75;0,2\n", "utf-8")
    b_con = _commit(store, con, "contributions")

    before = _tables(store)
    with pytest.raises(RollbackRefused) as e:
        rollback(store, b_prj)
    assert "project_contributions" in str(e.value) and f"batch {b_con}" in str(e.value) and "P-NEW" in str(e.value)
    assert _tables(store) == before  # refused: nothing changed
    assert store.scalar("SELECT status FROM upload_batches WHERE batch_id = ?", [b_prj]) == "committed"

    rollback(store, b_con)
    rollback(store, b_prj)
    assert store.scalar("SELECT count(*) FROM projects WHERE project_id = 'P-NEW'") == 0


def test_indicators_batch_with_later_contributions_is_refused(store, tmp_path):
    ind = tmp_path / "ind.csv"
    write_csv(ind, "code;name;periodicity\nNEWIND;New;year\n", "utf-8")
    b_ind = _commit(store, ind, "indicators")
    with store.write() as cur:
        cur.execute("INSERT INTO projects (project_id, name_en) VALUES ('P-1', 'x')")
    con = tmp_path / "contrib.csv"
    write_csv(con, "project;indicator;region;contribution\nP-1;NEWIND;75;3\n", "utf-8")
    b_con = _commit(store, con, "contributions")
    before = _tables(store)
    with pytest.raises(RollbackRefused) as e:
        rollback(store, b_ind)
    assert "project_contributions" in str(e.value) and f"batch {b_con}" in str(e.value)
    assert _tables(store) == before


def test_indicators_batch_with_later_values_is_refused_naming_the_batch(store, tmp_path):
    ind = tmp_path / "ind.csv"
    write_csv(ind, "code;name;periodicity\nNEWIND;New;year\n", "utf-8")
    b_ind = _commit(store, ind, "indicators")
    val = tmp_path / "val.csv"
    write_csv(val, "indicator;region;period;fact\nNEWIND;75;2024;5\n", "utf-8")
    b_val = _commit(store, val, "indicator_values")
    with pytest.raises(RollbackRefused) as e:
        rollback(store, b_ind)
    assert "indicator_values" in str(e.value) and f"batch {b_val}" in str(e.value)
    rollback(store, b_val)
    assert rollback(store, b_ind)["deleted"] == 1
