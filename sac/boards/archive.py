"""Boards in the store (migration 013): built, stored immutably, listed, read back, downloads audited.

A board is inserted once and never changed: there is no UPDATE or DELETE of ``boards`` anywhere. A new build of
the same node, week and language is the next revision. Every build and every download is in the audit log
(``board_built``, ``board_downloaded``), in the same transaction as the write it records. Writes use
``store.write(data=False)``: a board changes no figure, so no reader's cache is emptied by it.
"""

from __future__ import annotations

import datetime as _dt
import json

import pandas as pd

from sac import audit
from sac.boards import content, pdf, xlsx
from sac.boards.model import canonical_json

LIST_COLUMNS = ["board_id", "node_id", "node_level", "node_name", "week", "language", "revision", "as_of", "period",
                "data_version", "methodology_version", "built_by", "built_at", "content_hash", "previous_board_id"]


class BoardNotFound(KeyError):
    pass


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)


def board_nodes(store) -> pd.DataFrame:
    """The nodes a board can be built for, in the goal map's order: the whole SAC first, then each national
    priority followed by its programs, their basic directions and groups of projects.

    Columns: node_id, level, code, name_en, name_ru, name_kk, depth (0 for the SAC and the priorities)."""
    nodes = store.df("SELECT node_id, parent_id, level, code, name_en, name_ru, name_kk FROM goal_nodes")
    children: dict = {}
    for r in nodes.sort_values(["code", "node_id"], na_position="last").to_dict("records"):
        children.setdefault(r["parent_id"] if isinstance(r["parent_id"], str) else None, []).append(r)
    from sac.i18n import LANGUAGES, t

    out = [{"node_id": content.LEADERSHIP, "level": "sac", "code": None,
            **{f"name_{lang}": t("boards.leadership_name", lang) for lang in LANGUAGES}, "depth": 0}]

    def walk(parent, depth):
        for r in sorted(children.get(parent, []), key=lambda x: _code_key(x["code"], x["node_id"])):
            out.append({k: r[k] for k in ("node_id", "level", "code", "name_en", "name_ru", "name_kk")} |
                       {"depth": depth})
            walk(r["node_id"], depth + 1)

    walk(None, 0)
    return pd.DataFrame(out)


def _code_key(code, node_id):
    """'4.2.10' after '4.2.9': codes compare by their numbers."""
    if isinstance(code, str):
        return tuple(int(p) if p.isdigit() else 0 for p in code.split(".")), node_id
    return (10**6,), node_id


def find_node(store, code: str) -> str | None:
    """The node id named by ``code``: a node id ('P-ENBEK'), a goal-map code ('1.1'), or 'SAC' / 'leadership'."""
    if code.strip().upper() in (content.LEADERSHIP, "LEADERSHIP"):
        return content.LEADERSHIP
    nodes = store.df("SELECT node_id FROM goal_nodes WHERE node_id = ? OR code = ? ORDER BY node_id = ? DESC",
                     [code, code, code])
    return None if nodes.empty else str(nodes["node_id"].iloc[0])


def previous_board(store, node_id: str, week: str) -> dict | None:
    """The board the changes section compares with: the newest board of the node for an earlier week (its
    latest revision, any language: the recorded state is language-neutral). Rebuilding a week therefore
    compares with the same board every time, and an unchanged store gives the same content."""
    df = store.df("""SELECT board_id, week, revision, built_at, state_json FROM boards
                     WHERE node_id = ? AND week < ? ORDER BY week DESC, board_id DESC LIMIT 1""", [node_id, week])
    if df.empty:
        return None
    r = df.iloc[0]
    return {"board_id": int(r["board_id"]), "week": r["week"], "revision": int(r["revision"]),
            "built_at": r["built_at"], "state": json.loads(r["state_json"])}


def _next_revision(cur, node_id: str, week: str, lang: str) -> int:
    row = cur.execute("SELECT coalesce(max(revision), 0) FROM boards WHERE node_id = ? AND week = ? AND language = ?",
                      [node_id, week, lang]).fetchone()
    return int(row[0]) + 1


def build(store, node_id: str, week: str, lang: str, *, built_by: str, today: _dt.date | None = None,
          ctx: content.Context | None = None) -> dict:
    """Build the board of ``node_id`` for ``week`` in ``lang`` and store it as its next revision.

    ``ctx`` shares the frames of one run between several boards (the CLI's ``--all``); it must be of the same
    week and store. Returns the stored row without its files (:data:`LIST_COLUMNS`).
    Raises KeyError for an unknown node, ValueError for a bad or future week."""
    ctx = ctx or content.Context(store, week, today)
    if ctx.week != week:
        raise ValueError("the context is of another week")
    previous = previous_board(store, node_id, week)
    board = content.build(ctx, node_id, lang, previous)
    digest = board.content_hash()
    built_at = _utcnow()
    cur = store.cursor()
    try:
        revision = _next_revision(cur, node_id, week, lang)
    finally:
        cur.close()
    files = None
    for _ in range(5):   # another process may take the revision meanwhile: render again with the next one
        if files is None or files[0] != revision:
            meta = {"revision": revision, "built_at": built_at, "built_by": built_by, "content_hash": digest}
            files = (revision, pdf.render(board, **meta), xlsx.render(board, **meta))
        with store.write(data=False) as cur:
            now = _next_revision(cur, node_id, week, lang)
            if now != revision:
                revision = now
                continue
            board_id = cur.execute(
                """INSERT INTO boards (node_id, node_level, node_name, week, language, revision, as_of, period,
                       data_version, methodology_version, built_by, built_at, content_hash, previous_board_id,
                       state_json, pdf, xlsx)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING board_id""",
                [node_id, board.node_level, board.node_name, week, lang, revision, board.as_of, board.period,
                 board.data_version, board.methodology_version, built_by, built_at, digest, board.previous_board_id,
                 canonical_json(board.state), files[1], files[2]]).fetchone()[0]
            audit.record(cur, built_by, "board_built", str(board_id),
                         {"node": node_id, "week": week, "language": lang, "revision": revision,
                          "content_hash": digest, "data_version": board.data_version})
        return {"board_id": int(board_id), "node_id": node_id, "node_level": board.node_level,
                "node_name": board.node_name, "week": week, "language": lang, "revision": revision,
                "as_of": board.as_of, "period": board.period, "data_version": board.data_version,
                "methodology_version": board.methodology_version, "built_by": built_by, "built_at": built_at,
                "content_hash": digest, "previous_board_id": board.previous_board_id}
    raise RuntimeError(f"could not take a revision for {node_id} {week} {lang}")


def list_boards(store, *, node_id: str | None = None, week: str | None = None) -> pd.DataFrame:
    """Stored boards, newest week first, then node, language and revision (newest first); no files.
    Columns: :data:`LIST_COLUMNS`."""
    where, params = [], []
    if node_id:
        where.append("node_id = ?")
        params.append(node_id)
    if week:
        where.append("week = ?")
        params.append(week)
    sql = (f"SELECT {', '.join(LIST_COLUMNS)} FROM boards {'WHERE ' + ' AND '.join(where) if where else ''} "
           "ORDER BY week DESC, node_id, language, revision DESC")
    return store.df(sql, params)


def get_board(store, board_id: int) -> dict:
    """One stored board with its files: the :data:`LIST_COLUMNS` plus ``pdf`` and ``xlsx`` (bytes) and ``state``.
    Raises :class:`BoardNotFound`."""
    cur = store.cursor()
    try:
        row = cur.execute(f"SELECT {', '.join(LIST_COLUMNS)}, state_json, pdf, xlsx FROM boards WHERE board_id = ?",
                          [int(board_id)]).fetchone()
    finally:
        cur.close()
    if row is None:
        raise BoardNotFound(board_id)
    out = dict(zip(LIST_COLUMNS + ["state_json", "pdf", "xlsx"], row, strict=True))
    out["state"] = json.loads(out.pop("state_json"))
    out["pdf"], out["xlsx"] = bytes(out["pdf"]), bytes(out["xlsx"])
    return out


def record_download(store, board_id: int, fmt: str, actor: str) -> None:
    """Audit that ``actor`` downloaded (or exported) board ``board_id`` as ``fmt`` ('pdf' | 'xlsx')."""
    with store.write(data=False) as cur:
        audit.record(cur, actor, "board_downloaded", str(int(board_id)), {"format": fmt})


def file_name(row: dict, fmt: str) -> str:
    """'board_P-ENBEK_2026-W48_ru_r2.pdf'"""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(row["node_id"]))
    return f"board_{safe}_{row['week']}_{row['language']}_r{row['revision']}.{fmt}"
