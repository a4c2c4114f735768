"""The audit of API calls: every call (refused ones too) is one ``api_call`` entry of ``audit_log`` — who, which
endpoint, the status — written in batches.

Why batches: a serving process holds the database file only while it writes, and each write ends by publishing
a snapshot, a copy of the whole file (sac/store.py). One write per GET would copy the database once per call.
So a call's entry is queued at once and the queue is written in one transaction every
``SAC_API_AUDIT_SECONDS`` (default 5), with the tokens' ``last_used_at``, and when the process exits. What the
calls changed is not at stake: an upload or a rollback is audited by the engine in its own transaction
(``upload`` / ``rollback`` entries). A process killed outright loses at most the last interval's call entries.
``details.at`` is when the call was answered (``occurred_at`` is when the batch was written).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading

from sac import audit
from sac.api import tokens
from sac.store import db_path, shared

log = logging.getLogger("sac.api")

MAX_PENDING = 100_000   # beyond it (the database unwritable for a long time) the oldest entries are dropped


def interval() -> float:
    try:
        return max(0.05, float(os.environ.get("SAC_API_AUDIT_SECONDS", "5")))
    except ValueError:
        return 5.0


class CallLog:
    def __init__(self) -> None:
        self._pending: list[tuple[str, str, str, dict, str | None]] = []   # (database, actor, target, ...)
        self._guard = threading.Lock()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def add(self, actor: str, target: str, details: dict, token_name: str | None) -> None:
        details = {**details, "at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")}
        with self._guard:
            self._pending.append((str(db_path()), actor, target, details, token_name))
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                log.error("the API audit queue is full: %d call entries dropped", dropped)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sac-api-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(interval())
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write what is queued, one transaction per database; returns how many entries. On failure they stay queued
        for the next try (and the failure is logged)."""
        with self._flushing:
            with self._guard:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            failed: list = []
            for database in dict.fromkeys(e[0] for e in batch):   # one database per process, in practice
                entries = [e for e in batch if e[0] == database]
                try:
                    used: dict[str, str] = {}
                    with shared(database).write(data=False) as cur:
                        for _, actor, target, details, name in entries:
                            audit.record(cur, actor, "api_call", target, details)
                            if name is not None:
                                used[name] = max(used.get(name, ""), details["at"])
                        for name, at in used.items():
                            cur.execute("UPDATE service_tokens SET last_used_at = ? WHERE name = ?",
                                        [dt.datetime.fromisoformat(at), name])
                except Exception:
                    log.exception("could not write %d API audit entries to %s; they are kept for the next try",
                                  len(entries), database)
                    failed += entries
            if failed:
                with self._guard:
                    self._pending[:0] = failed
                return len(batch) - len(failed)
            return len(batch)


CALLS = CallLog()


def record(user, target: str, status: int, details: dict) -> None:
    """Queue the audit entry of one call (``user`` None: no valid token came with it)."""
    name = user.username.split(":", 1)[1] if user is not None and user.source == tokens.SOURCE else None
    CALLS.add(user.username if user is not None else "anonymous", target, {"status": status, **details}, name)


@atexit.register
def _flush_at_exit() -> None:
    try:
        CALLS.flush()
    except Exception:
        pass
