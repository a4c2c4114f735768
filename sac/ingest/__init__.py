"""Audited import of the files project offices have: CSV, XLSX, Parquet -> the store.

Public API::

    import_file(store, source, kind, *, file_name=None, sheet=None, user="anonymous",
                dry_run=True, allowed_units=None, force=False) -> ImportReport
    rollback(store, batch_id, user="anonymous") -> {"batch_id", "restored", "deleted"}
    batches(store) -> DataFrame
    templates(kind) -> bytes (XLSX);  write_templates(directory) -> list[Path]
    KINDS: the kinds ('indicator_values', 'budget', 'projects', 'contributions', 'instructions', 'indicators')
"""

from sac.ingest.engine import (
    MESSAGES,
    PROBLEM_COLUMNS,
    BatchNotFound,
    ImportReport,
    RollbackRefused,
    batches,
    blocking_batches,
    import_file,
    rollback,
    spec_for_batch_kind,
)
from sac.ingest.specs import KINDS
from sac.ingest.templates import templates, write_templates

__all__ = [
    "KINDS", "MESSAGES", "PROBLEM_COLUMNS", "BatchNotFound", "ImportReport", "RollbackRefused", "batches",
    "blocking_batches", "import_file", "rollback", "spec_for_batch_kind", "templates", "write_templates",
]
