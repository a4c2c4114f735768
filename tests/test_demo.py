"""The embedded demo (issue 2): it has what the issue demands, and two builds are identical."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from sac import datasets
from sac.auth import User
from sac.cli import EXIT_OK, EXIT_USAGE, main
from sac.demo import OUTLIERS, TODAY, build_demo, generate
from sac.demo import catalogue as C
from sac.demo.uploads import LATE_REGIONS
from sac.ingest import RollbackRefused, rollback
from sac.metrics.quality import reporting
from sac.store import Store

DEMO_TABLES = ["regions", "organisations", "officials", "goal_nodes", "indicators", "indicator_values",
               "budget_programs", "budget_program_indicators", "budget_lines", "projects",
               "project_contributions", "instructions", "upload_batches", "hist_indicator_values",
               "hist_budget_lines"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    counts = build_demo(store)
    yield store, counts
    store.close()


def q(store, sql, params=None):
    return store.df(sql, params)


def test_reference_counts(demo):
    store, counts = demo
    assert store.scalar("SELECT count(*) FROM regions") == 20
    assert store.scalar("SELECT count(*) FROM regions WHERE population IS NULL") == 0
    # approximate real population: about 20 million
    assert 19_000_000 < store.scalar("SELECT sum(population) FROM regions") < 21_000_000
    kinds = q(store, "SELECT kind, count(*) n FROM organisations GROUP BY kind").set_index("kind")["n"]
    assert kinds["akimat"] == 20 and kinds["state_body"] >= 10 and kinds["project_office"] >= 3
    assert counts["regions"] == 20 and counts["projects"] == store.scalar("SELECT count(*) FROM projects")


def test_goal_map(demo):
    store, _ = demo
    levels = q(store, "SELECT level, count(*) n FROM goal_nodes GROUP BY level").set_index("level")["n"]
    assert levels["national_priority"] >= 3
    # Almaty's ten basic directions (seed 003)
    almaty = q(store, "SELECT name_en FROM goal_nodes WHERE parent_id = 'P-ALMATY' AND level = 'basic_direction'")
    assert len(almaty) == 10
    assert {"Polycentric Development", "Safe City", "Green Almaty", "Smart City"} <= set(almaty["name_en"])
    assert q(store, "SELECT program_kind FROM goal_nodes WHERE node_id = 'P-ALMATY'")["program_kind"][0] == "regional_plan"
    # the standard basic direction with the six groups of Rules para 56
    std = q(store, "SELECT node_id FROM goal_nodes WHERE is_standard_bd")
    assert len(std) == 1
    groups = q(store, "SELECT name_en FROM goal_nodes WHERE parent_id = ? AND level = 'project_group'",
               [std["node_id"][0]])
    assert len(groups) == 6
    assert "Prevention and counteraction to corruption" in set(groups["name_en"])
    # responsible officials at all four levels, each node has one
    assert set(q(store, "SELECT DISTINCT responsibility_level FROM goal_nodes")["responsibility_level"]) == {1, 2, 3, 4}
    assert store.scalar("SELECT count(*) FROM goal_nodes WHERE responsible_official IS NULL") == 0
    # every parent exists and sits one level up
    bad = store.scalar("""
        SELECT count(*) FROM goal_nodes c JOIN goal_nodes p ON c.parent_id = p.node_id
        WHERE p.responsibility_level <> c.responsibility_level - 1""")
    assert bad == 0


def test_indicators(demo):
    store, _ = demo
    ind = q(store, "SELECT * FROM indicators")
    assert len(ind) >= 40
    assert set(ind["direction"]) == {"up", "down"}
    assert set(ind["tier"]) == {"output", "outcome", "impact"}
    assert set(ind["periodicity"]) == {"year", "quarter", "month"}
    assert ind["cumulative"].any() and ind["goalpost_low"].notna().any()
    # passport gaps for the quality audit, but not everywhere
    assert 0 < ind["baseline_value"].isna().sum() < len(ind) / 2
    assert 0 < ind["target_value"].isna().sum() < len(ind) / 2
    assert ind["node_id"].notna().all()
    # real targets of seed 001 Table 11
    plans = q(store, "SELECT period, plan FROM indicator_values WHERE indicator_id = 'UNEMP' AND unit_code = '71' "
                     "AND period IN ('2022', '2023')").set_index("period")["plan"]
    assert plans.notna().all()


def test_five_years_of_plans_and_facts_until_today(demo):
    store, _ = demo
    years = q(store, """SELECT DISTINCT p.year FROM indicator_values v JOIN periods p ON p.code = v.period
                        WHERE v.plan IS NOT NULL""")["year"]
    assert {2022, 2023, 2024, 2025, 2026} <= set(years)
    # every indicator has plans for all 20 regions in each of the five years
    full = q(store, """SELECT indicator_id, count(DISTINCT unit_code || period) n FROM indicator_values
                       WHERE period IN ('2022','2023','2024','2025','2026') AND plan IS NOT NULL GROUP BY 1""")
    assert (full["n"] >= 95).all()
    # 2026 quarterly facts up to Q3 only; no fact for a period that has not ended
    q2026 = set(q(store, """SELECT DISTINCT period FROM indicator_values
                            WHERE period LIKE '2026-Q%' AND fact IS NOT NULL""")["period"])
    assert q2026 == {"2026-Q1", "2026-Q2", "2026-Q3"}
    assert store.scalar("""SELECT count(*) FROM indicator_values v JOIN periods p ON p.code = v.period
                           WHERE v.fact IS NOT NULL AND p.end_date >= ?""", [TODAY]) == 0


def test_gaps_and_leaders(demo):
    store, _ = demo
    # Ulytau did not report 2024-Q2 at all
    assert store.scalar("""SELECT count(fact) FROM indicator_values v JOIN indicators i USING (indicator_id)
                           WHERE unit_code = '62' AND period = '2024-Q2'""") == 0
    assert store.scalar("SELECT count(*) FROM indicator_values WHERE unit_code = '62' AND period = '2024-Q2'") > 0
    # missing is missing: facts never stored as 0 for gaps, and some facts are missing at random
    missing = store.scalar("""SELECT count(*) FROM indicator_values v JOIN periods p ON p.code = v.period
                              WHERE fact IS NULL AND p.end_date < DATE '2026-06-30' AND source_document <> ?""",
                           [C.DOC_ENBEK])
    assert missing > 100
    # plan-fulfilment 2025: Astana and Almaty above Turkistan and Kyzylorda
    s = q(store, """SELECT unit_code, avg(100 * least(CASE WHEN direction = 'up' THEN fact / plan
                                                        ELSE plan / fact END, 1)) s
                    FROM v_indicator_cells JOIN indicators USING (indicator_id)
                    WHERE period = '2025' AND plan > 0 AND fact > 0 GROUP BY 1""").set_index("unit_code")["s"]
    assert min(s["71"], s["75"]) > max(s["61"], s["43"]) + 3
    assert s.rank(ascending=False)[["71", "75"]].max() <= 3


def test_wrong_way_indicator(demo):
    """Seed 001 Table 2: the poverty share is planned to go up although lower is better."""
    store, _ = demo
    assert store.scalar("SELECT direction FROM indicators WHERE indicator_id = 'POVERTY'") == "down"
    plans = q(store, """SELECT period, avg(plan) p FROM indicator_values WHERE indicator_id = 'POVERTY'
                        GROUP BY 1 ORDER BY 1""").set_index("period")["p"]
    assert plans["2023"] == pytest.approx(2 * plans["2022"], rel=0.01)   # 4.0 -> 8.0
    assert plans["2026"] > plans["2022"]


def test_two_documents_for_one_indicator(demo):
    """Seed 001 Table 9: active SMEs planned +40 000 a year by the MNE, by 9% and 10% growth by "Enbek"."""
    store, _ = demo
    both = q(store, """SELECT unit_code, period, count(DISTINCT source_document) docs, min(plan) lo, max(plan) hi
                       FROM indicator_values WHERE indicator_id = 'SME_ACTIVE' AND plan IS NOT NULL
                       GROUP BY 1, 2 HAVING docs > 1""")
    assert set(both["period"]) == {"2019", "2020", "2021"}
    conflict = both[both["period"] != "2019"]
    assert len(conflict) == 40 and (conflict["hi"] > conflict["lo"] * 1.04).all()
    # republic totals of the MNE plan are the seed's figures (regional shares rounded)
    totals = q(store, """SELECT period, sum(plan) t FROM indicator_values
                         WHERE indicator_id = 'SME_ACTIVE' AND source_document = ? GROUP BY 1""",
               [C.DOC_MNE_SP]).set_index("period")["t"]
    assert totals["2019"] == pytest.approx(1_310_000, abs=20)
    assert totals["2024"] == pytest.approx(1_510_000, abs=20)


def test_budget(demo):
    store, _ = demo
    # seed 001 Table 11: program 068 in 2021 carried with three amounts
    amounts = q(store, "SELECT source_document, plan FROM budget_lines WHERE program_code = '068' AND period = '2021'")
    assert sorted(amounts["plan"]) == [27_472, 76_952, 80_043]
    assert amounts["source_document"].nunique() == 3
    # monthly lines 2024-2026, spending reported up to October 2026
    months = q(store, """SELECT max(period) FILTER (WHERE spent IS NOT NULL) last_spent, min(period) first
                         FROM budget_lines WHERE length(period) = 7""")
    assert months["last_spent"][0] == "2026-10" and months["first"][0] == "2024-01"
    # some programs spend more than 40% of the year in Q4, most do not (seed 000)
    q4 = q(store, """SELECT program_code, sum(spent) FILTER (WHERE p.quarter = 4) / sum(spent) share
                     FROM budget_lines b JOIN periods p ON p.code = b.period
                     WHERE p.kind = 'month' AND p.year = 2025 GROUP BY 1""").set_index("program_code")["share"]
    assert 2 <= (q4 > 0.4).sum() < len(q4) / 2
    assert store.scalar("SELECT count(*) FROM budget_program_indicators") >= len(C.BUDGET_PROGRAMS)


def test_projects(demo):
    store, _ = demo
    p = q(store, "SELECT * FROM projects")
    assert len(p) >= 300
    assert p["manager_id"].notna().all() and p["node_id"].notna().all()
    fin = p[~p["is_active"]]
    assert len(fin) > 30 and (fin["actual_end"] > fin["planned_end"]).any()          # some finished late
    assert (p["forecast_cost"] > p["budget"]).sum() > 20                              # some over budget
    running = p[p["is_active"] & p["actual_start"].notna()]
    assert (pd.to_datetime(running["planned_end"]) < pd.Timestamp(TODAY)).sum() > 5  # some overdue
    # self-reported green while behind schedule (SPI < 0.8)
    start, end = pd.to_datetime(running["planned_start"]), pd.to_datetime(running["planned_end"])
    elapsed = ((pd.Timestamp(TODAY) - start) / (end - start)).clip(0, 1)
    spi = running["percent_complete"] / elapsed
    assert ((spi < 0.8) & (running["status_reported"] == "green")).sum() >= 5
    assert p["consultant_involved"].any() and (p["staff_certified"] <= p["staff_total"]).all()
    # Rules para 79: exactly one manager runs two active projects whose dates overlap
    two = q(store, """SELECT a.manager_id FROM projects a JOIN projects b
                      ON a.manager_id = b.manager_id AND a.project_id < b.project_id
                      WHERE a.is_active AND b.is_active
                        AND a.planned_start <= b.planned_end AND b.planned_start <= a.planned_end""")
    assert len(two) == 1
    assert store.scalar("SELECT count(*) FROM projects WHERE manager_id NOT IN (SELECT official_id FROM officials)") == 0
    assert store.scalar("SELECT count(*) FROM officials WHERE certified_pm") > 50
    contrib = q(store, "SELECT * FROM project_contributions")
    assert len(contrib) > 100 and contrib["planned_contribution"].notna().all()


def test_instructions(demo):
    store, _ = demo
    i = q(store, "SELECT * FROM instructions")
    assert 50 <= len(i) <= 70
    overdue = i[(i["status"] == "on_control") & (pd.to_datetime(i["due_date"]) < pd.Timestamp(TODAY))]
    assert len(overdue) >= 5 and overdue["escalated"].any()
    done = i[i["status"] == "done"]
    assert (done["done_date"] <= done["due_date"]).sum() > 10 and (done["done_date"] > done["due_date"]).sum() > 3
    assert (i["status"] == "removed").any()
    assert (i["due_date"] >= i["issue_date"]).all()


def test_outliers_exceed_modified_z(demo):
    """The planted outliers stand out against the unit's own history (METHODOLOGY.md section 8)."""
    store, _ = demo
    for ind, unit, period, _ in OUTLIERS:
        hist = q(store, """SELECT v.period, v.fact FROM indicator_values v JOIN periods p ON p.code = v.period
                           WHERE indicator_id = ? AND unit_code = ? AND p.kind = (SELECT kind FROM periods WHERE code = ?)
                             AND fact IS NOT NULL""", [ind, unit, period]).set_index("period")["fact"]
        med = hist.median()
        mad = (hist - med).abs().median()
        assert 0.6745 * abs(hist[period] - med) / mad > 3.5, (ind, unit, period)


