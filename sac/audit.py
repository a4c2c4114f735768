"""The audit log: append-only record of sign-ins, uploads, rollbacks, methodology and user changes.

Call :func:`record` with the cursor of the write transaction that makes the
change, so the change and its audit entry are committed together or not at all.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "locked_out", "password_changed",
    "upload", "rollback", "methodology_changed", "profile_saved", "region_alias_added", "region_alias_removed",
    "user_added", "user_changed", "user_disabled", "user_password_reset",
    "token_created", "token_revoked", "api_call",   # service tokens and calls of the HTTP API (sac/api)
    "session_ended",   # sign-in sessions ended by time-out, password change or reset, disabling, an admin
    "board_built", "board_downloaded",   # information boards (sac/boards): every build and every download
    "data_set_submitted", "data_set_returned", "data_set_approved", "data_set_locked", "data_set_unlocked",
)


def record(cur: duckdb.DuckDBPyConnection, actor: str, action: str, target: str | None = None,
           details: dict | None = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    cur.execute(
        "INSERT INTO audit_log (actor, action, target, details) VALUES (?, ?, ?, ?)",
        [actor, action, target, json.dumps(details, ensure_ascii=False, default=str) if details else None],
    )


def entries(store, action: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """The log, newest first: entry_id, occurred_at, actor, action, target, details."""
    sql = "SELECT entry_id, occurred_at, actor, action, target, details FROM audit_log"
    params: list = []
    if action:
        sql += " WHERE action = ?"
        params.append(action)
    sql += " ORDER BY entry_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.df(sql, params)
