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
    assert stored == m.DEFAULT_CONFIG


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
