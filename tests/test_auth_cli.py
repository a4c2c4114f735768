"""`python -m sac users add|list|disable|enable|reset`: output, exit codes, audit entries."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from sac.auth import accounts as acc
from sac.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main
from sac.store import Store


@pytest.fixture(autouse=True)
def db(tmp_path, monkeypatch):
    monkeypatch.setattr(acc, "BCRYPT_ROUNDS", 4)
    path = tmp_path / "cli.duckdb"
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    return path


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["users", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def sign_in(db, username, password):
    with Store(db) as s:
        return acc.authenticate(s, username, password)


def audit(db):
    with Store(db) as s:
        return s.df("SELECT actor, action, target FROM audit_log ORDER BY entry_id").to_dict("records")


def test_add_with_generated_password_prints_it_once_and_it_works(db, capsys):
    code, out, _ = run(["add", "Dana", "--role", "leadership", "--name", "Dana K."], capsys)
    assert code == EXIT_OK
    password = out.rsplit(": ", 1)[1].strip()
    user = sign_in(db, "dana", password)
    assert (user.role, user.display_name) == ("leadership", "Dana K.")
    assert audit(db)[0]["action"] == "user_added" and audit(db)[0]["target"] == "dana"
    assert audit(db)[0]["actor"].startswith("cli:")


def test_add_office_reads_the_password_from_stdin_and_needs_a_unit(db, capsys, monkeypatch):
    code, _, err = run(["add", "po", "--role", "project_office"], capsys)
    assert code == EXIT_REJECTED and "--unit" in err
    code, out, _ = run(["add", "po", "--role", "project_office", "--unit", "75", "--unit", "19",
                        "--password-stdin"], capsys, "office-pass-1\n", monkeypatch)
    assert code == EXIT_OK and "office-pass-1" not in out
    assert sign_in(db, "po", "office-pass-1").units == frozenset({"75", "19"})


@pytest.mark.parametrize("argv, stdin, expected", [
    (["add", "bad name", "--role", "analyst"], None, EXIT_REJECTED),
    (["add", "shorty", "--role", "analyst", "--password-stdin"], "short\n", EXIT_REJECTED),
    (["disable", "ghost"], None, EXIT_NOT_FOUND),
    (["enable", "ghost"], None, EXIT_NOT_FOUND),
    (["reset", "ghost"], None, EXIT_NOT_FOUND),
])
def test_rejections_and_not_found_have_their_exit_codes(capsys, monkeypatch, argv, stdin, expected):
    code, _, err = run(argv, capsys, stdin, monkeypatch)
    assert code == expected and err.startswith("error:")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["users", "add", "x", "--role", "boss"])
    assert e.value.code == EXIT_USAGE


def test_add_twice_is_rejected(capsys):
    assert run(["add", "ann", "--role", "analyst"], capsys)[0] == EXIT_OK
    code, _, err = run(["add", "ANN", "--role", "admin"], capsys)
    assert code == EXIT_REJECTED and "exists" in err


def test_list_disable_enable_reset(db, capsys, monkeypatch):
    run(["add", "ann", "--role", "analyst", "--password-stdin"], capsys, "ann-password\n", monkeypatch)
    run(["add", "po", "--role", "project_office", "--unit", "75", "--password-stdin"], capsys, "po-password\n",
        monkeypatch)
    code, out, _ = run(["list", "--csv"], capsys)
    assert code == EXIT_OK
    lines = out.strip().splitlines()
    assert lines[0].startswith("username,display_name,role,source,disabled")
    assert [line.split(",")[:3] for line in lines[1:]] == [["ann", "ann", "analyst"], ["po", "po", "project_office"]]

    assert run(["disable", "ann"], capsys)[0] == EXIT_OK
    with pytest.raises(acc.SignInFailed) as e:
        sign_in(db, "ann", "ann-password")
    assert e.value.code == "disabled"
    code, out, _ = run(["list"], capsys)
    assert "True" in next(line for line in out.splitlines() if line.strip().startswith("ann"))
    assert run(["enable", "ann"], capsys)[0] == EXIT_OK
    assert sign_in(db, "ann", "ann-password").role == "analyst"

    code, out, _ = run(["reset", "ann"], capsys)
    assert code == EXIT_OK
    new = out.rsplit(": ", 1)[1].strip()
    assert sign_in(db, "ann", new).username == "ann"
    actions = [(e["action"], e["target"]) for e in audit(db) if e["actor"].startswith("cli:")]
    assert actions == [("user_added", "ann"), ("user_added", "po"), ("user_disabled", "ann"),
                       ("user_changed", "ann"), ("user_password_reset", "ann")]


def test_the_module_entry_point_runs_and_returns_the_exit_code(db):
    """One real subprocess, as scripts call it: `python -m sac users disable` of a missing user exits 4."""
    proc = subprocess.run([sys.executable, "-m", "sac", "users", "disable", "nobody"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == EXIT_NOT_FOUND
    assert "no user 'nobody'" in proc.stderr
