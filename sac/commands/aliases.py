"""``python -m sac aliases list|add|remove``: the names regions go by (sac/ingest/units.py).

The package's aliases (sac/reference/region_aliases.csv) apply always; an admin adds more, or re-maps a
package alias, in the ``region_aliases`` table: an admin row wins over a package row with the same key.
Package aliases cannot be removed (only re-mapped). Adds and removals are in the audit log under
``cli:<os user>``.

Exit codes (sac/cli.py): 0 done; 1 rejected (not a usable name, a code, an unknown KATO, an organisation's
id, a package alias to remove); 2 usage; 3 database busy; 4 no such admin alias.
"""

from __future__ import annotations

import csv
import sys

from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, cli_actor
from sac.ingest import units
from sac.store import Store


def _fail(e: units.AliasError) -> int:
    print(f"error: {e}", file=sys.stderr)
    return EXIT_NOT_FOUND if e.code == "not_found" else EXIT_REJECTED


def cmd_list(args) -> int:
    with Store() as store:
        cur = store.cursor()
        try:
            rows = units.list_aliases(cur)
        finally:
            cur.close()
    if args.source:
        rows = [r for r in rows if r["source"].split(" ")[0] == args.source]
    if args.kato:
        rows = [r for r in rows if r["kato"] == args.kato]
    cols = ["alias", "kato", "kind", "source", "key", "note"]
    if args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return EXIT_OK
    if not rows:
        print("no aliases")
        return EXIT_OK
    width = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in cols[:-1]}
    print("  ".join(c.ljust(width[c]) for c in cols[:-1]) + "  note")
    for r in rows:
        print("  ".join(str(r[c] or "").ljust(width[c]) for c in cols[:-1]) + "  " + (r["note"] or ""))
    return EXIT_OK


def cmd_add(args) -> int:
    with Store() as store:
        try:
            status = units.add_alias(store, cli_actor(), args.alias, args.kato, note=args.note)
        except units.AliasError as e:
            return _fail(e)
    key = units.alias_key(args.alias)
    print({"known": f"{args.alias!r} already names {args.kato}; nothing added",
           "added": f"added {args.alias!r} -> {args.kato} (key {key!r})",
           "replaced": f"replaced the admin alias {args.alias!r}: now -> {args.kato} (key {key!r})",
           "overrides": f"added {args.alias!r} -> {args.kato} (key {key!r}), overriding the package alias",
           }[status])
    return EXIT_OK


def cmd_remove(args) -> int:
    with Store() as store:
        try:
            removed = units.remove_alias(store, cli_actor(), args.alias)
        except units.AliasError as e:
            return _fail(e)
    print("removed " + ", ".join(repr(w) for w in removed))
    return EXIT_OK


def register(subparsers) -> None:
    p = subparsers.add_parser("aliases", help="names of regions and cities (list, add, remove)",
                              description="The names regions and cities go by: the package's "
                                          "(sac/reference/region_aliases.csv) and the admin's (SAC_DB_PATH).")
    sub = p.add_subparsers(dest="aliases_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="list aliases")
    lst.add_argument("--source", choices=("package", "admin"), help="only the package's or the admin's")
    lst.add_argument("--kato", help="only the aliases of this unit")
    lst.add_argument("--csv", action="store_true", help="CSV on stdout")
    lst.set_defaults(func=cmd_list)

    a = sub.add_parser("add", help="map a name to a region or city (admin alias; wins over the package's)")
    a.add_argument("alias", help="the name as written, e.g. 'Алматы обл.'")
    a.add_argument("kato", help="the 2-digit KATO code of a current region or city (or 51, South Kazakhstan)")
    a.add_argument("--note", help="why (kept with the alias)")
    a.set_defaults(func=cmd_add)

    r = sub.add_parser("remove", help="remove an admin alias")
    r.add_argument("alias")
    r.set_defaults(func=cmd_remove)
