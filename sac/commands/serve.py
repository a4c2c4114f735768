"""``python -m sac serve [--port 8501] [--workers N]``: serve the app, in one process or in several behind the
sticky balancer (docs/ARCHITECTURE.md, "Several app processes").

One worker: ``streamlit run sac/server.py --server.port PORT``, as ``make run`` does (this process becomes it).
N workers: N such processes on free local ports (127.0.0.1 only), each waited for until ``/_stcore/health``
answers, and :mod:`sac.balancer` on ``--port`` in front of them. SIGTERM or SIGINT stops the balancer, then the
workers (SIGTERM, SIGKILL after 10 s). Every worker serves the same store (``SAC_DB_PATH``): each reads the
newest published snapshot and takes the database file only while it writes (:class:`sac.store.ServingStore`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
HEALTH_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve the app (several processes behind a sticky balancer)",
                              description="Serve the SAC on --port: one Streamlit process, or --workers N behind "
                                          "a sticky balancer.")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8501), help="port (default 8501)")
    p.add_argument("--address", default=None, help="address to listen on (default: every interface)")
    p.add_argument("--workers", type=int, default=1, help="app processes (default 1)")
    p.set_defaults(func=run)


def streamlit_command(port: int, address: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "sac" / "server.py"), "--server.port", str(port)]
    return cmd + (["--server.address", address] if address else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    from sac.cli import EXIT_USAGE

    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    os.chdir(REPO_ROOT)   # .streamlit/config.toml is read from the working directory
    if args.workers == 1:
        cmd = streamlit_command(args.port, args.address)
        os.execv(cmd[0], cmd)
    return serve_many(args.workers, args.port, args.address)


def serve_many(n: int, port: int, address: str | None) -> int:
    from sac.balancer import Balancer

    ports = [free_port() for _ in range(n)]
    workers: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, _interrupt)   # until the balancer runs: stop the workers started so far
    try:
        for p in ports:
            workers.append(subprocess.Popen(streamlit_command(p, "127.0.0.1"), cwd=REPO_ROOT))
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        for i, (proc, p) in enumerate(zip(workers, ports, strict=True)):
            while not healthy(p):
                if proc.poll() is not None or time.monotonic() > deadline:
                    print(f"error: worker {i} (port {p}) did not start", file=sys.stderr)
                    return 1
                time.sleep(0.3)
            print(f"worker {i}: http://127.0.0.1:{p} (pid {proc.pid})", flush=True)
        balancer = Balancer([("127.0.0.1", p) for p in ports], host=address or None, port=port)
        print(f"SAC on http://localhost:{port} ({n} processes behind the balancer)", flush=True)
        return asyncio.run(_serve(balancer, workers))
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(workers)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def _serve(balancer, workers: list[subprocess.Popen]) -> int:
    """Run the balancer until SIGTERM/SIGINT, or until every worker has exited (1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await balancer.start()
    said: set[int] = set()
    try:
        while not stop.is_set():
            for i, proc in enumerate(workers):
                if proc.poll() is not None and i not in said:
                    said.add(i)
                    print(f"worker {i} exited with {proc.returncode}; the balancer skips it", file=sys.stderr)
            if len(said) == len(workers):
                return 1
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
        return 0
    finally:
        balancer.server.close()


def _stop(workers: list[subprocess.Popen]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in workers:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
