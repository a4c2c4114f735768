"""Read-only queries the account and audit pages need (pages hold no SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from sac.i18n import name_column


def audit_log(store, *, actions: Sequence[str] = (), actors: Sequence[str] = (),
              start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """The audit log, newest first, filtered (an empty filter means all; dates inclusive).

    Columns: entry_id, occurred_at, actor, action, target, details (JSON text).
    """
    where, params = [], []
    if actions:
        where.append(f"action IN ({', '.join('?' for _ in actions)})")
        params += list(actions)
    if actors:
        where.append(f"actor IN ({', '.join('?' for _ in actors)})")
        params += list(actors)
    if start is not None:
        where.append("occurred_at >= ?")
        params.append(dt.datetime.combine(start, dt.time()))
    if end is not None:
        where.append("occurred_at < ?")
        params.append(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    sql = "SELECT entry_id, occurred_at, actor, action, target, details FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return store.df(sql + " ORDER BY entry_id DESC", params)


def audit_actors(store) -> list[str]:
    """Everyone who appears as an actor in the log, sorted."""
    return store.df("SELECT DISTINCT actor FROM audit_log ORDER BY actor")["actor"].tolist()


def audit_date_range(store) -> tuple[dt.date | None, dt.date | None]:
    """First and last day with an entry (None, None for an empty log)."""
    row = store.cursor().execute("SELECT min(occurred_at)::DATE, max(occurred_at)::DATE FROM audit_log").fetchone()
    return row[0], row[1]


def assignable_units(store, lang: str = "en") -> pd.DataFrame:
    """Regions (KATO) and organisations an account can be scoped to.

    Columns: code, name (in ``lang``), kind ('region' | 'city' | an organisation kind).
    """
    col = name_column(lang)
    return store.df(f"SELECT kato AS code, {col} AS name, kind FROM regions "
                    f"UNION ALL SELECT org_id, {col}, kind FROM organisations ORDER BY code")
