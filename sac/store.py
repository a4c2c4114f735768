"""The DuckDB store: one file, numbered migrations, one writer.

One :class:`Store` per process holds the only connection to the file. Readers
take a fresh ``cursor()`` each (DuckDB's MVCC lets them read while an import is
being written); every write goes through :meth:`Store.write`, which serialises
writers in this process with a lock, runs them in one transaction, and bumps
``data_version`` so caches keyed on it see the change at once.

Across processes DuckDB locks the file itself: a second process (the CLI while
the app runs) waits up to ``SAC_LOCK_TIMEOUT`` seconds for the lock and then
fails with :class:`StoreBusy`, naming the file — it never corrupts it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_DB_PATH = REPO_ROOT / "data" / "sac.duckdb"


class StoreBusy(RuntimeError):
    """Another process holds the database file."""


def db_path() -> Path:
    """The database file: ``SAC_DB_PATH`` or ``data/sac.duckdb``."""
    return Path(os.environ.get("SAC_DB_PATH") or DEFAULT_DB_PATH)


def _migration_files() -> list[tuple[int, str, Path]]:
    found = []
    for p in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = re.match(r"(\d+)_(.+)\.sql$", p.name)
        if m:
            found.append((int(m.group(1)), m.group(2), p))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number in {MIGRATIONS_DIR}")
    return found


def _connect(path: Path, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise StoreBusy(
                    f"The database {path} is in use by another SAC process (the app or an import). "
                    f"Waited {timeout:g} s for it. Upload through the running app, or stop it and try again. "
                    f"DuckDB said: {e}"
                ) from e
            time.sleep(0.2)


class Store:
    """The one connection of this process to the SAC database."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 lock_timeout: float | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()
        self.read_only = read_only
        if lock_timeout is None:
            lock_timeout = float(os.environ.get("SAC_LOCK_TIMEOUT", "15"))
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only, lock_timeout)
        self._write_lock = threading.RLock()
        if not read_only:
            self.migrate()

    # -- reading -----------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one reader (thread-safe use of the connection)."""
        return self._con.cursor()

    def df(self, sql: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run a read query on a fresh cursor and return a DataFrame."""
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def scalar(self, sql: str, params: list | dict | None = None):
        cur = self.cursor()
        try:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]
        finally:
            cur.close()

    def data_version(self) -> int:
        """Bumped by every committed write; cache keys include it."""
        return int(self.scalar("SELECT value FROM meta WHERE key = 'data_version'"))

    # -- writing -----------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One writer at a time, one transaction: all of it is committed or none."""
        if self.read_only:
            raise PermissionError(f"{self.path} is open read-only")
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'"
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    # -- schema ------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the numbered migrations not yet recorded, in order. Idempotent."""
        applied_now = []
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
            )
            done = {r[0] for r in cur.execute("SELECT id FROM schema_migrations").fetchall()}
            for number, name, path in _migration_files():
                if number in done:
                    continue
                cur.execute("BEGIN TRANSACTION")
                try:
                    cur.execute(path.read_text(encoding="utf-8"))
                    if number == 1:
                        _seed_regions(cur)
                    cur.execute("INSERT INTO schema_migrations (id, name) VALUES (?, ?)", [number, name])
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                applied_now.append(f"{number:03d}_{name}")
            cur.close()
        return applied_now

    def applied_migrations(self) -> list[int]:
        return [r[0] for r in self.cursor().execute("SELECT id FROM schema_migrations ORDER BY id").fetchall()]

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


REGIONS_CSV = Path(__file__).resolve().parent / "reference" / "regions.csv"


def _seed_regions(cur: duckdb.DuckDBPyConnection) -> None:
    """Seed the 20 regions and cities from regions.csv (a copy of shared/domain/regions.csv)."""
    cur.execute(
        "INSERT INTO regions (kato, iso, kind, name_en, name_ru, name_kk, centre_en) "
        "SELECT CAST(kato AS VARCHAR), iso, kind, name_en, name_ru, name_kk, centre_en "
        "FROM read_csv(?, header = true, all_varchar = true)",
        [str(REGIONS_CSV)],
    )
