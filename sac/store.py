"""The DuckDB store: one file, numbered migrations, one writer.

One :class:`Store` per process holds the only connection to the file. Readers
take a fresh ``cursor()`` each (DuckDB's MVCC lets them read while an import is
being written); every write goes through :meth:`Store.write`, which serialises
writers in this process with a lock, runs them in one transaction, and bumps
``data_version`` so caches keyed on it see the change at once.

Across processes a SAC process takes the lock file ``<database>.lock`` (a
``flock``: exclusive for a writer, shared for a read-only store) *before* DuckDB
opens the database, and holds it until the store is closed and checkpointed. A
second process (the CLI while the app runs) waits up to ``SAC_LOCK_TIMEOUT``
seconds for it and then fails with :class:`StoreBusy`, naming the file.

Why DuckDB's own lock is not enough: ``duckdb.connect`` (2.0) reads the file's
headers through a descriptor of its own that holds no lock, closes it, and only
then opens the file again and takes its ``fcntl`` lock, without reading the
headers again. A process whose connect straddled another's last checkpoint
(headers read before it, lock taken after that process closed) worked on the
state from before that checkpoint: it took the same batch id, and its own
checkpoint overwrote the other's header, so an import already reported as
``COMMITTED as batch N`` disappeared (issue 8, finding 2; ``tests/test_torture.py``
makes the window wide with strace and shows it). Under the lock file no SAC
process reads the headers while another may still change them.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

try:
    import fcntl
except ImportError:  # Windows: DuckDB locks the file with LockFileEx on the handle it reads it through
    fcntl = None

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


def _busy(path: Path, timeout: float, said: object = None) -> StoreBusy:
    return StoreBusy(
        f"The database {path} is in use by another SAC process (the app or an import). "
        f"Waited {timeout:g} s for it. Upload through the running app, or stop it and try again."
        + (f" DuckDB said: {said}" if said else "")
    )


def lock_path(path: str | Path) -> Path:
    """The lock file of the database ``path``: ``<path>.lock`` (and ``<path>.lock.queue`` for those waiting for
    it). Both are kept: never delete them while SAC may run."""
    return Path(str(path) + ".lock")


@dataclass
class _Held:
    fd: int
    exclusive: bool
    users: int
    db: str       # the database file's real path (see _release)


# This process's holds on lock files, by the lock file's real path. A flock belongs to the open file
# description: a second descriptor of the same file in this process would wait for the first, so every
# Store of this process on one database shares one descriptor, released when the last of them closes.
_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def _try_flock(lp: Path, mode: int, exclusive: bool) -> int | None | bool:
    """A descriptor of ``lp`` holding ``mode``; None when another process holds it; False when ``lp`` cannot be
    opened by a reader (a directory it may not write to: nobody writes there either, go without)."""
    try:  # read-only is enough for flock, and lets a reader use a lock file another user created
        fd = os.open(lp, os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        if exclusive or lp.exists():
            raise
        return False
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _acquire(path: Path, exclusive: bool, deadline: float, timeout: float) -> str | None:
    """Hold the lock file of ``path`` for one Store; the key to :func:`_release`, or None (no lock file).

    Waiters line up: the one in front holds ``<path>.lock.queue`` until it has the lock, so a process that
    closes and at once opens again (a loop of imports) queues behind it instead of taking the lock back
    before the waiter's next try (without the queue, four such loops kept one another out for over a minute)."""
    if fcntl is None or str(path) == "" or str(path).startswith(":memory:"):  # in memory: nothing to share
        return None
    lp = lock_path(path)
    key = os.path.realpath(lp)
    queue: int | None | bool = None
    try:
        while True:
            with _held_guard:
                held = _held.get(key)
                if held is not None:   # another Store of this process (DuckDB shares the instance, too)
                    held.users += 1
                    return key
                if queue is None:
                    queue = _try_flock(Path(f"{lp}.queue"), fcntl.LOCK_EX, exclusive)
                if queue is not None:  # in front (or no queue file): try the lock itself
                    fd = _try_flock(lp, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, exclusive)
                    if fd is False:
                        return None
                    if fd is not None:
                        _held[key] = _Held(fd, exclusive, 1, os.path.realpath(path))
                        return key
            if time.monotonic() >= deadline:
                raise _busy(path, timeout)
            time.sleep(0.02)
    finally:
        if isinstance(queue, int) and not isinstance(queue, bool):
            os.close(queue)