BATCH_KINDS = {"indicator_values": "indicator_values", "budget_lines": "budget", "projects": "projects",
               "project_contributions": "contributions", "instructions": "instructions"}


def test_batches_use_the_importers_kinds_and_every_row_points_at_its_batch(demo):
    store, counts = demo
    b = q(store, "SELECT * FROM upload_batches ORDER BY batch_id")
    assert set(b["kind"]) == {"indicator_values", "budget", "projects", "contributions", "instructions", "indicators"}
    assert counts["upload_batches"] == len(b) and 1000 < len(b) < 2500
    assert b["sha256"].str.fullmatch("[0-9a-f]{64}").all() and b["sha256"].is_unique and b["file_name"].is_unique
    # ids follow upload time (the importer's order: rollback looks for later batches by id)
    assert b["uploaded_at"].is_monotonic_increasing
    assert (b["uploaded_at"] < pd.Timestamp(TODAY)).all()
    for table, kind in BATCH_KINDS.items():
        rows = q(store, f"SELECT t.batch_id, b.kind FROM {table} t LEFT JOIN upload_batches b USING (batch_id)")
        assert (rows["kind"] == kind).all(), table            # no row without a batch, none under another kind
        # every batch of the kind wrote rows still there, or (plans) rows later files updated
        assert set(rows["batch_id"]) <= set(b.loc[b["kind"] == kind, "batch_id"])
    # reference tables are set-up, not uploads: no batch of theirs
    assert not b["kind"].isin(["reference", "organisations", "goal_nodes", "budget_programs"]).any()
    # rows inserted + updated add up to what the tables hold and what later files changed
    for table, kind in (("indicator_values", "indicator_values"), ("budget_lines", "budget")):
        n, hist = store.scalar(f"SELECT count(*) FROM {table}"), store.scalar(f"SELECT count(*) FROM hist_{table}")
        assert b.loc[b["kind"] == kind, "rows_inserted"].sum() == n
        assert b.loc[b["kind"] == kind, "rows_updated"].sum() == hist > 0


