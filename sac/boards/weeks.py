"""ISO weeks: a board is for one week ('2026-W49'), reported as of the end of that week or today, if earlier."""

from __future__ import annotations

import datetime as _dt
import re

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_of(day: _dt.date) -> str:
    """'2026-W48' for 23.11.2026."""
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def parse_week(week: str) -> tuple[_dt.date, _dt.date]:
    """(Monday, Sunday) of ISO week ``week``; ValueError for anything else ('2026-W53' only in long years)."""
    m = _WEEK.match(str(week).strip())
    if not m:
        raise ValueError(f"not an ISO week: {week!r} (expected e.g. 2026-W49)")
    year, number = int(m.group(1)), int(m.group(2))
    try:
        monday = _dt.date.fromisocalendar(year, number, 1)
    except ValueError as e:
        raise ValueError(f"no week {number} in {year}") from e
    return monday, monday + _dt.timedelta(days=6)


def as_of(week: str, today: _dt.date) -> _dt.date:
    """The date a board of ``week`` reports as of: the week's Sunday, or ``today`` while the week is running.
    A week that has not started yet is refused (a board reports what happened)."""
    monday, sunday = parse_week(week)
    if monday > today:
        raise ValueError(f"week {week} has not started yet (today is {today.isoformat()})")
    return min(sunday, today)


def recent_weeks(today: _dt.date, n: int = 8) -> list[str]:
    """The current ISO week and the ``n - 1`` before it, newest first."""
    return [week_of(today - _dt.timedelta(weeks=i)) for i in range(n)]
