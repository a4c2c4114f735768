"""Runs hostile files (tests/hostile.py) through the CLI or the upload page, in a process of its own.

    python tests/hostile_driver.py cli  MANIFEST RESULTS     # sac.cli.main(["import", ...]): dry run, commit
    python tests/hostile_driver.py page MANIFEST RESULTS     # the upload page (AppTest): upload, dry run

``MANIFEST``: a JSON list of ``{"name", "path", "kind", "regexes": [...], "stored_sql": str | null}``;
``SAC_DB_PATH``: the store. ``RESULTS`` gets one JSON line when a step starts (``{"event": "start", ...}``)
and one when it ends, with the exit code, the output (its head, its length, which regexes it matched),
whether a traceback was printed, what changed in the store, the step's wall time and its peak RSS (the
kernel's high-water mark, reset before each step: ``/proc/self/clear_refs``).

:func:`run_cases` (used by tests/test_hostile_corpus.py) starts the driver, watches it from outside and
kills it (its whole process group) when a step runs longer than a minute or grows past a memory ceiling:
a runaway file then fails its own test instead of taking the machine down. The files after a killed one
run in a fresh driver, as do the files after one that left the driver :data:`REGROWN_MB` bigger.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
OUT_HEAD = 6_000          # characters of output kept in a result (the full text is matched in the driver)
REGROWN_MB = 250          # a driver this much bigger than at its start ends after the step (the runner starts
                          # a fresh one): what one file left behind must not count against the next


# -- inside the driver ---------------------------------------------------------------------

def _status(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")   # resets VmHWM to the current RSS
    except OSError:
        pass


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def _snapshot(db: str) -> dict:
    import duckdb
    import hostile

    con = duckdb.connect(db)
    try:
        return hostile.snapshot(con, full=False)
    finally:
        con.close()


def _scalar(db: str, sql: str):
    import duckdb

    con = duckdb.connect(db)
    try:
        row = con.execute(sql).fetchall()
        return row[0][0] if row else None
    finally:
        con.close()


def _emit(stream, **fields) -> None:
    stream.write(json.dumps(fields, default=str, ensure_ascii=True) + "\n")
    stream.flush()


def _text_facts(text: str, regexes: list[str]) -> dict:
    return {"out": text[:OUT_HEAD], "out_len": len(text),
            "matches": {r: bool(re.search(r, text)) for r in regexes},
            "has_esc": "\x1b" in text, "has_nul": "\x00" in text}


def drive_cli(cases: list[dict], results) -> None:
    import hostile

    from sac.cli import main

    db = os.environ["SAC_DB_PATH"]
    before = _snapshot(db)
    start = _status("VmRSS")
    for case in cases:
        if _status("VmRSS") - start > REGROWN_MB * 1024:
            return
        for step in ("dry", "commit"):
            _emit(results, event="start", name=case["name"], step=step, t=time.time())
            argv = ["import", case["path"], "--kind", case["kind"]] + (["--dry-run"] if step == "dry" else [])
            out, err = io.StringIO(), io.StringIO()
            base = _status("VmRSS")
            _reset_peak()
            t0 = time.monotonic()
            rc = None
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = main(argv)
                except SystemExit as e:  # argparse
                    rc = e.code if isinstance(e.code, int) else 2
                except BaseException:  # what `python -m sac` would print and die of
                    traceback.print_exc()
                    rc = "traceback"
            seconds = time.monotonic() - t0
            peak = _status("VmHWM")
            after = _snapshot(db)
            text = out.getvalue() + "\n" + err.getvalue()
            facts = _text_facts(text, case["regexes"])
            res = {"event": "done", "name": case["name"], "step": step, "rc": rc, "seconds": round(seconds, 2),
                   "rss_mb": _mb(peak), "base_mb": _mb(base), "traceback": "Traceback" in err.getvalue(),
                   "err": err.getvalue()[-OUT_HEAD:], "changed": sorted(hostile.changed(before, after)), **facts}
            if step == "commit" and rc == 0:
                table = case["table"]
                res["commit_bad"] = hostile.commit_changes_ok(before, after, table)
                if case.get("stored_sql"):
                    res["stored"] = _scalar(db, case["stored_sql"])
            _emit(results, **res)
            before = after


def drive_page(cases: list[dict], results) -> None:
    import hostile
    from streamlit.testing.v1 import AppTest

    from sac import i18n
    from sac.auth import User

    db = os.environ["SAC_DB_PATH"]
    os.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    from streamlit import config

    config.set_option("client.showErrorDetails", "full")   # the test reports the page's traceback
    at.session_state["sac_user"] = User(username="analyst", display_name="Analyst", role="analyst")
    at.session_state["sac_lang"] = "en"
    at.run()
    at.switch_page("pages/upload.py")
    at.run()
    before = _snapshot(db)
    start = _status("VmRSS")
    for case in cases:
        if _status("VmRSS") - start > REGROWN_MB * 1024:
            return
        _emit(results, event="start", name=case["name"], step="page", t=time.time())
        data = Path(case["path"]).read_bytes()
        base = _status("VmRSS")
        _reset_peak()
        t0 = time.monotonic()
        res = {"event": "done", "name": case["name"], "step": "page"}
        try:
            at.selectbox(key="upload_kind_en").set_value(i18n.t(f"upload.kind_{case['kind']}", "en"))
            at.file_uploader[0].set_value((case["name"], data, "application/octet-stream"))
            at.run(timeout=60)
        except BaseException as e:  # AppTest's own timeout: the script thread runs on, so this driver ends here
            res.update(rc="timeout", error=f"{type(e).__name__}: {e}", seconds=round(time.monotonic() - t0, 2),
                       rss_mb=_mb(_status("VmHWM")), base_mb=_mb(base))
            _emit(results, **res)
            results.close()
            os._exit(3)
        seconds = time.monotonic() - t0
        peak = _status("VmHWM")
        after = _snapshot(db)
        res.update(rc=0, seconds=round(seconds, 2), rss_mb=_mb(peak), base_mb=_mb(base),
                   exceptions=[f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception],
                   errors=[str(e.value) for e in at.error],
                   has_commit=any(b.key == "upload_commit" for b in at.button),
                   problems=(at.dataframe[0].value.astype(str).head(20).to_dict("records")
                             if len(at.dataframe) and len(at.dataframe[0].value) and at.error else []),
                   changed=sorted(hostile.changed(before, after)))
        _emit(results, **res)
        before = after


def main(argv: list[str]) -> int:
    mode, manifest, results_path = argv
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    cases = json.loads(Path(manifest).read_text())
    with open(results_path, "a", encoding="utf-8") as results:
        (drive_cli if mode == "cli" else drive_page)(cases, results)
    return 0


# -- outside: start, watch, kill ----------------------------------------------------------------

def _rss_tree_mb(pid: int) -> float:
    """RSS of a process (the driver has no children of its own)."""
    try:
        m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
        return int(m.group(1)) / 1024 if m else 0.0
    except OSError:
        return 0.0


def run_cases(mode: str, cases: list[dict], db: Path, workdir: Path, *, step_timeout: float = 60.0,
              kill_mb: float = 1536.0, env: dict | None = None) -> dict[tuple[str, str], dict]:
    """Run ``cases`` (manifest entries) through the driver in ``mode``; {(name, step): result}.

    A step that runs past ``step_timeout`` seconds or past ``kill_mb`` of RSS gets the driver killed and a
    result ``{"rc": "killed", "killed": why, "seconds", "rss_mb"}``; a driver that dies gets
    ``{"rc": "crashed", ...}``. The CLI's commit of a file whose dry run was killed is not attempted
    (``{"rc": "skipped"}``). The remaining cases go to a fresh driver."""
    steps = ("dry", "commit") if mode == "cli" else ("page",)
    results: dict[tuple[str, str], dict] = {}
    remaining = list(cases)
    run = 0
    while remaining:
        run += 1
        if run > len(cases) + 3:
            raise RuntimeError(f"the {mode} driver keeps stopping: {[c['name'] for c in remaining]} left")
        tag = f"{mode}-{os.getpid()}-{time.monotonic_ns()}"
        manifest = workdir / f"{tag}-manifest.json"
        out_path = workdir / f"{tag}-results.jsonl"
        err_path = workdir / f"{tag}-stderr.txt"
        manifest.write_text(json.dumps(remaining))
        out_path.write_text("")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), mode, str(manifest), str(out_path)],
                                    cwd=ROOT, env={**os.environ, "SAC_DB_PATH": str(db), **(env or {})},
                                    stdout=err, stderr=subprocess.STDOUT, start_new_session=True)
            current: tuple[str, str] | None = None
            started = time.monotonic()
            peak = 0.0
            offset = 0
            killed = None
            while True:
                done = proc.poll() is not None
                with open(out_path, encoding="utf-8") as f:
                    f.seek(offset)
                    chunk = f.read()
                lines = chunk.split("\n")
                offset += len(chunk) - len(lines[-1])   # ASCII only (ensure_ascii)
                for line in lines[:-1]:
                    ev = json.loads(line)
                    if ev["event"] == "start":
                        current, started, peak = (ev["name"], ev["step"]), time.monotonic(), 0.0
                    else:
                        results[(ev["name"], ev["step"])] = ev
                        current = None
                if done:
                    break
                rss = _rss_tree_mb(proc.pid)
                peak = max(peak, rss)
                if current is not None:
                    elapsed = time.monotonic() - started
                    if elapsed > step_timeout:
                        killed = f"still running after {step_timeout:g} s (RSS {rss:.0f} MB, peak {peak:.0f} MB)"
                    elif rss > kill_mb:
                        killed = f"RSS {rss:.0f} MB after {elapsed:.1f} s: killed at the {kill_mb:.0f} MB ceiling"
                    if killed:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                        results[current] = {"event": "done", "name": current[0], "step": current[1], "rc": "killed",
                                            "killed": killed, "seconds": round(elapsed, 1), "rss_mb": round(peak, 1)}
                        break
                time.sleep(0.05)
            proc.wait()
        if current is not None and current not in results:   # the driver died mid-step
            tail = err_path.read_text(errors="replace")[-4000:]
            results[current] = {"event": "done", "name": current[0], "step": current[1], "rc": "crashed",
                                "killed": f"driver exited {proc.returncode}: {tail}",
                                "seconds": round(time.monotonic() - started, 1), "rss_mb": round(peak, 1)}
        finished = {name for (name, step) in results if step == steps[-1] or results[(name, step)]["rc"] in
                    ("killed", "crashed")}
        for name, step in list(results):
            if mode == "cli" and step == "dry" and results[(name, step)]["rc"] in ("killed", "crashed"):
                results.setdefault((name, "commit"), {"event": "done", "name": name, "step": "commit",
                                                      "rc": "skipped", "killed": "the dry run did not finish"})
        left = [c for c in remaining if c["name"] not in finished]
        if len(left) == len(remaining) and proc.returncode != 0 and current is None:
            raise RuntimeError(f"the {mode} driver failed before any case:\n{err_path.read_text(errors='replace')}")
        remaining = left
    return results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