def test_facts_come_per_region_and_period_from_the_regions_office(demo):
    store, _ = demo
    f = q(store, """SELECT b.batch_id, b.file_name, b.uploaded_by, b.uploaded_at, p.end_date, p.kind,
                           min(v.unit_code) unit, max(v.unit_code) unit2, min(v.period) period, max(v.period) period2
                    FROM upload_batches b JOIN indicator_values v USING (batch_id) JOIN periods p ON p.code = v.period
                    WHERE b.file_name LIKE 'facts_%' GROUP BY ALL""")
    assert (f["unit"] == f["unit2"]).all() and (f["period"] == f["period2"]).all()
    assert (f["file_name"] == "facts_" + f["unit"] + "_" + f["period"] + ".xlsx").all()
    assert "facts_75_2025-Q3.xlsx" in set(f["file_name"])
    by = f.drop_duplicates("unit").set_index("unit")["uploaded_by"]
    assert by["75"] == "PO-ADC" and by["71"] == "PO-AST" and by["62"] == "AKM-62"
    assert f.groupby("unit")["uploaded_by"].nunique().max() == 1
    # a file comes after its period has ended
    assert (pd.to_datetime(f["uploaded_at"]) > pd.to_datetime(f["end_date"]) + pd.Timedelta(days=1)).all()
    assert 20 * 80 <= len(f) <= 20 * 90
    # plans: one file per source document and year, from January of that year, before any fact of the year
    # (the rows a plan file wrote: those still carrying it, and the plan-only images later facts replaced)
    plans = q(store, """SELECT b.file_name, b.uploaded_by, b.uploaded_at, count(DISTINCT w.source_document) docs,
                               min(p.year) y0, max(p.year) y1, count(*) n, b.rows_inserted
                        FROM upload_batches b
                        JOIN (SELECT batch_id, period, source_document FROM indicator_values
                              UNION ALL SELECT batch_id, period, source_document FROM hist_indicator_values) w
                          USING (batch_id)
                        JOIN periods p ON p.code = w.period
                        WHERE b.file_name LIKE 'plan_%' GROUP BY ALL""")
    assert (plans["uploaded_by"] == "analyst").all() and (plans["y0"] == plans["y1"]).all()
    assert (plans["docs"] == 1).all() and (plans["n"] == plans["rows_inserted"]).all()
    assert len(plans) == store.scalar("SELECT count(*) FROM upload_batches WHERE file_name LIKE 'plan_%'")
    at = pd.to_datetime(plans["uploaded_at"])
    assert (at.dt.year == plans["y0"]).all() and (at.dt.month == 1).all()
    assert "plan_MNE_Strategic_Plan_2020-2024_2024.xlsx" in set(plans["file_name"])


