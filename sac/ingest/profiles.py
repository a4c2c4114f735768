"""Named mappings of published tables: which indicator, sheet and block a layout is.

A profile is saved when a user confirms what :mod:`sac.ingest.wide` understood, and offered again when a
file of the same layout arrives (same sheet name and title, footnote marks and years aside): next year's
edition of the Bureau's table adds a column, not a new mapping.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from sac import audit
from sac.ingest.wide import Layout

NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,80}$")


def check_name(name: str) -> str:
    """The name trimmed, or ValueError: 1-80 characters, no control characters."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValueError("a profile name is 1-80 characters without control characters")
    return name


@dataclass(frozen=True)
class Profile:
    name: str
    indicator_id: str
    sheet: str | None
    block: str | None
    source_document: str
    fingerprint: str


def fingerprint(layout: Layout) -> str:
    """The layout's identity: sheet, title and block labels without digits, footnote marks or spacing."""
    def clean(s: str | None) -> str:
        return re.sub(r"[\d\W_]+", " ", (s or "").lower()).strip()
    parts = [clean(layout.sheet), clean(layout.title), str(layout.region_col),
             *(clean(b.label) for b in layout.blocks)]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


def save(store, user: str, name: str, indicator_id: str, layout: Layout, *, sheet: str | None = None,
         block: str | None = None, source_document: str = "") -> Profile:
    """Save (or replace) the profile ``name``; audited."""
    name = check_name(name)
    fp = fingerprint(layout)
    with store.write() as cur:
        if not cur.execute("SELECT 1 FROM indicators WHERE indicator_id = ?", [indicator_id]).fetchall():
            raise ValueError(f"indicator {indicator_id!r} does not exist")
        cur.execute("INSERT OR REPLACE INTO import_profiles (name, indicator_id, sheet, block, source_document, "
                    "fingerprint, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [name, indicator_id, sheet, block, source_document, fp, user])
        audit.record(cur, user, "profile_saved", target=name,
                     details={"indicator_id": indicator_id, "sheet": sheet, "block": block})
    return Profile(name, indicator_id, sheet, block, source_document, fp)


def get(store, name: str) -> Profile | None:
    df = store.df("SELECT name, indicator_id, sheet, block, source_document, fingerprint FROM import_profiles "
                  "WHERE name = ?", [name])
    return None if df.empty else _profile(df.iloc[0])


def matching(store, layout: Layout) -> list[Profile]:
    """Saved profiles for this layout, newest first."""
    df = store.df("SELECT name, indicator_id, sheet, block, source_document, fingerprint FROM import_profiles "
                  "WHERE fingerprint = ? ORDER BY created_at DESC", [fingerprint(layout)])
    return [_profile(r) for _, r in df.iterrows()]


def listing(store) -> pd.DataFrame:
    return store.df("SELECT name, indicator_id, sheet, block, source_document, created_by, created_at "
                    "FROM import_profiles ORDER BY name")


def _profile(r) -> Profile:
    none = lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else v  # noqa: E731
    return Profile(r["name"], r["indicator_id"], none(r["sheet"]), none(r["block"]), r["source_document"] or "",
                   r["fingerprint"])
