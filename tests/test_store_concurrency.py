"""Concurrent uploads: writers in one process serialise, another process waits then fails with StoreBusy,
readers keep reading during a long import and never see half of it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from sac.ingest import batches, import_file
from sac.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "SELECT 'IND-' || CAST(i AS VARCHAR), 'x', 'x', 'x', 'month' FROM range(50) t(i)")
    yield s
    s.close()


def _csv(path: Path, rows: int, doc: str = "D") -> Path:
    regions = [r[0] for r in duckdb.sql(
        f"SELECT kato FROM read_csv('{ROOT / 'sac/reference/regions.csv'}', all_varchar = true)").fetchall()]
    duckdb.execute(f"""COPY (SELECT 'IND-' || CAST(i % 50 AS VARCHAR) AS indicator, r.kato AS region,
                        CAST(2000 + m // 12 AS VARCHAR) || '-' || lpad(CAST(m % 12 + 1 AS VARCHAR), 2, '0') AS period,
                        '{doc}' || CAST(i // 50 AS VARCHAR) AS document, replace(CAST(i * 0.5 AS VARCHAR), '.', ',') AS fact
                        FROM range({-(-rows // (20 * 600))}) a(i), (SELECT unnest(?) AS kato) r, range(600) b(m)
                        LIMIT {rows}) TO '{path}' (HEADER, DELIMITER ';')""", [regions])
    return path


def test_two_threads_committing_at_once_both_land(store, tmp_path):
    files = [_csv(tmp_path / "a.csv", 3000, "A"), _csv(tmp_path / "b.csv", 3000, "B")]
    version = store.data_version()
    barrier = threading.Barrier(2)
    reports = []

    def upload(p):
        barrier.wait()
        reports.append(import_file(store, p, "indicator_values", dry_run=False, user=p.stem))

    threads = [threading.Thread(target=upload, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in reports) == ["committed", "committed"]
    assert sorted(r.batch_id for r in reports) == [1, 2]
    assert store.scalar("SELECT count(*) FROM indicator_values") == 6000
    assert store.df("SELECT batch_id, count(*) AS n FROM indicator_values GROUP BY 1 ORDER BY 1")["n"].tolist() == [
        3000, 3000]
    assert store.data_version() == version + 2
    assert sorted(batches(store)["uploaded_by"]) == ["a", "b"]


def test_two_threads_committing_the_same_keys_leave_one_row_per_key(store, tmp_path):
    """indicator_values has no key index (migration 005): serialised writers, each diffing inside its own
    transaction, are what keeps one row per key. The second to commit updates what the first inserted."""
    a = _csv(tmp_path / "a.csv", 3000, "D")
    header, *lines = a.read_text(encoding="utf-8").splitlines()
    b = tmp_path / "b.csv"   # the same keys, every fact changed (a digit appended: 0,5 -> 0,51)
    b.write_text("\n".join([header, *(line + "1" for line in lines)]) + "\n", encoding="utf-8")
    barrier = threading.Barrier(2)
    reports = []

    def upload(p):
        barrier.wait()
        reports.append(import_file(store, p, "indicator_values", dry_run=False, user=p.stem))

    threads = [threading.Thread(target=upload, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.inserted, r.updated) for r in reports) == [(0, 3000), (3000, 0)]
    n, keys = store.cursor().execute("SELECT count(*), count(DISTINCT (indicator_id, unit_code, period, "
                                     "source_document)) FROM indicator_values").fetchall()[0]
    assert n == keys == 3000
    last = max(reports, key=lambda r: r.batch_id)
    assert store.scalar("SELECT count(*) FROM indicator_values WHERE batch_id = ?", [last.batch_id]) == 3000


def test_second_process_waits_then_fails_busy_and_file_is_intact(store, tmp_path):
    p = _csv(tmp_path / "a.csv", 100)
    import_file(store, p, "indicator_values", dry_run=False)
    q = _csv(tmp_path / "b.csv", 100, "B")
    env = dict(os.environ, SAC_DB_PATH=str(store.path), SAC_LOCK_TIMEOUT="1", PYTHONPATH=str(ROOT))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sac", "import", str(q), "--kind", "indicator_values"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    waited = time.monotonic() - t0
    assert proc.returncode == 3, proc.stderr
    assert "in use by another SAC process" in proc.stderr and waited >= 1.0
    assert store.scalar("SELECT count(*) FROM indicator_values") == 100
    path = store.path
    store.close()
    with Store(path) as again:
        assert again.scalar("SELECT count(*) FROM indicator_values") == 100
        assert len(batches(again)) == 1


def test_readers_keep_reading_during_a_long_import(store, tmp_path):
    p = _csv(tmp_path / "big.csv", 150_000)
    before = store.scalar("SELECT count(*) FROM indicator_values")
    done = threading.Event()
    seen: list[int] = []

    def read():
        while not done.is_set():
            seen.append(store.scalar("SELECT count(*) FROM indicator_values"))
            time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()
    rep = import_file(store, p, "indicator_values", dry_run=False)
    reads_during = len(seen)
    done.set()
    reader.join()
    assert rep.status == "committed" and rep.inserted == 150_000
    assert reads_during >= 3                          # the reader was not blocked by the import
    assert set(seen) <= {before, before + 150_000}    # and never saw half of it


_OPEN = ("import sys; from sac.store import Store; s = Store(sys.argv[1], read_only=sys.argv[2] == 'ro', "
         "lock_timeout=0.5); print(s.scalar(\"SELECT value FROM meta WHERE key = 'probe'\")); s.close()")


def _open_elsewhere(path: Path, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _OPEN, str(path), mode], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)


def test_an_open_store_keeps_other_processes_out_until_it_closed_and_checkpointed(tmp_path):
    """From open to close nobody else opens the file, not even to read its headers (issue 8, finding 2: a process
    that read them before another's last checkpoint lost that process's batch). A second Store in the same process
    shares the hold, and closing it does not let anyone in while the first is open. Closing checkpoints: the file
    alone holds every commit."""
    path = tmp_path / "sac.duckdb"
    s = Store(path)
    with s.write() as cur:
        cur.execute("INSERT INTO meta VALUES ('probe', 'committed')")
    again = Store(path)
    assert again.scalar("SELECT value FROM meta WHERE key = 'probe'") == "committed"
    again.close()
    busy = _open_elsewhere(path, "ro")
    assert busy.returncode != 0 and "in use by another SAC process" in busy.stderr
    s.close()
    assert not Path(f"{path}.wal").exists()
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    ok = _open_elsewhere(copy, "ro")
    assert ok.returncode == 0 and ok.stdout.strip() == "committed", ok.stderr


def test_readers_share_the_file_and_a_writer_waits_for_them(tmp_path):
    path = tmp_path / "sac.duckdb"
    with Store(path) as s, s.write() as cur:
        cur.execute("INSERT INTO meta VALUES ('probe', 'seen')")
    with Store(path, read_only=True) as reader:
        assert reader.scalar("SELECT value FROM meta WHERE key = 'probe'") == "seen"
        other_reader = _open_elsewhere(path, "ro")
        assert other_reader.returncode == 0 and other_reader.stdout.strip() == "seen", other_reader.stderr
        writer = _open_elsewhere(path, "rw")
        assert writer.returncode != 0 and "in use by another SAC process" in writer.stderr
    writer = _open_elsewhere(path, "rw")
    assert writer.returncode == 0 and writer.stdout.strip() == "seen", writer.stderr
