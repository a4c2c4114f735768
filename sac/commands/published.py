"""``python -m sac import-table FILE --indicator ID [--sheet S] [--block B] [--document D] [--dry-run]
[--save-profile NAME] | --profile NAME``: a published table (regions down, years or quarters across), as the
Bureau of National Statistics publishes it, imported as one indicator's facts.

``python -m sac profiles`` lists the saved profiles. Exit codes as ``import`` (sac/cli.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, cli_actor
from sac.commands.ingest import format_report
from sac.ingest import profiles, wide
from sac.ingest.readers import FileProblem
from sac.store import Store


def register(subparsers) -> None:
    p = subparsers.add_parser("import-table", help="import a published table (regions down, periods across) "
                                                   "as one indicator's facts")
    p.add_argument("file", type=Path)
    p.add_argument("--indicator", help="the indicator the figures are facts of (its passport must exist)")
    p.add_argument("--sheet", help="the sheet (default: the first)")
    p.add_argument("--block", help="a block's label or number when a sheet holds several (by sex, urban/rural)")
    p.add_argument("--document", default="", help="the source document the figures come from")
    p.add_argument("--profile", help="use a saved profile (indicator, sheet, block, document)")
    p.add_argument("--save-profile", metavar="NAME", help="save this mapping as a profile once committed")
    p.add_argument("--dry-run", action="store_true", help="show what was understood and what would change")
    p.add_argument("--user", default=None)
    p.add_argument("--force", action="store_true", help="commit a table already committed once")
    p.set_defaults(func=_import_table)

    lp = subparsers.add_parser("profiles", help="list the saved profiles of published tables")
    lp.set_defaults(func=_profiles)


def describe(w: wide.WideReport) -> str:
    """What was understood: sheet, title, block, periods, rows, not-reported cells, the totals check."""
    b, lay = w.block, w.layout
    periods = list(b.periods.values())
    lines = [f"sheet {lay.sheet!r}" + (f", title {lay.title!r}" if lay.title else ""),
             f"block {b.name!r} of {len(lay.blocks)}: " + ", ".join(repr(x.name) for x in lay.blocks),
             f"header row(s) {', '.join(map(str, b.header_rows))}; periods {periods[0]} … {periods[-1]} "
             f"({len(periods)} columns)" if periods else "no periods",
             f"unit rows {len(b.rows)}, totals rows {len(b.totals)}; figures {w.cells}, "
             f"not reported ('-', '…', empty) {w.not_reported}"]
    if lay.unknown:
        lines.append("names that are no known unit: " + ", ".join(f"row {r} {n!r}" for r, n in lay.unknown[:10]))
    tc = w.totals_check
    if len(tc):
        off = tc[tc["difference"].abs() > 0.01 * tc["published"].abs().clip(lower=1)]
        lines.append(f"totals row vs sum of units: {len(tc) - len(off)} of {len(tc)} periods agree within 1%"
                     + (f"; differ: {', '.join(off['period'].astype(str).head(8))}" if len(off) else ""))
    return "\n".join(lines)


def _import_table(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"error: no such file {args.file}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.save_profile:
        try:
            profiles.check_name(args.save_profile)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
    with Store() as s:
        indicator, sheet, block, document = args.indicator, args.sheet, args.block, args.document
        if args.profile:
            prof = profiles.get(s, args.profile)
            if prof is None:
                print(f"error: no profile {args.profile!r}", file=sys.stderr)
                return EXIT_NOT_FOUND
            indicator, sheet, block = indicator or prof.indicator_id, sheet or prof.sheet, block or prof.block
            document = document or prof.source_document
        if not indicator:
            hint = _matching_profiles(s, args.file, sheet)
            print("error: --indicator or --profile is required" + (f"; saved profiles for this layout: {hint}"
                                                                    if hint else ""), file=sys.stderr)
            return EXIT_USAGE
        try:
            w = wide.import_wide(s, args.file, indicator, sheet=sheet, block=block, source_document=document,
                                 user=args.user or cli_actor(), dry_run=args.dry_run, force=args.force)
        except FileProblem as e:
            print(f"REJECTED (nothing written): {e}", file=sys.stderr)
            return EXIT_REJECTED
        print(describe(w))
        print(format_report(w.report))
        if args.save_profile and w.report.status == "committed":
            profiles.save(s, args.user or cli_actor(), args.save_profile, indicator, w.layout, sheet=sheet,
                          block=block, source_document=document)
            print(f"profile {args.save_profile!r} saved")
    rep = w.report
    if rep.status == "rejected" or (args.dry_run and not rep.ok):
        return EXIT_REJECTED
    return EXIT_OK


def _matching_profiles(store, path: Path, sheet: str | None) -> str:
    """The saved profiles whose layout this file has, as "'name' (indicator)", or ''."""
    from sac.ingest.units import UnitLookup

    try:
        grid = wide.read_grid(path.read_bytes(), path.name, sheet)
    except FileProblem:
        return ""
    cur = store.cursor()
    try:
        layout = wide.understand(grid, wide.resolver(UnitLookup.load(cur)))
    finally:
        cur.close()
    return ", ".join(f"{p.name!r} ({p.indicator_id})" for p in profiles.matching(store, layout))


def _profiles(args: argparse.Namespace) -> int:
    with Store() as s:
        df = profiles.listing(s)
    print("no profiles" if df.empty else df.to_string(index=False))
    return EXIT_OK
