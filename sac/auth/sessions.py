"""Sign-in sessions kept in the database (migration 011), so a reload or a shared link keeps a reader signed in.

The browser holds a random token (32 bytes from :mod:`secrets`) in the HttpOnly cookie ``sac_session``
(set by :mod:`sac.web.signin`); the ``sessions`` table keeps only its SHA-256. Every rerun of the app resolves
the cookie again (:func:`resolve`), so a session ended here stops working at the reader's next click.

A session ends (``revoked_at`` and ``revoked_reason`` are set, the row stays):

- ``sign_out``: its owner signed out (:func:`sac.auth.accounts.sign_out`);
- ``idle``: unused for longer than ``SAC_SESSION_IDLE_MINUTES`` (default 60);
- ``expired``: older than ``SAC_SESSION_MAX_HOURS`` (default 12), however busy;
- ``replaced``: a new sign-in in the same browser;
- ``password_changed``: its owner changed the password in another session (the session that changed it stays);
- ``password_reset``, ``user_disabled``: an admin reset the password or disabled the account (all end);
- ``ended_by_admin``: an admin ended the user's sessions on the Users page;
- ``user_missing``: the account is gone.

Both time-outs take fractions (``SAC_SESSION_IDLE_MINUTES=0.05`` is three seconds) so tests need not wait.
``last_seen_at`` moves at most once a minute (or once per half the idle time-out, when that is shorter), and a
process writes the sessions it saw in one batch at most that often (:class:`_SeenBuffer`): every write publishes
a new snapshot of the whole database file (``sac.store``), so one write per reader per minute would copy it that
often; one per process per minute does not grow with the readers. Within the process the idle time-out counts
from the newest use, written or not; another process sees it at the next batch (so idleness is known to within
two such intervals). Ends other than a sign-out are audited as ``session_ended``.
Times are naive UTC; functions take ``now`` so tests can move the clock. Never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import pandas as pd

from sac import audit
from sac.auth import User

COOKIE = "sac_session"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128            # a longer cookie is not one of ours: refused before hashing
SYSTEM_ACTOR = "system"
REASONS = ("sign_out", "idle", "expired", "replaced", "password_changed", "password_reset", "user_disabled",
           "ended_by_admin", "user_missing")


@dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=60)
    absolute: dt.timedelta = dt.timedelta(hours=12)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SessionPolicy:
        """``SAC_SESSION_IDLE_MINUTES`` (60) and ``SAC_SESSION_MAX_HOURS`` (12); fractions allowed, > 0."""
        env = os.environ if env is None else env
        idle = float(env.get("SAC_SESSION_IDLE_MINUTES") or 60)
        absolute = float(env.get("SAC_SESSION_MAX_HOURS") or 12)
        if idle <= 0 or absolute <= 0:
            raise ValueError("SAC_SESSION_IDLE_MINUTES and SAC_SESSION_MAX_HOURS must be positive")
        return cls(dt.timedelta(minutes=idle), dt.timedelta(hours=absolute))

    @property
    def touch_every(self) -> dt.timedelta:
        """How stale ``last_seen_at`` may get before a request writes it again."""
        return min(dt.timedelta(minutes=1), self.idle / 2)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_token() -> str:
    """43 URL-safe characters carrying 256 random bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _plausible(token: str | None) -> bool:
    return bool(token) and isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH


def _ts(value) -> dt.datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


class _SeenBuffer:
    """Uses of sessions not yet written, per database file: {token_hash: when}, flushed in one write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, dt.datetime]] = {}
        self._flushed: dict[str, dt.datetime] = {}

    def seen(self, key: str, token_hash: str) -> dt.datetime | None:
        with self._lock:
            return self._pending.get(key, {}).get(token_hash)

    def note(self, key: str, token_hash: str, now: dt.datetime, every: dt.timedelta) -> dict[str, dt.datetime]:
        """Remember a use; returns the batch to write now (empty while the last batch is younger than ``every``)."""
        with self._lock:
            self._pending.setdefault(key, {})[token_hash] = now
            last = self._flushed.get(key)
            if last is not None and now - last < every and now >= last:
                return {}
            self._flushed[key] = now
            return self._pending.pop(key)

    def forget(self, key: str) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._flushed.pop(key, None)


_SEEN = _SeenBuffer()


def _key(store) -> str:
    """The database file's path: every store of one file in this process shares the batch."""
    return str(getattr(store, "path", id(store)))


# -- creating ---------------------------------------------------------------------------------------------------------
def create(store, username: str, *, source: str = "builtin", user_agent: str | None = None,
           client_ip: str | None = None, replaces: str | None = None, now: dt.datetime | None = None,
           policy: SessionPolicy | None = None) -> str:
    """Start a session for ``username`` (already authenticated) and return its token, the only copy.

    ``replaces``: the token this browser held before (a new sign-in ends it, as ``replaced``).
    """
    policy = policy or SessionPolicy.from_env()
    now = now or utcnow()
    token = new_token()
    with store.write(data=False) as cur:
        if _plausible(replaces):
            _end_where(cur, "token_hash = ?", [hash_token(replaces)], reason="replaced", now=now)
        cur.execute(
            "INSERT INTO sessions (token_hash, username, source, created_at, last_seen_at, expires_at, user_agent, "
            "client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [hash_token(token), username, source, now, now, now + policy.absolute,
             (user_agent or "")[:200] or None, client_ip])
    return token


