"""Run every benchmark and print its figures against the baseline measured in the same run.

    make bench        (or: .venv/bin/python bench/run.py)

- import: 1 000 000-row indicator CSV validated and committed, against DuckDB's bare read_csv of the file;
  target at most 5x the bare read and under 10 s.
- rating: 2 500 units x 200 indicators, point rating and full rating with 500 robustness draws, against a
  straightforward pandas groupby rating; targets point < 1 s, with bands < 5 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import import_bench  # noqa: E402
import rating_bench  # noqa: E402


def main() -> int:
    results = {"import": import_bench.main(), "rating": rating_bench.main()}
    print("\nsummary")
    for name, figures in results.items():
        shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
                          if not isinstance(v, dict | list))
        print(f"  {name}: {shown}")
    return 0 if all(f.get("ok", True) for f in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
