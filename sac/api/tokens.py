"""Service accounts of the HTTP API: bearer tokens scoped to a role and units like a person (migration 012).

A token is ``sac_`` + 43 URL-safe characters (256 random bits). It is printed once when created; the store keeps
only its SHA-256, so a copy of the database (or a backup) does not let anyone call the API. A token maps to a
:class:`sac.auth.User` (``username`` ``token:<name>``, ``source`` ``token``) that goes through
:mod:`sac.auth.permissions` exactly as a signed-in person does. A revoked or expired token authenticates
nobody (:class:`TokenRejected`). Creation and revocation are audited in the same transaction; every API call
is audited by :mod:`sac.api.calls` (which also sets ``last_used_at``).

No streamlit, no starlette: the CLI (``python -m sac users token ...``) uses this module directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable

import pandas as pd

from sac import audit
from sac.auth import ROLES, AuthError, User

PREFIX = "sac_"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEFAULT_EXPIRY_DAYS = 365
SOURCE = "token"


class TokenError(AuthError):
    """A token operation was refused. ``code``: 'invalid', 'exists', 'not_found'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TokenRejected(AuthError):
    """A presented token authenticates nobody. ``code``: 'unknown', 'revoked', 'expired'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    """Hex SHA-256 of the token as presented (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def username(name: str) -> str:
    """The :class:`User` name (and audit actor) of the service account ``name``."""
    return f"token:{name}"


def normalise_name(name: str) -> str:
    return (name or "").strip().lower()


def _validate_name(name: str) -> str:
    clean = normalise_name(name)
    if not NAME_RE.match(clean):
        raise TokenError("invalid", f"invalid token name {name!r}: 1-64 of a-z 0-9 . _ - (starting with a letter "
                                    "or digit)")
    return clean


def _clean_units(units: Iterable[str] | None) -> list[str]:
    return sorted({str(u).strip() for u in (units or ()) if str(u).strip()})


def create_token(store, actor: str, name: str, role: str, units: Iterable[str] = (), *,
                 expires_days: int | None = DEFAULT_EXPIRY_DAYS, now: dt.datetime | None = None) -> str:
    """Create the service account ``name`` and return its token (the only time it is seen).

    ``units``: KATO codes / org_ids (a project office needs at least one; each must be a known region or
    organisation); other roles may name none (they see all). ``expires_days`` None = never expires.
    Refused (:class:`TokenError`): a bad name, role or unit, a name already used (revoked ones included: the
    audit log's names stay unambiguous). Audited as ``token_created``.
    """
    clean = _validate_name(name)
    if role not in ROLES:
        raise TokenError("invalid", f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    unit_list = _clean_units(units)
    if role == "project_office" and not unit_list:
        raise TokenError("invalid", "a project_office token needs at least one unit (region KATO code or org_id)")
    if role != "project_office" and unit_list:
        raise TokenError("invalid", f"a token of role {role} sees every unit; units are for project_office tokens")
    if expires_days is not None and expires_days <= 0:
        raise TokenError("invalid", "--expires-days must be positive")
    now = now or utcnow()
    expires = None if expires_days is None else now + dt.timedelta(days=expires_days)
    token = PREFIX + secrets.token_urlsafe(32)
    with store.write(data=False) as cur:
        if cur.execute("SELECT 1 FROM service_tokens WHERE name = ?", [clean]).fetchone():
            raise TokenError("exists", f"a token named {clean!r} exists (revoked ones keep their name); pick another")
        if unit_list:
            known = {r[0] for r in cur.execute(
                "SELECT kato FROM regions WHERE list_contains(?, kato) UNION "
                "SELECT org_id FROM organisations WHERE list_contains(?, org_id)", [unit_list, unit_list]).fetchall()}
            unknown = [u for u in unit_list if u not in known]
            if unknown:
                raise TokenError("invalid", f"unknown unit(s) {', '.join(unknown)}: use a region's KATO code or an "
                                            "organisation's org_id")
        cur.execute("INSERT INTO service_tokens (name, token_hash, role, units, created_by, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [clean, token_hash(token), role, unit_list, actor, now, expires])
        audit.record(cur, actor, "token_created", username(clean),
                     {"role": role, "units": unit_list, "expires_at": expires})
    return token


def revoke_token(store, actor: str, name: str, *, now: dt.datetime | None = None) -> None:
    """Revoke ``name`` at once (the next call with it is refused). Revoking a revoked token is refused
    (``invalid``), an unknown one is ``not_found``. Audited as ``token_revoked``."""
    clean = normalise_name(name)
    now = now or utcnow()
    with store.write(data=False) as cur:
        row = cur.execute("SELECT revoked_at FROM service_tokens WHERE name = ?", [clean]).fetchone()
        if row is None:
            raise TokenError("not_found", f"no token named {clean!r}")
        if row[0] is not None:
            raise TokenError("invalid", f"token {clean!r} was already revoked at {row[0]:%Y-%m-%d %H:%M} UTC")
        cur.execute("UPDATE service_tokens SET revoked_at = ?, revoked_by = ? WHERE name = ?", [now, actor, clean])
        audit.record(cur, actor, "token_revoked", username(clean))


def list_tokens(store, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every service account, by name (never a token or its hash).

    Columns: name, role, units (comma-separated, '' = all), status ('active' | 'expired' | 'revoked'),
    created_by, created_at, expires_at, revoked_at, last_used_at.
    """
    now = now or utcnow()
    return store.df(
        "SELECT name, role, array_to_string(units, ',') AS units, "
        "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= ? THEN 'expired' ELSE 'active' END "
        "AS status, created_by, created_at, expires_at, revoked_at, last_used_at "
        "FROM service_tokens ORDER BY name", [now])


def authenticate(store, token: str, *, now: dt.datetime | None = None) -> User:
    """The :class:`User` of a presented token, or :class:`TokenRejected` ('unknown', 'revoked', 'expired').

    Looked up by the token's hash on every call (nothing cached): a revocation holds from the next call.
    """
    now = now or utcnow()
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        raise TokenRejected("unknown", "unknown token")
    row = store.df("SELECT name, role, units, expires_at, revoked_at FROM service_tokens WHERE token_hash = ?",
                   [token_hash(token)])
    if row.empty:
        raise TokenRejected("unknown", "unknown token")
    r = row.iloc[0]
    if not pd.isna(r["revoked_at"]):
        raise TokenRejected("revoked", f"token {r['name']!r} was revoked")
    if not pd.isna(r["expires_at"]) and pd.Timestamp(r["expires_at"]) <= pd.Timestamp(now):
        raise TokenRejected("expired", f"token {r['name']!r} expired at {pd.Timestamp(r['expires_at']):%Y-%m-%d %H:%M} UTC")
    units = frozenset(str(u) for u in (r["units"] if r["units"] is not None else ()))
    return User(username=username(r["name"]), display_name=str(r["name"]), role=str(r["role"]), units=units,
                source=SOURCE)


def expires_at(store, name: str):
    """When the token ``name`` expires (None: never)."""
    v = store.scalar("SELECT expires_at FROM service_tokens WHERE name = ?", [normalise_name(name)])
    return None if v is None or pd.isna(v) else v
