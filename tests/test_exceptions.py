"""Management by exception (METHODOLOGY.md section 9; seed 001 ch. 3.3)."""

from __future__ import annotations

import pytest

from sac.metrics.exceptions import COLUMNS, KINDS, exceptions
from sac.store import Store

TODAY = "2024-07-01"


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "e.duckdb")
    with s.write() as cur:
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity,
                           target_value, target_year)
            VALUES ('UNEMP','Unemployment rate','Уровень безработицы','Жұмыссыздық деңгейі','down','year',4.7,2025),
                   ('JOBS','New jobs','Новые рабочие места','Жаңа жұмыс орындары','up','year',NULL,NULL)""")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('UNEMP','75','2024',4.8,5.6),      -- A = 4.8/5.6 = 0.857: red, severity 2
            ('JOBS','75','2024',1000,500),      -- A = 0.5: red, severity 3
            ('JOBS','71','2024',1000,990)""")   # A = 0.99: amber, not an exception
        cur.execute("""INSERT INTO projects (project_id, name_en, name_ru, name_kk, node_id, region_kato,
                planned_start, planned_end, forecast_end, budget, cost_to_date, forecast_cost, percent_complete,
                status_reported)
            VALUES ('LATE','Road','Дорога','Жол',NULL,'75','2023-01-01','2024-03-31','2024-10-31',100,90,110,0.7,
                    'amber'),
                   -- on plan by its figures, but its own office reports red: leadership sees it too
                   ('OK','School','Школа','Мектеп',NULL,'71','2024-01-01','2024-12-31','2024-12-31',100,50,100,0.5,
                    'red'),
                   ('FINE','Park','Парк','Саябақ',NULL,'71','2024-01-01','2024-12-31','2024-12-31',100,50,100,0.5,
                    'green')""")
        cur.execute("""INSERT INTO project_contributions VALUES ('LATE','UNEMP','75',-0.3,NULL)""")
        cur.execute("""INSERT INTO instructions (instruction_id, title, responsible_org, region_kato, issue_date,
                due_date, status, escalated)
            VALUES ('I1','Open the clinic',NULL,'75','2024-01-10','2024-05-01','on_control',FALSE),
                   ('I2','Fix heating',NULL,'71','2024-06-01','2024-06-20','on_control',TRUE),
                   ('I3','Report',NULL,'75','2024-06-01','2024-09-01','on_control',FALSE)""")
        cur.execute("""INSERT INTO budget_programs (program_code, name_en, name_ru, name_kk)
            VALUES ('068', 'Employment', 'Занятость', 'Жұмыспен қамту')""")
        # 70 % of the year's spending in Q4 in Turkistan (75); an even year in 71
        cur.execute("""INSERT INTO budget_lines (program_code, unit_code, period, plan, spent) VALUES
            ('068','75','2024-Q1',25,10), ('068','75','2024-Q2',25,10), ('068','75','2024-Q3',25,10),
            ('068','75','2024-Q4',25,70),
            ('068','71','2024-Q1',25,25), ('068','71','2024-Q2',25,25), ('068','71','2024-Q3',25,25),
            ('068','71','2024-Q4',25,25)""")
    yield s
    s.close()


