"""Approve and lock (issue 12): one data set walked through every transition and every refusal, on a real
store, with the audit rows; uploads and rollbacks that would change a closed set are refused for those rows
and leave the store exactly as it was."""

from __future__ import annotations

import json
import shutil

import pytest

from sac import audit, datasets
from sac.auth import PermissionDenied, User
from sac.ingest import batches, import_file, rollback
from sac.ingest.engine import RollbackRefused
from sac.store import Store

ANALYST = User("ana", "Ana", "analyst")
ADMIN = User("root", "Root", "admin")
LEADER = User("lead", "Lead", "leadership")
OFFICE = User("po-almaty", "Almaty office", "project_office", units=frozenset({"75"}))
OTHER_OFFICE = User("po-astana", "Astana office", "project_office", units=frozenset({"71"}))


@pytest.fixture
def store(demo_db_path, tmp_path):
    path = tmp_path / "sac.duckdb"
    shutil.copy(demo_db_path, path)
    s = Store(path)
    yield s
    s.close()


def _facts(tmp_path, name: str, rows: list[tuple]) -> str:
    path = tmp_path / name
    path.write_text("indicator;region;period;document;plan;fact\n"
                    + "".join(";".join(str(x) for x in r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _audit(store, action: str) -> list[tuple]:
    log = audit.entries(store, action)
    return [(r.actor, r.target, json.loads(r.details) if r.details else None) for r in log.itertuples()]


def test_one_data_set_through_every_transition_and_refusal(store, tmp_path):
    unit, kind, period = "75", "indicator_values", "2030-Q1"
    f1 = _facts(tmp_path, "q1.csv", [("UNEMP", "75", "1 кв. 2030", "D", "4,5", "4,4")])
    assert import_file(store, f1, kind, dry_run=False, user=OFFICE.username, allowed_units={"75"}).status == "committed"
    assert datasets.state(store, unit, kind, period) == "open"
    version = store.data_version()

    # leadership changes nothing; another office cannot submit Almaty's figures; approval needs a submission
    with pytest.raises(PermissionDenied):
        datasets.transition(store, LEADER, unit, kind, period, "submit")
    with pytest.raises(PermissionDenied):
        datasets.transition(store, OTHER_OFFICE, unit, kind, period, "submit")
    with pytest.raises(datasets.TransitionRefused) as e:
        datasets.transition(store, ANALYST, unit, kind, period, "approve")
    assert e.value.code == "wrong_state" and "is open" in str(e.value)

    assert datasets.transition(store, OFFICE, unit, kind, period, "submit") == "submitted"
    assert store.data_version() == version + 1          # approval state is part of the data version
    with pytest.raises(PermissionDenied):
        datasets.transition(store, OFFICE, unit, kind, period, "approve")
    with pytest.raises(PermissionDenied):
        datasets.transition(store, LEADER, unit, kind, period, "approve")
    with pytest.raises(datasets.TransitionRefused) as e:    # a return says why
        datasets.transition(store, ANALYST, unit, kind, period, "return", "  ")
    assert e.value.code == "reason_required"
    assert datasets.transition(store, ANALYST, unit, kind, period, "return", "Q1 fact differs from the bulletin") \
        == "open"
    assert datasets.transition(store, OFFICE, unit, kind, period, "submit") == "submitted"

    # submitted: the office's next upload that would change the set is refused for that row, nothing written
    f2 = _facts(tmp_path, "q1b.csv", [("UNEMP", "75", "2030-Q1", "D", "4,5", "4,9")])
    before = store.df("SELECT * FROM indicator_values WHERE period = '2030-Q1'")
    rep = import_file(store, f2, kind, dry_run=True, user=OFFICE.username, allowed_units={"75"})
    assert not rep.ok
    err = rep.errors.iloc[0]
    assert (int(err["row"]), err["code"], err["value"]) == (2, "data_set_closed", "75 · 2030-Q1: submitted")
    assert import_file(store, f2, kind, dry_run=False, user=OFFICE.username,
                       allowed_units={"75"}).status == "rejected"
    assert store.df("SELECT * FROM indicator_values WHERE period = '2030-Q1'").equals(before)
    # ...but re-sending the same figure is no change and passes
    same = import_file(store, _facts(tmp_path, "same.csv", [("UNEMP", "75", "2030-Q1", "D", "4,5", "4,4")]), kind,
                       dry_run=True, user=OFFICE.username, allowed_units={"75"})
    assert same.ok and same.unchanged == 1

    assert datasets.transition(store, ANALYST, unit, kind, period, "approve") == "approved"
    # approved: an upload is refused; a rollback of the batch inside the set is refused
    rep = import_file(store, f2, kind, dry_run=True, user=OFFICE.username, allowed_units={"75"})
    assert rep.errors.iloc[0]["value"] == "75 · 2030-Q1: approved"
    batch = int(batches(store)["batch_id"].max())
    with pytest.raises(RollbackRefused, match=r"data sets that are not open \(75 · 2030-Q1: approved\)"):
        rollback(store, batch, ANALYST.username)

    assert datasets.transition(store, ANALYST, unit, kind, period, "lock") == "locked"
    with pytest.raises(PermissionDenied):                # an analyst cannot unlock
        datasets.transition(store, ANALYST, unit, kind, period, "unlock", "typo")
    with pytest.raises(datasets.TransitionRefused) as e:  # an admin must say why
        datasets.transition(store, ADMIN, unit, kind, period, "unlock")
    assert e.value.code == "reason_required"
    assert datasets.state(store, unit, kind, period) == "locked"
    assert datasets.transition(store, ADMIN, unit, kind, period, "unlock", "Bureau revised Q1") == "open"
    assert import_file(store, f2, kind, dry_run=False, user=OFFICE.username,
                       allowed_units={"75"}).status == "committed"
    assert store.scalar("SELECT fact FROM indicator_values WHERE period = '2030-Q1' AND unit_code = '75'") == 4.9

    steps = datasets.events(store, unit, kind, period)
    assert list(zip(steps["action"], steps["from_state"], steps["to_state"], steps["actor"], strict=True)) == [
        ("submit", "open", "submitted", "po-almaty"), ("return", "submitted", "open", "ana"),
        ("submit", "open", "submitted", "po-almaty"), ("approve", "submitted", "approved", "ana"),
        ("lock", "approved", "locked", "ana"), ("unlock", "locked", "open", "root")]
    target = "75/indicator_values/2030-Q1"
    assert _audit(store, "data_set_returned") == [
        ("ana", target, {"from": "submitted", "to": "open", "reason": "Q1 fact differs from the bulletin"})]
    assert _audit(store, "data_set_unlocked") == [
        ("root", target, {"from": "locked", "to": "open", "reason": "Bureau revised Q1"})]
    assert len(_audit(store, "data_set_submitted")) == 2
    assert [a for a, _, _ in _audit(store, "data_set_approved")] == ["ana"]
    assert [a for a, _, _ in _audit(store, "data_set_locked")] == ["ana"]


def test_a_year_set_covers_its_quarters_and_other_units_stay_open(store, tmp_path):
    datasets.transition(store, OFFICE, "75", "indicator_values", "2030", "submit")
    rows = [("UNEMP", "75", "2030-Q3", "D", "4", "4"), ("UNEMP", "71", "2030-Q3", "D", "4", "4"),
            ("UNEMP", "75", "2031-Q1", "D", "4", "4")]
    rep = import_file(store, _facts(tmp_path, "y.csv", rows), "indicator_values", dry_run=True)
    assert rep.errors[["row", "code"]].values.tolist() == [[2, "data_set_closed"]]
    assert rep.errors.iloc[0]["value"] == "75 · 2030: submitted"


def test_bulk_approve_approves_every_submitted_set_of_a_period_at_once(store):
    for unit in ("75", "71", "11"):
        datasets.transition(store, ANALYST, unit, "budget", "2030", "submit")
    datasets.transition(store, ANALYST, "11", "budget", "2030", "return", "wrong program codes")
    assert datasets.approve_submitted(store, ANALYST, "budget", "2030") == ["71", "75"]
    sets = datasets.sets(store, "budget")
    states = sets[sets["period"] == "2030"].set_index("unit_code")["state"].to_dict()
    assert states == {"11": "open", "71": "approved", "75": "approved"}
    with pytest.raises(PermissionDenied):
        datasets.approve_submitted(store, LEADER, "budget", "2030")


def test_refusals_name_unknown_kinds_and_periods(store):
    before = datasets.sets(store)
    with pytest.raises(datasets.TransitionRefused) as e:
        datasets.transition(store, ANALYST, "75", "gossip", "2030", "submit")
    assert e.value.code == "unknown_kind"
    with pytest.raises(datasets.TransitionRefused) as e:
        datasets.transition(store, ANALYST, "75", "budget", "2030-Q9", "submit")
    assert e.value.code == "unknown_period"
    assert datasets.sets(store).equals(before)   # nothing half-written


def test_the_rating_counts_provisional_figures_and_marks_ranks_resting_on_them(store, monkeypatch):
    """Issue 12, 'what readers see': the demo has 2025 approved for every region; an admin unlocks Almaty's; the
    rating says how many of its figures are provisional and marks Almaty's rank alone (AppTest, same store)."""
    from test_pages import ROOT, open_page

    from sac.i18n import t
    from sac.views import rating as rating_views

    assert rating_views.provisional_summary(rating_views.rating_table(store, "2025"))["provisional"] == 0
    datasets.transition(store, ADMIN, "75", "indicator_values", "2025", "unlock", "Almaty re-sends Q4")
    table = rating_views.rating_table(store, "2025")
    by_unit = table.set_index("unit_code")
    assert by_unit.loc["75", "n_provisional"] == by_unit.loc["75", "n_cells"] > 0
    assert (by_unit.drop(index="75")["n_provisional"] == 0).all()
    summary = rating_views.provisional_summary(table)
    assert summary == {"cells": int(table["n_cells"].sum()), "provisional": int(by_unit.loc["75", "n_cells"]),
                       "regions": 1}

    monkeypatch.setenv("SAC_DB_PATH", str(store.path))
    monkeypatch.chdir(ROOT)
    at = open_page("pages/rating.py", user=ANALYST, params={"period": "2025"})
    assert not at.exception
    assert any(c.value.startswith("Provisional: ") and c.value.endswith("(marked ◐): 1.") for c in at.caption)
    ranks = at.dataframe[0].value.set_index(t("rating.col_region", "en"))[t("rating.col_rank", "en")]
    almaty = store.scalar("SELECT name_en FROM regions WHERE kato = '75'")
    assert ranks[almaty].endswith(" ◐")
    assert not ranks.drop(index=almaty).str.contains("◐").any()


def test_the_rating_export_and_the_board_say_which_figures_are_approved(store):
    import datetime as dt
    import io

    from pypdf import PdfReader

    from sac import boards
    from sac.views import rating as rating_views

    def board_text() -> str:
        row = boards.build(store, boards.LEADERSHIP, "2026-W48", "en", built_by="test", today=dt.date(2026, 11, 23))
        pdf = boards.get_board(store, row["board_id"])["pdf"]
        return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages)

    assert "figures in this rating are approved (Submissions)." in board_text()
    table = rating_views.rating_table(store, "2025")
    assert "Provisional figures" not in rating_views.export_table(table[table["rated"]], "en").columns
    datasets.transition(store, ADMIN, "75", "indicator_values", "2025", "unlock", "Almaty re-sends Q4")
    table = rating_views.rating_table(store, "2025")
    export = rating_views.export_table(table[table["rated"]], "en").set_index("Region")
    almaty = store.scalar("SELECT name_en FROM regions WHERE kato = '75'")
    assert export.loc[almaty, "Provisional figures"] == table.set_index("unit_code").loc["75", "n_provisional"] > 0
    assert (export.drop(index=almaty)["Provisional figures"] == 0).all()
    n = int(table["n_provisional"].sum())
    assert f"Provisional: {n} of the " in board_text()
