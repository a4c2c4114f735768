"""``python -m sac import FILE --kind KIND [--dry-run] [--sheet NAME] [--user NAME] [--force]``,
``python -m sac batches``, ``python -m sac rollback ID [--user NAME]``, ``python -m sac templates DIR``.

Exit codes (sac/cli.py): 0 done; 1 rejected (validation errors or a refused rollback: nothing written);
2 usage; 3 the database is busy; 4 not found (no such file or batch).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, cli_actor
from sac.ingest import KINDS, BatchNotFound, ImportReport, RollbackRefused, batches, import_file, rollback
from sac.ingest.templates import write_templates
from sac.store import Store

MAX_PRINTED_PROBLEMS = 50



def register(subparsers) -> None:
    p = subparsers.add_parser("import", help="validate a CSV/XLSX/Parquet file and commit it (or --dry-run)")
    p.add_argument("file", type=Path)
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
    p.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    p.add_argument("--user", default=None, help="who uploads (default cli:<os user>)")
    p.add_argument("--force", action="store_true", help="commit a file already committed once (same SHA-256)")
    p.set_defaults(func=_import)

    b = subparsers.add_parser("batches", help="list upload batches, newest first")
    b.add_argument("--limit", type=int, default=50)
    b.set_defaults(func=_batches)

    r = subparsers.add_parser("rollback", help="restore what was stored before an upload batch")
    r.add_argument("batch_id", type=int)
    r.add_argument("--user", default=None)
    r.set_defaults(func=_rollback)

    t = subparsers.add_parser("templates", help="write the XLSX upload templates of every kind into DIR")
    t.add_argument("directory", type=Path)
    t.set_defaults(func=_templates)


def format_report(rep: ImportReport, limit: int = MAX_PRINTED_PROBLEMS) -> str:
    """The report as text: status, counts, then the problems with row and column."""
    head = {"dry_run": "DRY RUN (nothing written)", "committed": f"COMMITTED as batch {rep.batch_id}",
            "rejected": "REJECTED (nothing written)"}[rep.status]
    lines = [f"{rep.file_name} [{rep.kind}]: {head}"]
    if rep.header_row:
        lines.append(f"header row {rep.header_row}" + (f", sheet {rep.sheet!r}" if rep.sheet else ""))
    c = rep.counts()
    verb = "" if rep.status == "committed" else "would be "
    lines.append(("{v}inserted {inserted}, {v}updated {updated}, unchanged {unchanged}, rows with errors {rejected}, "
                  "totals rows skipped {totals}, warnings {warnings}").format(v=verb, **c))
    if len(rep.problems):
        lines.append(f"problems ({rep.problems_total}):")
        for p in rep.problems.head(limit).itertuples(index=False):  # at most `limit` lines of text
            where = "file" if pd.isna(p.row) else f"row {p.row}"
            lines.append(f"  {p.severity:<7} {where}: {p.message}")
        if rep.problems_total > limit:
            lines.append(f"  ... and {rep.problems_total - limit} more")
    return "\n".join(lines)


def _import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"error: no such file {args.file}", file=sys.stderr)
        return EXIT_NOT_FOUND
    with Store() as s:
        rep = import_file(s, args.file, args.kind, sheet=args.sheet, user=args.user or cli_actor(),
                          dry_run=args.dry_run, force=args.force)
    # Reported only now: the store is closed (checkpointed into the file) and the next process may open it.
    print(format_report(rep))
    if rep.status == "rejected" or (args.dry_run and not rep.ok):
        return EXIT_REJECTED
    return EXIT_OK


def _batches(args: argparse.Namespace) -> int:
    with Store() as s:
        df = batches(s).head(args.limit)
    if df.empty:
        print("no upload batches")
        return EXIT_OK
    cols = ["batch_id", "kind", "file_name", "uploaded_by", "uploaded_at", "rows_inserted", "rows_updated",
            "rows_unchanged", "status"]
    print(df[cols].to_string(index=False))
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    with Store() as s:
        try:
            res = rollback(s, args.batch_id, user=args.user or cli_actor())
        except BatchNotFound as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_NOT_FOUND
        except RollbackRefused as e:
            print(f"refused: {e}", file=sys.stderr)
            return EXIT_REJECTED
    print(f"batch {res['batch_id']} rolled back: {res['restored']} rows restored, {res['deleted']} rows removed")
    return EXIT_OK


def _templates(args: argparse.Namespace) -> int:
    if args.directory.exists() and not args.directory.is_dir():
        print(f"error: {args.directory} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    for p in write_templates(args.directory):
        print(p)
    return EXIT_OK
