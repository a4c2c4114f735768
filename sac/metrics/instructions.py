"""Instructions on control (METHODOLOGY.md section 10; Rules para 16, 92-94, seed 004).

An instruction is put on control with a due date and a responsible body and official
(para 16), executed, and removed from control (para 92-93). Measures: what is overdue
and by how many days as of a given day, and the share done on time per responsible body.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

_SQL = """
SELECT i.*, o.name_en AS org_name_en, o.name_ru AS org_name_ru, o.name_kk AS org_name_kk,
       f.full_name AS official_name
FROM instructions i
LEFT JOIN organisations o ON o.org_id = i.responsible_org
LEFT JOIN officials f ON f.official_id = i.responsible_official
ORDER BY i.instruction_id
"""


def instruction_status(df: pd.DataFrame, today=None) -> pd.DataFrame:
    """Per instruction, as of ``today`` (default: the current date). Pure.

    Input: rows of ``instructions`` (``status`` in on_control/done/removed, ``due_date``,
    ``done_date``). Adds:

    - ``overdue``: on control and ``today`` is after the due date;
    - ``days_overdue``: ``today - due_date`` in days for overdue ones, else NaN;
    - ``done_on_time`` (nullable): done with ``done_date <= due_date``; NA when not done or
      the done date is missing;
    - ``days_late``: ``done_date - due_date`` (days) for instructions done late, else NaN.

    Removed from control is neither overdue nor done.
    """
    today = pd.Timestamp(today if today is not None else _dt.date.today()).normalize()
    out = df.copy()
    for c in ("issue_date", "due_date", "done_date"):
        out[c] = pd.to_datetime(out[c])
    on_control = out["status"] == "on_control"
    done = out["status"] == "done"
    out["overdue"] = on_control & (today > out["due_date"])
    out["days_overdue"] = (today - out["due_date"]).dt.days.astype("float64").where(out["overdue"])
    has_done = done & out["done_date"].notna()
    out["done_on_time"] = (out["done_date"] <= out["due_date"]).astype("boolean").where(has_done)
    late = (out["done_date"] - out["due_date"]).dt.days.astype("float64")
    out["days_late"] = late.where(has_done & (late > 0))
    return out


def load_instructions(store, *, today=None, region: str | None = None) -> pd.DataFrame:
    """All instructions with :func:`instruction_status` columns and the names of the
    responsible body (``org_name_en/ru/kk``) and official (``official_name``)."""
    df = store.df(_SQL)
    if region is not None:
        df = df[df["region_kato"] == region]
    return instruction_status(df.reset_index(drop=True), today)


def overdue(store, *, today=None, region: str | None = None) -> pd.DataFrame:
    """Overdue instructions, most days overdue first (columns of :func:`load_instructions`)."""
    df = load_instructions(store, today=today, region=region)
    return df[df["overdue"]].sort_values(["days_overdue", "instruction_id"], ascending=[False, True]) \
        .reset_index(drop=True)


def by_responsible_body(df: pd.DataFrame) -> pd.DataFrame:
    """Per responsible body (``responsible_org``; NA grouped as its own row). Pure.

    Input: :func:`instruction_status` output. Columns: ``responsible_org``, ``total``,
    ``on_control``, ``overdue``, ``max_days_overdue``, ``done``, ``done_on_time``,
    ``done_late``, ``on_time_share`` (= done on time / done with a done date, 0-1; NaN when
    none done), ``removed``. Sorted by overdue count, then the lowest on-time share.
    """
    d = df.assign(
        total=1,
        on_control=(df["status"] == "on_control").astype(int),
        done=(df["status"] == "done").astype(int),
        removed=(df["status"] == "removed").astype(int),
        overdue_n=df["overdue"].astype(int),
        on_time_n=df["done_on_time"].astype("boolean").fillna(False).astype(int),
        late_n=(~df["done_on_time"].astype("boolean")).fillna(False).astype(int),
    )
    g = d.groupby("responsible_org", dropna=False)
    out = g[["total", "on_control", "done", "removed"]].sum()
    out["overdue"] = g["overdue_n"].sum()
    out["max_days_overdue"] = g["days_overdue"].max()
    out["done_on_time"] = g["on_time_n"].sum()
    out["done_late"] = g["late_n"].sum()
    judged = (out["done_on_time"] + out["done_late"]).astype("float64")
    out["on_time_share"] = out["done_on_time"] / judged.where(judged > 0)
    out = out.reset_index()
    order = np.lexsort((out["on_time_share"].fillna(2.0).to_numpy(), -out["overdue"].to_numpy()))
    cols = ["responsible_org", "total", "on_control", "overdue", "max_days_overdue", "done", "done_on_time",
            "done_late", "on_time_share", "removed"]
    return out.iloc[order][cols].reset_index(drop=True)


def summary(store, *, today=None, region: str | None = None) -> dict:
    """Headline figures: ``total``, ``on_control``, ``overdue``, ``max_days_overdue``,
    ``on_time_share`` (all bodies), ``escalated_open`` (escalated and still on control)."""
    return summarise(load_instructions(store, today=today, region=region))


def summarise(df: pd.DataFrame) -> dict:
    """The headline figures of :func:`summary` over instructions already loaded (any subset of them)."""
    judged = df["done_on_time"].notna().sum()
    return {
        "total": int(len(df)),
        "on_control": int((df["status"] == "on_control").sum()),
        "overdue": int(df["overdue"].sum()),
        "max_days_overdue": float(df["days_overdue"].max()) if df["overdue"].any() else float("nan"),
        "on_time_share": float(df["done_on_time"].astype("boolean").sum() / judged) if judged else float("nan"),
        "escalated_open": int((df["escalated"].astype(bool) & (df["status"] == "on_control")).sum()),
    }
