"""The decisions a board lists: one function, :func:`decision_list`, so the source is switched in one line.

The ranking belongs to ``sac.metrics.decisions.decision_list`` (issue 11, item 2). Until that module is in the
tree, :func:`_from_exceptions` shapes ``sac.metrics.exceptions.exceptions`` into the same columns with the same
ordering rules the issue gives (escalated issues and overdue instructions before indicator colours, one line per
indicator red in many regions, severity and age break ties). It is a stand-in, not a second ranking: when
``decision_list`` is committed, :func:`decision_list` calls it and this shaping goes.

Columns (those of ``sac.metrics.decisions.decision_list``): rank, kind, severity, title_en/ru/kk,
reason_en/ru/kk, owner, due_date, age_days, regions (list of KATO codes), region_count, subject_id, page, params,
methodology_version; ``attrs["counts"]``: items per kind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sac.i18n import LANGUAGES, fmt_number, t
from sac.metrics import exceptions as _exceptions

KIND_ORDER = ("escalated", "instruction_overdue", "project_off_track", "red_indicator", "spending_spike",
              "projects_insufficient")
COLUMNS = ["rank", "kind", "severity", "title_en", "title_ru", "title_kk", "reason_en", "reason_ru", "reason_kk",
           "owner", "due_date", "age_days", "regions", "region_count", "subject_id", "page", "params",
           "methodology_version"]
INDICATOR_KINDS = ("red_indicator", "projects_insufficient")
FIRST_SCREEN_INSTRUCTIONS = 5
FIRST_SCREEN_EACH = 3


def decision_list(store, period: str, *, today) -> pd.DataFrame:
    """What needs a decision for ``period`` as of ``today``, ranked (see the module docstring)."""
    return _from_exceptions(store, period, today)   # switch: sac.metrics.decisions.decision_list(store, period, today=today)


def _owners(store) -> dict[tuple[str, str], str]:
    """(kind family, subject id) -> the person (or body) who owns the item."""
    ins = store.df("""SELECT i.instruction_id AS id, coalesce(o.full_name, g.name_en, i.responsible_org) AS owner
                      FROM instructions i LEFT JOIN officials o ON o.official_id = i.responsible_official
                      LEFT JOIN organisations g ON g.org_id = i.responsible_org""")
    prj = store.df("""SELECT p.project_id AS id, o.full_name AS owner FROM projects p
                      LEFT JOIN officials o ON o.official_id = p.manager_id""")
    ind = store.df("""SELECT i.indicator_id AS id, coalesce(o.full_name, og.full_name) AS owner FROM indicators i
                      LEFT JOIN officials o ON o.official_id = i.responsible_official
                      LEFT JOIN goal_nodes g ON g.node_id = i.node_id
                      LEFT JOIN officials og ON og.official_id = g.responsible_official""")
    bud = store.df("""SELECT b.program_code AS id, coalesce(g.name_en, b.administrator) AS owner
                      FROM budget_programs b LEFT JOIN organisations g ON g.org_id = b.administrator""")
    out = {}
    for fam, df in (("instruction", ins), ("project", prj), ("indicator", ind), ("budget", bud)):
        out.update({(fam, str(i)): o for i, o in zip(df["id"], df["owner"], strict=True) if isinstance(o, str)})
    return out


_FAMILY = {"escalated": "instruction", "instruction_overdue": "instruction", "project_off_track": "project",
           "red_indicator": "indicator", "projects_insufficient": "indicator", "spending_spike": "budget"}


def _from_exceptions(store, period: str, today) -> pd.DataFrame:
    exc = _exceptions.exceptions(store, period, today=today)
    if exc.empty:
        out = pd.DataFrame(columns=COLUMNS)
        out.attrs["counts"] = {}
        return out
    escalated = set(exc.loc[exc["kind"] == "escalated", "subject_id"])
    exc = exc[~((exc["kind"] == "instruction_overdue") & exc["subject_id"].isin(escalated))]  # one line each
    due = store.df("SELECT instruction_id AS id, due_date FROM instructions")
    due_of = dict(zip(due["id"], due["due_date"], strict=True))
    pend = store.df("SELECT project_id AS id, planned_end FROM projects")
    end_of = dict(zip(pend["id"], pend["planned_end"], strict=True))
    names = store.df("SELECT indicator_id AS id, name_en, name_ru, name_kk FROM indicators").set_index("id")
    owners = _owners(store)
    rows = []
    for (kind, subject), g in exc.groupby(["kind", "subject_id"], sort=False):
        first = g.iloc[0]
        regions = sorted({str(r) for r in g["region_kato"] if isinstance(r, str)})
        row = {"kind": kind, "severity": int(g["severity"].max()), "subject_id": subject, "page": first["page"],
               "params": dict(first["params"] or {}), "magnitude": float(g["magnitude"].max()),
               "regions": regions, "region_count": len(regions),
               "owner": owners.get((_FAMILY.get(kind, ""), str(subject))),
               "methodology_version": int(first["methodology_version"])}
        for lang in LANGUAGES:
            if kind in INDICATOR_KINDS and len(g) > 1:
                name = names.at[subject, f"name_{lang}"] if subject in names.index else subject
                row[f"title_{lang}"] = t(f"boards.grouped_{kind}", lang, name=name,
                                         n=fmt_number(len(g), lang))
                row[f"reason_{lang}"] = first[f"reason_{lang}"] + " " + t("boards.grouped_worst", lang)
                row["params"].pop("region", None)   # the indicator across regions, not the first region
            else:
                row[f"title_{lang}"] = first[f"title_{lang}"]
                row[f"reason_{lang}"] = first[f"reason_{lang}"]
        if kind in ("escalated", "instruction_overdue"):
            row["due_date"] = due_of.get(subject)
            row["age_days"] = float(first["magnitude"])
        elif kind == "project_off_track":
            row["due_date"] = end_of.get(subject)
            row["age_days"] = float(first["magnitude"])
        else:
            row["due_date"], row["age_days"] = None, None
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(KIND_ORDER)}).fillna(len(KIND_ORDER))
    out = out.sort_values(["_k", "severity", "region_count", "magnitude", "subject_id"],
                          ascending=[True, False, False, False, True], kind="stable").reset_index(drop=True)
    # each kind's share of the first screen: the instruction kinds' first FIRST_SCREEN_INSTRUCTIONS, every
    # other kind's first FIRST_SCREEN_EACH, then the rest, each tier in kind order
    place = out.groupby("kind", sort=False).cumcount()
    share = np.where(out["kind"].isin(["escalated", "instruction_overdue"]), FIRST_SCREEN_INSTRUCTIONS,
                     FIRST_SCREEN_EACH)
    out["_tier"] = (place >= share).astype(int)
    out = out.sort_values(["_tier", "_k"], kind="stable").reset_index(drop=True)
    out["rank"] = range(1, len(out) + 1)
    out = out[COLUMNS]
    out.attrs["counts"] = {k: int(n) for k, n in out["kind"].value_counts().items()}
    return out
