"""Sign-in sessions (sac.auth.sessions, migration 011) on a real DuckDB file: time-outs, ending, audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sac.auth import accounts as acc
from sac.auth import sessions
from sac.auth.sessions import SessionPolicy
from sac.store import Store

T0 = dt.datetime(2026, 11, 23, 9, 0)
POLICY = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=8))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)
    s = Store(tmp_path / "sessions.duckdb")
    acc.ensure_demo_accounts(s)
    yield s
    s.close()


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def start(store, username="analyst", minutes: float = 0, **kw) -> str:
    return sessions.create(store, username, now=at(minutes), policy=POLICY, **kw)


def who(store, token, minutes: float):
    user = sessions.resolve(store, token, now=at(minutes), policy=POLICY)
    return None if user is None else user.username


def row(store, token) -> dict:
    return store.df("SELECT * FROM sessions WHERE token_hash = ?", [sessions.hash_token(token)]).iloc[0].to_dict()


def ended(store) -> list[dict]:
    df = store.df("SELECT actor, target, details FROM audit_log WHERE action = 'session_ended' ORDER BY entry_id")
    return [{**r, "details": json.loads(r["details"])} for r in df.to_dict("records")]


def test_the_token_is_random_and_only_its_hash_is_kept(store):
    a, b = start(store), start(store)
    assert a != b and len(a) >= 43
    stored = store.df("SELECT token_hash FROM sessions")["token_hash"].tolist()
    assert sorted(stored) == sorted([sessions.hash_token(a), sessions.hash_token(b)])
    assert a not in stored and b not in stored


def test_a_session_resolves_to_the_user_with_fresh_role_and_units(store):
    token = start(store, "office", user_agent="Mozilla/5.0 test", client_ip="10.0.0.7")
    user = sessions.resolve(store, token, now=at(1), policy=POLICY)
    assert (user.username, user.role, user.units, user.source) == ("office", "project_office", frozenset({"75"}),
                                                                 "builtin")
    acc.update_user(store, "admin", "office", units=["75", "79"])
    assert sessions.resolve(store, token, now=at(2), policy=POLICY).units == {"75", "79"}
    assert (row(store, token)["user_agent"], row(store, token)["client_ip"]) == ("Mozilla/5.0 test", "10.0.0.7")


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 10_000])
def test_no_unknown_or_oversized_token_signs_anyone_in(store, token):
    start(store)
    assert sessions.resolve(store, token, now=at(1), policy=POLICY) is None


def test_idle_time_out_counts_from_the_last_use(store):
    token = start(store)
    assert who(store, token, 29) == "analyst"          # used at 29 min: last seen moves on
    assert who(store, token, 58) == "analyst"          # 29 min after that use
    assert who(store, token, 89) is None               # 31 min idle
    assert who(store, token, 90) is None               # and it stays ended
    assert row(store, token)["revoked_reason"] == "idle"
    assert ended(store) == [{"actor": "system", "target": "analyst", "details": {"reason": "idle", "sessions": 1}}]


def test_last_seen_is_written_at_most_once_a_minute(store):
    token = start(store)
    before = store.df("SELECT count(*) AS n FROM sessions")["n"][0]
    who(store, token, 0.5)
    assert row(store, token)["last_seen_at"] == T0                   # 30 s: not written
    who(store, token, 1.5)
    assert row(store, token)["last_seen_at"] == at(1.5)
    assert store.df("SELECT count(*) AS n FROM sessions")["n"][0] == before


def test_uses_are_written_in_one_batch_per_process_at_most_once_a_minute(store):
    a, b = start(store), start(store)
    who(store, a, 1.5)                                               # the first batch goes at once
    who(store, b, 1.7)                                               # the next waits for the minute to pass
    assert (row(store, a)["last_seen_at"], row(store, b)["last_seen_at"]) == (at(1.5), T0)
    assert who(store, b, 31.5) == "analyst"                          # idle counts from the use at 1.7 all the same
    assert (row(store, a)["last_seen_at"], row(store, b)["last_seen_at"]) == (at(1.5), at(31.5))


def test_a_short_idle_time_out_refreshes_more_often_than_it_expires():
    policy = SessionPolicy(idle=dt.timedelta(seconds=4), absolute=dt.timedelta(hours=1))
    assert policy.touch_every == dt.timedelta(seconds=2)
    assert POLICY.touch_every == dt.timedelta(minutes=1)


def test_absolute_time_out_ends_even_a_busy_session(store):
    token = start(store)
    for minutes in range(0, 8 * 60, 20):
        assert who(store, token, minutes) == "analyst"
    assert who(store, token, 8 * 60) is None
    assert row(store, token)["revoked_reason"] == "expired"


def test_policy_from_the_environment_takes_fractions():
    policy = SessionPolicy.from_env({"SAC_SESSION_IDLE_MINUTES": "0.05", "SAC_SESSION_MAX_HOURS": "0.5"})
    assert policy == SessionPolicy(dt.timedelta(seconds=3), dt.timedelta(minutes=30))
    assert SessionPolicy.from_env({}) == SessionPolicy(dt.timedelta(minutes=60), dt.timedelta(hours=12))
    with pytest.raises(ValueError):
        SessionPolicy.from_env({"SAC_SESSION_IDLE_MINUTES": "0"})


def test_sign_out_ends_only_that_session_and_is_audited_once(store):
    mine, other = start(store), start(store)
    user = sessions.resolve(store, mine, now=at(1), policy=POLICY)
    acc.sign_out(store, user, mine, now=at(2))
    assert who(store, mine, 3) is None and who(store, other, 3) == "analyst"
    assert row(store, mine)["revoked_reason"] == "sign_out"
    log = store.df("SELECT actor, action, target FROM audit_log WHERE action IN ('sign_out', 'session_ended')")
    assert log.to_dict("records") == [{"actor": "analyst", "action": "sign_out", "target": "analyst"}]


def test_a_new_sign_in_in_the_same_browser_replaces_the_old_session(store):
    old = start(store)
    new = start(store, "admin", minutes=1, replaces=old)
    assert who(store, old, 2) is None and who(store, new, 2) == "admin"
    assert row(store, old)["revoked_reason"] == "replaced"


def test_a_password_change_ends_the_users_other_sessions_but_not_this_one(store):
    here, laptop, phone = start(store), start(store), start(store)
    someone_else = start(store, "office")
    acc.change_password(store, "analyst", "analyst-demo", "a-new-secret", keep_session=here, now=at(5))
    now = 6
    assert who(store, here, now) == "analyst"
    assert who(store, laptop, now) is None and who(store, phone, now) is None
    assert who(store, someone_else, now) == "office"
    assert row(store, laptop)["revoked_reason"] == "password_changed"
    assert ended(store) == [{"actor": "analyst", "target": "analyst",
                             "details": {"reason": "password_changed", "sessions": 2}}]


def test_an_admin_reset_or_disable_ends_every_session(store):
    a, b = start(store), start(store, "leadership")
    acc.reset_password(store, "admin", "analyst", "temporary-pw")
    acc.disable_user(store, "admin", "leadership")
    assert row(store, a)["revoked_reason"] == "password_reset"
    assert row(store, b)["revoked_reason"] == "user_disabled"
    assert [(e["actor"], e["target"], e["details"]["reason"]) for e in ended(store)] == [
        ("admin", "analyst", "password_reset"), ("admin", "leadership", "user_disabled")]
    acc.enable_user(store, "admin", "leadership")
    assert who(store, b, 1) is None                       # enabling again does not bring an ended session back


def test_a_disabled_account_signs_in_through_no_session_even_one_started_before(store):
    token = start(store)
    with store.write(data=False) as cur:                  # disabled behind the app's back (not through accounts)
        cur.execute("UPDATE users SET disabled = TRUE WHERE username = 'analyst'")
    assert who(store, token, 1) is None
    assert row(store, token)["revoked_reason"] == "user_disabled"


def test_an_admin_ends_a_users_sessions_and_lists_them(store):
    a, b = start(store, user_agent="Firefox"), start(store, minutes=1, user_agent="Chromium")
    start(store, "office")
    live = sessions.list_sessions(store, "analyst", now=at(2), policy=POLICY)
    assert live["user_agent"].tolist() == ["Chromium", "Firefox"]
    assert set(live.columns) == {"session", "username", "source", "created_at", "last_seen_at", "expires_at",
                                 "revoked_at", "revoked_reason", "user_agent", "client_ip"}
    assert all(len(s) == 8 for s in live["session"]) and sessions.hash_token(a)[:8] in set(live["session"])
    assert sessions.end_user_sessions(store, "admin", "analyst", now=at(3)) == 2
    assert who(store, a, 4) is None and who(store, b, 4) is None
    assert sessions.list_sessions(store, "analyst", now=at(4), policy=POLICY).empty
    assert len(sessions.list_sessions(store, "analyst", live_only=False, now=at(4), policy=POLICY)) == 2
    assert len(sessions.list_sessions(store, now=at(4), policy=POLICY)) == 1            # office's
    assert ended(store)[-1] == {"actor": "admin", "target": "analyst",
                                "details": {"reason": "ended_by_admin", "sessions": 2}}
    assert sessions.end_user_sessions(store, "admin", "analyst", now=at(5)) == 0


def test_idle_sessions_are_not_listed_as_live(store):
    start(store)
    assert len(sessions.list_sessions(store, "analyst", now=at(29), policy=POLICY)) == 1
    assert sessions.list_sessions(store, "analyst", now=at(31), policy=POLICY).empty


def test_a_session_of_a_removed_account_ends(store):
    token = start(store)
    with store.write(data=False) as cur:
        cur.execute("DELETE FROM users WHERE username = 'analyst'")
    assert who(store, token, 1) is None
    assert row(store, token)["revoked_reason"] == "user_missing"
