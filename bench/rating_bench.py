"""Rating benchmark: 2 500 units x 200 indicators (500 000 cells), one period.

Measures, in one run: the point plan-fulfilment rating (sac.metrics.ratings.rate,
bands off), the full rating with 500 robustness draws, and a straightforward pandas
groupby implementation of the same point rating (for comparison and as a cross-check:
the scores must agree). Targets: point < 1 s, with bands < 5 s.

    .venv/bin/python -m bench.rating_bench      (or: .venv/bin/python bench/rating_bench.py)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sac.metrics.plan_fact import score_cells  # noqa: E402
from sac.metrics.ratings import rate  # noqa: E402

N_UNITS, N_INDICATORS = 2_500, 200


def make_cells(n_units: int = N_UNITS, n_ind: int = N_INDICATORS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_units * n_ind
    plan = rng.uniform(50, 150, n)
    fact = plan * rng.uniform(0.7, 1.2, n)
    fact[rng.random(n) < 0.05] = np.nan                     # 5% missing facts
    down = np.tile(rng.random(n_ind) < 0.3, n_units)
    return pd.DataFrame({
        "unit_code": np.repeat([f"U{u:05d}" for u in range(n_units)], n_ind),
        "indicator_id": np.tile([f"K{i:03d}" for i in range(n_ind)], n_units),
        "plan": plan, "fact": fact,
        "direction": np.where(down, "down", "up"),
        "weight": np.tile(rng.uniform(0.5, 2.0, n_ind), n_units),
    })


def pandas_point_rating(cells: pd.DataFrame, coverage_min: float = 0.8) -> pd.DataFrame:
    """The same plan-fulfilment rating written the obvious way with groupby."""
    s = score_cells(cells)
    s["ws"] = s["score"] * s["weight"]
    s["w_have"] = s["weight"].where(s["scored"])
    in_play = s.groupby("indicator_id")["scored"].any()
    w_total = s.drop_duplicates("indicator_id").set_index("indicator_id")["weight"][in_play].sum()
    g = s.groupby("unit_code").agg(ws=("ws", "sum"), w=("w_have", "sum"))
    g["score"] = g["ws"] / g["w"]
    g["coverage"] = g["w"] / w_total
    g["rated"] = g["coverage"] >= coverage_min - 1e-9
    g["rank"] = g["score"].round(1).where(g["rated"]).rank(method="min", ascending=False)
    return g.reset_index()


def _time(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> dict:
    cells = make_cells()
    rate(cells.head(2000), bands=True)                      # warm-up (imports, numpy paths)
    t_point, point = _time(lambda: rate(cells, bands=False))
    t_bands, full = _time(lambda: rate(cells, bands=True), repeat=2)
    t_pandas, pand = _time(lambda: pandas_point_rating(cells))
    merged = point.merge(pand, on="unit_code", suffixes=("", "_pd"))
    max_diff = float(np.nanmax(np.abs(merged["score"] - merged["score_pd"])))
    same_ranks = bool((merged["rank"].astype("float").fillna(-1) == merged["rank_pd"].fillna(-1)).all())
    contains = bool(((full["rank_p05"] <= full["rank"]) & (full["rank"] <= full["rank_p95"]))[full["rated"]].all())
    result = {
        "cells": len(cells), "units": N_UNITS, "indicators": N_INDICATORS,
        "point_s": round(t_point, 3), "bands_s": round(t_bands, 3), "pandas_groupby_s": round(t_pandas, 3),
        "point_vs_pandas": round(t_point / t_pandas, 2), "bands_vs_point": round(t_bands / t_point, 2),
        "max_score_diff_vs_pandas": max_diff, "same_ranks_as_pandas": same_ranks,
        "band_contains_point_rank": contains, "rated_units": int(full["rated"].sum()),
        "point_target_met": t_point < 1.0, "bands_target_met": t_bands < 5.0,
    }
    for k, v in result.items():
        print(f"{k:28s} {v}")
    return result


if __name__ == "__main__":
    main()
