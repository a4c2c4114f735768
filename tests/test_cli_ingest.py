"""``python -m sac import / batches / rollback / templates``: exit codes and what they print."""

from __future__ import annotations

import pytest

from sac.cli import main
from sac.store import Store

GOOD = "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4,9\n"
# ('x', '-', '…', 'n/a' mean "not reported" since 6c3c926: a warning, not an error; '12q' is unreadable)
BAD = "indicator;region;period;plan;fact\nUNEMP;71;2024-Q1;5;4,9\nUNEMP;Атлантида;2024-Q1;5;12q\n"


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "sac.duckdb"
    monkeypatch.setenv("SAC_DB_PATH", str(path))
    with Store(path) as s, s.write() as cur:
        cur.execute("INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, periodicity) "
                    "VALUES ('UNEMP', 'u', 'u', 'u', 'quarter')")
    return path


def _file(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _count(db) -> int:
    with Store(db) as s:
        return s.scalar("SELECT count(*) FROM indicator_values")


def test_import_ok_dry_run_and_rejected(db, tmp_path, capsys):
    good, bad = _file(tmp_path, "good.csv", GOOD), _file(tmp_path, "bad.csv", BAD)

    assert main(["import", good, "--kind", "indicator_values", "--dry-run"]) == 0
    assert "DRY RUN" in capsys.readouterr().out and _count(db) == 0

    assert main(["import", bad, "--kind", "indicator_values"]) == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out and "row 3: 'region': 'Атлантида'" in out and "row 3: 'fact': '12q' is not a number" in out
    assert _count(db) == 0

    assert main(["import", good, "--kind", "indicator_values", "--user", "tester"]) == 0
    assert "COMMITTED as batch 1" in capsys.readouterr().out and _count(db) == 1

    assert main(["import", good, "--kind", "indicator_values"]) == 1   # the same file again
    assert "already committed as batch 1" in capsys.readouterr().out
    assert main(["import", good, "--kind", "indicator_values", "--force"]) == 0
    capsys.readouterr()

    assert main(["batches"]) == 0
    out = capsys.readouterr().out
    assert "tester" in out and "indicator_values" in out


def test_usage_and_not_found(db, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["import", "x.csv", "--kind", "nonsense"])
    assert e.value.code == 2
    assert main(["import", str(tmp_path / "missing.csv"), "--kind", "indicator_values"]) == 4
    assert main(["rollback", "99"]) == 4
    assert "no upload batch 99" in capsys.readouterr().err


def test_rollback_codes(db, tmp_path, capsys):
    a = _file(tmp_path, "a.csv", GOOD)
    b = _file(tmp_path, "b.csv", GOOD.replace("4,9", "5,5"))
    assert main(["import", a, "--kind", "indicator_values"]) == 0
    assert main(["import", b, "--kind", "indicator_values"]) == 0
    capsys.readouterr()
    assert main(["rollback", "1"]) == 1
    assert "roll back 2 first" in capsys.readouterr().err
    assert main(["rollback", "2"]) == 0
    assert main(["rollback", "1"]) == 0
    assert "1 rows removed" in capsys.readouterr().out and _count(db) == 0


def test_templates_command(tmp_path, capsys):
    out = tmp_path / "tpl"
    assert main(["templates", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "template_budget.xlsx", "template_budget_programs.xlsx", "template_contributions.xlsx",
        "template_indicator_values.xlsx", "template_indicators.xlsx", "template_instructions.xlsx",
        "template_organisations.xlsx", "template_projects.xlsx"]