def test_reporting_timeliness_reads_like_a_real_one(demo):
    """The Data quality page: most regions report on time, the habitually late ones do not."""
    store, _ = demo
    rep = reporting(store)
    overall = rep["on_time"].sum() / rep["with_upload_time"].sum()
    assert 0.5 <= overall <= 0.95
    # every fact in a region has a known upload time
    assert rep["with_upload_time"].sum() == store.scalar(
        """SELECT count(DISTINCT (indicator_id, unit_code, period)) FROM indicator_values
           WHERE fact IS NOT NULL AND unit_code IN (SELECT kato FROM regions)""")
    by = rep.groupby("unit_code")[["on_time", "with_upload_time"]].sum()
    tl = by["on_time"] / by["with_upload_time"]
    late, punctual = tl[tl.index.isin(LATE_REGIONS)], tl[~tl.index.isin(LATE_REGIONS)]
    assert len(late) == len(LATE_REGIONS) and len(punctual) == 17
    assert late.max() < 0.5 < 0.8 < punctual.min()
    assert punctual.max() < 1.0            # punctual regions, too, are late now and then
    # every kind of period reads between the two (the annual figures are due within the grace too)
    kinds = rep.groupby("period_kind")[["on_time", "with_upload_time"]].sum()
    assert ((kinds["on_time"] / kinds["with_upload_time"]).between(0.5, 0.95)).all()
    # a late region's file for the latest quarter has not come in yet: its facts are missing
    q3 = rep[rep["period"] == "2026-Q3"].set_index("unit_code")
    assert (q3.loc[q3.index.isin(LATE_REGIONS), "completeness"] < 1).any()
    assert q3.loc[~q3.index.isin(LATE_REGIONS), "completeness"].median() == 1.0


