"""Load benchmark (issue 10 part 5): simulated readers against one app process and against two behind the
balancer, in one run. Not a test: it prints figures (docs/ARCHITECTURE.md, "Several app processes").

    .venv/bin/python bench/load.py [--readers 6] [--rounds 3] [--db FILE]

A reader is a Playwright browser context (its own cookies, so its own Streamlit session and, behind the
balancer, its own pinned process) in one Debian chromium. In each round every reader, all at once, opens the
rating (``/rating``) and the situation room (``/``) as a new page load, as a reader following a link does.
Time to rendered: from ``goto`` until the page's concrete content is there (the rating's first table row;
the situation room's four headline figures) and Streamlit's script state is "notRunning" (its running
indicator gone). Throughput: page visits completed per second of the round's wall time.

The two setups are measured on one copy of the demo database (public views on), both up at once and
measured in alternate rounds, so a change in the machine's other load falls on both alike:

- 1 process: ``streamlit run sac/server.py`` (what ``make run`` serves);
- 2 processes: ``python -m sac serve --workers 2`` (two of the same behind :mod:`sac.balancer`).

Every process is warmed first (each page opened once on each process): the figures are for a served app,
not for its first visit after start.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM_ARGS, chromium_path, free_port  # noqa: E402

NOT_RUNNING = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = {   # name: (path, the element that says the page's content is there)
    "rating": ("/rating", "[data-testid='stDataFrame'] table tr >> nth=1"),
    "situation room": ("/", "[data-testid='stMetricValue'] >> nth=3"),
}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Python {platform.python_version()}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def demo_copy(source: Path | None, directory: Path) -> Path:
    db = directory / "sac.duckdb"
    if source:
        shutil.copy(source, db)
        return db
    from sac.auth import accounts
    from sac.demo import build_demo
    from sac.store import Store

    accounts.BCRYPT_ROUNDS = 4   # nobody signs in here
    with Store(db) as store:
        build_demo(store)
        accounts.ensure_demo_accounts(store)
    return db


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "w")
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def wait_until(check, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"a server did not start; see {log}")
        time.sleep(0.3)


async def visit(page, url: str, name: str) -> float:
    path, ready = PAGES[name]
    t0 = time.perf_counter()
    await page.goto(url + path, wait_until="commit")
    await page.locator(ready).wait_for(state="attached")
    await page.wait_for_selector(NOT_RUNNING)
    return time.perf_counter() - t0


async def one_round(browser, url: str, readers: int) -> tuple[list[tuple[str, float]], float, int]:
    """Every reader opens every page once, all readers at once; (name, seconds) per visit, wall time, errors."""
    contexts = [await browser.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(readers)]
    errors = 0

    async def reader(ctx) -> list[tuple[str, float]]:
        nonlocal errors
        page = await ctx.new_page()
        page.set_default_timeout(180_000)
        times = []
        for name in PAGES:
            try:
                times.append((name, await visit(page, url, name)))
            except Exception as e:   # a timeout counts as an error, not as a figure
                errors += 1
                print(f"    error on {name}: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)
        return times

    t0 = time.perf_counter()
    results = await asyncio.gather(*(reader(c) for c in contexts))
    wall = time.perf_counter() - t0
    for c in contexts:
        await c.close()
    return [v for r in results for v in r], wall, errors


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def measure(setups: dict[str, str], warm: list[str], readers: int, rounds: int) -> dict[str, dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            ctx = await browser.new_context()
            page = await ctx.new_page()
            page.set_default_timeout(180_000)
            for url in warm:
                for name in PAGES:
                    await visit(page, url, name)
            await ctx.close()
            figures = {name: {"times": [], "wall": 0.0, "visits": 0, "errors": 0} for name in setups}
            for r in range(rounds):
                for name, url in setups.items():   # alternate: 1 process, 2 processes, 1 process, ...
                    times, wall, errors = await one_round(browser, url, readers)
                    f = figures[name]
                    f["times"] += times
                    f["wall"] += wall
                    f["visits"] += len(times)
                    f["errors"] += errors
                    print(f"  round {r + 1} {name}: {len(times)} pages in {wall:.1f} s, "
                          f"median {statistics.median(t for _, t in times):.2f} s", file=sys.stderr)
            return figures
        finally:
            await browser.close()


def report(figures: dict[str, dict], readers: int, rounds: int, before: str, after: str) -> None:
    print(f"\nmachine: {machine()}")
    print(f"load average before {before}, after {after}")
    print(f"{readers} readers x {rounds} rounds x {len(PAGES)} pages ({', '.join(PAGES)}), demo database, "
          f"public views\n")
    print(f"{'setup':<14}{'visits':>7}{'errors':>7}{'median s':>10}{'p95 s':>8}{'pages/s':>9}   "
          + "   ".join(f"{n} median/p95" for n in PAGES))
    rows = {}
    for name, f in figures.items():
        all_t = [t for _, t in f["times"]]
        rows[name] = (statistics.median(all_t), p95(all_t), f["visits"] / f["wall"])
        per_page = "   ".join(
            f"{statistics.median(ts):.2f}/{p95(ts):.2f}".rjust(len(n) + 11)
            for n in PAGES if (ts := [t for pn, t in f["times"] if pn == n]))
        print(f"{name:<14}{f['visits']:>7}{f['errors']:>7}{rows[name][0]:>10.2f}{rows[name][1]:>8.2f}"
              f"{rows[name][2]:>9.2f}   {per_page}")
    one, two = rows["1 process"], rows["2 processes"]
    print(f"{'2 / 1':<28}{two[0] / one[0]:>10.2f}{two[1] / one[1]:>8.2f}{two[2] / one[2]:>9.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readers", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db", type=Path, default=None, help="a demo database to copy (default: build one)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sac-load-"))
    procs: list[subprocess.Popen] = []
    try:
        db = demo_copy(args.db, work)
        env = {"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "1"}
        one_port, two_port = free_port(), free_port()
        one_log, two_log = work / "one.log", work / "two.log"
        procs.append(start([sys.executable, "-m", "streamlit", "run", "sac/server.py", "--server.port",
                            str(one_port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                           env, one_log))
        one_url = f"http://127.0.0.1:{one_port}"
        wait_until(lambda: healthy(one_url), procs[0], one_log)
        procs.append(start([sys.executable, "-m", "sac", "serve", "--port", str(two_port), "--address",
                            "127.0.0.1", "--workers", "2"], env, two_log))
        wait_until(lambda: "SAC on http://" in two_log.read_text(), procs[1], two_log)
        workers = re.findall(r"worker \d+: (http://\S+)", two_log.read_text())
        print(f"1 process: {one_url}; 2 processes: http://127.0.0.1:{two_port} -> {', '.join(workers)}",
              file=sys.stderr)

        before = load_average()
        setups = {"1 process": one_url, "2 processes": f"http://127.0.0.1:{two_port}"}
        figures = asyncio.run(measure(setups, [one_url, *workers], args.readers, args.rounds))
        report(figures, args.readers, args.rounds, before, load_average())
        return 0
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