def _open_here(db: str) -> bool:
    """Whether this process still has the database file open (Linux; elsewhere: assume it was closed)."""
    fds = "/proc/self/fd"
    if not os.path.isdir(fds):
        return False
    for name in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, name)) == db:
                return True
        except OSError:
            continue
    return False


def _release(key: str | None) -> None:
    """One Store fewer on the lock file; the last one closes its descriptor, which drops the flock — unless
    DuckDB still has the database open here (an instance kept alive elsewhere in this process): then the
    lock is kept until it is closed by a later Store or by the end of the process."""
    if key is None:
        return
    with _held_guard:
        held = _held.get(key)
        if held is None:
            return
        held.users = max(held.users - 1, 0)
        if held.users == 0 and not _open_here(held.db):
            del _held[key]
            os.close(held.fd)


def _connect(path: Path, read_only: bool, deadline: float, timeout: float) -> duckdb.DuckDBPyConnection:
    # With the lock file held, only a process that is not SAC (or a database kept open after close) holds
    # DuckDB's own lock: wait for it within the same deadline.
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise _busy(path, timeout, e) from e
            time.sleep(0.2)


@contextmanager
def holding(path: str | Path, *, exclusive: bool = True, timeout: float | None = None) -> Iterator[None]:
    """Hold the database's lock file without opening the database: no SAC process opens ``path`` meanwhile (for
    replacing the file). Waits up to ``timeout`` (``SAC_LOCK_TIMEOUT``) seconds, then raises :class:`StoreBusy`."""
    if timeout is None:
        timeout = float(os.environ.get("SAC_LOCK_TIMEOUT", "15"))
    key = _acquire(Path(path), exclusive, time.monotonic() + timeout, timeout)
    try:
        yield
    finally:
        _release(key)


_open_stores: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    """Checkpoint and close whatever Store is still open when the interpreter exits (the app's cached one):
    DuckDB's binding does not destroy objects still referenced at exit, so its own checkpoint never runs."""
    for store in list(_open_stores):
        try:
            store.close()
        except Exception:
            pass


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
        self._write_lock = threading.RLock()
        self._closed = False
        deadline = time.monotonic() + lock_timeout
        self._lock_key = _acquire(self.path, not read_only, deadline, lock_timeout)
        try:
            self._con = _connect(self.path, read_only, deadline, lock_timeout)
            try:
                if not read_only:
                    self.migrate()
            except BaseException:
                self._con.close()
                raise
        except BaseException:
            _release(self._lock_key)
            raise
        _open_stores.add(self)

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
    def write(self, *, data: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """One writer at a time, one transaction: all of it is committed or none.

        ``data=False`` for writes that change no figure a page computes (a sign-in, a failed one, a sign-out,
        a language choice): they leave ``data_version`` as it is, so they do not empty every reader's cache
        (one anonymous wrong password did)."""
        if self.read_only:
            raise PermissionError(f"{self.path} is open read-only")
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                if data:
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
        """Checkpoint (a writer), close the connection, then let the next process in. Idempotent.

        The checkpoint writes what the write-ahead log holds into the file while this process still holds
        the lock file: the next process to open it reads headers no one changes any more."""
        with self._write_lock:   # a writer of another thread finishes its transaction first
            if self._closed:
                return
            self._closed = True
            try:
                try:
                    if not self.read_only:
                        self._con.execute("CHECKPOINT")
                except duckdb.TransactionException:
                    pass  # readers of other threads still in a transaction: DuckDB checkpoints as it closes
                finally:
                    self._con.close()
            finally:
                _open_stores.discard(self)
                _release(self._lock_key)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: dict[str, Store] = {}
_shared_guard = threading.Lock()


def shared(path: str | Path | None = None) -> Store:
    """This process's store for the server: the Streamlit pages (through :func:`sac.ui.cache.store`), the
    sign-in routes and the API all use this one, per database file."""
    p = str(Path(path) if path is not None else db_path())
    with _shared_guard:
        store = _shared.get(p)
        if store is None or store._closed:
            store = _shared[p] = Store(p)
        return store


REGIONS_CSV = Path(__file__).resolve().parent / "reference" / "regions.csv"


def _seed_regions(cur: duckdb.DuckDBPyConnection) -> None:
    """Seed the 20 regions and cities from regions.csv (a copy of shared/domain/regions.csv)."""
    cur.execute(
        "INSERT INTO regions (kato, iso, kind, name_en, name_ru, name_kk, centre_en) "
        "SELECT CAST(kato AS VARCHAR), iso, kind, name_en, name_ru, name_kk, centre_en "
        "FROM read_csv(?, header = true, all_varchar = true)",
        [str(REGIONS_CSV)],
    )
