"""Organisations and budget programmes as upload kinds (issue 9): names fill each other, a budget line of an
organisation's programme then imports, an office may not upload reference data, and a batch rolls back
unless later rows use what it added."""

from __future__ import annotations

import pytest

from sac.ingest import RollbackRefused, import_file, rollback
from tests.test_ingest import make_store, write_csv


@pytest.fixture
def store(tmp_path):
    s = make_store(tmp_path / "sac.duckdb")
    yield s
    s.close()


def test_organisation_and_programme_then_a_budget_line(store, tmp_path):
    orgs = tmp_path / "orgs.csv"
    write_csv(orgs, "Код организации;Тип;Наименование;Регион\nMZ;министерство;Министерство здравоохранения;\n"
                    "AKM-ALM;акимат;Акимат г. Алматы;г. Алматы\n", "utf-8")
    rep = import_file(store, orgs, "organisations", dry_run=False)
    assert rep.status == "committed", rep.problems
    got = store.df("SELECT org_id, kind, name_en, name_ru, name_kk, region_kato FROM organisations "
                   "WHERE org_id IN ('MZ', 'AKM-ALM') ORDER BY 1")
    assert got.fillna("-").to_dict("records") == [
        {"org_id": "AKM-ALM", "kind": "akimat", "name_en": "Акимат г. Алматы", "name_ru": "Акимат г. Алматы",
         "name_kk": "Акимат г. Алматы", "region_kato": "75"},
        {"org_id": "MZ", "kind": "state_body", "name_en": "Министерство здравоохранения",
         "name_ru": "Министерство здравоохранения", "name_kk": "Министерство здравоохранения", "region_kato": "-"}]

    prog = tmp_path / "prog.csv"
    write_csv(prog, "program;name;атауы;administrator\n068;Health care;Денсаулық сақтау;MZ\n", "utf-8")
    rep = import_file(store, prog, "budget_programs", dry_run=False)
    assert rep.status == "committed", rep.problems
    assert store.df("SELECT name_en, name_ru, name_kk, administrator FROM budget_programs").iloc[0].tolist() == [
        "Health care", "Health care", "Денсаулық сақтау", "MZ"]

    bud = tmp_path / "budget.csv"
    write_csv(bud, "program;unit;period;document;plan\n068;MZ;2024;Budget law;100\n", "utf-8")
    rep = import_file(store, bud, "budget", dry_run=False)
    assert rep.status == "committed", rep.problems

    with pytest.raises(RollbackRefused) as e:  # the line uses the organisation and the programme
        rollback(store, 1)
    assert "budget_lines holds rows of MZ" in str(e.value)


def test_unknown_administrator_is_an_error_and_an_office_may_not_upload_reference_data(store, tmp_path):
    prog = tmp_path / "prog.csv"
    write_csv(prog, "program;name;administrator\n068;Health care;NOBODY\n", "utf-8")
    rep = import_file(store, prog, "budget_programs")
    assert rep.errors[["row", "code"]].to_dict("records") == [{"row": 2, "code": "unknown_reference"}]
    orgs = tmp_path / "orgs.csv"
    write_csv(orgs, "org_id;name;region\nX;X;75\n", "utf-8")
    rep = import_file(store, orgs, "organisations", allowed_units={"75"})
    assert rep.errors["code"].tolist() == ["kind_not_allowed"]


def test_organisation_batch_rolls_back_exactly(store, tmp_path):
    before = store.df("SELECT * FROM organisations ORDER BY org_id")
    orgs = tmp_path / "orgs.csv"
    write_csv(orgs, "org_id;name;kind\nNEW;New body;other\nAKIMAT-ALA;Akimat of Almaty (renamed);akimat\n", "utf-8")
    rep = import_file(store, orgs, "organisations", dry_run=False)
    assert (rep.inserted, rep.updated) == (1, 1)
    assert rollback(store, rep.batch_id) == {"batch_id": rep.batch_id, "restored": 1, "deleted": 1}
    after = store.df("SELECT * FROM organisations ORDER BY org_id")
    assert after.astype(str).equals(before.astype(str))
