"""Issue 8: every file of the hostile corpus (tests/hostile.py) through the CLI's dry run, its commit, and the
upload page: no traceback, the file taken with the expected counts or refused with a message naming the
limit or the row and column, nothing written by a refused file, at most 500 MB RSS and 30 s per file.

The files run in subprocesses (tests/hostile_driver.py) watched from here: a step that runs past 60 s or
past 1.5 GB is killed and fails its test. The CLI and the page run side by side, each on its own copy of a
fresh store (indicators, an organisation, a project, the demo accounts).
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import hostile
import pytest
from hostile import LIMIT_RE, Case
from hostile_driver import run_cases

from sac.ingest import KINDS
from sac.store import Store

MAX_RSS_MB = 500
MAX_SECONDS = 30

CASES: list[Case] = hostile.corpus()
BY_NAME = {c.name: c for c in CASES}
IDS = [c.name for c in CASES]


def _manifest(case: Case, path) -> dict:
    e = case.expect
    return {"name": case.name, "path": str(path), "kind": e.kind, "table": KINDS[e.kind].table,
            "regexes": [*e.message, LIMIT_RE, r"would be inserted (\d+)", r"\binserted (\d+)"],
            "stored_sql": e.stored[0] if e.stored else None}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{(case name, 'dry' | 'commit' | 'page'): the driver's result}: the CLI and the page side by side, each in
    a driver process of its own (a fresh one after a file that was killed or left it grown), heavy files last."""
    work = tmp_path_factory.mktemp("hostile")
    files = work / "files"
    files.mkdir()
    template = work / "template.duckdb"
    with Store(template) as s:
        hostile.seed_store(s)
    manifests = []
    for case in CASES:
        p = files / case.name
        p.write_bytes(case.data)
        manifests.append(_manifest(case, p))
    ordered = [m for m, c in sorted(zip(manifests, CASES, strict=True), key=lambda mc: mc[1].expect.heavy)]

    def run(mode: str) -> dict:
        db = work / f"{mode}.duckdb"
        shutil.copyfile(template, db)
        return run_cases(mode, ordered, db, work)

    with ThreadPoolExecutor(2) as pool:
        cli, page = pool.map(run, ["cli", "page"])
    return {**cli, **page}


def _show(res: dict) -> str:
    keep = {k: v for k, v in res.items() if k not in ("event", "matches")}
    return "\n".join(f"  {k}: {v}" for k, v in keep.items())


def _check_bounded(res: dict, rss_limit: float = MAX_RSS_MB) -> None:
    assert res["rc"] not in ("killed", "crashed", "skipped", "timeout"), f"the step did not finish:\n{_show(res)}"
    assert res["seconds"] < MAX_SECONDS, f"{res['seconds']} s (limit {MAX_SECONDS} s)\n{_show(res)}"
    assert res["rss_mb"] < rss_limit, f"peak RSS {res['rss_mb']} MB (limit {rss_limit} MB)\n{_show(res)}"


def _count(res: dict, dry: bool) -> int | None:
    m = re.search(r"would be inserted (\d+)" if dry else r"(?<!be )\binserted (\d+)", res["out"])
    return int(m.group(1)) if m else None


def _check_outcome(case: Case, res: dict, dry: bool) -> None:
    e = case.expect
    rc = res["rc"]
    assert not res["traceback"] and rc != "traceback", f"a traceback:\n{res['err']}"
    assert rc in (0, 1), f"exit {rc!r}, expected 0 (taken) or 1 (refused)\n{_show(res)}"
    if e.outcome == "ok":
        assert rc == 0, f"expected the file to be taken ({e.note}); exit {rc}:\n{res['out']}"
    elif e.outcome == "rejected":
        assert rc == 1, f"expected the file to be refused ({e.note}); exit {rc}:\n{res['out']}"
    if rc == 1:
        wanted = (LIMIT_RE,) if e.outcome == "ok_or_limit" else e.message
        missing = [r for r in wanted if not res["matches"].get(r)]
        assert not missing, f"the output does not say {missing} ({e.note}):\n{res['out']}"
        assert res["changed"] == [], f"a refused file changed {res['changed']}"
    else:
        assert _count(res, dry) == e.inserted, f"expected {e.inserted} rows inserted:\n{res['out']}"


@pytest.mark.parametrize("name", IDS)
def test_cli_dry_run(runs, name):
    case, res = BY_NAME[name], runs[(name, "dry")]
    _check_bounded(res)
    _check_outcome(case, res, dry=True)
    assert res["changed"] == [], f"the dry run changed {res['changed']}"


@pytest.mark.parametrize("name", IDS)
def test_cli_commit(runs, name):
    case, res = BY_NAME[name], runs[(name, "commit")]
    _check_bounded(res)
    _check_outcome(case, res, dry=False)
    if res["rc"] == 0:
        assert "COMMITTED" in res["out"]
        assert res["commit_bad"] == [], f"the commit changed more than its table: {res['commit_bad']}"
        if case.expect.stored:
            assert res["stored"] == case.expect.stored[1]


@pytest.mark.parametrize("name", IDS)
def test_cli_output_is_safe_for_a_terminal(runs, name):
    """What the CLI prints carries no NUL and no terminal escape from the file (a cell's ESC [31m would
    repaint the operator's terminal)."""
    for step in ("dry", "commit"):
        res = runs[(name, step)]
        if res["rc"] in ("killed", "crashed", "skipped"):
            pytest.fail(f"{step} did not finish: {res['killed']}")
        assert not res["has_esc"] and not res["has_nul"], f"{step} printed raw control characters:\n{res['out']!r}"


@pytest.mark.parametrize("name", IDS)
def test_upload_page(runs, name):
    """An analyst uploads the file: no exception on the page, a refused file says so (and offers no save
    button), the dry run writes nothing; memory over the page's own baseline and time bounded."""
    case, res = BY_NAME[name], runs[(name, "page")]
    assert res["rc"] not in ("killed", "crashed", "timeout"), f"the page did not finish:\n{_show(res)}"
    assert res["seconds"] < MAX_SECONDS, f"{res['seconds']} s\n{_show(res)}"
    assert res["rss_mb"] - res["base_mb"] < MAX_RSS_MB, f"grew {res['rss_mb'] - res['base_mb']:.0f} MB\n{_show(res)}"
    assert not res["exceptions"], "the page shows an exception:\n" + "\n".join(res["exceptions"])
    assert res["changed"] == [], f"the page's dry run changed {res['changed']}"
    if case.expect.outcome == "rejected":
        assert res["errors"], f"no error shown for a refused file\n{_show(res)}"
        assert res["problems"], f"a refused file and no problem listed to say why\n{_show(res)}"
        assert not res["has_commit"], "a refused file offers the save button"
    if case.expect.outcome == "ok":
        assert res["has_commit"] and not res["errors"], f"a good file is not offered for saving\n{_show(res)}"
    if res["errors"]:
        assert not res["has_commit"]


def test_corpus_is_seeded_and_bounded():
    """The same seed gives the same bytes; every file is under 2.5 MB, every spreadsheet under 1 MB; every
    expected message is a valid pattern."""
    def digest(cases):
        return [(c.name, hashlib.sha256(c.data).hexdigest()) for c in cases]

    assert digest(hostile.csv_cases(random.Random(hostile.SEED))) == digest(
        [c for c in CASES if c.name.endswith(".csv")])
    for c in CASES:
        for r in c.expect.message:
            re.compile(r)
        assert len(c.data) < 2.5 * 2**20, c.name
        if c.name.endswith((".xlsx", ".csv")):
            assert len(c.data) < 1.1 * 2**20, c.name
