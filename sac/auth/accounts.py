"""Built-in accounts in the ``users`` table (migration 004): bcrypt, lockout, audit.

Every change and its audit entry are written in one transaction
(``sac.audit.record`` with the writer's cursor). Times are naive UTC.
Sign-in sessions (:mod:`sac.auth.sessions`) end in the transaction that ends them: a password change by the
owner ends the owner's other sessions; an admin's password reset or disabling ends all of them.
Functions take ``now`` so tests can move the clock instead of sleeping.

Configuration (environment):
- ``SAC_ADMIN_PASSWORD`` — the first-run admin's password (else one is generated and printed once);
- ``SAC_LOCKOUT_ATTEMPTS`` (default 5) wrong passwords in a row lock an account for
  ``SAC_LOCKOUT_MINUTES`` (default 15);
- ``SAC_BCRYPT_ROUNDS`` (default 12; tests use 4 for speed).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import bcrypt
import duckdb
import pandas as pd

from sac import audit
from sac.auth import ROLES, AuthError, User, sessions
from sac.i18n import LANGUAGES

BCRYPT_ROUNDS = int(os.environ.get("SAC_BCRYPT_ROUNDS", "12"))
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72          # bcrypt's limit; bcrypt 5 raises beyond it rather than truncating
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,99}$")
SYSTEM_ACTOR = "system"

DEMO_ACCOUNTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # username: (password, display name, role, units). Only for the demo database.
    "admin": ("admin-demo", "Demo administrator", "admin", ()),
    "analyst": ("analyst-demo", "Demo analyst", "analyst", ()),
    "leadership": ("leadership-demo", "Demo akim's office", "leadership", ()),
    "office": ("office-demo", "Almaty project office (demo)", "project_office", ("75",)),
}


class SignInFailed(AuthError):
    """Sign-in refused. ``code``: 'bad_credentials', 'locked', 'disabled', 'no_password'."""

    def __init__(self, code: str, message: str, locked_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.locked_until = locked_until


class AccountError(AuthError):
    """An account operation was refused. ``code``: 'exists', 'not_found', 'invalid', 'weak_password',
    'wrong_password', 'last_admin'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LockoutPolicy:
    max_attempts: int = 5
    minutes: float = 15.0

    @classmethod
    def from_env(cls) -> LockoutPolicy:
        return cls(int(os.environ.get("SAC_LOCKOUT_ATTEMPTS", "5")),
                   float(os.environ.get("SAC_LOCKOUT_MINUTES", "15")))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# -- passwords -----------------------------------------------------------------
def hash_password(password: str) -> str:
    validate_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")


