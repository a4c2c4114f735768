"""``python -m sac users add|list|disable|enable|reset``: built-in accounts from the command line;
``python -m sac users token create|list|revoke``: service accounts of the HTTP API (docs/API.md).

Exit codes (sac/cli.py): 0 done; 1 rejected (invalid name, role, weak password, user exists,
last admin); 2 usage; 3 database busy; 4 no such user. The audit log names the actor
``cli:<os user>``. Passwords are never taken as arguments (they would land in shell
history): ``--password-stdin`` reads one line, otherwise one is generated and printed once.
"""

from __future__ import annotations

import argparse
import sys

from sac.api import tokens as tok
from sac.auth import ROLES
from sac.auth import accounts as acc
from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, cli_actor
from sac.i18n import LANGUAGES
from sac.store import Store


def _password_from_stdin(args) -> str | None:
    if not args.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _fail(e: acc.AccountError) -> int:
    print(f"error: {e}", file=sys.stderr)
    return EXIT_NOT_FOUND if e.code == "not_found" else EXIT_REJECTED


def cmd_add(args) -> int:
    with Store() as store:
        try:
            password = acc.add_user(store, cli_actor(), args.username, args.role, _password_from_stdin(args),
                                    display_name=args.name, units=args.unit or (), language=args.language)
        except acc.AccountError as e:
            return _fail(e)
    name = acc.normalise_username(args.username)
    if args.password_stdin:
        print(f"added {name} ({args.role})")
    else:
        print(f"added {name} ({args.role}); password (shown once, must be changed at first sign-in): {password}")
    return EXIT_OK


def cmd_list(args) -> int:
    with Store() as store:
        df = acc.list_users(store)
    if args.csv:
        df.to_csv(sys.stdout, index=False)
        return EXIT_OK
    if df.empty:
        print("no users")
        return EXIT_OK
    cols = ["username", "display_name", "role", "source", "disabled", "locked_until", "units", "last_sign_in"]
    print(df[cols].to_string(index=False, na_rep="—"))
    return EXIT_OK


def cmd_disable(args) -> int:
    with Store() as store:
        try:
            acc.update_user(store, cli_actor(), args.username, disabled=True)
        except acc.AccountError as e:
            return _fail(e)
    print(f"disabled {acc.normalise_username(args.username)}")
    return EXIT_OK


def cmd_enable(args) -> int:
    with Store() as store:
        try:
            acc.update_user(store, cli_actor(), args.username, disabled=False)
        except acc.AccountError as e:
            return _fail(e)
    print(f"enabled {acc.normalise_username(args.username)}")
    return EXIT_OK


def cmd_reset(args) -> int:
    with Store() as store:
        try:
            password = acc.reset_password(store, cli_actor(), args.username, _password_from_stdin(args))
        except acc.AccountError as e:
            return _fail(e)
    name = acc.normalise_username(args.username)
    if args.password_stdin:
        print(f"reset the password of {name}; it must be changed at next sign-in")
    else:
        print(f"new password for {name} (shown once, must be changed at next sign-in): {password}")
    return EXIT_OK


def _token_fail(e: tok.TokenError) -> int:
    print(f"error: {e}", file=sys.stderr)
    return EXIT_NOT_FOUND if e.code == "not_found" else EXIT_REJECTED


def cmd_token_create(args) -> int:
    units = [u for part in (args.units or []) for u in part.split(",")]
    expires = None if args.no_expiry else args.expires_days
    with Store() as store:
        try:
            token = tok.create_token(store, cli_actor(), args.name, args.role, units, expires_days=expires)
            until = tok.expires_at(store, args.name)
        except tok.TokenError as e:
            return _token_fail(e)
    name = tok.normalise_name(args.name)
    print(f"created token {name} ({args.role}" + (f", units {', '.join(sorted(set(units)))}" if units else "")
          + (f", expires {until:%Y-%m-%d %H:%M} UTC" if until is not None else ", never expires") + ")", file=sys.stderr)
    print("the token (shown once; only its hash is stored):", file=sys.stderr)
    print(token)  # alone on stdout, so `TOKEN=$(python -m sac users token create ...)` works
    return EXIT_OK


def cmd_token_list(args) -> int:
    with Store() as store:
        df = tok.list_tokens(store)
    if args.csv:
        df.to_csv(sys.stdout, index=False)
        return EXIT_OK
    if df.empty:
        print("no tokens")
        return EXIT_OK
    print(df.to_string(index=False, na_rep="—"))
    return EXIT_OK


def cmd_token_revoke(args) -> int:
    with Store() as store:
        try:
            tok.revoke_token(store, cli_actor(), args.name)
        except tok.TokenError as e:
            return _token_fail(e)
    print(f"revoked token {tok.normalise_name(args.name)}")
    return EXIT_OK


def _register_token(sub) -> None:
    t = sub.add_parser("token", help="service accounts of the HTTP API (bearer tokens)",
                       description="Bearer tokens for /api/v1, scoped to a role and units like a person (docs/API.md).")
    tsub = t.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    c = tsub.add_parser("create", help="create a token and print it once")
    c.add_argument("name", help="the service account's name (a-z 0-9 . _ -), e.g. almaty-statistics")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--units", action="append", metavar="CODES",
                   help="comma-separated KATO codes / org_ids (project_office tokens need at least one)")
    c.add_argument("--expires-days", type=int, default=tok.DEFAULT_EXPIRY_DAYS, metavar="N",
                   help=f"valid for N days (default {tok.DEFAULT_EXPIRY_DAYS})")
    c.add_argument("--no-expiry", action="store_true", help="never expires (revoke it when no longer needed)")
    c.set_defaults(func=cmd_token_create)
    lst = tsub.add_parser("list", help="list tokens (names, roles, status; never the tokens)")
    lst.add_argument("--csv", action="store_true", help="CSV on stdout")
    lst.set_defaults(func=cmd_token_list)
    r = tsub.add_parser("revoke", help="revoke a token at once")
    r.add_argument("name")
    r.set_defaults(func=cmd_token_revoke)


def register(subparsers) -> None:
    p = subparsers.add_parser("users", help="manage built-in accounts",
                              description="Manage built-in accounts in the database (SAC_DB_PATH).")
    sub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="add an account")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--name", help="display name (default: the user name)")
    a.add_argument("--unit", action="append", metavar="CODE",
                   help="region KATO code or org_id the account is scoped to (repeat; project offices need one)")
    a.add_argument("--language", default="en", choices=LANGUAGES)
    a.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    a.set_defaults(func=_check_add)

    lst = sub.add_parser("list", help="list accounts")
    lst.add_argument("--csv", action="store_true", help="CSV on stdout")
    lst.set_defaults(func=cmd_list)

    d = sub.add_parser("disable", help="disable an account (it can no longer sign in)")
    d.add_argument("username")
    d.set_defaults(func=cmd_disable)

    e = sub.add_parser("enable", help="enable a disabled account")
    e.add_argument("username")
    e.set_defaults(func=cmd_enable)

    r = sub.add_parser("reset", help="reset a password (and clear a lockout)")
    r.add_argument("username")
    r.add_argument("--password-stdin", action="store_true", help="read the new password from stdin")
    r.set_defaults(func=cmd_reset)

    _register_token(sub)


def _check_add(args: argparse.Namespace) -> int:
    if args.role == "project_office" and not args.unit:
        print("error: a project_office account needs at least one --unit (region KATO code or org_id)",
              file=sys.stderr)
        return EXIT_REJECTED
    return cmd_add(args)
