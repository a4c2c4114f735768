"""What changed since the previous board of the same node: the diff of two boards' recorded states.

Each board stores a small language-neutral state (``sac.boards.content.state``): the RAG of every cell it
reported, the regions' ranks, the open, overdue and escalated instructions, the newest upload batch it had seen,
the reports late. The next board of the node lists:

- indicators that turned red (from any other colour or from no data) or recovered (from red to amber or green),
  one line per indicator with its regions;
- regions whose rank moved by :data:`RANK_MOVE` places or more (same indicator set);
- instructions newly overdue, newly escalated, closed (done or removed from control);
- upload batches committed since (those that wrote the node's indicators, projects, budget or instructions);
- reports newly late.

A node's first board has no state to compare with: it lists what happened during its week (instructions that
fell overdue or were closed, uploads, reports that fell late) and says that colours and ranks need a previous
board.
"""

from __future__ import annotations

import pandas as pd

from sac.boards.model import Col, Link, Mark, Section, Table, Text
from sac.boards.weeks import parse_week
from sac.i18n import fmt_date, fmt_number, t

RANK_MOVE = 3


def _row(kind: str, tone: str, lang: str, item, detail, **fields) -> list:
    return [Mark(t(f"boards.change_{kind}", lang, **fields), tone), item, detail]


def _instruction_rows(ctx, ins: pd.DataFrame, ids, kind: str, tone: str, lang: str) -> list[list]:
    from sac.boards.content import app_url

    rows = []
    sel = ins[ins["instruction_id"].astype(str).isin(set(ids))].sort_values("instruction_id")
    for r in sel.to_dict("records"):
        if kind == "closed":
            detail = t("boards.detail_closed", lang, status=t(f"situation.status_{r['status']}", lang),
                       date=fmt_date(r["done_date"]))
        else:
            detail = t("boards.detail_overdue", lang, due=fmt_date(r["due_date"]),
                       days=fmt_number(r["days_overdue"], lang, 0))
        rows.append(_row(kind, tone, lang, Link(f"{r['instruction_id']} {r['title']}",
                                                app_url(ctx.base, "pages/situation_room.py",
                                                        {"instruction": r["instruction_id"]})), detail))
    return rows


def _indicator_rows(ctx, now_rag: dict, prev_rag: dict, lang: str) -> list[list]:
    turned: dict[str, list[str]] = {}
    recovered: dict[str, list[str]] = {}
    for key, rag in now_rag.items():
        before = prev_rag.get(key)
        ind, unit = key.split("|", 1)
        if rag == "red" and before != "red":
            turned.setdefault(ind, []).append(unit)
        elif before == "red" and rag in ("green", "amber"):
            recovered.setdefault(ind, []).append(unit)
    names = ctx.indicators.set_index("indicator_id")[f"name_{lang}"].to_dict()
    regions = ctx.region_names[lang]
    rows = []
    for kind, tone, found in (("turned_red", "red", turned), ("recovered", "green", recovered)):
        for ind in sorted(found):
            units = sorted(regions.get(u, u) for u in found[ind])
            rows.append(_row(kind, tone, lang, names.get(ind, ind),
                             t("boards.detail_regions", lang, n=fmt_number(len(units), lang),
                               regions=", ".join(units))))
    return rows


def _rank_rows(ctx, now: dict, prev: dict, lang: str) -> list[list]:
    if not now.get("ranks") or not prev.get("ranks") or now.get("rating_set") != prev.get("rating_set"):
        return []
    regions = ctx.region_names[lang]
    rows = []
    moves = []
    for unit, rank in now["ranks"].items():
        before = prev["ranks"].get(unit)
        if before is not None and abs(int(before) - int(rank)) >= RANK_MOVE:
            moves.append((-abs(int(before) - int(rank)), unit, int(before), int(rank)))
    for _, unit, before, rank in sorted(moves):
        up = rank < before
        rows.append(_row("rank_up" if up else "rank_down", "green" if up else "red", lang, regions.get(unit, unit),
                         t("boards.detail_rank", lang, before=before, now=rank), n=abs(before - rank)))
    return rows


