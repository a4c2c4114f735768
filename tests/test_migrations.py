"""The store creates and evolves its schema by numbered migrations, once each."""

import csv
from pathlib import Path

from sac.store import MIGRATIONS_DIR, REGIONS_CSV, Store

SHARED_REGIONS = Path(__file__).resolve().parents[2] / "shared" / "domain" / "regions.csv"


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "sac.duckdb"
    s = Store(path)
    numbers = sorted(int(p.name[:3]) for p in MIGRATIONS_DIR.glob("*.sql"))
    assert s.applied_migrations() == numbers
    s.close()
    s = Store(path)
    assert s.migrate() == []  # nothing applied twice
    assert s.scalar("SELECT count(*) FROM regions") == 20


def test_the_twenty_regions_with_the_2022_ones():
    s = Store(":memory:")
    rows = s.df("SELECT kato, name_en, name_kk FROM regions ORDER BY kato")
    assert len(rows) == 20
    assert {"Abai Region", "Zhetysu Region", "Ulytau Region", "Astana", "Almaty", "Shymkent"} <= set(rows.name_en)
    assert rows.set_index("kato").loc["75", "name_kk"] == "Алматы қаласы"


def test_bundled_regions_equal_the_shared_reference():
    if SHARED_REGIONS.exists():
        assert REGIONS_CSV.read_text(encoding="utf-8") == SHARED_REGIONS.read_text(encoding="utf-8")
    with REGIONS_CSV.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 20


def test_periods_of_three_kinds_share_one_calendar():
    s = Store(":memory:")
    q = s.df("SELECT code, kind, start_date, end_date FROM periods WHERE code IN ('2024', '2024-Q3', '2024-08')")
    q = q.set_index("code")
    assert q.loc["2024-Q3", "kind"] == "quarter"
    assert str(q.loc["2024-Q3", "end_date"])[:10] == "2024-09-30"
    # A month falls inside its quarter and its year by dates alone.
    assert q.loc["2024", "start_date"] <= q.loc["2024-Q3", "start_date"] <= q.loc["2024-08", "start_date"]
    assert q.loc["2024-08", "end_date"] <= q.loc["2024-Q3", "end_date"] <= q.loc["2024", "end_date"]


def test_a_failed_write_leaves_nothing_and_keeps_the_data_version(tmp_path):
    s = Store(tmp_path / "a.duckdb")
    before = s.data_version()
    try:
        with s.write() as cur:
            cur.execute("INSERT INTO organisations VALUES ('o1', 'akimat', 'A', 'A', 'A', '75')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert s.scalar("SELECT count(*) FROM organisations") == 0
    assert s.data_version() == before
    with s.write() as cur:
        cur.execute("INSERT INTO organisations VALUES ('o1', 'akimat', 'A', 'A', 'A', '75')")
    assert s.data_version() == before + 1


def test_region_aliases_table_is_empty_after_migration():
    """Migration 006 is plain DDL: the package's aliases are read from the CSV at lookup time, not seeded."""
    s = Store(":memory:")
    assert 6 in s.applied_migrations()
    cols = s.df("SELECT column_name FROM information_schema.columns WHERE table_name = 'region_aliases' "
                "ORDER BY ordinal_position")["column_name"].tolist()
    assert cols[:6] == ["alias", "alias_as_written", "kato", "kind", "note", "source"]
    assert s.scalar("SELECT count(*) FROM region_aliases") == 0


def test_sessions_keep_the_tokens_hash_never_the_token():
    """Migration 011: the sessions table is keyed by the token's SHA-256; no column could hold the token."""
    s = Store(":memory:")
    assert 11 in s.applied_migrations()
    cols = s.df("SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' "
                "ORDER BY ordinal_position")["column_name"].tolist()
    assert cols == ["token_hash", "username", "source", "created_at", "last_seen_at", "expires_at", "revoked_at",
                    "revoked_reason", "user_agent", "client_ip"]
