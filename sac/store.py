"""The DuckDB store: one file, numbered migrations, one writer at a time, readers on published snapshots.

Every write goes through :meth:`Store.write`, which serialises writers, runs them in one transaction, and
bumps ``data_version`` so caches keyed on it see the change at once.

Two kinds of store (issue 10, docs/ARCHITECTURE.md "Processes and the store"):

- :class:`Store` holds the file for its whole life (the CLI, the demo builder, tests): it reads the file
  itself and writes in place.
- :class:`ServingStore` (the app and the API, one per process through :func:`shared`) holds nothing between
  writes. It reads from a **snapshot**: a copy of the database file published after each commit,
  ``<database>.snapshots/<n>.duckdb``, named by ``<database>.snapshots/CURRENT`` and never changed again, so
  any number of processes read it at once and none of them waits for a writer. A write takes the lock
  file, opens the database, commits, checkpoints, closes it, publishes a new snapshot and lets go: a commit
  is visible to every process at its next query (each query checks ``CURRENT``), a reader never sees half
  a batch (a snapshot is copied from a checkpointed, closed file under the lock), and the CLI can import
  while the app serves. Every writer of either kind publishes after its commit.

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
import shutil
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


def _in_memory(path: str | Path) -> bool:
    return str(path) == "" or str(path).startswith(":memory:")


def _busy(path: Path, timeout: float, said: object = None) -> StoreBusy:
    return StoreBusy(
        f"The database {path} is in use by another SAC process (an import or another write in progress). "
        f"Waited {timeout:g} s for it (SAC_LOCK_TIMEOUT). Try again when that write has finished."
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
    if fcntl is None or _in_memory(path):  # in memory: nothing to share
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


# -- snapshots ---------------------------------------------------------------
SNAPSHOTS_KEPT = 3   # the newest few stay on disk; a process still reading an older one keeps its inode (POSIX)


def snapshots_dir(path: str | Path) -> Path:
    """Where the snapshots of the database ``path`` are published: ``<path>.snapshots/``."""
    return Path(str(path) + ".snapshots")


def current_snapshot(path: str | Path) -> Path | None:
    """The newest published snapshot of ``path`` (None when none was published yet)."""
    d = snapshots_dir(path)
    try:
        name = (d / "CURRENT").read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return d / name if re.fullmatch(r"[0-9]+-[0-9]+\.duckdb", name) else None


def publish_snapshot(path: str | Path) -> Path:
    """Copy the database file ``path`` as a new snapshot and point ``CURRENT`` at it.

    The caller holds the exclusive lock file and has committed and checkpointed (or closed) its connection,
    so the file is whole; a write-ahead log left by a connection still open in this process is copied with
    it (DuckDB replays it when the snapshot is opened read-only). Written under a temporary name, then
    renamed: a reader sees the old snapshot or the new one, never a part of one."""
    path = Path(path)
    d = snapshots_dir(path)
    d.mkdir(exist_ok=True)
    name = f"{time.time_ns()}-{os.getpid()}.duckdb"
    tmp = d / f".{name}.tmp"
    shutil.copyfile(path, tmp)
    wal = Path(str(path) + ".wal")
    if wal.exists() and wal.stat().st_size:
        shutil.copyfile(wal, d / f"{name}.wal")
    os.replace(tmp, d / name)
    pointer = d / f".CURRENT.{os.getpid()}.tmp"
    pointer.write_text(name + "\n", encoding="ascii")
    os.replace(pointer, d / "CURRENT")
    _prune_snapshots(d, keep=name)
    return d / name


def _prune_snapshots(d: Path, keep: str) -> None:
    snaps = sorted((p for p in d.glob("*.duckdb") if p.name != keep),
                   key=lambda p: int(p.name.split("-")[0]), reverse=True)
    for old in snaps[SNAPSHOTS_KEPT - 1:]:
        for f in (old, Path(str(old) + ".wal")):
            try:
                f.unlink()
            except OSError:
                pass   # still open (Windows) or already gone: the next publish tries again


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, data: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on a cursor of ``con``: committed (with ``data_version`` bumped when ``data``) if the block
    ends normally, rolled back if it raises."""
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
        if data:
            cur.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


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
                 lock_timeout: float | None = None, publish: bool = True) -> None:
        """``publish=False`` for a file no reader serves from (the demo being built under a temporary name:
        its builder publishes once, after moving it into place)."""
        self.path = Path(path) if path is not None else db_path()
        self.read_only = read_only
        self.publish = publish and not read_only and not _in_memory(self.path)
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
                    applied = self.migrate()
                    if self.publish and (applied or current_snapshot(self.path) is None):
                        self._publish()
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
            with _transaction(self._con, data) as cur:
                yield cur
            if self.publish:
                self._publish()

    def _publish(self) -> None:
        """Checkpoint and publish a snapshot for the serving processes (this Store holds the lock file)."""
        try:
            self._con.execute("CHECKPOINT")
        except duckdb.TransactionException:
            pass   # a reader of another thread is in a transaction: the log is copied with the file
        publish_snapshot(self.path)

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


