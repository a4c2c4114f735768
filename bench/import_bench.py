"""Import benchmark: a 1 000 000-row indicator_values CSV, validated and committed by the importer,
against DuckDB reading the same file bare.

    .venv/bin/python bench/import_bench.py [--rows N]

The bare read materialises the file (``CREATE TABLE AS SELECT * FROM read_csv(...)``, typed by the
sniffer), so both sides pay for reading every cell. Target (issue 2): import <= 5x bare and < 10 s.
``bare_insert_s`` is the floor of any loader into this schema: the same rows inserted straight into
``indicator_values``, whose 4-column primary-key index costs several times the read by itself.
``main()`` returns the figures as a dict for bench/run.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sac.ingest import import_file  # noqa: E402
from sac.store import Store  # noqa: E402

N_INDICATORS = 50


def _regions() -> list[str]:
    return [r[0] for r in duckdb.sql(
        f"SELECT kato FROM read_csv('{ROOT / 'sac/reference/regions.csv'}', all_varchar = true)").fetchall()]


def generate(path: Path, rows: int) -> None:
    """Valid rows: 50 monthly indicators x 20 regions x months x source documents, Russian number formats."""
    regions = _regions()
    con = duckdb.connect()
    # rows = indicators x regions x months x documents; documents absorb the rest
    months = 60
    per_doc = N_INDICATORS * len(regions) * months
    docs = -(-rows // per_doc)
    con.execute(f"""
        COPY (
          SELECT 'IND-' || lpad(CAST(i AS VARCHAR), 3, '0') AS "Показатель",
                 r.kato AS "Регион",
                 CAST(2020 + m // 12 AS VARCHAR) || '-' || lpad(CAST(m % 12 + 1 AS VARCHAR), 2, '0') AS "Период",
                 'DOC-' || CAST(d AS VARCHAR) AS "Документ",
                 replace(CAST(round(1000 + i * 10 + m, 1) AS VARCHAR), '.', ',') AS "План",
                 replace(CAST(round(990 + i * 10 + m + d * 0.5, 1) AS VARCHAR), '.', ',') AS "Факт"
          FROM range({N_INDICATORS}) a(i), (SELECT unnest(?) AS kato) r, range({months}) b(m), range({docs}) c(d)
          LIMIT {rows}
        ) TO '{path}' (HEADER, DELIMITER ';')""", [regions])
    con.close()


def _store(path: Path) -> Store:
    s = Store(path)
    with s.write() as cur:
        cur.execute(f"INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    f"SELECT 'IND-' || lpad(CAST(i AS VARCHAR), 3, '0'), 'x', 'x', 'x', 'month' "
                    f"FROM range({N_INDICATORS}) t(i)")
    return s


def main(rows: int = 1_000_000, workdir: str | None = None) -> dict:
    """Run the benchmark; returns the figures in seconds: generate_s, bare_read_s (DuckDB read_csv into a table),
    bare_insert_s (the file straight into indicator_values, no validation: the schema's floor), dry_run_s
    (validate only), import_s (validate + commit), ratio (import / bare read), dry_run_ratio,
    ratio_vs_bare_insert, inserted, ok, target_met (import <= 5x bare read and < 10 s)."""
    tmp = tempfile.TemporaryDirectory(dir=workdir)
    d = Path(tmp.name)
    csv_path = d / "indicator_values_1m.csv"
    t0 = time.perf_counter()
    generate(csv_path, rows)
    gen_s = time.perf_counter() - t0

    con = duckdb.connect(str(d / "bare.duckdb"))
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE bare AS SELECT * FROM read_csv('{csv_path}')")
    bare_s = time.perf_counter() - t0
    assert con.execute("SELECT count(*) FROM bare").fetchall()[0][0] == rows
    con.close()

    # The floor any loader into this schema pays: the same file straight into indicator_values
    # (read, cast, primary-key index, foreign keys), no validation at all.
    floor = _store(d / "floor.duckdb")
    t0 = time.perf_counter()
    with floor.write() as cur:
        cur.execute(f"""INSERT INTO indicator_values (indicator_id, unit_code, period, source_document, plan, fact)
            SELECT "Показатель", "Регион", "Период", "Документ", CAST(replace("План", ',', '.') AS DOUBLE),
                   CAST(replace("Факт", ',', '.') AS DOUBLE)
            FROM read_csv('{csv_path}', all_varchar = true, delim = ';', header = true)""")
    bare_insert_s = time.perf_counter() - t0
    floor.close()

    store = _store(d / "sac.duckdb")
    t0 = time.perf_counter()
    dry = import_file(store, csv_path, "indicator_values", user="bench")
    dry_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = import_file(store, csv_path, "indicator_values", user="bench", dry_run=False)
    import_s = time.perf_counter() - t0
    stored = store.scalar("SELECT count(*) FROM indicator_values")
    store.close()
    tmp.cleanup()
    ok = rep.status == "committed" and rep.inserted == rows == stored and dry.ok
    return {"rows": rows, "generate_s": round(gen_s, 3), "bare_read_s": round(bare_s, 3),
            "bare_insert_s": round(bare_insert_s, 3), "dry_run_s": round(dry_s, 3), "import_s": round(import_s, 3),
            "ratio": round(import_s / bare_s, 2), "dry_run_ratio": round(dry_s / bare_s, 2),
            "ratio_vs_bare_insert": round(import_s / bare_insert_s, 2),
            "inserted": rep.inserted, "ok": ok, "target_met": ok and import_s <= 5 * bare_s and import_s < 10}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    res = main(args.rows)
    for k, v in res.items():
        print(f"{k:>20}: {v}")
