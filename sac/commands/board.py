"""``python -m sac board build [--week 2026-W49] [--node CODE | --all] [--lang ru|all]``,
``python -m sac board export ID --pdf FILE --xlsx FILE``, ``python -m sac board list [--node CODE] [--week W]``.

For a scheduler (cron): builds the weekly information boards (sac/boards) and prints where each one is (board
id and revision). It uses the CLI's own :class:`~sac.store.Store`, which holds the database only for the
command's run and publishes a snapshot after each write, so it works while the app is serving. Every build and
every export is in the audit log (``board_built``, ``board_downloaded``).

Exit codes (sac/cli.py): 0 done; 2 usage (a bad week); 3 the database is busy; 4 not found (node or board).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

from sac import boards
from sac.boards import weeks
from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, cli_actor
from sac.i18n import LANGUAGES
from sac.store import Store


def register(subparsers) -> None:
    p = subparsers.add_parser("board", help="build, list and export the weekly information boards")
    sub = p.add_subparsers(dest="board_command", metavar="ACTION")
    b = sub.add_parser("build", help="build boards and print their ids and revisions")
    b.add_argument("--week", help="ISO week, e.g. 2026-W49 (default: the current week)")
    which = b.add_mutually_exclusive_group()
    which.add_argument("--node", help="a goal-map node id or code (P-ENBEK, 1.1), or SAC for the whole SAC (default)")
    which.add_argument("--all", action="store_true",
                       help="the whole SAC and every national priority, program, basic direction and group of projects")
    b.add_argument("--lang", default="en", choices=(*LANGUAGES, "all"), help="language of the boards (default en)")
    b.add_argument("--user", default=None, help="who builds (default cli:<os user>)")
    b.set_defaults(func=_build)
    e = sub.add_parser("export", help="write a stored board's PDF and/or XLSX")
    e.add_argument("board_id", type=int)
    e.add_argument("--pdf", type=Path)
    e.add_argument("--xlsx", type=Path)
    e.add_argument("--user", default=None)
    e.set_defaults(func=_export)
    ls = sub.add_parser("list", help="stored boards, newest week first")
    ls.add_argument("--node")
    ls.add_argument("--week")
    ls.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), EXIT_USAGE)[1])


def _build(args: argparse.Namespace) -> int:
    today = _dt.date.today()
    week = args.week or weeks.week_of(today)
    try:
        weeks.as_of(week, today)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    langs = list(LANGUAGES) if args.lang == "all" else [args.lang]
    user = args.user or cli_actor()
    with Store() as s:
        if args.all:
            nodes = boards.board_nodes(s)["node_id"].tolist()
        else:
            node = boards.find_node(s, args.node or boards.LEADERSHIP)
            if node is None:
                print(f"error: no goal-map node {args.node!r} (give a node id, a code such as 1.1, or SAC)",
                      file=sys.stderr)
                return EXIT_NOT_FOUND
            nodes = [node]
        ctx = boards.Context(s, week, today)
        for node in nodes:
            for lang in langs:
                row = boards.build(s, node, week, lang, built_by=user, ctx=ctx)
                print(f"board {row['board_id']}: {node} {week} {lang} revision {row['revision']} "
                      f"(data version {row['data_version']}, methodology {row['methodology_version']}, "
                      f"sha256 {row['content_hash'][:12]}) in {s.path} — "
                      f"python -m sac board export {row['board_id']} --pdf FILE --xlsx FILE")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    if args.pdf is None and args.xlsx is None:
        print("error: give --pdf FILE and/or --xlsx FILE", file=sys.stderr)
        return EXIT_USAGE
    user = args.user or cli_actor()
    with Store() as s:
        try:
            row = boards.get_board(s, args.board_id)
        except boards.BoardNotFound:
            print(f"error: no board {args.board_id}", file=sys.stderr)
            return EXIT_NOT_FOUND
        for fmt, path in (("pdf", args.pdf), ("xlsx", args.xlsx)):
            if path is None:
                continue
            path.write_bytes(row[fmt])
            boards.record_download(s, args.board_id, fmt, user)
            print(f"board {args.board_id} ({row['node_id']} {row['week']} {row['language']} revision "
                  f"{row['revision']}) {fmt.upper()} written to {path}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    with Store() as s:
        node = boards.find_node(s, args.node) if args.node else None
        if args.node and node is None:
            print(f"error: no goal-map node {args.node!r}", file=sys.stderr)
            return EXIT_NOT_FOUND
        df = boards.list_boards(s, node_id=node, week=args.week)
    if df.empty:
        print("no boards")
        return EXIT_OK
    print(df[["board_id", "node_id", "week", "language", "revision", "built_at", "built_by",
              "data_version", "methodology_version"]].to_string(index=False))
    return EXIT_OK