def test_a_demo_facts_file_rolls_back_like_an_imported_one(demo, tmp_path):
    store, _ = demo
    store.cursor().execute("CHECKPOINT")
    shutil.copy(store.path, tmp_path / "copy.duckdb")
    with Store(tmp_path / "copy.duckdb") as s:
        fb = s.scalar("SELECT batch_id FROM upload_batches WHERE file_name = 'facts_75_2025-Q3.xlsx'")
        before = s.scalar("SELECT count(*) FROM indicator_values WHERE batch_id = ? AND plan IS NOT NULL", [fb])
        cell = "FROM indicator_values WHERE unit_code = '75' AND period = '2025-Q3'"
        plans_before = s.scalar(f"SELECT count(plan) {cell}")
        assert before > 0 and s.scalar(f"SELECT count(fact) {cell}") > 0
        # the plan files whose rows this facts file filled in cannot go first
        plans = q(s, """SELECT DISTINCT b.file_name, b.batch_id FROM hist_indicator_values h
                        JOIN upload_batches b ON b.batch_id = h.batch_id WHERE h.hist_batch_id = ?""", [fb])
        assert plans["file_name"].str.fullmatch(r"plan_.+_2025\.xlsx").all()
        with pytest.raises(RollbackRefused, match=rf"later batches .*\b{fb}\b"):
            rollback(s, int(plans["batch_id"].iloc[0]), user="admin")
        # 2025 is approved in the demo (issue 12): the rollback waits for an admin to unlock Almaty's year
        with pytest.raises(RollbackRefused, match=r"data sets that are not open \(75 · 2025: approved\)"):
            rollback(s, fb, user="admin")
        datasets.transition(s, User("admin", "Admin", "admin"), "75", "indicator_values", "2025", "unlock",
                            "Q3 facts to be re-sent")
        res = rollback(s, fb, user="admin")
        assert res["restored"] == before
        back = q(s, f"SELECT * {cell}")
        assert back["fact"].isna().all() and back["plan"].notna().sum() == plans_before   # the plans stay
        assert not back["batch_id"].isin([fb]).any()
        # later importer batches follow the demo's ids
        assert s.scalar("SELECT nextval('upload_batch_seq')") == s.scalar("SELECT max(batch_id) FROM upload_batches") + 1