def test_exceptions_list_what_needs_help_sorted_by_severity(store):
    out = exceptions(store, "2024", today=TODAY)
    assert list(out.columns) == COLUMNS
    got = list(zip(out["kind"], out["subject_id"], out["severity"], strict=True))
    assert got == [
        ("red_indicator", "JOBS", 3),
        ("project_off_track", "LATE", 3),      # past its planned end
        ("instruction_overdue", "I1", 3),      # 61 days overdue
        ("escalated", "I2", 3),
        ("red_indicator", "UNEMP", 2),
        ("project_off_track", "OK", 2),        # self-reported red
        ("instruction_overdue", "I2", 2),      # 11 days overdue
        ("spending_spike", "068", 2),
        ("projects_insufficient", "UNEMP", 2),  # required 5.6 - 4.7 = 0.9, planned 0.3
    ]
    assert set(out["kind"]) <= set(KINDS)
    jobs = out.iloc[0]
    assert jobs["params"] == {"indicator": "JOBS", "region": "75", "period": "2024"}
    assert jobs["page"] == "pages/indicators.py" and jobs["region_kato"] == "75"
    assert jobs["reason_en"] == "Fact 500.00 against plan 1,000.00, achievement 50.0%"
    assert jobs["title_ru"].startswith("Новые рабочие места") and "красная зона" in jobs["title_ru"]
    assert out.loc[out["kind"] == "instruction_overdue", "reason_en"].iloc[0].startswith("Due 01.05.2024, 61 days")
    ins = out[out["kind"] == "projects_insufficient"].iloc[0]
    assert "shortfall 0.60" in ins["reason_en"] and ins["magnitude"] == pytest.approx(100 * 0.6 / 0.9)
    spike = out[out["kind"] == "spending_spike"].iloc[0]
    assert spike["reason_en"] == "70.0% of the year's spending in Q4 (threshold 40%)"
    assert spike["title_en"] == "Year-end spending spike: program 068 Employment — Almaty"
    assert spike["title_kk"].startswith("Жыл соңындағы шығыс өсімі: 068 Жұмыспен қамту бағдарламасы — ")
    assert spike["params"] == {"program": "068", "region": "75", "year": "2024"}
    assert (out["methodology_version"] == 1).all()
    # an escalated instruction past its due date says so (the decision list shows it once, as escalated)
    esc = out[out["kind"] == "escalated"].iloc[0]
    assert esc["reason_en"] == "On control since 01.06.2024, due 20.06.2024, 11 days overdue; responsible: —"


def test_exceptions_region_filter(store):
    out = exceptions(store, "2024", today=TODAY, region="71")
    assert list(zip(out["kind"], out["subject_id"], strict=True)) == [
        ("escalated", "I2"), ("project_off_track", "OK"), ("instruction_overdue", "I2")]
    assert (out["region_kato"] == "71").all()


def test_no_exceptions_is_an_empty_frame_with_the_columns(tmp_path):
    s = Store(tmp_path / "empty.duckdb")
    out = exceptions(s, "2024", today=TODAY)
    assert out.empty and list(out.columns) == COLUMNS
    s.close()


def test_red_target_no_running_project_addresses_is_listed_an_amber_one_is_not(store):
    with store.write() as cur:   # a gap on JOBS in 75 (red) and in 71 (amber) that no project addresses
        cur.execute("UPDATE indicators SET target_value = 2000, target_year = 2025 WHERE indicator_id = 'JOBS'")
    out = exceptions(store, "2024", today=TODAY)
    ins = out[out["kind"] == "projects_insufficient"]
    assert list(zip(ins["subject_id"], ins["region_kato"], strict=True)) == [("JOBS", "75"), ("UNEMP", "75")]
    jobs = ins.iloc[0]
    # required 2000 - 500 = 1500, nothing planned: the whole gap is the shortfall (100 % of required)
    assert jobs["reason_en"] == "Required 1,500.00; no running project contributes"
    assert jobs["magnitude"] == pytest.approx(100.0)
    assert jobs["reason_ru"].startswith("Требуется 1") and "ни один" in jobs["reason_ru"]


def test_demo_exceptions_cover_every_kind(demo_store):
    from tests.conftest import TODAY as DEMO_TODAY

    out = exceptions(demo_store, "2025", today=DEMO_TODAY)
    assert set(out["kind"]) == set(KINDS)
    assert out["severity"].is_monotonic_decreasing
    assert out[["title_en", "title_ru", "title_kk", "reason_en", "reason_ru", "reason_kk"]].notna().all().all()


def test_demo_projects_off_track_are_the_projects_engines(demo_store):
    # one definition: the same projects the situation room and the Projects page count (issue 11)
    from sac.metrics import projects
    from tests.conftest import TODAY as DEMO_TODAY

    out = exceptions(demo_store, "2025", today=DEMO_TODAY)
    p = projects.load_projects(demo_store, today=DEMO_TODAY)
    assert sorted(out.loc[out["kind"] == "project_off_track", "subject_id"]) == \
        sorted(p.loc[projects.off_track(p), "project_id"])
