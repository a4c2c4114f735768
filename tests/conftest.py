"""Shared fixtures: one demo database built once per test session (the same builder as `python -m sac demo`)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The app shows readers a generic message for a failure (.streamlit/config.toml: showErrorDetails = "none");
# AppTest tests read the exception itself.
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")


@pytest.fixture(autouse=True)
def _apptest_error_details():
    from streamlit import config

    config.set_option("client.showErrorDetails", "full")
    yield
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory) -> Path:
    """A demo database file built once; tests must not write to it (copy it with `writable_demo_db`)."""
    from sac.demo import build_demo
    from sac.store import Store

    path = tmp_path_factory.mktemp("demo") / "sac.duckdb"
    with Store(path) as s:
        build_demo(s, today=TODAY)
        # As `python -m sac demo` does: the demo accounts exist (so the app creates no first admin whose
        # generated password would have to be changed before any page opens).
        demo_accounts(s)
    return path


def demo_accounts(store) -> None:
    """The demo accounts, hashed at bcrypt's lowest cost (tests sign in, they do not measure bcrypt)."""
    from sac.auth import accounts

    rounds, accounts.BCRYPT_ROUNDS = accounts.BCRYPT_ROUNDS, 4
    try:
        accounts.ensure_demo_accounts(store)
    finally:
        accounts.BCRYPT_ROUNDS = rounds


@pytest.fixture(scope="session")
def demo_store(demo_db_path):
    """A read-write Store on the shared demo file (read from it only)."""
    from sac.store import Store

    s = Store(demo_db_path)
    yield s
    s.close()


@pytest.fixture
def app_env(demo_db_path, monkeypatch):
    """Environment for AppTest: the app reads the demo database."""
    monkeypatch.setenv("SAC_DB_PATH", str(demo_db_path))
    monkeypatch.chdir(ROOT)
    return os.environ


# DuckDB 2.0's Python binding (nanobind) prints a page of "leaked instance" lines when the interpreter
# finalises with connections still referenced (Streamlit's cache_resource in AppTest keeps one). They come
# after pytest's summary and bury it. Nothing is leaked on disk; we end the process as soon as pytest is done.
_exit_status: int | None = None


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _exit_status is not None and not hasattr(config, "workerinput"):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
