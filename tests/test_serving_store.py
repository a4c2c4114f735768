"""The serving store (issue 10): the app holds the database file only while it writes and reads published
snapshots, so the CLI imports while the app serves, several processes serve one store, and none of them
ever sees half a batch. Real files, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sac.store import SNAPSHOTS_KEPT, ServingStore, Store, current_snapshot, snapshots_dir
from tests.test_store_concurrency import _csv

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "sac.duckdb"
    with Store(path) as s, s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "SELECT 'IND-' || CAST(i AS VARCHAR), 'x', 'x', 'x', 'month' FROM range(50) t(i)")
    return path


def _env(db: Path, **extra) -> dict:
    return dict(os.environ, SAC_DB_PATH=str(db), PYTHONPATH=str(ROOT), **extra)


def _cli_import(db: Path, csv: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sac", "import", str(csv), "--kind", "indicator_values"],
                          cwd=ROOT, env=_env(db, **env), capture_output=True, text=True, timeout=120)


def test_the_cli_imports_while_a_serving_store_is_open_and_the_server_sees_it_at_its_next_query(db, tmp_path):
    serving = ServingStore(db)
    try:
        before = serving.data_version()
        assert serving.scalar("SELECT count(*) FROM indicator_values") == 0
        proc = _cli_import(db, _csv(tmp_path / "a.csv", 1200), SAC_LOCK_TIMEOUT="2")
        assert proc.returncode == 0, proc.stderr
        assert "COMMITTED as batch 1" in proc.stdout
        # no reopen, no restart: the next query reads the snapshot the CLI published
        assert serving.scalar("SELECT count(*) FROM indicator_values") == 1200
        assert serving.data_version() == before + 1
    finally:
        serving.close()


def test_a_serving_store_holds_no_lock_between_writes(db):
    serving = ServingStore(db)
    try:
        with serving.write() as cur:
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('probe', 'a')")
        assert serving.scalar("SELECT value FROM meta WHERE key = 'probe'") == "a"
        # another process opens the file for writing at once (it would wait and fail busy if the lock were held)
        code = "from sac.store import Store\nwith Store(lock_timeout=0) as s, s.write() as c:\n" \
               "    c.execute(\"UPDATE meta SET value = 'b' WHERE key = 'probe'\")\n"
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(db), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert serving.scalar("SELECT value FROM meta WHERE key = 'probe'") == "b"
    finally:
        serving.close()


_SERVER = textwrap.dedent("""
    import sys, time
    from sac.store import ServingStore
    s = ServingStore()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "write":
            with s.write() as cur:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", [cmd[1]])
            print("ok", flush=True)
        elif cmd[0] == "read":
            print(s.scalar("SELECT value FROM meta WHERE key = 'probe'"), flush=True)
""")


class _Server:
    """A serving process driven over stdin: `write V` commits, `read` answers what it reads."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], cwd=ROOT, env=_env(db), text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()

    def ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def test_two_serving_processes_on_one_store_see_each_others_commits_at_once(db):
    a, b = _Server(db), _Server(db)
    try:
        for i in range(5):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            assert writer.ask(f"write v{i}") == "ok"
            t0 = time.monotonic()
            assert reader.ask("read") == f"v{i}"   # the very next query, no polling
            assert time.monotonic() - t0 < 2
    finally:
        a.stop()
        b.stop()


def test_a_reader_never_sees_half_a_batch_while_another_process_imports(db, tmp_path):
    serving = ServingStore(db)
    seen: list[int] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            seen.append(serving.scalar("SELECT count(*) FROM indicator_values"))

    files = [_csv(tmp_path / f"b{i}.csv", 3000, f"B{i}") for i in range(3)]
    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for f in files:
            proc = _cli_import(db, f)
            assert proc.returncode == 0, proc.stderr
    finally:
        stop.set()
        reader.join()
    try:
        assert seen and set(seen) <= {0, 3000, 6000, 9000}, sorted(set(seen))
        assert serving.scalar("SELECT count(*) FROM indicator_values") == 9000
    finally:
        serving.close()


def test_old_snapshots_are_pruned_and_a_reader_on_a_pruned_one_keeps_reading(db):
    serving = ServingStore(db)
    old_reader = ServingStore(db)
    try:
        assert old_reader.scalar("SELECT count(*) FROM regions") == 20   # opens the snapshot of now
        held = old_reader._reader
        for i in range(2 * SNAPSHOTS_KEPT + 2):
            with serving.write() as cur:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", [str(i)])
        snaps = list(snapshots_dir(db).glob("*.duckdb"))
        assert len(snaps) <= SNAPSHOTS_KEPT
        assert current_snapshot(db) in snaps
        # the connection opened on a snapshot since removed still answers (the file stays until it is closed)
        assert held.execute("SELECT count(*) FROM regions").fetchone()[0] == 20
        assert old_reader.scalar("SELECT value FROM meta WHERE key = 'probe'") == str(2 * SNAPSHOTS_KEPT + 1)
    finally:
        serving.close()
        old_reader.close()


def test_a_writer_killed_mid_import_leaves_store_and_snapshot_whole(db, tmp_path):
    serving = ServingStore(db)
    try:
        assert _cli_import(db, _csv(tmp_path / "a.csv", 600)).returncode == 0
        big = _csv(tmp_path / "big.csv", 200_000, "K")
        proc = subprocess.Popen([sys.executable, "-m", "sac", "import", str(big), "--kind", "indicator_values"],
                                cwd=ROOT, env=_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert serving.scalar("SELECT count(*) FROM indicator_values") in (600, 200_600)
        with serving.write() as cur:   # the next writer opens the file after the crash and commits
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('after', 'kill')")
        assert serving.scalar("SELECT count(*) FROM indicator_values") in (600, 200_600)
        assert serving.scalar("SELECT value FROM meta WHERE key = 'after'") == "kill"
    finally:
        serving.close()
    with Store(db) as s:
        assert s.scalar("SELECT count(*) FROM indicator_values") in (600, 200_600)


def test_the_app_cache_key_follows_a_commit_made_by_another_process(db, tmp_path, monkeypatch):
    """The page caches key on the data version read from the snapshot: an import by the CLI changes it."""
    from sac.ui import cache

    monkeypatch.setenv("SAC_DB_PATH", str(db))
    before = cache.versions()
    assert _cli_import(db, _csv(tmp_path / "a.csv", 60)).returncode == 0
    assert cache.versions()[0] == before[0] + 1
