"""Several app processes on one store (issue 10 part 4; docs/ARCHITECTURE.md "Several app processes").

Real processes and a real browser: two `streamlit run sac/server.py` on one copy of the demo database, the
sticky balancer (sac/balancer.py) in front of them, and `python -m sac serve --workers 2` as a whole.

- a commit made while both serve (by `python -m sac import`, a third process; the API that would take it
  through one of them is not there yet) is read on both at their next page load;
- the balancer keeps one browser on one process (its cookie) and spreads two browsers over two processes;
- a download (a file in one process's memory) works through the balancer and not on the other process;
- a process that is down is skipped: a browser pinned to it is pinned anew and the page opens;
- a malformed or oversized request head is answered 400; no process at all, 502.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from browser import ARTIFACTS, CHROMIUM_ARGS, ROOT, chromium_path, free_port, streamlit_server

from sac import datasets
from sac.auth import User
from sac.balancer import COOKIE, HEAD_LIMIT, Balancer
from sac.i18n import fmt_number, t

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PERIOD = "2025"
# Astana leads the demo's 2025 rating; three facts far under plan take it off the top
COMMIT_CSV = ("indicator_id,unit_code,period,plan,fact\n"
              "AGRI_PROD,71,2025,103.7,60\nDIGITAL_SERV,71,2025,95.8,60\nKINDERGARTEN,71,2025,100,60\n")


@pytest.fixture(scope="module")
def db(demo_db_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("multiprocess") / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    return path


@pytest.fixture(scope="module")
def two_processes(db):
    """Two app processes serving the same database file at once."""
    env = {"SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "1"}
    with streamlit_server(env, timeout=120) as a, streamlit_server(env, timeout=120) as b:
        yield a, b


@contextlib.contextmanager
def balancer(urls: list[str]):
    """The balancer on a free port in a thread of this process (so the test can read its counters)."""
    backends = [(u.split("//")[1].split(":")[0], int(u.rsplit(":", 1)[1])) for u in urls]
    loop = asyncio.new_event_loop()
    lb = Balancer(backends, port=0)
    loop.run_until_complete(lb.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield lb, f"http://127.0.0.1:{lb.port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        lb.server.close()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True).new_page()
    page.set_default_timeout(120_000)   # the machine may be shared with other test runs
    return page


def idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")


def open_rating(page, url: str, period: str = PERIOD) -> str:
    """Open the rating for ``period`` and return the text of its first row (the leader)."""
    page.goto(f"{url}/rating?period={period}")
    page.get_by_role("heading", name=t("rating.title", "en")).wait_for()
    first = page.locator("[data-testid='stDataFrame'] table tr").nth(1)
    first.wait_for(state="attached")
    idle(page)
    return first.text_content()


def node_cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), None)


def leader(db: Path) -> tuple[str, str]:
    """The leader of PERIOD's rating and its score as the page writes it, read from the store itself."""
    from sac.store import Store
    from sac.views import rating as views

    with Store(db, read_only=True) as store:
        table = views.rating_table(store, PERIOD)
    top = table[table["rated"]].sort_values("rank").iloc[0]
    return str(top["name_en"]), fmt_number(top["score_rounded"], "en", 1)


