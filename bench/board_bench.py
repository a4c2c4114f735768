"""Information board benchmark: building the leadership board on the demo (issue 11: under 10 s).

Measures, in one run on a fresh demo database (the builder of ``python -m sac demo``, today 23.11.2026):

- baseline: the situation room's figures from a cold start with the same domain functions its page calls
  (achievement, budget execution, projects and instructions summaries, the rating table, the exceptions);
- the leadership board end to end as ``python -m sac board build`` does it (a new context, every section,
  the PDF, the workbook, the immutable insert with its audit entry and the snapshot publish), best of 3;
- its parts: gathering the sections, rendering the PDF, rendering the XLSX.

    .venv/bin/python bench/board_bench.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sac import boards  # noqa: E402
from sac.boards import content, pdf, xlsx  # noqa: E402
from sac.demo import build_demo  # noqa: E402
from sac.metrics import exceptions  # noqa: E402
from sac.store import Store  # noqa: E402
from sac.views import rating as rating_views  # noqa: E402
from sac.views import situation  # noqa: E402

TODAY = dt.date(2026, 11, 23)
WEEK = "2026-W48"
TARGET_S = 10.0


def _best(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def situation_room(store) -> None:
    """What the situation room computes for its first screen on a cold cache (pages/situation_room.py)."""
    period = rating_views.default_period(store)
    situation.achievement(store, period)
    situation.budget_execution(store, int(period[:4]), TODAY)
    situation.projects_summary(store, TODAY)
    situation.instructions_summary(store, TODAY)
    situation.leaders_laggards(rating_views.rating_table(store, period))
    exceptions.exceptions(store, period, today=TODAY)


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sac.duckdb"
        with Store(path) as s:
            build_demo(s, today=TODAY)
        with Store(path) as s:
            base, _ = _best(lambda: situation_room(s))
            full, row = _best(lambda: boards.build(s, boards.LEADERSHIP, WEEK, "en", built_by="bench", today=TODAY))
            ctx = content.Context(s, WEEK, TODAY)
            gather, board = _best(lambda: content.build(ctx, boards.LEADERSHIP, "en", None), repeat=1)
            meta = {"revision": 1, "built_at": dt.datetime(2026, 11, 23, 9), "built_by": "bench",
                    "content_hash": board.content_hash()}
            t_pdf, data = _best(lambda: pdf.render(board, **meta))
            t_xlsx, _ = _best(lambda: xlsx.render(board, **meta))
            cached_ctx, _ = _best(lambda: boards.build(s, boards.LEADERSHIP, WEEK, "ru", built_by="bench", ctx=ctx))
    ok = full < TARGET_S
    print("information board (leadership, demo, week 2026-W48)")
    print(f"  baseline: situation room figures, cold     {base:6.2f} s")
    print(f"  board end to end (best of 3)               {full:6.2f} s   {full / base:4.1f}x baseline   "
          f"target < {TARGET_S:g} s: {'ok' if ok else 'MISSED'}")
    print(f"    gathering the sections (first, cold)     {gather:6.2f} s")
    print(f"    PDF ({len(data) // 1024} KB)                          {t_pdf:6.2f} s")
    print(f"    XLSX                                     {t_xlsx:6.2f} s")
    print(f"  another language, frames shared (--all)    {cached_ctx:6.2f} s")
    return {"baseline_s": base, "board_s": full, "ratio": full / base, "gather_s": gather, "pdf_s": t_pdf,
            "xlsx_s": t_xlsx, "shared_context_s": cached_ctx, "revision": row["revision"], "ok": ok}


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
