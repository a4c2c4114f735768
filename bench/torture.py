"""Torture: concurrent imports never lose an acknowledged batch; imports killed with SIGKILL leave no half batch.

    .venv/bin/python bench/torture.py --rounds 200 --kills 50     (about 16 min on the 2-core machine)
    .venv/bin/python bench/torture.py --rounds 200 --resident     (workers stay up between imports: faster)

Not part of ``make bench`` (bench/run.py runs the timing benchmarks only); run it by hand after touching the store.

Phase 1, rounds: every round ``--procs`` processes (default 4) each start ``python -m sac import FILE --kind
indicator_values`` at the same moment against one database (``SAC_DB_PATH``). The files share most of their keys
(every upload updates what the others inserted) and each has a few keys of its own. An upload is *acknowledged*
when its process printed ``FILE [indicator_values]: COMMITTED as batch N`` and exited 0. After the rounds every
acknowledged upload must be in the file: batch N with that file name and user, its audit entry, its own rows.
(``--resident``: each process stays up and runs the same CLI entry point, ``sac.cli.main``, once per round, opening
and closing its Store each time: many more hand-overs of the file per minute, no interpreter start-up.)

Phase 2, kills: an import of a larger file, in its own process, is killed with SIGKILL at a random moment between
the end of its start-up and its end (``--kills`` times). After each kill the database must open (a Store: the
write-ahead log replayed, migrations checked) and nothing may be half-written: every batch row has its audit entry
and all the row versions it counted, no row or audit entry names a batch that is not there, and ``data_version``
moved once per committed write.

Prints rounds, acknowledged batches, lost, kills, corrupt opens, half-written, wall time; exit status 0 only when
lost, corrupt opens and half-written are all 0. ``check()`` and ``run_rounds()`` are used by tests/test_torture.py.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sac.store import Store  # noqa: E402

INDICATORS = [f"IND-{i}" for i in range(10)]
ACK = re.compile(r"^(?P<file>\S+) \[indicator_values\]: COMMITTED as batch (?P<batch>\d+)$", re.M)


def _regions() -> list[str]:
    lines = (ROOT / "sac/reference/regions.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    i = header.index("kato")
    return [line.split(",")[i] for line in lines[1:] if line]


REGIONS = _regions()


@dataclass(frozen=True)
class Upload:
    file: str        # file name as the CLI prints it
    user: str
    own_doc: str     # source document of the rows only this upload has
    own_rows: int


@dataclass
class Ack:
    upload: Upload
    batch_id: int


def seed(db: Path) -> int:
    """A new database with the indicators the files use; returns data_version minus the batch count (the base
    every later committed import keeps: one data_version step per batch)."""
    for f in (db, Path(f"{db}.wal")):
        if f.exists():
            f.unlink()
    with Store(db) as s:
        with s.write() as cur:
            cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                        "SELECT 'IND-' || CAST(i AS VARCHAR), 'x', 'x', 'x', 'month' FROM range(10) t(i)")
        return s.data_version() - int(s.scalar("SELECT count(*) FROM upload_batches"))


def write_upload(path: Path, user: str, shared_rows: int = 60, own_rows: int = 10, seed_value: float = 0.0,
                 shared_doc: str = "S") -> Upload:
    """A CSV with ``shared_rows`` keys every upload of the run shares (facts differ: updates) and ``own_rows`` keys
    of its own (source document = the file's stem)."""
    own = path.stem
    per_doc = len(INDICATORS) * len(REGIONS) * 12
    lines = ["indicator;region;period;document;fact"]

    def key(i: int) -> str:
        ind = INDICATORS[i % len(INDICATORS)]
        region = REGIONS[(i // len(INDICATORS)) % len(REGIONS)]
        month = (i // (len(INDICATORS) * len(REGIONS))) % 12 + 1
        return f"{ind};{region};2024-{month:02d}"

    for i in range(shared_rows):
        lines.append(f"{key(i)};{shared_doc}{i // per_doc};{seed_value + i % 7 + 1:.2f}".replace(".", ","))
    for i in range(own_rows):
        lines.append(f"{key(i)};{own};{i + 1}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Upload(path.name, user, own, own_rows)


def acks_in(output: str, uploads: dict[str, Upload]) -> list[Ack]:
    return [Ack(uploads[m["file"]], int(m["batch"])) for m in ACK.finditer(output)]


def _env(db: Path, lock_timeout: float) -> dict[str, str]:
    return dict(os.environ, SAC_DB_PATH=str(db), SAC_LOCK_TIMEOUT=f"{lock_timeout:g}",
                PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def import_cmd(path: Path, user: str, force: bool = False) -> list[str]:
    return ["import", str(path), "--kind", "indicator_values", "--user", user] + (["--force"] if force else [])


# -- phase 1: concurrent rounds --------------------------------------------------------------

class _Resident:
    """A process running ``sac.cli.main`` once per command read from stdin (see ``--worker``)."""

    def __init__(self, db: Path, lock_timeout: float) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], cwd=ROOT, env=_env(db, lock_timeout),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(self, argv: list[str]) -> None:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> tuple[int, str, str]:
        r = json.loads(self.proc.stdout.readline())
        return r["rc"], r["out"], r["err"]

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _worker() -> int:
    from sac.cli import main
    for line in sys.stdin:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(json.loads(line))
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 2
        sys.stdout.write(json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue()}) + "\n")
        sys.stdout.flush()
    return 0


@dataclass
class RoundsResult:
    rounds: int = 0
    uploads: int = 0
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # exit status other than 0 (busy, rejected, crash)


def run_rounds(db: Path, work: Path, rounds: int, procs: int, *, resident: bool = False, lock_timeout: float = 120,
               shared_rows: int = 60, own_rows: int = 10, progress: bool = False) -> RoundsResult:
    """``rounds`` times, ``procs`` concurrent imports of files with overlapping keys; what was acknowledged."""
    res = RoundsResult()
    workers = [_Resident(db, lock_timeout) for _ in range(procs)] if resident else []
    try:
        for r in range(rounds):
            batch: list[tuple[Upload, Path]] = []
            for p in range(procs):
                path = work / f"r{r}p{p}.csv"
                batch.append((write_upload(path, f"r{r}p{p}", shared_rows, own_rows, seed_value=r * 10 + p), path))
            uploads = {u.file: u for u, _ in batch}
            outputs: list[tuple[int, str, str]] = []
            if resident:
                for w, (u, path) in zip(workers, batch, strict=True):
                    w.send(import_cmd(path, u.user))
                outputs = [w.receive() for w in workers]
            else:
                running = [subprocess.Popen([sys.executable, "-m", "sac", *import_cmd(path, u.user)], cwd=ROOT,
                                            env=_env(db, lock_timeout), stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True) for u, path in batch]
                for p in running:
                    out, err = p.communicate(timeout=lock_timeout + 120)
                    outputs.append((p.returncode, out, err))
            for (u, path), (rc, out, err) in zip(batch, outputs, strict=True):
                res.uploads += 1
                res.acks += acks_in(out, uploads)   # printed is acknowledged, whatever the exit status
                if rc != 0:
                    res.failures.append(f"{u.file}: exit {rc}: {err.strip()[-300:]}")
                path.unlink()
            res.rounds += 1
            if progress and (r + 1) % 10 == 0:
                print(f"  round {r + 1}/{rounds}: acknowledged {len(res.acks)}, failed {len(res.failures)}",
                      flush=True)
    finally:
        for w in workers:
            w.stop()
    return res


# -- the checks -----------------------------------------------------------------------------

@dataclass
class CheckResult:
    lost: list[str] = field(default_factory=list)          # acknowledged uploads not in the file as acknowledged
    half_written: list[str] = field(default_factory=list)  # batches, rows or audit entries without the rest
    batches: int = 0


def check(store: Store, acks: list[Ack], base_version: int | None = None) -> CheckResult:
    """What a user relies on: every acknowledged upload is its batch (file, user, status), with its audit entry and
    its own rows; and, for every batch in the file, all or nothing of it is there."""
    res = CheckResult()
    batches = {r[0]: r[1:] for r in store.cursor().execute(
        "SELECT batch_id, file_name, uploaded_by, status, rows_inserted + rows_updated FROM upload_batches"
    ).fetchall()}
    res.batches = len(batches)
    audit: dict[str, list[tuple[str, str]]] = {}
    for target, actor, details in store.cursor().execute(
            "SELECT target, actor, details FROM audit_log WHERE action = 'upload'").fetchall():
        audit.setdefault(target, []).append((actor, json.loads(details or "{}").get("file_name")))
    current = dict(store.cursor().execute(
        "SELECT batch_id, count(*) FROM indicator_values GROUP BY 1").fetchall())
    replaced = dict(store.cursor().execute(
        "SELECT batch_id, count(*) FROM hist_indicator_values WHERE hist_op = 'update' GROUP BY 1").fetchall())

    seen: dict[int, Ack] = {}
    for a in acks:
        u, b = a.upload, a.batch_id
        where = f"{u.file} acknowledged as batch {b}"
        if b in seen:
            res.lost.append(f"{where}: batch {b} was also acknowledged for {seen[b].upload.file}")
            continue
        seen[b] = a
        row = batches.get(b)
        if row is None:
            res.lost.append(f"{where}: no such batch in the file")
            continue
        if (row[0], row[1], row[2]) != (u.file, u.user, "committed"):
            res.lost.append(f"{where}: batch {b} in the file is {row[0]} by {row[1]} ({row[2]})")
            continue
        if (u.user, u.file) not in audit.get(str(b), []):
            res.lost.append(f"{where}: no audit entry")
        own = store.scalar("SELECT count(*) FROM indicator_values WHERE source_document = ? AND batch_id = ?",
                           [u.own_doc, b])
        if own != u.own_rows:
            res.lost.append(f"{where}: {own} of its {u.own_rows} own rows")

    for b, (file_name, _, _, written) in sorted(batches.items()):
        if len(audit.get(str(b), [])) != 1:
            res.half_written.append(f"batch {b} ({file_name}): {len(audit.get(str(b), []))} audit entries")
        versions = current.get(b, 0) + replaced.get(b, 0)   # rows it wrote: still there, or replaced later
        if versions != written:
            res.half_written.append(f"batch {b} ({file_name}): {versions} row versions, counted {written}")
    orphans = sorted(set(current) - set(batches), key=lambda x: (x is None, x))
    if orphans:
        res.half_written.append(f"rows of batches not in upload_batches: {orphans[:10]}")
    stray = sorted(t for t in audit if not (t.isdigit() and int(t) in batches))
    if stray:
        res.half_written.append(f"upload audit entries without their batch: {stray[:10]}")
    if base_version is not None:
        version = store.data_version()
        if version != base_version + len(batches):
            res.half_written.append(f"data_version {version}, expected {base_version} + {len(batches)} batches")
    return res


# -- phase 2: SIGKILL -------------------------------------------------------------------------

@dataclass
class KillsResult:
    kills: int = 0
    killed_open: int = 0             # killed while it had the database file open (Linux: /proc/PID/fd)
    committed_before_kill: int = 0   # the killed import's batch was in the file afterwards
    acknowledged: list[Ack] = field(default_factory=list)
    corrupt_opens: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)


def _timed_run(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "sac", *argv], cwd=ROOT, env=env, capture_output=True, timeout=300)
    return time.monotonic() - t0


def run_kills(db: Path, work: Path, kills: int, base_version: int, acks: list[Ack], *, rows: int = 40_000,
              rng: random.Random, progress: bool = False) -> KillsResult:
    """``kills`` imports of ``rows`` rows, each killed with SIGKILL at a random moment; after each the database must
    open and :func:`check` find nothing half-written (and every upload acknowledged so far still there)."""
    res = KillsResult()
    env = _env(db, 120)
    files = []
    for k in range(2):   # two versions of the same keys, imported in turn with --force: every import updates all
        files.append((write_upload(work / f"big{k}.csv", "killed", shared_rows=rows, own_rows=0, seed_value=k * 100,
                                   shared_doc="K"), work / f"big{k}.csv"))
    startup = min(_timed_run(["import", str(work / "missing.csv"), "--kind", "indicator_values"], env)
                  for _ in range(2))
    full = _timed_run(import_cmd(files[0][1], "calibration", force=True), env)
    for k in range(kills):
        upload, path = files[k % 2]
        upload = Upload(upload.file, f"killed{k}", upload.own_doc, 0)
        before = _batch_ids(db)
        proc = subprocess.Popen([sys.executable, "-m", "sac", *import_cmd(path, upload.user, force=True)], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(startup * 0.8, full * 1.05))
        res.killed_open += _has_open(proc.pid, db)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        res.kills += 1
        res.acknowledged += acks_in(out, {upload.file: upload})   # printed before the kill: acknowledged
        try:
            with Store(db) as s:
                after = set(r[0] for r in s.cursor().execute("SELECT batch_id FROM upload_batches").fetchall())
                res.committed_before_kill += len(after - before)
                c = check(s, acks + res.acknowledged, base_version)
        except Exception as e:  # the file does not open: the worst outcome
            res.corrupt_opens.append(f"kill {k}: {type(e).__name__}: {e}")
            continue
        res.half_written += [f"kill {k}: {p}" for p in c.half_written + c.lost]
        if progress and (k + 1) % 10 == 0:
            print(f"  kill {k + 1}/{kills}: committed before the kill {res.committed_before_kill}, "
                  f"corrupt opens {len(res.corrupt_opens)}, half-written {len(res.half_written)}", flush=True)
    return res


def _has_open(pid: int, db: Path) -> bool:
    target = os.path.realpath(db)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def _batch_ids(db: Path) -> set[int]:
    with Store(db, read_only=True) as s:
        return set(r[0] for r in s.cursor().execute("SELECT batch_id FROM upload_batches").fetchall())


# -- main -------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--procs", type=int, default=4, help="concurrent imports per round")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--kill-rows", type=int, default=40_000, help="rows of the file whose imports are killed")
    ap.add_argument("--resident", action="store_true", help="processes stay up between rounds (sac.cli.main)")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--keep", type=Path, help="work in this directory and keep the database")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker()

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sac-torture-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = work / "sac.duckdb"
        base = seed(db)
        mode = "resident processes" if args.resident else "a new process per import"
        print(f"phase 1: {args.rounds} rounds of {args.procs} concurrent imports ({mode}), database {db}", flush=True)
        rr = run_rounds(db, work, args.rounds, args.procs, resident=args.resident, progress=True)
        with Store(db, read_only=True) as s:
            c1 = check(s, rr.acks, base)
        t1 = time.monotonic()
        print(f"phase 2: {args.kills} imports of {args.kill_rows} rows killed with SIGKILL", flush=True)
        kr = run_kills(db, work, args.kills, base, rr.acks, rows=args.kill_rows, rng=random.Random(args.seed),
                       progress=True)
        t2 = time.monotonic()

    for line in (c1.lost + c1.half_written + rr.failures)[:20]:
        print("  !", line)
    for line in (kr.corrupt_opens + kr.half_written)[:20]:
        print("  !", line)
    print("\nresults")
    print(f"  rounds {rr.rounds} x {args.procs} imports: acknowledged batches {len(rr.acks)} of {rr.uploads}, "
          f"lost {len(c1.lost)}, half-written {len(c1.half_written)}, failed imports {len(rr.failures)}, "
          f"{t1 - t0:.0f} s")
    print(f"  kills {kr.kills} (with the database open: {kr.killed_open}; the import had committed: "
          f"{kr.committed_before_kill}, and printed so: {len(kr.acknowledged)}): corrupt opens "
          f"{len(kr.corrupt_opens)}, half-written {len(kr.half_written)}, {t2 - t1:.0f} s")
    print(f"  wall time {t2 - t0:.0f} s")
    bad = len(c1.lost) + len(c1.half_written) + len(kr.corrupt_opens) + len(kr.half_written)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