class ServingStore(Store):
    """A store for a serving process (the app, the API): reads the newest published snapshot, holds the
    database file only while it writes. Same reading and writing interface as :class:`Store`."""

    RETIRED_GRACE_S = 120.0   # a snapshot connection replaced by a newer one is closed this long after
    RETIRED_MAX = 8

    def __init__(self, path: str | Path | None = None, *, lock_timeout: float | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()
        if _in_memory(self.path):
            raise ValueError("a serving store needs a database file")
        self.read_only = False
        self.publish = True
        self._lock_timeout = float(os.environ.get("SAC_LOCK_TIMEOUT", "15")) if lock_timeout is None \
            else lock_timeout
        self._write_lock = threading.RLock()
        self._reader_guard = threading.Lock()
        self._closed = False
        self._lock_key = None
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._reader_stamp: tuple | None = None
        self._retired: list[tuple[duckdb.DuckDBPyConnection, float]] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._writing() as con:   # the schema is brought up to date once, by whichever process is first
            self._con = con
            try:
                applied = self.migrate()
            finally:
                del self._con
            if applied or current_snapshot(self.path) is None:
                self._checkpoint_close_publish(con)
        _open_stores.add(self)

    # -- writing -----------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The database file opened for writing under the exclusive lock file, closed before the lock goes."""
        deadline = time.monotonic() + self._lock_timeout
        key = _acquire(self.path, True, deadline, self._lock_timeout)
        try:
            con = _connect(self.path, False, deadline, self._lock_timeout)
            try:
                yield con
            finally:
                con.close()
        finally:
            _release(key)

    def _checkpoint_close_publish(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("CHECKPOINT")
        except duckdb.TransactionException:
            pass
        con.close()   # closing the last connection checkpoints too; the file is whole when it is copied
        self._switch(publish_snapshot(self.path))

    @contextmanager
    def write(self, *, data: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """As :meth:`Store.write`; waits up to ``SAC_LOCK_TIMEOUT`` s for another process's write, then raises
        :class:`StoreBusy`. When it returns, this process reads the new state; others at their next query."""
        if self._closed:
            raise RuntimeError(f"the store of {self.path} is closed")
        with self._write_lock, self._writing() as con:
            with _transaction(con, data) as cur:
                yield cur
            self._checkpoint_close_publish(con)

    # -- reading -----------------------------------------------------------
    def _switch(self, snapshot: Path) -> None:
        """Read from ``snapshot`` from now on (the one this process just published)."""
        con = duckdb.connect(str(snapshot), read_only=True)
        with self._reader_guard:
            self._replace_reader(con, self._stamp())

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(snapshots_dir(self.path) / "CURRENT")
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _replace_reader(self, con: duckdb.DuckDBPyConnection, stamp: tuple | None) -> None:
        now = time.monotonic()
        if self._reader is not None:
            self._retired.append((self._reader, now))
        self._reader, self._reader_stamp = con, stamp
        # closing a connection ends the queries of its cursors: wait RETIRED_GRACE_S, or 10 s when writes come
        # in bursts (a morning of sign-ins) and more than RETIRED_MAX would stay open
        crowded = len(self._retired) > self.RETIRED_MAX
        keep = []
        for old, since in self._retired:
            if now - since > self.RETIRED_GRACE_S or (crowded and now - since > 10.0):
                old.close()
            else:
                keep.append((old, since))
        self._retired = keep

    def _current(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise RuntimeError(f"the store of {self.path} is closed")
        stamp = self._stamp()
        if self._reader is not None and stamp == self._reader_stamp:
            return self._reader
        with self._reader_guard:
            if self._reader is not None and self._stamp() == self._reader_stamp:
                return self._reader
            for _ in range(20):   # CURRENT may move on between reading it and opening what it named
                stamp = self._stamp()
                snapshot = current_snapshot(self.path)
                if snapshot is None:
                    break
                try:
                    con = duckdb.connect(str(snapshot), read_only=True)
                except duckdb.IOException:
                    if snapshot.exists():
                        raise
                    continue
                self._replace_reader(con, stamp)
                return con
        with self._write_lock, self._writing() as con:   # no snapshot (removed by hand): publish one
            self._checkpoint_close_publish(con)
        return self._reader

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._current().cursor()

    def applied_migrations(self) -> list[int]:
        return [r[0] for r in self.df("SELECT id FROM schema_migrations ORDER BY id")["id"]]

    def close(self) -> None:
        with self._write_lock, self._reader_guard:
            if self._closed:
                return
            self._closed = True
            for con in [c for c, _ in self._retired] + ([self._reader] if self._reader is not None else []):
                try:
                    con.close()
                except Exception:
                    pass
            self._reader, self._retired = None, []
            _open_stores.discard(self)


_shared: dict[str, Store] = {}
_shared_guard = threading.Lock()


def shared(path: str | Path | None = None) -> ServingStore:
    """This process's store for the server: the Streamlit pages (through :func:`sac.ui.cache.store`), the
    sign-in routes and the API all use this one, per database file."""
    p = str(Path(path) if path is not None else db_path())
    with _shared_guard:
        store = _shared.get(p)
        if store is None or store._closed:
            store = _shared[p] = ServingStore(p)
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
