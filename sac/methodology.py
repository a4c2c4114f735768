"""Versioned methodology configuration (METHODOLOGY.md, preamble).

Every threshold, weight and method choice of METHODOLOGY.md is configuration,
stored with a version number in ``methodology_versions`` (migration 003).
History is append-only: :func:`save_new_version` writes version N+1 and an
audit entry ``methodology_changed`` in the same transaction; nothing rewrites
an old version. Result frames of ``sac.metrics`` carry ``methodology_version``.

    >>> from sac.methodology import DEFAULT_CONFIG, current
    >>> m = current(store)        # Methodology(version=1, config={...}, ...)
    >>> m.config["rating"]["coverage_min"]
    0.8

``render_markdown(m, lang)`` produces the methodology page from the same
config, so the page and the numbers never disagree.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

from sac import audit

#: The defaults of METHODOLOGY.md version 1. Migration 003 seeds version 1 with exactly this.
DEFAULT_CONFIG: dict[str, Any] = {
    "plan_fact": {"rag_green": 1.0, "rag_amber": 0.9},
    "rating": {
        "kind": "plan_fulfilment",
        "normalisation": "minmax",
        "aggregation": "arithmetic",
        "coverage_min": 0.8,
        "tie_decimals": 1,
        "geometric_floor": 1.0,
        "robustness": {"draws": 500, "seed": 20240101, "weight_low": 0.75, "weight_high": 1.25},
    },
    "progress": {"on_track": 0.95, "acceleration": 0.6, "projection_points": 5},
    "budget": {"spike_share": 0.40, "bands": {"high": 0.9, "medium": 0.8, "satisfactory": 0.7}},
    "projects": {"ev_red": 0.8, "ev_amber": 0.95},
    "quality": {"outlier_z": 3.5},
}

RATING_KINDS = ("plan_fulfilment", "level")
NORMALISATIONS = ("minmax", "zscore", "goalposts")
AGGREGATIONS = ("arithmetic", "geometric")


@dataclass(frozen=True)
class Methodology:
    """One stored version of the methodology configuration."""

    version: int
    config: dict[str, Any] = field(hash=False)
    created_at: _dt.datetime | None = None
    created_by: str | None = None
    note: str | None = None


def default() -> Methodology:
    """Version 1 with the defaults, without a store (for pure functions and tests)."""
    return Methodology(version=1, config=copy.deepcopy(DEFAULT_CONFIG), created_by="system",
                       note="METHODOLOGY.md version 1 defaults")


def resolve(config: dict | Methodology | None) -> tuple[dict[str, Any], int]:
    """(config dict, version) from whatever a metric function was given.

    ``None`` -> the defaults, version 1; a :class:`Methodology` -> its config and
    version; a plain dict -> merged over the defaults, version taken from a
    ``"version"`` key if present, else 1 (documented: an ad-hoc dict is labelled
    with the version it claims, so pass a Methodology for stored results).
    """
    if config is None:
        return copy.deepcopy(DEFAULT_CONFIG), 1
    if isinstance(config, Methodology):
        return merge(DEFAULT_CONFIG, config.config), int(config.version)
    version = int(config.get("version", 1)) if isinstance(config, dict) else 1
    cfg = {k: v for k, v in config.items() if k != "version"}
    return merge(DEFAULT_CONFIG, cfg), version


def merge(base: dict, override: dict) -> dict:
    """Deep merge: ``override``'s leaves replace ``base``'s; unknown keys raise ValueError."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if k not in base:
            raise ValueError(f"unknown methodology setting {k!r}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise ValueError(f"methodology setting {k!r} must be a mapping")
            out[k] = merge(base[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def validate(config: dict) -> dict:
    """A complete, checked config (merged over the defaults). Raises ValueError naming the bad setting."""
    cfg = merge(DEFAULT_CONFIG, config)
    pf, r, rob = cfg["plan_fact"], cfg["rating"], cfg["rating"]["robustness"]
    checks = [
        (0 < float(pf["rag_amber"]) <= float(pf["rag_green"]), "plan_fact: need 0 < rag_amber <= rag_green"),
        (r["kind"] in RATING_KINDS, f"rating.kind must be one of {RATING_KINDS}"),
        (r["normalisation"] in NORMALISATIONS, f"rating.normalisation must be one of {NORMALISATIONS}"),
        (r["aggregation"] in AGGREGATIONS, f"rating.aggregation must be one of {AGGREGATIONS}"),
        (0 <= float(r["coverage_min"]) <= 1, "rating.coverage_min must be within [0, 1]"),
        (int(r["tie_decimals"]) >= 0, "rating.tie_decimals must be >= 0"),
        (float(r["geometric_floor"]) > 0, "rating.geometric_floor must be > 0"),
        (int(rob["draws"]) >= 1, "rating.robustness.draws must be >= 1"),
        (0 < float(rob["weight_low"]) <= float(rob["weight_high"]),
         "rating.robustness: need 0 < weight_low <= weight_high"),
        (float(cfg["progress"]["on_track"]) >= float(cfg["progress"]["acceleration"]) >= 0,
         "progress: need on_track >= acceleration >= 0"),
        (int(cfg["progress"]["projection_points"]) >= 2, "progress.projection_points must be >= 2"),
        (0 < float(cfg["budget"]["spike_share"]) <= 1, "budget.spike_share must be within (0, 1]"),
        (float(cfg["budget"]["bands"]["high"]) >= float(cfg["budget"]["bands"]["medium"])
         >= float(cfg["budget"]["bands"]["satisfactory"]), "budget.bands: need high >= medium >= satisfactory"),
        (0 < float(cfg["projects"]["ev_red"]) <= float(cfg["projects"]["ev_amber"]),
         "projects: need 0 < ev_red <= ev_amber"),
        (float(cfg["quality"]["outlier_z"]) > 0, "quality.outlier_z must be > 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    return cfg


def _row_to_methodology(row) -> Methodology:
    version, created_at, created_by, config, note = row
    return Methodology(version=int(version), config=merge(DEFAULT_CONFIG, json.loads(config)),
                       created_at=created_at, created_by=created_by, note=note)


_SELECT = "SELECT version, created_at, created_by, config, note FROM methodology_versions"


def _has_table(store) -> bool:
    return bool(store.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'methodology_versions'"))


def current(store) -> Methodology:
    """The newest stored version (version 1 = defaults on a fresh store).

    ``store=None`` or a store without migration 003 (e.g. an old file opened
    read-only) gives the defaults as version 1.
    """
    if store is None or not _has_table(store):
        return default()
    cur = store.cursor()
    try:
        row = cur.execute(_SELECT + " ORDER BY version DESC LIMIT 1").fetchone()
    finally:
        cur.close()
    return default() if row is None else _row_to_methodology(row)


def get(store, version: int) -> Methodology:
    """One stored version; KeyError when there is no such version."""
    if store is None or not _has_table(store):
        if int(version) == 1:
            return default()
        raise KeyError(f"no methodology version {version}")
    cur = store.cursor()
    try:
        row = cur.execute(_SELECT + " WHERE version = ?", [int(version)]).fetchone()
    finally:
        cur.close()
    if row is None:
        raise KeyError(f"no methodology version {version}")
    return _row_to_methodology(row)


def versions(store):
    """All versions, newest first: DataFrame version, created_at, created_by, note, config (JSON text)."""
    return store.df("SELECT version, created_at, created_by, note, config FROM methodology_versions "
                    "ORDER BY version DESC")


def save_new_version(store, config: dict, actor: str, note: str | None = None) -> int:
    """Store ``config`` (full or partial, merged over the CURRENT version) as version N+1; return N+1.

    Never rewrites history. The audit entry ``methodology_changed`` (target = the
    new version, details = the settings that changed, old -> new) is written in
    the same transaction. A config equal to the current one writes nothing and
    returns the current version number. Raises ValueError for an invalid config.
    """
    base = current(store)
    new_cfg = validate(merge(base.config, config))
    if new_cfg == base.config:
        return base.version
    changes = {path: {"old": old, "new": new} for path, old, new in _diff(base.config, new_cfg)}
    with store.write() as cur:
        latest = cur.execute("SELECT coalesce(max(version), 0) FROM methodology_versions").fetchone()[0]
        version = int(latest) + 1
        cur.execute(
            "INSERT INTO methodology_versions (version, created_by, config, note) VALUES (?, ?, ?, ?)",
            [version, actor, json.dumps(new_cfg, sort_keys=True), note],
        )
        audit.record(cur, actor, "methodology_changed", target=str(version),
                     details={"from_version": int(latest), "note": note, "changes": changes})
    return version


def _diff(old: dict, new: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    out = []
    for k in new:
        path = f"{prefix}{k}"
        if isinstance(new[k], dict):
            out.extend(_diff(old.get(k, {}), new[k], path + "."))
        elif old.get(k) != new[k]:
            out.append((path, old.get(k), new[k]))
    return out