# -- resolving --------------------------------------------------------------------------------------------------------
def _why_over(row: dict, last_seen: dt.datetime, now: dt.datetime, policy: SessionPolicy) -> str | None:
    if row["role"] is None or pd.isna(row["role"]):
        return "user_missing"
    if bool(row["disabled"]):
        return "user_disabled"
    if now >= _ts(row["expires_at"]):
        return "expired"
    if now - last_seen > policy.idle:
        return "idle"
    return None


def resolve(store, token: str | None, *, now: dt.datetime | None = None,
            policy: SessionPolicy | None = None) -> User | None:
    """The :class:`User` of a live session, read fresh from ``users`` (a role change applies at once); None for
    no token, an unknown or ended one, an idle or expired session, or a disabled account.

    A session found over its time-out (or whose account is disabled or gone) is ended here, once, and audited.
    """
    if not _plausible(token):
        return None
    policy = policy or SessionPolicy.from_env()
    now = now or utcnow()
    token_hash = hash_token(token)
    df = store.df(
        "SELECT s.username, s.source, s.last_seen_at, s.expires_at, s.revoked_at, "
        "u.display_name, u.role, u.language, u.disabled "
        "FROM sessions s LEFT JOIN users u USING (username) WHERE s.token_hash = ?", [token_hash])
    if df.empty:
        return None
    row = df.iloc[0].to_dict()
    if _ts(row["revoked_at"]) is not None:
        return None
    last_seen = max(_ts(row["last_seen_at"]), _SEEN.seen(_key(store), token_hash) or dt.datetime.min)
    reason = _why_over(row, last_seen, now, policy)
    if reason is not None:
        with store.write(data=False) as cur:
            _end_where(cur, "token_hash = ?", [token_hash], reason=reason, now=now)
        return None
    if now - last_seen >= policy.touch_every:
        batch = _SEEN.note(_key(store), token_hash, now, policy.touch_every)
        if batch:
            with store.write(data=False) as cur:
                cur.executemany(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND revoked_at IS NULL "
                    "AND last_seen_at < ?", [[when, h, when] for h, when in sorted(batch.items())])
    units = store.df("SELECT unit_code FROM user_units WHERE username = ?", [row["username"]])
    return User(username=row["username"], display_name=row["display_name"], role=row["role"],
                units=frozenset(units["unit_code"].astype(str)), language=row["language"], source=row["source"])


# -- ending -----------------------------------------------------------------------------------------------------------
def _end_where(cur: duckdb.DuckDBPyConnection, where: str, params: list, *, reason: str, now: dt.datetime,
               actor: str = SYSTEM_ACTOR, audit_it: bool = True) -> int:
    """End the live sessions matching ``where`` in the caller's transaction; audit ``session_ended`` per user."""
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    ended = cur.execute(
        f"UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL AND ({where}) "
        "RETURNING username", [now, reason, *params]).fetchall()
    if audit_it:
        counts: dict[str, int] = {}
        for (username,) in ended:
            counts[username] = counts.get(username, 0) + 1
        for username, n in sorted(counts.items()):
            audit.record(cur, actor, "session_ended", username, {"reason": reason, "sessions": n})
    return len(ended)


def end(cur: duckdb.DuckDBPyConnection, token: str | None, *, reason: str, now: dt.datetime | None = None,
        actor: str = SYSTEM_ACTOR, audit_it: bool = True) -> int:
    """End one session (by its token) in the caller's write transaction; returns 1 if it was live, else 0."""
    if not _plausible(token):
        return 0
    return _end_where(cur, "token_hash = ?", [hash_token(token)], reason=reason, now=now or utcnow(), actor=actor,
                      audit_it=audit_it)


def end_all(cur: duckdb.DuckDBPyConnection, username: str, *, reason: str, actor: str = SYSTEM_ACTOR,
            keep: str | None = None, now: dt.datetime | None = None) -> int:
    """End every live session of ``username`` but the one of token ``keep``, in the caller's write transaction.
    Audited as ``session_ended`` (by ``actor``) when there was one. Returns how many ended."""
    where, params = "username = ?", [username]
    if _plausible(keep):
        where, params = where + " AND token_hash <> ?", [username, hash_token(keep)]
    return _end_where(cur, where, params, reason=reason, now=now or utcnow(), actor=actor)


def end_user_sessions(store, actor: str, username: str, *, now: dt.datetime | None = None) -> int:
    """An admin ends all of a user's sessions (the Users page): they must sign in again at their next click."""
    with store.write(data=False) as cur:
        return end_all(cur, username, reason="ended_by_admin", actor=actor, now=now)


# -- reading (admin) --------------------------------------------------------------------------------------------------
def list_sessions(store, username: str | None = None, *, live_only: bool = True, now: dt.datetime | None = None,
                  policy: SessionPolicy | None = None) -> pd.DataFrame:
    """Sessions, newest first (of one user when ``username`` is given; only live ones unless ``live_only=False``).

    Columns: session (first 8 hex digits of the token's hash: enough to tell them apart, useless to sign in),
    username, source, created_at, last_seen_at, expires_at, revoked_at, revoked_reason, user_agent, client_ip.
    A live session is not ended, not past ``expires_at`` and seen within the idle time-out.
    """
    policy = policy or SessionPolicy.from_env()
    now = now or utcnow()
    where, params = [], []
    if username is not None:
        where.append("username = ?")
        params.append(username)
    if live_only:
        where.append("revoked_at IS NULL AND expires_at > ? AND last_seen_at >= ?")
        params += [now, now - policy.idle]
    sql = ("SELECT left(token_hash, 8) AS session, username, source, created_at, last_seen_at, expires_at, "
           "revoked_at, revoked_reason, user_agent, client_ip FROM sessions")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return store.df(sql + " ORDER BY created_at DESC, session", params)
