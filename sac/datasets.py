"""Data sets: which figures are official, and who may still change them (issue 12).

A data set is what one reporting unit (a region's KATO code or an organisation) reports of one kind for one
period: indicator facts (``indicator_values``), budget execution (``budget``), project status (``projects``).
It moves through

    open --submit--> submitted --approve--> approved --lock--> locked
               <--return (comment)--            <---unlock (admin, reason)---

A set with no row in ``data_sets`` is open. A set covers every row of its kind and unit whose period lies
within its period: approving ``2025`` covers its quarters and months too. Project status has no period of its
own: a project row belongs to the quarter in which it is uploaded.

Who may do what (``sac.auth.permissions``): a project office submits its own units' sets; an analyst (or
admin) approves, returns with a comment, or locks; only an admin unlocks, with a written reason. Every
transition is one write: the state, an event in ``data_set_events`` and an entry in the audit log, committed
together, and it bumps the data version, so caches and boards see the new state at once.

What a state means for writes (:func:`refusal_select`, used by the importer; :func:`rollback_refusal`): an
upload row that would insert or change a value inside a submitted, approved or locked set is an error
``data_set_closed`` naming the set and its state (the file then follows the all-or-nothing rule); a row that
repeats a stored value unchanged is not a change and passes. A batch whose rows lie in such a set cannot be
rolled back.
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from sac import audit
from sac.auth import PermissionDenied, User
from sac.auth.permissions import allowed_units, require
from sac.sql import ident, literal

KINDS = ("indicator_values", "budget", "projects")
STATES = ("open", "submitted", "approved", "locked")
CLOSED = ("submitted", "approved", "locked")
# the importer's kind -> (its unit column, its period expression on a staged row ``s``)
GUARDED = {
    "indicator_values": ("unit_code", "s.period"),
    "budget": ("unit_code", "s.period"),
    "projects": ("region_kato", "(SELECT code FROM periods WHERE kind = 'quarter' "
                                "AND current_date BETWEEN start_date AND end_date)"),
}


class TransitionRefused(Exception):
    """The set is not in a state the action starts from, or a reason is missing."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


# action -> (states it starts from, state it leads to, permission, a reason is required, audit action)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str, bool, str]] = {
    "submit": (frozenset({"open"}), "submitted", "submit_data", False, "data_set_submitted"),
    "return": (frozenset({"submitted"}), "open", "approve_data", True, "data_set_returned"),
    "approve": (frozenset({"submitted"}), "approved", "approve_data", False, "data_set_approved"),
    "lock": (frozenset({"approved"}), "locked", "approve_data", False, "data_set_locked"),
    "unlock": (frozenset({"approved", "locked"}), "open", "unlock_data", True, "data_set_unlocked"),
}


def _state(cur, unit: str, kind: str, period: str) -> str:
    row = cur.execute("SELECT state FROM data_sets WHERE unit_code = ? AND kind = ? AND period = ?",
                      [unit, kind, period]).fetchone()
    return row[0] if row else "open"


def state(store, unit: str, kind: str, period: str) -> str:
    """The state of one set ('open' when it was never touched)."""
    cur = store.cursor()
    try:
        return _state(cur, str(unit), kind, period)
    finally:
        cur.close()


def _check(store, user: User | None, unit: str, kind: str, period: str, action: str, reason: str | None) -> None:
    if action not in TRANSITIONS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(TRANSITIONS)}")
    if kind not in KINDS:
        raise TransitionRefused(f"unknown kind {kind!r}; data sets are kept for {', '.join(KINDS)}", "unknown_kind")
    _, _, permission, needs_reason, _ = TRANSITIONS[action]
    require(user, permission)
    scope = allowed_units(user, store)
    if scope is not None and str(unit) not in scope:
        raise PermissionDenied(f"{user.username} may not {action} the data of {unit}", action=action,
                               username=user.username, units=frozenset({str(unit)}))
    if needs_reason and not (reason or "").strip():
        raise TransitionRefused(f"{action} needs a written reason", "reason_required")


def transition(store, user: User | None, unit: str, kind: str, period: str, action: str,
               reason: str | None = None) -> str:
    """Move one set by ``action`` (submit, return, approve, lock, unlock); returns its new state.

    Raises :class:`~sac.auth.PermissionDenied` (role or units), :class:`TransitionRefused` (wrong state,
    missing reason, unknown kind or period). Audited with who, when and why."""
    return transition_many(store, user, [str(unit)], kind, period, action, reason)[str(unit)]


def transition_many(store, user: User | None, units: list[str], kind: str, period: str, action: str,
                    reason: str | None = None) -> dict[str, str]:
    """:func:`transition` for several units of one kind and period, all or none (bulk approve)."""
    units = [str(u) for u in units]
    for unit in units:
        _check(store, user, unit, kind, period, action, reason)
    starts, to_state, _, _, audit_action = TRANSITIONS[action]
    done: dict[str, str] = {}
    with store.write() as cur:
        if not cur.execute("SELECT count(*) FROM periods WHERE code = ?", [period]).fetchone()[0]:
            raise TransitionRefused(f"unknown period {period!r}", "unknown_period")
        for unit in units:
            before = _state(cur, unit, kind, period)
            if before not in starts:
                raise TransitionRefused(
                    f"the data set {unit} · {kind} · {period} is {before}: {action} starts from "
                    f"{' or '.join(sorted(starts))}", "wrong_state")
            cur.execute(
                "INSERT OR REPLACE INTO data_sets (unit_code, kind, period, state, changed_at, changed_by, comment) "
                "VALUES (?, ?, ?, ?, current_timestamp, ?, ?)", [unit, kind, period, to_state, user.username, reason])
            cur.execute(
                "INSERT INTO data_set_events (unit_code, kind, period, action, from_state, to_state, actor, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [unit, kind, period, action, before, to_state, user.username, reason])
            audit.record(cur, user.username, audit_action, f"{unit}/{kind}/{period}",
                         {"from": before, "to": to_state, **({"reason": reason} if reason else {})})
            done[unit] = to_state
    return done


def approve_submitted(store, user: User | None, kind: str, period: str) -> list[str]:
    """Approve every submitted set of ``kind`` for ``period`` at once; returns the units approved."""
    require(user, TRANSITIONS["approve"][2])
    units = store.df("SELECT unit_code FROM data_sets WHERE kind = ? AND period = ? AND state = 'submitted' "
                     "ORDER BY unit_code", [kind, period])["unit_code"].tolist()
    if units:
        transition_many(store, user, units, kind, period, "approve")
    return units


def sets(store, kind: str | None = None, units=None) -> pd.DataFrame:
    """Every set that left 'open' at least once: unit_code, kind, period, state, changed_at, changed_by,
    comment. ``units``: a reader's scope (None = all)."""
    sql = "SELECT * FROM data_sets WHERE TRUE"
    params: list = []
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    frame = store.df(sql + " ORDER BY kind, period, unit_code", params)
    if units is not None:
        frame = frame[frame["unit_code"].astype(str).isin({str(u) for u in units})]
    return frame.reset_index(drop=True)


def events(store, unit: str | None = None, kind: str | None = None, period: str | None = None) -> pd.DataFrame:
    """The transitions, oldest first."""
    where, params = [], []
    for col, value in (("unit_code", unit), ("kind", kind), ("period", period)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(str(value))
    return store.df("SELECT * FROM data_set_events" + (f" WHERE {' AND '.join(where)}" if where else "")
                    + " ORDER BY event_id", params)


def deadline(kind: str, period_end: _dt.date, days_after: dict[str, int]) -> _dt.date:
    """The day a set is due: ``days_after[kind]`` days after its period ends (the methodology's
    ``submission.days_after_period``; quarterly facts by the 20th of the month after the quarter)."""
    return period_end + _dt.timedelta(days=int(days_after[kind]))


# -- what readers see ------------------------------------------------------------------------------------------
OFFICIAL = ("approved", "locked")


def official(store, cells: pd.DataFrame, kind: str = "indicator_values") -> pd.Series:
    """For each row of ``cells`` (columns ``unit_code``, ``period``): True when an approved or locked set of
    ``kind`` covers it (official), False when the figure is provisional. Same index as ``cells``."""
    if cells.empty:
        return pd.Series([], dtype=bool, index=cells.index)
    frame = pd.DataFrame({"i": range(len(cells)), "unit_code": cells["unit_code"].astype(str).to_numpy(),
                          "period": cells["period"].astype(str).to_numpy()})
    cur = store.cursor()
    try:
        cur.register("_cells", frame)
        hit = cur.execute(
            "SELECT DISTINCT c.i FROM _cells c JOIN periods rp ON rp.code = c.period "
            "JOIN data_sets d ON d.kind = ? AND d.unit_code = c.unit_code "
            f"AND d.state IN ({', '.join(literal(s) for s in OFFICIAL)}) "
            "JOIN periods dp ON dp.code = d.period AND rp.start_date >= dp.start_date AND rp.end_date <= dp.end_date",
            [kind]).fetchall()
    finally:
        cur.close()
    flags = pd.Series(False, index=range(len(cells)))
    flags.iloc[[r[0] for r in hit]] = True
    return pd.Series(flags.to_numpy(), index=cells.index)


# -- guards for writers -----------------------------------------------------------------------------------------
def refusal_select(kind: str, stage: str, table: str, key: tuple[str, ...], values: list[str], present: list[str],
                   defaults: dict[str, str], label: str) -> str | None:
    """A SELECT of problems (row, column, value, severity, code) for the staged rows of ``stage`` that would
    insert or change a value inside a submitted, approved or locked set; None for kinds without sets."""
    if kind not in GUARDED:
        return None
    unit_col, period_expr = GUARDED[kind]
    if unit_col not in present:
        return None
    on = " AND ".join(f"t.{ident(k)} = " + (f"s.{ident(k)}" if k in present else literal(defaults[k])) for k in key)
    same = " AND ".join(f"t.{ident(c)} IS NOT DISTINCT FROM s.{ident(c)}" for c in values) or "TRUE"
    return (
        f"SELECT s._row AS row, {literal(label)} AS column, "
        f"d.unit_code || ' · ' || d.period || ': ' || d.state AS value, 'error' AS severity, "
        f"'data_set_closed' AS code "
        f"FROM {stage} s JOIN periods rp ON rp.code = {period_expr} "
        f"JOIN data_sets d ON d.kind = {literal(kind)} AND d.unit_code = s.{ident(unit_col)} "
        f"AND d.state IN ({', '.join(literal(c) for c in CLOSED)}) "
        f"JOIN periods dp ON dp.code = d.period AND rp.start_date >= dp.start_date AND rp.end_date <= dp.end_date "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {on} AND {same}) "
        f"QUALIFY row_number() OVER (PARTITION BY s._row ORDER BY dp.start_date, d.period) = 1")


def rollback_refusal(cur, kind: str, table: str, batch_id: int) -> list[str]:
    """The closed sets (``unit · period: state``) holding rows that batch ``batch_id`` wrote; empty = may roll
    back. Rows it wrote still carry its ``batch_id``; a rollback would change every one of them."""
    if kind not in GUARDED or "batch_id" not in {r[0] for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}:
        return []
    unit_col, period_expr = GUARDED[kind]
    rows = cur.execute(
        f"SELECT DISTINCT d.unit_code || ' · ' || d.period || ': ' || d.state "
        f"FROM {ident(table)} s JOIN periods rp ON rp.code = {period_expr} "
        f"JOIN data_sets d ON d.kind = ? AND d.unit_code = s.{ident(unit_col)} "
        f"AND d.state IN ({', '.join(literal(c) for c in CLOSED)}) "
        f"JOIN periods dp ON dp.code = d.period AND rp.start_date >= dp.start_date AND rp.end_date <= dp.end_date "
        f"WHERE s.batch_id = ? ORDER BY 1", [kind, int(batch_id)]).fetchall()
    return [r[0] for r in rows]