def _upload_rows(ctx, s, batches: pd.DataFrame, lang: str) -> list[list]:
    if not s.leadership and len(batches):
        subj = ctx.batch_subjects
        mine = pd.Series(False, index=subj.index)
        for family, universe in (("indicator", s.indicators), ("project", s.projects), ("program", s.programs),
                                 ("instruction", s.instructions)):
            mine |= (subj["family"] == family) & subj["subject"].astype(str).isin(universe or set())
        batches = batches[batches["batch_id"].isin(set(subj.loc[mine, "batch_id"]))]
    rows = []
    for r in batches.sort_values("batch_id").to_dict("records"):
        rows.append(_row("upload", "neutral", lang, r["file_name"],
                         t("boards.detail_upload", lang, id=int(r["batch_id"]), kind=r["kind"], by=r["uploaded_by"],
                           date=fmt_date(r["uploaded_at"]),
                           rows=fmt_number(int(r["rows_inserted"]) + int(r["rows_updated"]), lang))))
    return rows


def _late_rows(ctx, keys, lang: str) -> list[list]:
    regions = ctx.region_names[lang]
    by_period: dict[str, list[str]] = {}
    for key in keys:
        unit, period = key.split("|", 1)
        by_period.setdefault(period, []).append(regions.get(unit, unit))
    return [_row("late", "amber", lang, t("boards.detail_late_period", lang, period=p),
                 t("boards.detail_regions", lang, n=fmt_number(len(u), lang), regions=", ".join(sorted(u))))
            for p, u in sorted(by_period.items())]


def section(ctx, s, lang: str, now: dict, previous: dict | None) -> Section:
    """The changes section of the board of scope ``s`` whose state is ``now`` (see the module docstring)."""
    sec = Section("changes", t("boards.sec_changes", lang))
    ins = ctx.node_instructions(s)
    rows: list[list] = []
    if previous is not None:
        prev = previous["state"]
        sec.blocks.append(Text(t("boards.changes_since", lang, week=previous["week"], revision=previous["revision"],
                                 date=fmt_date(previous["built_at"]))))
        if prev.get("period") != now.get("period"):
            sec.blocks.append(Text(t("boards.changes_period", lang, before=prev.get("period") or "—",
                                     now=now.get("period") or "—"), "amber"))
        rows += _indicator_rows(ctx, now["rag"], prev.get("rag", {}), lang)
        rows += _rank_rows(ctx, now, prev, lang)
        rows += _instruction_rows(ctx, ins, set(now["overdue"]) - set(prev.get("overdue", [])), "overdue", "red", lang)
        rows += _instruction_rows(ctx, ins, set(now["escalated"]) - set(prev.get("escalated", [])), "escalated", "red",
                                  lang)
        closed = set(prev.get("open", [])) - set(now["open"])
        rows += _instruction_rows(ctx, ins, closed, "closed", "green", lang)
        b = ctx.batches
        rows += _upload_rows(ctx, s, b[b["batch_id"] > int(prev.get("max_batch", 0))], lang)
        rows += _late_rows(ctx, set(now["late"]) - set(prev.get("late", [])), lang)
    else:
        monday, _ = parse_week(ctx.week)
        sec.blocks.append(Text(t("boards.changes_first", lang, date=fmt_date(monday))))
        start, end = pd.Timestamp(monday), pd.Timestamp(ctx.as_of)
        due = pd.to_datetime(ins["due_date"])
        fell = ins["overdue"].astype(bool) & (due >= start - pd.Timedelta(days=1)).fillna(False)
        rows += _instruction_rows(ctx, ins, set(ins.loc[fell.to_numpy(bool), "instruction_id"]), "overdue", "red",
                                  lang)
        done = pd.to_datetime(ins["done_date"])
        closed = ins["status"].isin(["done", "removed"]) & ((done >= start) & (done <= end)).fillna(False)
        rows += _instruction_rows(ctx, ins, set(ins.loc[closed.to_numpy(bool), "instruction_id"]), "closed", "green",
                                  lang)
        b = ctx.batches
        at = pd.to_datetime(b["uploaded_at"]).dt.normalize()
        rows += _upload_rows(ctx, s, b[((at >= start) & (at <= end)).to_numpy(bool)], lang)
        rows += _late_rows(ctx, now["late"], lang)
    sec.blocks.append(Table("changes", [
        Col(t("boards.col_change", lang), width=1.7, key="change"), Col(t("boards.col_item", lang), width=3.3,
                                                                        key="item"),
        Col(t("boards.col_detail", lang), width=3.6, key="detail")], rows, empty=t("boards.changes_none", lang)))
    return sec
