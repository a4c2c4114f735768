"""The decisions a board lists: ``sac.metrics.decisions.decision_list`` (issue 11, item 2), the one ranking the
situation room uses too, read through this module so the board has one place that names its source.

A node's board lists the node's share of the list (:func:`sac.boards.content.Context.node_decisions`) ranked
again by the same rules (:func:`rank`), so each kind keeps its share of the node's first screen.

Columns (those of ``decision_list``): rank, kind, severity, title_en/ru/kk, reason_en/ru/kk, owner (and
owner_en/ru/kk), due_date, age_days, regions (list of KATO codes), region_count, subject_id, page, params,
methodology_version, ...; ``attrs["counts"]``: items per kind.
"""

from __future__ import annotations

import pandas as pd

from sac.metrics import decisions as _decisions

KIND_ORDER = tuple(_decisions.PRIORITY)
COLUMNS = list(_decisions.COLUMNS)


def decision_list(store, period: str, *, today) -> pd.DataFrame:
    """What needs a decision for ``period`` as of ``today``, ranked (sac.metrics.decisions)."""
    return _decisions.decision_list(store, period, today=today)


def rank(items: pd.DataFrame) -> pd.DataFrame:
    """A subset of the list ranked again by the list's own rules (sac.metrics.decisions.rank)."""
    out = _decisions.rank(items.drop(columns=["rank"], errors="ignore"))
    out.attrs["counts"] = {k: int((out["kind"] == k).sum()) for k in KIND_ORDER if (out["kind"] == k).any()}
    return out
