"""Real-browser test support: a `streamlit run` of the app on a free port, and Debian's chromium via Playwright.

No mocks: the server is the real app on a real DuckDB file; the browser is /usr/bin/chromium (Playwright
cannot download its own here). Missing chromium is a failure with a clear message, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], *, cwd: Path = ROOT, extra_args: list[str] | None = None,
                     timeout: float = 60, script: str = "sac/server.py") -> Iterator[str]:
    """Start `streamlit run sac/server.py` (the app with the SAC's own routes, as `make run` serves it) and yield
    its base URL once /_stcore/health answers ok."""
    port = free_port()
    log = open(ARTIFACTS.mkdir(parents=True, exist_ok=True) or ARTIFACTS / f"streamlit-{port}.log", "w")
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", *(extra_args or [])]
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy in {timeout} s; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `apt-get install chromium` (.ci/run does this)")
    return path


@contextlib.contextmanager
def browser_page(viewport=(1440, 1000)):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the script has finished running after the last interaction."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def metric_values(page) -> dict[str, str]:
    """The page's st.metric cards as {label: value}, as the reader sees them."""
    metrics = page.locator("[data-testid='stMetric']")
    return dict(zip(metrics.locator("[data-testid='stMetricLabel']").all_inner_texts(),
                    metrics.locator("[data-testid='stMetricValue']").all_inner_texts(), strict=True))


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
