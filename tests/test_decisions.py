"""The decision list (sac.metrics.decisions; METHODOLOGY.md section 9, issue 11): one ranking for the situation
room and the boards."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sac.metrics import decisions
from sac.metrics.decisions import FIRST_SCREEN, PRIORITY, QUOTA, decision_list, rank
from sac.metrics.exceptions import KINDS, exceptions
from sac.store import Store

TODAY = dt.date(2024, 7, 1)
INTERFACE = ["rank", "kind", "severity", "title_en", "title_ru", "title_kk", "reason_en", "reason_ru", "reason_kk",
             "owner", "due_date", "age_days", "regions", "region_count", "subject_id", "page", "params",
             "methodology_version"]


def items(*rows) -> pd.DataFrame:
    """Decision items from (kind, severity, age_days, magnitude, subject_id[, regions]) tuples."""
    recs = [{"kind": r[0], "severity": r[1], "age_days": r[2], "magnitude": r[3], "subject_id": r[4],
             "regions": list(r[5]) if len(r) > 5 else ["75"]} for r in rows]
    out = pd.DataFrame(recs, columns=["kind", "severity", "age_days", "magnitude", "subject_id", "regions"])
    out["age_days"] = out["age_days"].astype("Int64")
    out["magnitude"] = out["magnitude"].astype("float64")
    return out


def ranked(df: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(rank(df)["kind"], rank(df)["subject_id"], strict=True))


# -- the rules on hand-made frames ----------------------------------------------------------------------------------

def test_escalated_and_overdue_instructions_come_before_a_more_severe_red_indicator():
    df = items(("red_indicator", 3, None, 90.0, "CPI"),
               ("instruction_overdue", 2, 5, 5.0, "I9"),       # medium, 5 days overdue: still before the red one
               ("escalated", 3, 0, 0.0, "I1"),
               ("project_off_track", 3, 100, 120.0, "P1"))
    assert ranked(df) == [("escalated", "I1"), ("instruction_overdue", "I9"), ("red_indicator", "CPI"),
                          ("project_off_track", "P1")]
    assert rank(df)["rank"].tolist() == [1, 2, 3, 4]


def test_severity_then_age_then_magnitude_then_subject_break_ties():
    df = items(("instruction_overdue", 2, 20, 20.0, "A"),
               ("instruction_overdue", 3, 31, 31.0, "B"),       # severity first
               ("instruction_overdue", 3, 60, 60.0, "C"),       # then age
               ("project_off_track", 3, 10, 5.0, "P2"),
               ("project_off_track", 3, 10, 50.0, "P1"),        # same age: the larger magnitude
               ("project_off_track", 3, 10, 50.0, "P0"),        # all equal: by subject id
               ("project_off_track", 2, None, 500.0, "P3"))     # lower severity, whatever its magnitude
    assert ranked(df) == [("instruction_overdue", "C"), ("instruction_overdue", "B"), ("instruction_overdue", "A"),
                          ("project_off_track", "P0"), ("project_off_track", "P1"), ("project_off_track", "P2"),
                          ("project_off_track", "P3")]


def test_twenty_red_indicators_cannot_push_out_escalated_issues_and_overdue_instructions():
    # the shape of issue 11's demo: 20 red (high), 5 escalated, 11 overdue, projects and the rest
    reds = [("red_indicator", 3, None, 100.0 - i, f"R{i:02d}") for i in range(20)]
    esc = [("escalated", 3, 100 - i, 100.0 - i, f"E{i}") for i in range(5)]
    od = [("instruction_overdue", 3, 90 - i, 90.0 - i, f"O{i:02d}") for i in range(11)]
    proj = [("project_off_track", 3, 300 - i, 300.0 - i, f"P{i:02d}") for i in range(30)]
    spikes = [("spending_spike", 2, None, 60.0, "S1")]
    gaps = [("projects_insufficient", 2, None, 100.0, "G1"), ("projects_insufficient", 2, None, 90.0, "G2")]
    out = rank(items(*reds, *esc, *od, *proj, *spikes, *gaps))
    first = out[out["rank"] <= FIRST_SCREEN]
    assert first["kind"].value_counts().to_dict() == QUOTA   # every kind its share, no more
    # the first screen is in the order of the rules: the instruction tier, then severity, then kind
    assert first["subject_id"].tolist() == ["E0", "E1", "O00", "O01", "R00", "R01", "P00", "P01", "S1", "G1"]
    # after it: the rest of the instruction tier, then the rest by severity and kind
    rest = out[out["rank"] > FIRST_SCREEN]
    assert rest["subject_id"].tolist()[:12] == ["E2", "E3", "E4"] + [f"O{i:02d}" for i in range(2, 11)]
    assert rest["kind"].tolist()[12:30] == ["red_indicator"] * 18


def test_places_a_kind_cannot_fill_go_round_to_the_others_in_priority_order():
    reds = [("red_indicator", 3, None, 100.0 - i, f"R{i:02d}") for i in range(20)]
    esc = [("escalated", 3, 10 - i, 0.0, f"E{i}") for i in range(5)]
    od = [("instruction_overdue", 2, 9, 9.0, "O1")]
    out = rank(items(*reds, *esc, *od))
    first = out[out["rank"] <= FIRST_SCREEN]["kind"].value_counts().to_dict()
    # quotas 2 + 2 + 2; od has 1; 5 free places go round escalated, red, escalated, red, escalated (no more left)
    assert first == {"escalated": 5, "instruction_overdue": 1, "red_indicator": 4}


def test_fewer_items_than_the_first_screen():
    out = rank(items(("spending_spike", 2, None, 50.0, "S"), ("escalated", 3, 0, 0.0, "E")))
    assert out["subject_id"].tolist() == ["E", "S"] and out["rank"].tolist() == [1, 2]
    assert rank(items(("escalated", 3, 0, 0.0, "E")).iloc[0:0]).empty


kind_st = st.sampled_from(KINDS)
row_st = st.tuples(kind_st, st.integers(1, 3), st.one_of(st.none(), st.integers(0, 400)),
                   st.floats(0, 1000, allow_nan=False), st.text("ABCD", min_size=1, max_size=3),
                   st.lists(st.sampled_from(["10", "75", "79"]), max_size=2))


@settings(max_examples=60, deadline=None)
@given(st.lists(row_st, max_size=40), st.randoms(use_true_random=False))
def test_ranking_invariants(rows, rnd):
    df = items(*rows)
    out = rank(df)
    assert out["rank"].tolist() == list(range(1, len(df) + 1))
    # deterministic: any order of the input gives the same ranking
    shuffled = df.sample(frac=1.0, random_state=rnd.randint(0, 10**6)).reset_index(drop=True)
    pd.testing.assert_frame_equal(rank(shuffled)[["kind", "subject_id", "severity", "rank"]],
                                  out[["kind", "subject_id", "severity", "rank"]])
    # every kind gets min(its quota, its items) places on the first screen
    first = out[out["rank"] <= FIRST_SCREEN]["kind"].value_counts()
    have = df["kind"].value_counts()
    for k in PRIORITY:
        assert first.get(k, 0) >= min(QUOTA[k], have.get(k, 0))
    # the first screen takes each kind's first items: within a kind, higher severity always comes first
    for _, g in out.groupby("kind"):
        assert g.sort_values("rank")["severity"].is_monotonic_decreasing


# -- on a store: grouping, merging, owners, units ---------------------------------------------------------------------

@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "d.duckdb")
    with s.write() as cur:
        cur.execute("INSERT INTO organisations VALUES ('MNE', 'state_body', 'Ministry of Economy', "
                    "'Министерство экономики', 'Экономика министрлігі', NULL)")
        cur.execute("INSERT INTO officials VALUES ('OFF-1', 'Dana Bekova', 'Vice minister', 'MNE', NULL)")
        cur.execute("""INSERT INTO indicators (indicator_id, name_en, name_ru, name_kk, direction, periodicity,
                           responsible_official)
            VALUES ('CPI','Consumer price inflation','Инфляция','Инфляция','down','year','OFF-1'),
                   ('JOBS','New jobs','Новые рабочие места','Жаңа жұмыс орындары','up','year',NULL)""")
        cur.execute("""INSERT INTO indicator_values (indicator_id, unit_code, period, plan, fact) VALUES
            ('CPI','75','2024',6.0,9.0),     -- A = 0.667: red, high
            ('CPI','71','2024',6.0,7.0),     -- A = 0.857: red, medium
            ('CPI','79','2024',6.0,10.0),    -- A = 0.6: red, high, the worst
            ('CPI','10','2024',6.0,6.0),     -- achieved
            ('JOBS','75','2024',1000,500)""")
        cur.execute("""INSERT INTO instructions (instruction_id, title, responsible_org, responsible_official,
                region_kato, issue_date, due_date, status, escalated)
            VALUES ('I1','Open the clinic','MNE','OFF-1','75','2024-01-10','2024-05-01','on_control',TRUE),
                   ('I2','Fix heating',NULL,NULL,'71','2024-06-01','2024-06-20','on_control',FALSE),
                   ('I3','Report',NULL,NULL,'75','2024-06-01','2024-09-01','on_control',TRUE)""")
    yield s
    s.close()


def test_the_same_indicator_red_in_many_regions_is_one_line(store):
    out = decision_list(store, "2024", today=TODAY)
    assert list(out.columns[:len(INTERFACE)]) == INTERFACE
    cpi = out[out["subject_id"] == "CPI"]
    assert len(cpi) == 1
    cpi = cpi.iloc[0]
    assert cpi["kind"] == "red_indicator" and cpi["severity"] == 3
    assert cpi["title_en"] == "Consumer price inflation: red in 3 regions"
    assert cpi["title_ru"] == "Инфляция: красная зона в 3 регионах"
    assert cpi["regions"] == ["79", "75", "71"] and cpi["region_count"] == 3     # worst first
    assert cpi["reason_en"] == "Achievement 60.0–85.7%; lowest in Shymkent (60.0%)"
    assert cpi["params"] == {"indicator": "CPI", "period": "2024"}               # all its regions
    assert [m["kato"] for m in cpi["members"]] == ["79", "75", "71"]
    assert cpi["members"][0]["params"] == {"indicator": "CPI", "region": "79", "period": "2024"}
    assert cpi["owner"] == "Ministry of Economy — Dana Bekova" and cpi["owner_ru"].startswith("Министерство")
    assert pd.isna(cpi["due_date"]) and pd.isna(cpi["age_days"])
    jobs = out[out["subject_id"] == "JOBS"].iloc[0]               # one region: as the exceptions list says it
    assert jobs["title_en"] == "New jobs — Almaty: red" and jobs["regions"] == ["75"]
    assert jobs["owner"] == "Almaty"                              # no responsible official: the region answers
    assert out.attrs["counts"]["red_indicator"] == 2


def test_an_escalated_overdue_instruction_is_one_item_and_the_counts_say_so(store):
    out = decision_list(store, "2024", today=TODAY)
    assert out[["kind", "subject_id"]].values.tolist() == [
        ["escalated", "I1"], ["escalated", "I3"], ["instruction_overdue", "I2"],
        ["red_indicator", "CPI"], ["red_indicator", "JOBS"]]
    i1 = out.iloc[0]
    assert i1["reason_en"] == "61 days overdue" and i1["reason_ru"] == "Просрочено на 61 дн."
    assert i1["age_days"] == 61 and i1["due_date"] == pd.Timestamp("2024-05-01")
    assert i1["owner"] == "Ministry of Economy — Dana Bekova"
    assert out.iloc[1]["age_days"] == 0 and out.iloc[1]["reason_en"] == "Not yet due"   # escalated, not yet due
    assert out.attrs["counts"] == {"red_indicator": 2, "project_off_track": 0, "instruction_overdue": 1,
                                   "escalated": 2, "spending_spike": 0, "projects_insufficient": 0}
    assert out.attrs["merged_overdue"] == 1
    # the exceptions list still has both (its counts are the instruction engine's: 2 overdue)
    exc = exceptions(store, "2024", today=TODAY)
    assert (exc["kind"] == "instruction_overdue").sum() == 2


def test_units_keep_only_their_regions_and_a_group_shrinks_to_them(store):
    out = decision_list(store, "2024", today=TODAY, units=frozenset({"75", "71"}))
    cpi = out[out["subject_id"] == "CPI"].iloc[0]
    assert cpi["regions"] == ["75", "71"] and cpi["title_en"] == "Consumer price inflation: red in 2 regions"
    one = decision_list(store, "2024", today=TODAY, units=frozenset({"71"}))
    assert one[["kind", "subject_id"]].values.tolist() == [["instruction_overdue", "I2"], ["red_indicator", "CPI"]]
    assert one.iloc[1]["title_en"] == "Consumer price inflation — Astana: red"
    assert all(r == ["71"] for r in one["regions"])
    none = decision_list(store, "2024", today=TODAY, units=frozenset())
    assert none.empty and list(none.columns[:len(INTERFACE)]) == INTERFACE
    assert none.attrs["counts"] == dict.fromkeys(KINDS, 0)


def test_empty_store(tmp_path):
    s = Store(tmp_path / "e.duckdb")
    out = decision_list(s, "2024", today=TODAY)
    assert out.empty and out.attrs["counts"] == dict.fromkeys(KINDS, 0)
    s.close()


@pytest.mark.parametrize("n,word", [(2, "регионах"), (18, "регионах"), (21, "регионе"), (11, "регионах")])
def test_russian_region_count(n, word):
    assert decisions._ru_regions(n) == word


# -- on the demo ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_list(demo_db_path):
    from tests.conftest import TODAY as DEMO_TODAY

    s = Store(demo_db_path)
    try:
        yield decision_list(s, "2025", today=DEMO_TODAY), exceptions(s, "2025", today=DEMO_TODAY), s
    finally:
        s.close()


def test_demo_first_screen_has_escalated_and_overdue_instructions_and_every_kind(demo_list):
    out, exc, _ = demo_list
    first = out[out["rank"] <= FIRST_SCREEN]
    assert set(first["kind"]) == set(KINDS)
    assert (first["kind"] == "escalated").sum() >= 2 and (first["kind"] == "instruction_overdue").sum() >= 2
    assert first["kind"].tolist()[:4] == ["escalated", "escalated", "instruction_overdue", "instruction_overdue"]
    assert out["rank"].tolist() == list(range(1, len(out) + 1))
    assert sum(out.attrs["counts"].values()) == len(out)
    # every escalated issue and overdue instruction comes before the first item of any other kind after the screen
    rest = out[out["rank"] > FIRST_SCREEN]
    tier = rest["kind"].isin(["escalated", "instruction_overdue"]).tolist()
    assert tier == sorted(tier, reverse=True)


def test_demo_inflation_is_one_line_with_its_region_count(demo_list):
    out, exc, _ = demo_list
    red_regions = exc.loc[(exc["kind"] == "red_indicator") & (exc["subject_id"] == "INFLATION"), "region_kato"]
    assert len(red_regions) >= 10                                  # the demo's inflation is red almost everywhere
    cpi = out[out["subject_id"] == "INFLATION"]
    assert (cpi["kind"] == "red_indicator").sum() == 1
    line = cpi[cpi["kind"] == "red_indicator"].iloc[0]
    assert line["region_count"] == len(red_regions) and sorted(line["regions"]) == sorted(red_regions)
    assert line["title_en"] == f"Consumer price inflation: red in {len(red_regions)} regions"
    assert line["rank"] <= FIRST_SCREEN                            # the broadest red indicator is on the screen
    # one line per red indicator; the instruction counts agree with the instruction engine
    assert out.attrs["counts"]["red_indicator"] == exc.loc[exc["kind"] == "red_indicator", "subject_id"].nunique()
    assert out.attrs["counts"]["instruction_overdue"] + out.attrs["merged_overdue"] == \
        (exc["kind"] == "instruction_overdue").sum()


def test_demo_units_filter(demo_list):
    from tests.conftest import TODAY as DEMO_TODAY

    _, _, s = demo_list
    out = decision_list(s, "2025", today=DEMO_TODAY, units=frozenset({"75"}))
    assert len(out) and all(r == ["75"] for r in out["regions"])
    assert (out["region_count"] == 1).all()


def test_the_methodology_page_states_these_rules():
    from sac.methodology import render_markdown

    text = " ".join(render_markdown().split())
    assert FIRST_SCREEN == 10 and "The first ten lines give each kind a share" in text
    names = {"escalated": "escalated issues", "instruction_overdue": "overdue instructions",
             "red_indicator": "red indicators", "project_off_track": "projects off track",
             "spending_spike": "spending spike", "projects_insufficient": "insufficient target"}
    assert ", ".join(f"{QUOTA[k]} {names[k]}" for k in PRIORITY) in text.replace("up to ", "")
    assert "escalated issues and overdue instructions first; then severity" in text
    assert "Projects off track: running (active, not finished) with the computed or the self-reported status red" in text