def _dump(store) -> dict[str, pd.DataFrame]:
    out = {}
    for t in DEMO_TABLES:
        df = store.df(f"SELECT * FROM {t}")
        out[t] = df.sort_values(list(df.columns[:5])).reset_index(drop=True)
    return out


def test_two_builds_are_identical(demo, tmp_path):
    store, _ = demo
    with Store(tmp_path / "again.duckdb") as again:
        build_demo(again)
        first, second = _dump(store), _dump(again)
    for t in DEMO_TABLES:
        pd.testing.assert_frame_equal(first[t], second[t], obj=t)


def test_build_refuses_a_store_with_data(demo):
    store, _ = demo
    before = store.data_version()
    with pytest.raises(RuntimeError, match="already holds data"):
        build_demo(store)
    assert store.data_version() == before


def test_cli_refuses_to_overwrite_without_force(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    Store(db).close()      # an existing (empty) database is not overwritten without --force
    assert main(["demo", "--db", str(db)]) == EXIT_USAGE
    assert "--force" in capsys.readouterr().err
    assert main(["demo", "--db", str(db), "--force"]) == EXIT_OK
    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM projects") >= 300
        assert s.scalar("SELECT count(*) FROM upload_batches") > 1000


def test_today_moves_the_reporting_cut(demo):
    store, _ = demo
    regions = store.df("SELECT kato, iso, kind, name_en, name_ru, name_kk FROM regions")
    values = generate(regions, dt.date(2026, 5, 20))["indicator_values"]
    reported = values.loc[values["fact"].notna() & values["period"].str.startswith("2026"), "period"]
    assert set(reported) == {"2026-Q1", "2026-01", "2026-02", "2026-03"}  # April is out 20 days after
