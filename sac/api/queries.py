"""The reads of the API that no page already has (the others call :mod:`sac.metrics`, :mod:`sac.views` and
:mod:`sac.ingest` as the pages do). Each takes the store and returns a frame; values go in as parameters."""

from __future__ import annotations

import pandas as pd


def period_bounds(store, code: str) -> tuple | None:
    """(start_date, end_date) of a calendar period code, None when the calendar has no such period."""
    df = store.df("SELECT start_date, end_date FROM periods WHERE code = ?", [code])
    return None if df.empty else (df.iloc[0]["start_date"], df.iloc[0]["end_date"])


def indicator_exists(store, indicator_id: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM indicators WHERE indicator_id = ?", [indicator_id]))


def indicators(store, node_id: str | None = None) -> pd.DataFrame:
    """Indicator passports, by code (all of them, with values or not).

    Columns: indicator_id, name_en, name_ru, name_kk, unit_of_measure, direction, tier, periodicity, cumulative,
    aggregation, weight, baseline_value, baseline_year, target_value, target_year, node_id, source_document,
    n_values (stored rows).
    """
    return store.df(
        "SELECT i.indicator_id, i.name_en, i.name_ru, i.name_kk, i.unit_of_measure, i.direction, i.tier, "
        "i.periodicity, i.cumulative, i.aggregation, i.weight, i.baseline_value, i.baseline_year, i.target_value, "
        "i.target_year, i.node_id, i.source_document, "
        "(SELECT count(*) FROM indicator_values v WHERE v.indicator_id = i.indicator_id) AS n_values "
        "FROM indicators i WHERE (CAST(? AS VARCHAR) IS NULL OR i.node_id = ?) ORDER BY i.indicator_id",
        [node_id, node_id])


def indicator_values(store, indicator_id: str, *, unit: str | None = None, start=None, end=None) -> pd.DataFrame:
    """The stored values of one indicator (every source document: as uploaded, not the plan-fact cell), by unit and
    period. ``start`` / ``end`` (dates): only periods that lie within them.

    Columns: indicator_id, unit_code, unit_name_en, unit_name_ru, unit_name_kk, period, period_kind, start_date,
    end_date, source_document, plan, fact, batch_id (the upload that last wrote the row).
    """
    return store.df(
        "SELECT v.indicator_id, v.unit_code, coalesce(r.name_en, o.name_en) AS unit_name_en, "
        "coalesce(r.name_ru, o.name_ru) AS unit_name_ru, coalesce(r.name_kk, o.name_kk) AS unit_name_kk, "
        "v.period, p.kind AS period_kind, p.start_date, p.end_date, v.source_document, v.plan, v.fact, v.batch_id "
        "FROM indicator_values v JOIN periods p ON p.code = v.period "
        "LEFT JOIN regions r ON r.kato = v.unit_code LEFT JOIN organisations o ON o.org_id = v.unit_code "
        "WHERE v.indicator_id = ? AND (CAST(? AS VARCHAR) IS NULL OR v.unit_code = ?) "
        "AND (CAST(? AS DATE) IS NULL OR p.start_date >= ?) AND (CAST(? AS DATE) IS NULL OR p.end_date <= ?) "
        "ORDER BY v.unit_code, p.start_date, p.end_date DESC, v.source_document",
        [indicator_id, unit, unit, start, start, end, end])
