"""Only data changes the cache key (issue 8, noticed with the lockout; issue 15 item 1): a sign-in, a failed one,
a sign-out or a language choice leaves data_version as it is, so one anonymous wrong password no longer empties
every reader's cached metrics; an upload still moves it."""

from __future__ import annotations

import pytest

from sac.auth import accounts
from sac.store import Store


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", 4)
    s = Store(tmp_path / "sac.duckdb")
    accounts.add_user(s, "admin", "anna", "analyst", password="correct horse 1")
    yield s
    s.close()


def test_sign_in_traffic_leaves_the_data_version(store):
    before = store.data_version()
    with pytest.raises(accounts.SignInFailed):
        accounts.authenticate(store, "anna", "wrong password")
    with pytest.raises(accounts.SignInFailed):
        accounts.authenticate(store, "nobody", "wrong password")
    user = accounts.authenticate(store, "anna", "correct horse 1")
    accounts.set_language(store, "anna", "kk")
    accounts.sign_out(store, user)
    assert store.data_version() == before
    # and each of them is still recorded
    actions = store.df("SELECT action FROM audit_log ORDER BY entry_id")["action"].tolist()
    assert actions[-4:] == ["sign_in_failed", "sign_in_failed", "sign_in", "sign_out"]


def test_a_data_write_moves_it(store):
    before = store.data_version()
    with store.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "VALUES ('X', 'x', 'x', 'x', 'year')")
    assert store.data_version() == before + 1