def check_password(password: str, password_hash: str | None) -> bool:
    if not password_hash or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("weak_password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AccountError("weak_password", f"a password may have at most {MAX_PASSWORD_BYTES} bytes")


def generate_password() -> str:
    """16 URL-safe random characters (96 bits)."""
    return secrets.token_urlsafe(12)


_DUMMY_HASH: str | None = None


def _dummy_check(password: str) -> None:
    """Spend the time of a real check for an unknown user, so timing does not reveal which names exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")
    check_password(password, _DUMMY_HASH)


# -- reading -------------------------------------------------------------------
def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def _validate_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise AccountError("invalid", f"invalid user name {username!r}: use letters, digits and . _ @ + -")
    return name


def _query(cur_or_store, sql: str, params: list) -> pd.DataFrame:
    """Read through a Store, or through the cursor of an open write transaction (to see its own changes)."""
    if isinstance(cur_or_store, duckdb.DuckDBPyConnection):
        return cur_or_store.execute(sql, params).df()
    return cur_or_store.df(sql, params)


def _row(cur_or_store, username: str) -> dict | None:
    sql = ("SELECT username, display_name, role, password_hash, source, disabled, failed_attempts, "
           "locked_until, language, must_change_password FROM users WHERE username = ?")
    df = _query(cur_or_store, sql, [username])
    if df.empty:
        return None
    return df.iloc[0].to_dict()


def _units(cur_or_store, username: str) -> frozenset[str]:
    sql = "SELECT unit_code FROM user_units WHERE username = ?"
    df = _query(cur_or_store, sql, [username])
    return frozenset(df["unit_code"].astype(str))


def get_user(store, username: str) -> User | None:
    """The account as a :class:`User`, or None when there is no such user (disabled ones included)."""
    name = normalise_username(username)
    row = _row(store, name)
    if row is None:
        return None
    return User(username=name, display_name=row["display_name"], role=row["role"],
                units=_units(store, name), language=row["language"], source=row["source"])


def list_users(store) -> pd.DataFrame:
    """All accounts, by user name.

    Columns: username, display_name, role, source, disabled, locked_until, failed_attempts,
    language, units (comma-separated, '' = all), must_change_password, created_at, last_sign_in.
    """
    return store.df(
        "SELECT u.username, u.display_name, u.role, u.source, u.disabled, u.locked_until, u.failed_attempts, "
        "u.language, coalesce(string_agg(uu.unit_code, ',' ORDER BY uu.unit_code), '') AS units, "
        "u.must_change_password, u.created_at, u.last_sign_in "
        "FROM users u LEFT JOIN user_units uu USING (username) "
        "GROUP BY ALL ORDER BY u.username"
    )


def user_count(store) -> int:
    return int(store.scalar("SELECT count(*) FROM users"))


# -- changing accounts (admin) -------------------------------------------------
def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("invalid", f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return role


def _clean_units(units: Iterable[str] | None) -> list[str]:
    return sorted({str(u).strip() for u in (units or ()) if str(u).strip()})


def _write_units(cur, username: str, units: list[str]) -> None:
    cur.execute("DELETE FROM user_units WHERE username = ?", [username])
    if units:
        cur.executemany("INSERT INTO user_units VALUES (?, ?)", [[username, u] for u in units])


def add_user(store, actor: str, username: str, role: str, password: str | None = None, *,
             display_name: str | None = None, units: Iterable[str] = (), language: str = "en",
             must_change_password: bool | None = None, now: dt.datetime | None = None) -> str:
    """Create a built-in account; returns its password (generated when ``password`` is None).

    A generated password must be changed at first sign-in. Audited as ``user_added``.
    """
    name = _validate_username(username)
    _check_role(role)
    if language not in LANGUAGES:
        raise AccountError("invalid", f"unknown language {language!r}")
    generated = password is None
    password = generate_password() if generated else password
    pw_hash = hash_password(password)
    units_l = _clean_units(units)
    now = now or utcnow()
    must = generated if must_change_password is None else must_change_password
    with store.write() as cur:
        if cur.execute("SELECT 1 FROM users WHERE username = ?", [name]).fetchone():
            raise AccountError("exists", f"user {name!r} already exists")
        cur.execute(
            "INSERT INTO users (username, display_name, role, password_hash, source, language, "
            "must_change_password, created_at, created_by, password_changed_at) "
            "VALUES (?, ?, ?, ?, 'builtin', ?, ?, ?, ?, ?)",
            [name, display_name or name, role, pw_hash, language, must, now, actor, now])
        _write_units(cur, name, units_l)
        audit.record(cur, actor, "user_added", name,
                     {"role": role, "units": units_l, "display_name": display_name or name})
    return password


def update_user(store, actor: str, username: str, *, role: str | None = None, display_name: str | None = None,
                units: Iterable[str] | None = None, disabled: bool | None = None,
                now: dt.datetime | None = None) -> User:
    """Change an account's role, name, units or disabled flag. Audited as ``user_changed``, or
    ``user_disabled`` when it disables the account, which also ends all its sessions (``session_ended``).
    Refuses to disable or demote the last active admin."""
    name = normalise_username(username)
    now = now or utcnow()
    with store.write() as cur:
        row = _row(cur, name)
        if row is None:
            raise AccountError("not_found", f"no user {name!r}")
        changes: dict = {}
        if role is not None and role != row["role"]:
            changes["role"] = [row["role"], _check_role(role)]
        if display_name is not None and display_name != row["display_name"]:
            changes["display_name"] = [row["display_name"], display_name]
        if disabled is not None and bool(disabled) != bool(row["disabled"]):
            changes["disabled"] = [bool(row["disabled"]), bool(disabled)]
        if units is not None:
            old_units = sorted(_units(cur, name))
            new_units = _clean_units(units)
            if old_units != new_units:
                changes["units"] = [old_units, new_units]
        loses_admin = row["role"] == "admin" and not row["disabled"] and (
            ("role" in changes) or ("disabled" in changes and disabled))
        if loses_admin:
            others = cur.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled "
                                 "AND username <> ?", [name]).fetchone()[0]
            if others == 0:
                raise AccountError("last_admin", "this is the last active admin; add another admin first")
        if changes:
            cur.execute(
                "UPDATE users SET role = ?, display_name = ?, disabled = ?, updated_at = ? WHERE username = ?",
                [changes.get("role", [None, row["role"]])[1],
                 changes.get("display_name", [None, row["display_name"]])[1],
                 changes.get("disabled", [None, bool(row["disabled"])])[1], now, name])
            if "units" in changes:
                _write_units(cur, name, changes["units"][1])
            action = "user_disabled" if changes.get("disabled", [None, False])[1] is True else "user_changed"
            audit.record(cur, actor, action, name, changes)
            if action == "user_disabled":
                sessions.end_all(cur, name, reason="user_disabled", actor=actor, now=now)
    return get_user(store, name)


def disable_user(store, actor: str, username: str, now: dt.datetime | None = None) -> User:
    return update_user(store, actor, username, disabled=True, now=now)


def enable_user(store, actor: str, username: str, now: dt.datetime | None = None) -> User:
    return update_user(store, actor, username, disabled=False, now=now)


def reset_password(store, actor: str, username: str, new_password: str | None = None, *,
                   now: dt.datetime | None = None) -> str:
    """Set a new password (generated when None), clear the lockout, require a change at next
    sign-in. Returns the password. Audited as ``user_password_reset``; every session of the user ends."""
    name = normalise_username(username)
    generated = new_password is None
    password = generate_password() if generated else new_password
    pw_hash = hash_password(password)
    now = now or utcnow()
    with store.write() as cur:
        if _row(cur, name) is None:
            raise AccountError("not_found", f"no user {name!r}")
        cur.execute("UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, "
                    "must_change_password = TRUE, password_changed_at = ?, updated_at = ? WHERE username = ?",
                    [pw_hash, now, now, name])
        audit.record(cur, actor, "user_password_reset", name, {"generated": generated})
        sessions.end_all(cur, name, reason="password_reset", actor=actor, now=now)
    return password


# -- the user's own actions ----------------------------------------------------
def _locked(locked_until, now: dt.datetime) -> bool:
    return locked_until is not None and not pd.isna(locked_until) and pd.Timestamp(locked_until) > pd.Timestamp(now)


def _has_password(row: dict | None) -> bool:
    return row is not None and row["password_hash"] is not None and not pd.isna(row["password_hash"])


def _count_attempt(store, name: str, now: dt.datetime, policy: LockoutPolicy) -> tuple[dict, int, dt.datetime | None]:
    """Before a password is checked, in one write transaction: refuse a locked account (``locked``), else
    count the attempt. Returns (row, attempt number since the last success, the lock this attempt set).

    The ``policy.max_attempts``-th attempt sets the lock at once, so attempts running beside it are
    refused without a check; if its password turns out right, it lifts the lock again.
    """
    with store.write(data=False) as cur:
        row = _row(cur, name)
        if not _has_password(row):
            return row, 0, None
        if not _locked(row["locked_until"], now):
            until = now + dt.timedelta(minutes=policy.minutes)
            # Read, increment and decide in the UPDATE itself; an expired lock starts a fresh count.
            attempt, lock = cur.execute(
                "UPDATE users SET "
                " failed_attempts = (CASE WHEN locked_until IS NULL THEN failed_attempts ELSE 0 END) + 1,"
                " locked_until = CASE WHEN (CASE WHEN locked_until IS NULL THEN failed_attempts ELSE 0 END) + 1 >= ?"
                "                     THEN ? ELSE NULL END "
                "WHERE username = ? RETURNING failed_attempts, locked_until",
                [policy.max_attempts, until, name]).fetchone()
            return row, int(attempt), None if lock is None else until
        audit.record(cur, "anonymous", "sign_in_failed", name, {"reason": "locked"})
    until = pd.Timestamp(row["locked_until"]).to_pydatetime()
    raise SignInFailed("locked", f"account locked until {until:%Y-%m-%d %H:%M} UTC", until)


def authenticate(store, username: str, password: str, *, now: dt.datetime | None = None,
                 policy: LockoutPolicy | None = None) -> User:
    """Check a built-in sign-in and return the :class:`User`, or raise :class:`SignInFailed`.

    - a locked account is refused without looking at the password (``locked``);
    - every attempt is counted before its password is checked, in the write transaction that refuses a
      locked account, so attempts sent in parallel get at most ``policy.max_attempts`` checks between a
      success and the lock;
    - a wrong password (or unknown name) fails (``bad_credentials``); the ``policy.max_attempts``-th
      attempt in a row locks the account for ``policy.minutes`` and, its password being wrong, is
      audited as ``locked_out`` beside its ``sign_in_failed`` (and refused as ``locked``);
    - a right password on a disabled account is refused (``disabled``);
    - a right password clears the counter (and a lock set by an attempt running beside it);
      success is audited as ``sign_in``.
    """
    name = normalise_username(username)
    policy = policy or LockoutPolicy.from_env()
    now = now or utcnow()
    row = _row(store, name)
    if _has_password(row):
        row, attempt, lock = _count_attempt(store, name, now, policy)
    if not _has_password(row):
        _dummy_check(password)          # the time of a real check, so timing does not tell which names exist
        reason = "unknown_user" if row is None else "no_password"
        with store.write(data=False) as cur:
            audit.record(cur, "anonymous", "sign_in_failed", name, {"reason": reason})
        raise SignInFailed("bad_credentials", "wrong user name or password")
    if not check_password(password, row["password_hash"]):
        with store.write(data=False) as cur:
            audit.record(cur, "anonymous", "sign_in_failed", name, {"reason": "wrong_password", "attempt": attempt})
            if lock is not None:
                current = cur.execute("SELECT locked_until FROM users WHERE username = ?", [name]).fetchone()
                # A right password checked meanwhile may have lifted the lock: then this failure locks nothing.
                lock = lock if current and current[0] is not None and pd.Timestamp(current[0]) == pd.Timestamp(lock) \
                    else None
            if lock is not None:
                audit.record(cur, SYSTEM_ACTOR, "locked_out", name,
                             {"attempts": attempt, "until": lock.isoformat(timespec="seconds")})
        if lock is not None:
            raise SignInFailed("locked", f"too many failed attempts; account locked until {lock:%Y-%m-%d %H:%M} UTC",
                               lock)
        raise SignInFailed("bad_credentials", "wrong user name or password")
    with store.write(data=False) as cur:
        # The right password: this attempt and those counted beside it are forgiven, and a lock set by an
        # attempt of the same round (never an older one: a locked account got no check) is lifted.
        cur.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?", [name])
        if bool(row["disabled"]):
            audit.record(cur, "anonymous", "sign_in_failed", name, {"reason": "disabled"})
        else:
            cur.execute("UPDATE users SET last_sign_in = ? WHERE username = ?", [now, name])
            audit.record(cur, name, "sign_in", name, {"source": "builtin"})
    if bool(row["disabled"]):
        raise SignInFailed("disabled", "this account is disabled; ask an administrator")
    return get_user(store, name)


def must_change_password(store, username: str) -> bool:
    return bool(store.scalar("SELECT must_change_password FROM users WHERE username = ?",
                             [normalise_username(username)]))


def change_password(store, username: str, old_password: str, new_password: str, *,
                    keep_session: str | None = None, now: dt.datetime | None = None) -> None:
    """The user changes their own password; the old one must be right. Audited as ``password_changed``.

    Every other session of the user ends (``password_changed``): whoever else held one must sign in with the new
    password. ``keep_session`` is the token of the session the change was made in; it stays."""
    name = normalise_username(username)
    row = _row(store, name)
    if row is None:
        raise AccountError("not_found", f"no user {name!r}")
    if not check_password(old_password, row["password_hash"]):
        raise AccountError("wrong_password", "the current password is wrong")
    if new_password == old_password:
        raise AccountError("weak_password", "the new password must differ from the current one")
    pw_hash = hash_password(new_password)
    now = now or utcnow()
    with store.write(data=False) as cur:
        cur.execute("UPDATE users SET password_hash = ?, must_change_password = FALSE, password_changed_at = ?, "
                    "updated_at = ? WHERE username = ?", [pw_hash, now, now, name])
        audit.record(cur, name, "password_changed", name)
        sessions.end_all(cur, name, reason="password_changed", actor=name, keep=keep_session, now=now)


def sign_out(store, user: User | None, token: str | None = None, *, now: dt.datetime | None = None) -> None:
    """Audit a sign-out and end the session of ``token`` (the browser's cookie), so that cookie signs nobody in
    again. The Streamlit session state is the UI's to clear."""
    if user is None or user.is_public:
        return
    with store.write(data=False) as cur:
        ended = sessions.end(cur, token, reason="sign_out", actor=user.username, audit_it=False, now=now)
        audit.record(cur, user.username, "sign_out", user.username,
                     {"source": user.source, **({"session": True} if ended else {})})


def set_language(store, username: str, lang: str) -> None:
    """Store the user's interface language ('en', 'ru', 'kk'). Not audited (a preference, not a change of rights)."""
    if lang not in LANGUAGES:
        raise AccountError("invalid", f"unknown language {lang!r}")
    with store.write(data=False) as cur:
        cur.execute("UPDATE users SET language = ? WHERE username = ?", [lang, normalise_username(username)])


# -- OIDC identities -----------------------------------------------------------
def sign_in_oidc(store, user: User, *, now: dt.datetime | None = None) -> User:
    """Record an OIDC sign-in: create or refresh the account row (role and units come from the
    identity provider's claims each time; no password), refuse it when an admin disabled it,
    and return the user with the stored language. Audited as ``sign_in`` (or ``sign_in_failed``)."""
    name = _validate_username(user.username)
    _check_role(user.role)
    now = now or utcnow()
    with store.write(data=False) as cur:
        row = _row(cur, name)
        if row is not None and bool(row["disabled"]):
            audit.record(cur, "anonymous", "sign_in_failed", name, {"reason": "disabled", "source": "oidc"})
            disabled = True
        else:
            disabled = False
            if row is None:
                cur.execute("INSERT INTO users (username, display_name, role, password_hash, source, created_at, "
                            "created_by, last_sign_in) VALUES (?, ?, ?, NULL, 'oidc', ?, 'oidc', ?)",
                            [name, user.display_name, user.role, now, now])
            else:
                cur.execute("UPDATE users SET display_name = ?, role = ?, last_sign_in = ? WHERE username = ?",
                            [user.display_name, user.role, now, name])
            _write_units(cur, name, _clean_units(user.units))
            audit.record(cur, name, "sign_in", name,
                         {"source": "oidc", "role": user.role, "units": sorted(user.units)})
    if disabled:
        raise SignInFailed("disabled", "this account is disabled; ask an administrator")
    stored = get_user(store, name)
    return User(username=name, display_name=user.display_name, role=user.role, units=frozenset(user.units),
                language=stored.language if stored else "en", source="oidc")


def record_oidc_refused(store, username: str | None, reason: str) -> None:
    """Audit an identity the provider vouched for but the SAC refused (no mapped role, no units)."""
    with store.write(data=False) as cur:
        audit.record(cur, "anonymous", "sign_in_failed", normalise_username(username or "") or None,
                     {"reason": "oidc_refused", "source": "oidc", "message": reason})


# -- start-up ------------------------------------------------------------------
def ensure_first_admin(store, env: dict | None = None, log=None) -> str | None:
    """When there are no accounts, create ``admin``: password from ``SAC_ADMIN_PASSWORD``, or a
    generated one printed once to the server log (stderr) and to be changed at first sign-in.
    Returns the password it set, or None when accounts already existed."""
    env = os.environ if env is None else env
    if user_count(store) > 0:
        return None
    given = env.get("SAC_ADMIN_PASSWORD")
    try:
        password = add_user(store, SYSTEM_ACTOR, "admin", "admin", given or None,
                            display_name="Administrator", must_change_password=not given)
    except AccountError as e:
        if e.code == "exists":          # another session got there first
            return None
        raise
    if not given:
        (log or (lambda msg: print(msg, file=sys.stderr, flush=True)))(
            f"SAC: created the first account 'admin' with password {password} "
            "(shown once; change it after signing in, or set SAC_ADMIN_PASSWORD)")
    return password


def ensure_demo_accounts(store) -> dict[str, str]:
    """Demo database only: make sure admin / analyst / leadership / office (Almaty, KATO 75) exist
    with the known demo passwords (:data:`DEMO_ACCOUNTS`); returns {username: password}."""
    out = {}
    for name, (password, display, role, units) in DEMO_ACCOUNTS.items():
        row = _row(store, name)
        if row is None:
            add_user(store, SYSTEM_ACTOR, name, role, password, display_name=display, units=units,
                     must_change_password=False)
        elif not check_password(password, row["password_hash"]) or bool(row["disabled"]) or row["role"] != role:
            update_user(store, SYSTEM_ACTOR, name, role=role, units=units, disabled=False)
            reset_password(store, SYSTEM_ACTOR, name, password)
            with store.write() as cur:
                cur.execute("UPDATE users SET must_change_password = FALSE WHERE username = ?", [name])
        out[name] = password
    return out
