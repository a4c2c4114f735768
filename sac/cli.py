"""``python -m sac COMMAND``: the command line.

Each command lives in ``sac/commands/<module>.py`` with ``register(subparsers)``
that adds its sub-parser and sets ``func(args) -> int``.

Exit codes scripts can rely on:
0 done; 1 the input was rejected (validation errors, nothing written);
2 usage error; 3 the database is busy (another process holds it);
4 not found (no such batch, user, file).
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys

from sac.store import StoreBusy

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_BUSY, EXIT_NOT_FOUND = 0, 1, 2, 3, 4

# Modules under sac/commands that contribute sub-commands, in help order.
COMMAND_MODULES = ("demo", "ingest", "published", "users", "methodology", "aliases", "serve", "board")


def cli_actor() -> str:
    """Who a command acts as when no ``--user`` is given: ``cli:<os user>`` (``cli:unknown`` in containers that
    have no user name); audited like a person's name."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sac", description="SAC: situational-analytical centre")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"sac.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"sac.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except StoreBusy as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BUSY
