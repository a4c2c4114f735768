"""Issue 8, finding 5: wrong passwords sent in parallel get no more password checks than the lockout allows.

The app serves concurrent sessions from threads of one process sharing one Store, so 20 threads on one
Store is the attack. Separate OS processes cannot share the database file: each waits for DuckDB's file
lock, so their attempts are serialised (the second test shows the lockout holds there too).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from sac.auth import accounts as acc
from sac.store import Store

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 11, 23, 9, 0, 0)
POLICY = acc.LockoutPolicy(max_attempts=5, minutes=15)
RIGHT = "the-right-password"
THREADS = 20
TRIES_PER_THREAD = 4        # 80 wrong passwords in all


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "x.duckdb")
    acc.add_user(s, "admin", "victim", "analyst", RIGHT, must_change_password=False)
    yield s
    s.close()


@pytest.fixture
def checks(monkeypatch):
    """Count the password checks against the account's hash. A short sleep stands in for the real cost of
    bcrypt (about 0.2 s at the default 12 rounds; these tests use 4), which is the window the race needs."""
    seen: list[str] = []
    real = acc.check_password

    def counting(password, password_hash):
        ok = real(password, password_hash)
        seen.append(password)
        time.sleep(0.02)
        return ok

    monkeypatch.setattr(acc, "check_password", counting)
    return seen


def audit_actions(store) -> list[tuple[str, dict]]:
    df = store.df("SELECT action, details FROM audit_log WHERE target = 'victim' ORDER BY entry_id")
    return [(a, json.loads(d) if isinstance(d, str) else {}) for a, d in zip(df["action"], df["details"], strict=True)]


def test_twenty_threads_of_wrong_passwords_get_at_most_max_attempts_checks(store, checks):
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def attacker():
        try:
            barrier.wait()
            for _ in range(TRIES_PER_THREAD):
                try:
                    acc.authenticate(store, "victim", "wrong-password", now=T0, policy=POLICY)
                except acc.SignInFailed as e:
                    outcomes.append(e.code)
                else:
                    outcomes.append("signed_in")
        except BaseException as e:      # surfaced below, not lost in a thread
            errors.append(e)

    threads = [threading.Thread(target=attacker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    counts = Counter(outcomes)
    print(f"\n{THREADS} threads x {TRIES_PER_THREAD} wrong passwords: {len(checks)} password checks, {dict(counts)}")

    assert sum(counts.values()) == THREADS * TRIES_PER_THREAD and counts["signed_in"] == 0
    # Every wrong password is checked only while the account has attempts left: exactly max_attempts of them
    # (all are wrong, so the lock comes at the max_attempts-th); the rest are refused without a check.
    assert len(checks) == POLICY.max_attempts
    assert counts["bad_credentials"] == POLICY.max_attempts - 1
    assert counts["locked"] == THREADS * TRIES_PER_THREAD - (POLICY.max_attempts - 1)

    row = store.df("SELECT locked_until FROM users WHERE username = 'victim'").iloc[0]
    assert row["locked_until"] == T0 + dt.timedelta(minutes=POLICY.minutes)

    # While locked even the right password is refused, and it is not even checked.
    with pytest.raises(acc.SignInFailed) as e:
        acc.authenticate(store, "victim", RIGHT, now=T0 + dt.timedelta(minutes=10), policy=POLICY)
    assert e.value.code == "locked"
    assert len(checks) == POLICY.max_attempts

    actions = audit_actions(store)
    assert [a for a, _ in actions].count("locked_out") == 1
    wrong = [d for a, d in actions if a == "sign_in_failed" and d.get("reason") == "wrong_password"]
    assert len(wrong) == POLICY.max_attempts
    assert sorted(d["attempt"] for d in wrong) == list(range(1, POLICY.max_attempts + 1))
    assert len([d for a, d in actions if a == "sign_in_failed" and d.get("reason") == "locked"]) == counts["locked"]

    # After the lock the right password works and clears the counter.
    user = acc.authenticate(store, "victim", RIGHT, now=T0 + dt.timedelta(minutes=16), policy=POLICY)
    assert user.username == "victim"
    row = store.df("SELECT failed_attempts, locked_until FROM users WHERE username = 'victim'").iloc[0]
    assert row["failed_attempts"] == 0 and pd.isna(row["locked_until"])


def test_the_right_password_among_parallel_wrong_ones_within_the_allowance_signs_in(store, checks):
    """The counter is reserved before the check, so a right password sent beside wrong ones still works
    when it is one of the first max_attempts, and a success clears the counter."""
    barrier = threading.Barrier(POLICY.max_attempts)
    outcomes: list[str] = []

    def attempt(password):
        barrier.wait()
        try:
            acc.authenticate(store, "victim", password, now=T0, policy=POLICY)
        except acc.SignInFailed as e:
            outcomes.append(e.code)
        else:
            outcomes.append("signed_in")

    passwords = ["wrong-password"] * (POLICY.max_attempts - 1) + [RIGHT]
    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("signed_in") == 1
    assert len(checks) == POLICY.max_attempts


def test_separate_processes_are_serialised_by_the_file_lock_and_the_lockout_holds(tmp_path):
    """A second process cannot open the file while another holds it (DuckDB's lock; Store waits for it), so
    processes take turns: 4 processes x 3 wrong passwords still get exactly max_attempts checks."""
    path = tmp_path / "x.duckdb"
    with Store(path) as s:
        acc.add_user(s, "admin", "victim", "analyst", RIGHT, must_change_password=False)
    script = textwrap.dedent(f"""
        import datetime as dt, sys
        from sac.auth import accounts as acc
        from sac.store import Store
        acc.BCRYPT_ROUNDS = 4
        codes = []
        with Store({str(path)!r}, lock_timeout=60) as s:
            for _ in range(3):
                try:
                    acc.authenticate(s, "victim", "wrong-password", now=dt.datetime(2026, 11, 23, 9),
                                     policy=acc.LockoutPolicy(5, 15))
                except acc.SignInFailed as e:
                    codes.append(e.code)
        print(",".join(codes))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    codes = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        codes += out.strip().split(",")
    assert Counter(codes) == {"bad_credentials": 4, "locked": 8}
    with Store(path) as s:
        actions = audit_actions(s)
    assert [a for a, _ in actions].count("locked_out") == 1
    assert len([d for a, d in actions if d.get("reason") == "wrong_password"]) == POLICY.max_attempts
