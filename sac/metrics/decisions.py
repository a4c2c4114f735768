"""The decision list: what needs a decision from above, ranked (METHODOLOGY.md section 9; issue 11).

One ranking, used by the situation room's "Needs a decision" and by the information boards. Its items
are the exceptions of :mod:`sac.metrics.exceptions` (kinds :data:`~sac.metrics.exceptions.KINDS`),
made into decisions:

1. **One line per decision.** The same indicator red in several regions is one item ("Consumer price
   inflation: red in 18 regions") listing its regions, worst first; its severity is the highest of
   its regions' and its magnitude the sum of their shortfalls (100 - S). An instruction that is
   escalated and overdue is one item, of kind ``escalated``; it is not listed again as
   ``instruction_overdue``. An instruction's reason says how late it is ("158 days overdue"); its
   responsible body and official and its due date are the columns ``owner`` and ``due_date``.
2. **Order.** Escalated issues and overdue instructions come before everything else (indicator
   colours, projects, spending, gaps). Then, in turn: severity (3 before 2 before 1), kind in the
   order of :data:`PRIORITY`, age (days overdue; days past a project's planned end; none for
   indicators), magnitude (:func:`sac.metrics.exceptions.exceptions`), subject id and first region.
   Every key is total, so the order is deterministic.
3. **A share of the first screen for each kind.** The first :data:`FIRST_SCREEN` ranks hold up to
   :data:`QUOTA` items of each kind, the kind's first in the order above, so 20 red indicators cannot
   push out 5 escalated issues and 11 overdue instructions. A kind with fewer items than its share
   leaves its places to the others, one each in the order of :data:`PRIORITY`, round after round.
   The first screen is then sorted by rule 2, and the rest follows, sorted by rule 2.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from sac.i18n import fmt_number
from sac.metrics.exceptions import KINDS, _region_names, exception_details

# the kind order of rule 2 (after the tier of escalated and overdue instructions, and severity)
PRIORITY = ("escalated", "instruction_overdue", "red_indicator", "project_off_track", "spending_spike",
            "projects_insufficient")
FIRST_TIER = frozenset({"escalated", "instruction_overdue"})
FIRST_SCREEN = 10
QUOTA = {"escalated": 2, "instruction_overdue": 2, "red_indicator": 2, "project_off_track": 2,
         "spending_spike": 1, "projects_insufficient": 1}
assert set(PRIORITY) == set(KINDS) == set(QUOTA) and sum(QUOTA.values()) == FIRST_SCREEN

COLUMNS = ["rank", "kind", "severity", "title_en", "title_ru", "title_kk", "reason_en", "reason_ru", "reason_kk",
           "owner", "due_date", "age_days", "regions", "region_count", "subject_id", "page", "params",
           "methodology_version",
           # besides the interface: owner per language, the single region (None for a group), the sort magnitude,
           # and each region of a grouped indicator (kato, name_en/ru/kk, achievement %, severity, params)
           "owner_en", "owner_ru", "owner_kk", "region_kato", "magnitude", "members"]

_GROUP_TEXT = {
    "en": ("{name}: red in {n} regions", "Achievement {lo}–{hi}%; lowest in {worst} ({a}%)"),
    "ru": ("{name}: красная зона в {n} {regions}", "Исполнение {lo}–{hi}%; ниже всего: {worst} ({a}%)"),
    "kk": ("{name}: {n} өңірде қызыл аймақ", "Орындалуы {lo}–{hi}%; ең төмені: {worst} ({a}%)"),
}


# an instruction's reason on the list: how late it is (its owner and due date are columns of their own)
_INSTRUCTION_REASON = {
    "en": ("{days} days overdue", "Not yet due"),
    "ru": ("Просрочено на {days} дн.", "Срок не истёк"),
    "kk": ("{days} күнге кешікті", "Мерзімі өтпеген"),
}


def _instruction_reason(age, lang: str) -> str:
    late, not_due = _INSTRUCTION_REASON[lang]
    return late.format(days=fmt_number(age, lang, 0)) if pd.notna(age) and age > 0 else not_due


def _ru_regions(n: int) -> str:
    # prepositional case after a number: "в 21 регионе", "в 18 регионах"
    return "регионе" if n % 10 == 1 and n % 100 != 11 else "регионах"


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    out["rank"] = out["rank"].astype("int64")
    out["severity"] = out["severity"].astype("int64")
    out["region_count"] = out["region_count"].astype("int64")
    out["due_date"] = pd.to_datetime(out["due_date"])
    out["age_days"] = out["age_days"].astype("Int64")
    out["magnitude"] = out["magnitude"].astype("float64")
    return out


def _items(exc: pd.DataFrame, names: dict) -> pd.DataFrame:
    """Exception rows -> decision items (rule 1), unranked."""
    exc = exc.copy()
    escalated = set(exc.loc[exc["kind"] == "escalated", "subject_id"])
    exc = exc[~((exc["kind"] == "instruction_overdue") & exc["subject_id"].isin(escalated))]
    rows = []
    for r in exc[exc["kind"] != "red_indicator"].to_dict("records"):
        region = r["region_kato"] if isinstance(r["region_kato"], str) else None
        if r["kind"] in FIRST_TIER:
            r = {**r, **{f"reason_{lang}": _instruction_reason(r["age_days"], lang) for lang in ("en", "ru", "kk")}}
        rows.append({**r, "regions": [region] if region else [], "members": None})
    red = exc[exc["kind"] == "red_indicator"]
    for _, g in red.groupby("subject_id", sort=True):
        g = g.sort_values(["severity", "magnitude", "region_kato"], ascending=[False, False, True],
                          na_position="last")
        if len(g) == 1:
            r = g.iloc[0].to_dict()
            region = r["region_kato"] if isinstance(r["region_kato"], str) else None
            rows.append({**r, "regions": [region] if region else [], "members": None})
            continue
        first = g.iloc[0].to_dict()
        regions = [k for k in g["region_kato"] if isinstance(k, str)]
        n = len(g)
        worst = g.sort_values(["achievement", "region_kato"], na_position="last").iloc[0]
        item = {**first, "severity": int(g["severity"].max()), "magnitude": float(g["magnitude"].sum()),
                "region_kato": None, "regions": regions,
                "params": {k: v for k, v in first["params"].items() if k != "region"},
                "members": [{"kato": m["region_kato"], **{f"name_{lang}": names[lang].get(m["region_kato"],
                                                                                        m["region_kato"])
                                                           for lang in ("en", "ru", "kk")},
                             "achievement": m["achievement"], "severity": int(m["severity"]), "params": m["params"]}
                            for m in g.to_dict("records")]}
        for lang, (title, reason) in _GROUP_TEXT.items():
            item[f"title_{lang}"] = title.format(name=first[f"subject_name_{lang}"], n=n, regions=_ru_regions(n))
            item[f"reason_{lang}"] = reason.format(
                lo=fmt_number(g["achievement"].min(), lang, 1), hi=fmt_number(g["achievement"].max(), lang, 1),
                worst=names[lang].get(worst["region_kato"], worst["region_kato"]),
                a=fmt_number(worst["achievement"], lang, 1))
            item[f"owner_{lang}"] = _group_owner(g, lang)
        rows.append(item)
    return pd.DataFrame(rows)


def _group_owner(g: pd.DataFrame, lang: str) -> str | None:
    """The owner every region of a group shares (the indicator's responsible official), else None (without
    an official each region's owner is the region itself: no one owner)."""
    owners = set(g[f"owner_{lang}"])
    return owners.pop() if len(owners) == 1 and all(isinstance(o, str) for o in owners) else None


def _order(df: pd.DataFrame) -> pd.DataFrame:
    """Sorted by rule 2 (a stable sort on explicit keys: NA age and magnitude last)."""
    keys = pd.DataFrame({
        "tier": (~df["kind"].isin(FIRST_TIER)).astype(int),
        "sev": -df["severity"].astype(int),
        "kind": df["kind"].map({k: i for i, k in enumerate(PRIORITY)}),
        "age": -df["age_days"].astype("Float64").fillna(-1.0).astype(float),
        "mag": -df["magnitude"].astype(float).fillna(-np.inf),
        "subject": df["subject_id"].astype(str),
        "region": df["regions"].map(lambda r: r[0] if r else "~"),
    }, index=df.index)
    idx = keys.sort_values(list(keys.columns), kind="mergesort").index
    return df.loc[idx]


def _first_screen(ordered: pd.DataFrame) -> list:
    """Index labels of the first screen (rule 3) from items already in rule-2 order."""
    by_kind = {k: list(ordered.index[ordered["kind"] == k]) for k in PRIORITY}
    take = {k: min(QUOTA[k], len(by_kind[k])) for k in PRIORITY}
    free = min(FIRST_SCREEN, len(ordered)) - sum(take.values())
    while free > 0:
        for k in PRIORITY:
            if free > 0 and take[k] < len(by_kind[k]):
                take[k] += 1
                free -= 1
    return [i for k in PRIORITY for i in by_kind[k][:take[k]]]


def rank(items: pd.DataFrame) -> pd.DataFrame:
    """Rank decision items (columns ``kind``, ``severity``, ``age_days``, ``magnitude``, ``subject_id``,
    ``regions``) by rules 2 and 3; adds ``rank`` (1 = first) and returns them in rank order. Pure."""
    if items.empty:
        return items.assign(rank=pd.Series(dtype="int64"))
    ordered = _order(items)
    first = _first_screen(ordered)
    first_set = set(first)
    head = _order(ordered.loc[first])
    rest = ordered[~ordered.index.isin(first_set)]
    out = pd.concat([head, rest])
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def decision_list(store, period: str, *, today: _dt.date, units: frozenset[str] | None = None) -> pd.DataFrame:
    """What needs a decision for ``period`` (projects and instructions as of ``today``), ranked.

    One row per decision item, in ``rank`` order (1 = first; the module docstring gives the rules).
    Columns: ``rank``, ``kind`` (:data:`sac.metrics.exceptions.KINDS`; a grouped indicator is
    ``red_indicator``), ``severity`` (3/2/1), ``title_en/ru/kk``, ``reason_en/ru/kk``, ``owner``
    (responsible organisation — official, or the region; English; None when unknown or a group's regions
    differ), ``due_date`` (instruction due date, project planned end; NaT otherwise), ``age_days`` (Int64:
    days overdue; days past a project's planned end; NA for the rest), ``regions`` (list of KATO codes:
    one for most items, every red region for a grouped indicator, none for a national item),
    ``region_count``, ``subject_id``, ``page`` and ``params`` (the detail link), ``methodology_version``;
    besides: ``owner_en/ru/kk``, ``region_kato`` (the single region, None for a group or national item),
    ``magnitude`` (the sort magnitude), ``members`` (a grouped indicator's regions, worst first: dicts of
    ``kato``, ``name_en/ru/kk``, ``achievement`` (%), ``severity``, ``params``; None for other items).

    ``units``: KATO codes (a project office's regions); only items of those regions are kept, a group
    keeps only those of its regions; items without a region are dropped. ``df.attrs["counts"]``: items
    per kind (every kind of KINDS, 0 when none) before any cut; ``df.attrs["merged_overdue"]``: overdue
    instructions shown once as escalated.
    """
    exc = exception_details(store, period, today=today)
    if units is not None:
        keep = {str(u) for u in units}
        exc = exc[exc["region_kato"].astype("string").isin(sorted(keep)).fillna(False).astype(bool)]
    version = exc["methodology_version"].iloc[0] if len(exc) else None
    escalated = set(exc.loc[exc["kind"] == "escalated", "subject_id"])
    merged = int(((exc["kind"] == "instruction_overdue") & exc["subject_id"].isin(escalated)).sum())
    if exc.empty:
        out = _empty()
    else:
        names = _region_names(store)
        items = _items(exc, names)
        items["region_count"] = items["regions"].map(len).astype("int64")
        items["severity"] = items["severity"].astype("int64")
        items["age_days"] = items["age_days"].astype("Int64")
        items["due_date"] = pd.to_datetime(items["due_date"])
        items["magnitude"] = items["magnitude"].astype("float64")
        items["owner"] = items["owner_en"]
        items["methodology_version"] = version
        out = rank(items)[COLUMNS]
    out.attrs["counts"] = {k: int((out["kind"] == k).sum()) for k in KINDS}
    out.attrs["merged_overdue"] = merged
    out.attrs["unavailable"] = list(exc.attrs.get("unavailable", []))
    return out
