"""Instructions on control (METHODOLOGY.md section 10; Rules para 16, 92-94)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sac.metrics.instructions import by_responsible_body, instruction_status, overdue, summary
from sac.store import Store

TODAY = "2024-06-30"


def _ins(iid, status, due, done=None, org="AK", issue="2024-01-10", escalated=False, region="75"):
    return dict(instruction_id=iid, title=iid, status=status, issue_date=issue, due_date=due, done_date=done,
                responsible_org=org, responsible_official=None, region_kato=region, escalated=escalated,
                issuer="Akim")


@pytest.mark.parametrize(
    "row, overdue_, days, on_time, late",
    [
        (_ins("a", "on_control", "2024-06-20"), True, 10, None, math.nan),
        (_ins("b", "on_control", "2024-06-30"), False, math.nan, None, math.nan),   # due today: not yet overdue
        (_ins("c", "done", "2024-05-31", "2024-05-31"), False, math.nan, True, math.nan),
        (_ins("d", "done", "2024-05-31", "2024-06-04"), False, math.nan, False, 4.0),
        (_ins("e", "removed", "2024-01-31"), False, math.nan, None, math.nan),      # removed from control
        (_ins("f", "done", "2024-05-31", None), False, math.nan, None, math.nan),   # done, date unknown
    ],
)
def test_instruction_status(row, overdue_, days, on_time, late):
    r = instruction_status(pd.DataFrame([row]), TODAY).iloc[0]
    assert bool(r["overdue"]) is overdue_
    assert (math.isnan(r["days_overdue"]) and math.isnan(days)) or r["days_overdue"] == days
    assert (pd.isna(r["done_on_time"]) and on_time is None) or bool(r["done_on_time"]) is on_time
    assert (math.isnan(r["days_late"]) and math.isnan(late)) or r["days_late"] == late


def test_share_on_time_per_responsible_body():
    df = instruction_status(pd.DataFrame([
        _ins("1", "done", "2024-05-31", "2024-05-30", org="A"),
        _ins("2", "done", "2024-05-31", "2024-06-10", org="A"),
        _ins("3", "done", "2024-05-31", "2024-05-01", org="A"),
        _ins("4", "on_control", "2024-06-01", org="B"),
        _ins("5", "on_control", "2024-06-25", org="B"),
        _ins("6", "removed", "2024-06-25", org="C"),
    ]), TODAY)
    out = by_responsible_body(df).set_index("responsible_org")
    assert out.loc["A", "on_time_share"] == pytest.approx(2 / 3)
    assert (out.loc["A", "done_on_time"], out.loc["A", "done_late"]) == (2, 1)
    assert out.loc["B", "overdue"] == 2 and out.loc["B", "max_days_overdue"] == 29
    assert math.isnan(out.loc["B", "on_time_share"])
    assert out.index[0] == "B"                       # most overdue first
    assert out.loc["C", "removed"] == 1 and out.loc["C", "overdue"] == 0


def test_overdue_list_and_summary_from_store(tmp_path):
    s = Store(tmp_path / "i.duckdb")
    rows = [_ins("I1", "on_control", "2024-06-01", escalated=True), _ins("I2", "on_control", "2024-03-01"),
            _ins("I3", "done", "2024-03-01", "2024-02-28"), _ins("I4", "on_control", "2024-05-01", region="71")]
    with s.write() as cur:
        cur.executemany(
            "INSERT INTO instructions (instruction_id, title, issuer, responsible_org, responsible_official, "
            "region_kato, issue_date, due_date, status, done_date, escalated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [[r["instruction_id"], r["title"], r["issuer"], r["responsible_org"], r["responsible_official"],
              r["region_kato"], r["issue_date"], r["due_date"], r["status"], r["done_date"], r["escalated"]]
             for r in rows])
    out = overdue(s, today=TODAY)
    assert out["instruction_id"].tolist() == ["I2", "I4", "I1"]
    assert out["days_overdue"].tolist() == [121.0, 60.0, 29.0]
    assert overdue(s, today=TODAY, region="71")["instruction_id"].tolist() == ["I4"]
    sm = summary(s, today=TODAY)
    assert sm == {"total": 4, "on_control": 3, "overdue": 3, "max_days_overdue": 121.0, "on_time_share": 1.0,
                  "escalated_open": 1}
    s.close()
