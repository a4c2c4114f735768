"""Methodology versions: seeded defaults, append-only history, audit entry, generated page."""

from __future__ import annotations

import json

import pytest

from sac import methodology as m
from sac.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "sac.duckdb")
    yield s
    s.close()


def test_version_1_seeded_by_migration_equals_default_config(store):
    cur = m.current(store)
    assert cur.version == 1
    assert cur.created_by == "system"
    assert cur.created_at is not None
    stored = json.loads(store.scalar("SELECT config FROM methodology_versions WHERE version = 1"))
    # settings added after migration 003 (quality.outlier_min_rel_dev, outlier_window_years; submission, issue 12)
    # carry the values the code had hard-wired before, or govern what did not exist before, so version 1 read
    # through the defaults is exactly DEFAULT_CONFIG
    assert m.merge(m.DEFAULT_CONFIG, stored) == m.DEFAULT_CONFIG == cur.config
    later = {"quality", "submission"}
    assert {k: v for k, v in stored.items() if k not in later} == {
        k: v for k, v in m.DEFAULT_CONFIG.items() if k not in later}


def test_save_new_version_appends_and_audits(store):
    v = m.save_new_version(store, {"rating": {"coverage_min": 0.7}}, "analyst1", "looser coverage")
    assert v == 2
    assert m.current(store).version == 2
    assert m.current(store).config["rating"]["coverage_min"] == 0.7
    # history untouched: version 1 still says 0.8, other settings carried over
    assert m.get(store, 1).config["rating"]["coverage_min"] == 0.8
    assert m.get(store, 2).config["plan_fact"] == m.DEFAULT_CONFIG["plan_fact"]
    log = store.df("SELECT actor, action, target, details FROM audit_log WHERE action = 'methodology_changed'")
    assert log["actor"].tolist() == ["analyst1"]
    assert log["target"].tolist() == ["2"]
    details = json.loads(log["details"][0])
    assert details["changes"] == {"rating.coverage_min": {"old": 0.8, "new": 0.7}}
    assert details["from_version"] == 1


def test_unchanged_config_writes_nothing(store):
    before = store.data_version()
    assert m.save_new_version(store, {"rating": {"coverage_min": 0.8}}, "a") == 1
    assert store.data_version() == before
    assert store.scalar("SELECT count(*) FROM methodology_versions") == 1


@pytest.mark.parametrize("bad", [
    {"rating": {"aggregation": "harmonic"}},
    {"rating": {"coverage_min": 1.5}},
    {"plan_fact": {"rag_amber": 1.2}},      # amber above green
    {"nonsense": 1},
    {"rating": {"robustness": {"weight_low": 2.0}}},
    {"quality": {"outlier_min_rel_dev": -0.1}},
    {"quality": {"outlier_window_years": 0}},
])
def test_invalid_config_rejected_and_nothing_written(store, bad):
    with pytest.raises(ValueError):
        m.save_new_version(store, bad, "a")
    assert store.scalar("SELECT count(*) FROM methodology_versions") == 1
    assert store.scalar("SELECT count(*) FROM audit_log") == 0


def test_get_unknown_version(store):
    with pytest.raises(KeyError):
        m.get(store, 7)


def test_current_without_store_is_defaults():
    assert m.current(None).version == 1
    assert m.current(None).config == m.DEFAULT_CONFIG


def test_page_states_the_current_settings(store):
    page = m.render_markdown(m.current(store))
    assert "Version 1" in page and "below\n  80%" in page and "green `A ≥ 1`" in page
    m.save_new_version(store, {"rating": {"coverage_min": 0.75, "aggregation": "geometric"},
                               "plan_fact": {"rag_amber": 0.85}, "budget": {"spike_share": 0.35}}, "analyst1", "v2")
    page2 = m.render_markdown(m.current(store))
    assert "Version 2" in page2 and "by analyst1" in page2
    assert "below\n  75%" in page2 and "amber `0.85 ≤ A < 1`" in page2 and "above\n  35%" in page2
    assert "weighted geometric mean" in page2
    assert "## 3. Сравнительный рейтинг" in m.render_markdown(m.current(store), "ru")
    for n in range(2, 11):
        assert f"## {n}." in page2


def test_cli_show_and_export(store, tmp_path, monkeypatch, capsys):
    from sac.cli import main
    m.save_new_version(store, {"rating": {"coverage_min": 0.7}}, "analyst1")
    store.close()
    monkeypatch.setenv("SAC_DB_PATH", str(tmp_path / "sac.duckdb"))
    assert main(["methodology", "show"]) == 0
    assert "Version 2" in capsys.readouterr().out
    out = tmp_path / "m.md"
    assert main(["methodology", "export", str(out), "--version", "1"]) == 0
    assert "Version 1" in out.read_text(encoding="utf-8") and "below\n  80%" in out.read_text(encoding="utf-8")
    assert main(["methodology", "show", "--version", "9"]) == 4


def test_page_states_the_outlier_rule_and_documented_choices(store):
    page = m.render_markdown(m.current(store))
    assert "above 3.5" in page and "more than 10% from the median" in page and "±3 years" in page
    m.save_new_version(store, {"quality": {"outlier_min_rel_dev": 0.2, "outlier_window_years": 5}}, "analyst1")
    page2 = m.render_markdown(m.current(store))
    assert "more than 20% from the median" in page2 and "±5 years" in page2
    # documented choices of version 1
    assert "all values equal → 100" in page and "U ≤ L" in page and "target not positive" in page
    assert "rounded half up" in page
    assert "signed change in the indicator's unit" in page
    assert "no running project contributes" in page
    assert "planned for the period" in page


def test_methodology_page_states_the_territorial_reform_rules():
    """Issue 9: the rules for movement and progress across a territorial reform are on the methodology page."""
    from sac.methodology import render_markdown

    text = render_markdown(lang="en")
    assert "territory changed" in text and "South Kazakhstan" in text
    assert "starts from its first value in the reform year" in text
