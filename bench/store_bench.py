"""Store benchmark (issue 10): what serving from published snapshots costs, against holding the file.

    .venv/bin/python bench/store_bench.py [--rows N] [--repeat N]

On the demo database and on a store holding ``--rows`` indicator facts (default 1 000 000):

- ``write_held_ms``: a small write (one row) through a :class:`~sac.store.Store` that holds the file (the
  baseline: how the app wrote before issue 10);
- ``write_serving_ms``: the same write through a :class:`~sac.store.ServingStore` (lock, open, commit,
  checkpoint, close, copy the file as a snapshot, switch readers);
- ``publish_ms``: the copy alone, and the file size;
- ``read_held_ms`` / ``read_snapshot_ms``: a page-sized aggregate query on the held file and on a snapshot;
- ``open_per_request_ms``: opening and closing the file for one query, the design not chosen (the file is
  released between requests, but every request pays the open and starts with a cold buffer cache).

Each figure is the median of ``--repeat`` rounds. ``main()`` returns the figures for bench/run.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_bench  # noqa: E402

from sac.ingest import import_file  # noqa: E402
from sac.store import ServingStore, Store, current_snapshot, publish_snapshot  # noqa: E402

QUERY = ("SELECT indicator_id, unit_code, count(*) AS n, avg(fact) AS mean FROM indicator_values "
         "GROUP BY ALL ORDER BY indicator_id, unit_code")


def _ms(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(path: Path, repeat: int) -> dict:
    def small_write(store):
        def go():
            with store.write(data=False) as cur:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('bench', CAST(random() AS VARCHAR))")
        return go

    with Store(path, publish=False) as held:
        held.df(QUERY)  # warm
        write_held = _ms(small_write(held), repeat)
        read_held = _ms(lambda: held.df(QUERY), repeat)
    serving = ServingStore(path)
    try:
        serving.df(QUERY)
        write_serving = _ms(small_write(serving), repeat)
        read_snapshot = _ms(lambda: serving.df(QUERY), repeat)
    finally:
        serving.close()

    def per_request():
        con = duckdb.connect(str(path))
        con.execute(QUERY).fetchall()
        con.close()

    open_per_request = _ms(per_request, repeat)
    from sac.store import holding

    with holding(path):
        publish = _ms(lambda: publish_snapshot(path), repeat)
    size_mb = current_snapshot(path).stat().st_size / 1e6
    return {"size_mb": round(size_mb, 1), "write_held_ms": write_held, "write_serving_ms": write_serving,
            "publish_ms": publish, "read_held_ms": read_held, "read_snapshot_ms": read_snapshot,
            "open_per_request_ms": open_per_request}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo.duckdb"
        from sac.demo import build_demo

        with Store(demo, publish=False) as s:
            build_demo(s)
        results["demo"] = measure(demo, args.repeat)
        big = Path(tmp) / "big.duckdb"
        csv = Path(tmp) / "facts.csv"
        import_bench.generate(csv, args.rows)
        s = import_bench._store(big)   # the indicators the generated facts refer to
        try:
            report = import_file(s, csv, "indicator_values", dry_run=False)
            assert report.status == "committed", report.errors.head()
        finally:
            s.close()
        results[f"{args.rows}_facts"] = measure(big, args.repeat)
    print(f"store benchmark (median of {args.repeat}; ms)")
    cols = ["size_mb", "write_held_ms", "write_serving_ms", "publish_ms", "read_held_ms", "read_snapshot_ms",
            "open_per_request_ms"]
    print(f"  {'store':<16}" + "".join(f"{c:>20}" for c in cols))
    for name, f in results.items():
        print(f"  {name:<16}" + "".join(f"{f[c]:>20.1f}" for c in cols))
        print(f"  {'':<16}serving write / held write = {f['write_serving_ms'] / f['write_held_ms']:.1f}x; "
              f"snapshot read / held read = {f['read_snapshot_ms'] / f['read_held_ms']:.2f}x; "
              f"open per request / held read = {f['open_per_request_ms'] / f['read_held_ms']:.1f}x")
    return results


if __name__ == "__main__":
    main()