def test_a_commit_through_one_process_is_read_on_both(two_processes, db, tmp_path):
    a, b = two_processes
    before_name, before_score = leader(db)
    with chromium() as browser:
        page_a, page_b = new_page(browser), new_page(browser)
        for page, url in ((page_a, a), (page_b, b)):
            row = open_rating(page, url)
            assert before_name in row and before_score in row, row

        # the commit goes through process A (its HTTP API, as another system would send it)
        from sac.api import tokens
        from sac.store import Store

        with Store(db) as store:   # the servers hold the file only while they write
            token = tokens.create_token(store, "test", "multiprocess-svc", "analyst")
            # the demo's 2025 is approved (issue 12): an admin reopens Astana's year for the corrected facts
            datasets.transition(store, User("admin", "Admin", "admin"), "71", "indicator_values", PERIOD,
                                "unlock", "corrected facts follow")
        request = urllib.request.Request(
            f"{a}/api/v1/uploads?kind=indicator_values&dry_run=false&filename=astana.csv",
            data=COMMIT_CSV.encode("utf-8"), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
        with urllib.request.urlopen(request, timeout=120) as r:
            assert r.status == 201
            report = json.loads(r.read())
        assert report["status"] == "committed", report
        acknowledged = time.monotonic()
        after_name, after_score = leader(db)
        assert after_name != before_name

        for page, url in ((page_b, b), (page_a, a)):
            row = open_rating(page, url)
            assert after_name in row and after_score in row, f"{url} still reads {row!r} after the commit"
        # each query looks at the published snapshot's name: no polling interval to wait out
        assert time.monotonic() - acknowledged < 60


def test_the_balancer_keeps_a_browser_on_one_process_and_spreads_two(two_processes):
    with balancer(list(two_processes)) as (lb, url), chromium() as browser:
        first = new_page(browser)
        open_rating(first, url)
        node_1 = node_cookie(first)
        assert node_1 in ("0", "1")
        assert lb.served[1 - int(node_1)] == 0, "the first browser's requests went to both processes"

        second = new_page(browser)   # another browser context: no cookie, the other process is idler
        open_rating(second, url)
        node_2 = node_cookie(second)
        assert {node_1, node_2} == {"0", "1"}

        # the first browser goes on where it was: a reload and an in-app rerun reach only its process
        served = list(lb.served)
        open_rating(first, url)
        first.get_by_role("link", name=t("nav.situation_room", "en")).first.click()
        first.get_by_role("heading", name=t("situation.title", "en")).wait_for()
        idle(first)
        assert lb.served[int(node_1)] > served[int(node_1)]
        assert lb.served[int(node_2)] == served[int(node_2)], "the first browser reached the other process"
        assert node_cookie(first) == node_1


def test_a_download_works_through_the_balancer_and_only_on_its_own_process(two_processes):
    with balancer(list(two_processes)) as (lb, url), chromium() as browser:
        page = new_page(browser)
        open_rating(page, url, "2024")   # a table no other test renders: its file exists on one process only
        node = int(node_cookie(page))
        button = page.locator("[data-testid='stDownloadButton']").filter(
            has_text=t("common.download_csv", "en")).first
        with page.expect_download() as info:
            button.click()
        download = info.value
        content = Path(download.path()).read_text(encoding="utf-8-sig")
        assert "Astana" in content and "2024" in download.suggested_filename, content[:200]

        # the file lives in the memory of the process that rendered the button: the other one has no such file
        path = urllib.parse.urlsplit(download.url).path
        assert path.startswith("/media/"), download.url
        other = two_processes[1 - node]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{other}{path}", timeout=10)
        assert refused.value.code == 404
        with urllib.request.urlopen(f"{two_processes[node]}{path}", timeout=10) as r:
            assert r.status == 200


def raw(url: str, data: bytes) -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_balancer_answers_400_to_a_bad_head_and_502_with_no_process(two_processes):
    dead = f"http://127.0.0.1:{free_port()}"   # nothing listens there
    with balancer([dead, two_processes[0]]) as (lb, url):
        assert raw(url, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        assert raw(url, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n").startswith(b"HTTP/1.1 400 ")
        huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (HEAD_LIMIT + 10) + b"\r\n\r\n"
        assert raw(url, huge).startswith(b"HTTP/1.1 400 ")
        assert lb.served == [0, 0]

        # pinned to the dead one: answered by the live one, and pinned anew
        reply = raw(url, b"GET /_stcore/health HTTP/1.1\r\nHost: x\r\nCookie: a=b; sac_node=0\r\n"
                         b"Connection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
        assert b"Set-Cookie: sac_node=1; Path=/; HttpOnly; SameSite=Lax\r\n" in reply
        assert reply.endswith(b"ok")
    with balancer([dead]) as (lb, url):
        assert raw(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 502 ")


def test_serve_with_two_workers_skips_a_dead_one_and_stops_cleanly(db):
    port = free_port()
    log = (ARTIFACTS.mkdir(parents=True, exist_ok=True) or ARTIFACTS) / f"serve-{port}.log"
    with open(log, "w") as out:
        serve = subprocess.Popen([sys.executable, "-m", "sac", "serve", "--port", str(port), "--address",
                                  "127.0.0.1", "--workers", "2"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "SAC_DB_PATH": str(db), "SAC_PUBLIC_VIEWS": "1"})
    workers: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 120
        while "SAC on http://localhost" not in log.read_text():
            assert serve.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        workers = {int(i): int(pid) for i, pid in re.findall(r"worker (\d+): \S+ \(pid (\d+)\)", log.read_text())}
        assert sorted(workers) == [0, 1]
        url = f"http://127.0.0.1:{port}"
        with chromium() as browser:
            pages = [new_page(browser), new_page(browser)]
            for page in pages:
                open_rating(page, url)
            nodes = [node_cookie(page) for page in pages]
            assert sorted(nodes) == ["0", "1"]

            victim = pages[nodes.index("1")]
            os.kill(workers[1], signal.SIGKILL)   # a crash, not a clean stop
            deadline = time.monotonic() + 20
            while "worker 1 exited" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            row = open_rating(victim, url)   # its process is gone: the other one serves it
            assert row.strip()
            assert node_cookie(victim) == "0"
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise
    assert code == 0, log.read_text()
    for pid in workers.values():   # every worker is gone with it
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid
