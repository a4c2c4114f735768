"""The HTTP API under ``/api/v1`` (placeholder until built)."""

from __future__ import annotations


def routes() -> list:
    return []
