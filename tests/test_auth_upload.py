"""A project office signs in and uploads a file with a foreign region's rows: the importer, given the
office's ``allowed_units``, rejects those rows and writes nothing; its own rows go in."""

from __future__ import annotations

import pytest

from sac.auth import PermissionDenied
from sac.auth import accounts as acc
from sac.auth.permissions import allowed_units, require
from sac.ingest import import_file
from sac.store import Store


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)
    s = Store(tmp_path / "upload.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) VALUES "
                    "('UNEMP', 'Unemployment rate', 'Уровень безработицы', 'Жұмыссыздық', 'quarter')")
        cur.execute("INSERT INTO organisations VALUES ('AKIMAT-ALA', 'akimat', 'Akimat of Almaty', "
                    "'Акимат Алматы', 'Алматы әкімдігі', '75')")
    acc.ensure_demo_accounts(s)
    yield s
    s.close()


def upload(store, user, text: str, *, commit: bool):
    require(user, "upload")
    return import_file(store, text.encode("utf-8"), "indicator_values", file_name="office.csv",
                       user=user.username, dry_run=not commit, allowed_units=allowed_units(user, store))


def test_project_office_upload_with_a_foreign_regions_rows_is_rejected(store):
    office = acc.authenticate(store, "office", "office-demo")
    foreign = "indicator;region;period;fact\nUNEMP;75;2024-Q1;4.6\nUNEMP;AKIMAT-ALA;2024-Q1;4.5\nUNEMP;71;2024-Q1;3.9\n"
    report = upload(store, office, foreign, commit=True)
    assert report.status == "rejected"
    assert report.errors[["row", "code", "value"]].to_dict("records") == [
        {"row": 4, "code": "unit_not_allowed", "value": "71"}]
    assert store.scalar("SELECT count(*) FROM indicator_values") == 0

    own = "indicator;region;period;fact\nUNEMP;75;2024-Q1;4.6\nUNEMP;AKIMAT-ALA;2024-Q1;4.5\n"
    report = upload(store, office, own, commit=True)
    assert report.status == "committed"
    assert store.df("SELECT unit_code, fact FROM indicator_values ORDER BY unit_code").to_dict("records") == [
        {"unit_code": "75", "fact": 4.6}, {"unit_code": "AKIMAT-ALA", "fact": 4.5}]
    assert store.scalar("SELECT uploaded_by FROM upload_batches") == "office"


def test_analyst_uploads_any_region_and_leadership_may_not_upload(store):
    analyst = acc.authenticate(store, "analyst", "analyst-demo")
    text = "indicator;region;period;fact\nUNEMP;75;2024-Q1;4.6\nUNEMP;71;2024-Q1;3.9\n"
    assert upload(store, analyst, text, commit=True).status == "committed"
    leadership = acc.authenticate(store, "leadership", "leadership-demo")
    with pytest.raises(PermissionDenied):
        upload(store, leadership, text, commit=True)
