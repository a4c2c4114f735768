"""``python -m sac demo [--force] [--db PATH]``: build the embedded demo database.

Refuses to overwrite an existing database unless ``--force`` (exit 2). The demo is built into a
temporary file next to the target and moved over it only when complete, so a failed build never
leaves a half-filled database behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sac.store import Store, db_path, holding, lock_path, publish_snapshot


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="build the demo database (deterministic)",
                              description="Build a believable SAC demo database at SAC_DB_PATH or --db.")
    p.add_argument("--force", action="store_true", help="replace an existing database")
    p.add_argument("--db", type=Path, default=None, help="database file (default: SAC_DB_PATH or data/sac.duckdb)")
    p.add_argument("--show-accounts", action="store_true", help="print the demo accounts if the database is the demo")
    p.set_defaults(func=run)


def _remove(path: Path) -> None:
    """The database file, its write-ahead log and its lock file (only for the build's own file: nothing else
    opens it; the lock file of a database SAC may open is never removed)."""
    for f in (path, Path(str(path) + ".wal"), lock_path(path), Path(f"{lock_path(path)}.queue")):
        if f.exists():
            f.unlink()


def run(args: argparse.Namespace) -> int:
    from sac.auth.accounts import ensure_demo_accounts
    from sac.cli import EXIT_OK, EXIT_USAGE
    from sac.demo import build_demo

    if args.show_accounts:
        return show_accounts(Path(args.db) if args.db else db_path())

    target = Path(args.db) if args.db else db_path()
    if target.exists() and not args.force:
        print(f"error: {target} already exists; use --force to replace it with the demo", file=sys.stderr)
        return EXIT_USAGE
    if target.exists():
        # Fails with StoreBusy (exit 3) while another process (the app) holds the file.
        Store(target, read_only=True, lock_timeout=0).close()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".building")
    _remove(tmp)
    started = time.monotonic()
    try:
        with Store(tmp, publish=False) as store:
            counts = build_demo(store)
            accounts = ensure_demo_accounts(store)
            with store.write() as cur:
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('demo', '1')")
        with holding(target):   # no SAC process opens the target while it is replaced
            os.replace(tmp, target)
            wal = Path(str(target) + ".wal")
            if wal.exists():
                wal.unlink()
            publish_snapshot(target)   # a running app reads the new demo at its next query
    finally:
        _remove(tmp)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"demo database written to {target} in {time.monotonic() - started:.1f} s: {summary}")
    _print_accounts(accounts)
    return EXIT_OK


def _print_accounts(accounts: dict[str, str]) -> None:
    print("Demo accounts (sign in with any; demo database only):")
    for name, password in accounts.items():
        print(f"  {name:<11} password {password}")


def show_accounts(target: Path) -> int:
    """Print the demo accounts when ``target`` is the demo database (used by `make run`)."""
    from sac.auth.accounts import DEMO_ACCOUNTS

    with Store(target, read_only=True) as store:
        is_demo = store.scalar("SELECT count(*) FROM meta WHERE key = 'demo'") == 1
    if is_demo:
        _print_accounts({name: spec[0] for name, spec in DEMO_ACCOUNTS.items()})
    return 0
