"""``python -m sac methodology show|export FILE|versions``: the generated methodology page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sac import methodology
from sac.store import Store

DOCS_NOTE = ("<!-- Generated from sac/methodology.py: `python -m sac methodology export docs/METHODOLOGY.md "
             "--defaults`. The app's Methodology page shows the version in force; tests/test_docs.py keeps this "
             "file in step. The spec it implements: ../shared/domain/METHODOLOGY.md. -->\n")


def register(subparsers) -> None:
    p = subparsers.add_parser("methodology", help="show or export the methodology page (current version)")
    sub = p.add_subparsers(dest="methodology_command", metavar="ACTION")
    show = sub.add_parser("show", help="print the methodology page as Markdown")
    show.add_argument("--version", type=int, help="a stored version (default: the current one)")
    show.add_argument("--lang", default="en", choices=("en", "ru", "kk"))
    show.set_defaults(func=_show)
    exp = sub.add_parser("export", help="write the methodology page to FILE (Markdown)")
    exp.add_argument("file", type=Path)
    exp.add_argument("--version", type=int)
    exp.add_argument("--lang", default="en", choices=("en", "ru", "kk"))
    exp.add_argument("--defaults", action="store_true",
                     help="version 1 with its defaults, no database (how docs/METHODOLOGY.md is made)")
    exp.set_defaults(func=_export)
    ls = sub.add_parser("versions", help="list stored versions")
    ls.set_defaults(func=_versions)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _load(args: argparse.Namespace) -> methodology.Methodology | None:
    if getattr(args, "defaults", False):
        return methodology.default()
    with Store() as s:
        if args.version is None:
            return methodology.current(s)
        try:
            return methodology.get(s, args.version)
        except KeyError:
            return None


def _show(args: argparse.Namespace) -> int:
    m = _load(args)
    if m is None:
        print(f"error: no methodology version {args.version}", file=sys.stderr)
        return 4
    print(methodology.render_markdown(m, args.lang))
    return 0


def _export(args: argparse.Namespace) -> int:
    m = _load(args)
    if m is None:
        print(f"error: no methodology version {args.version}", file=sys.stderr)
        return 4
    text = methodology.render_markdown(m, args.lang)
    if args.defaults:
        text = DOCS_NOTE + text
    args.file.write_text(text, encoding="utf-8")
    print(f"methodology version {m.version} written to {args.file}")
    return 0


def _versions(args: argparse.Namespace) -> int:
    with Store() as s:
        print(methodology.versions(s)[["version", "created_at", "created_by", "note"]].to_string(index=False))
    return 0
