"""The one module that owns Streamlit caching.

``store()`` is the process's single :class:`~sac.store.Store`. ``cached(func)``
wraps a pure domain function whose first argument is the store so that its
result is cached per (data version, methodology version, arguments): a new
upload or a new methodology version shows at once, nothing else recomputes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from sac.store import Store

T = TypeVar("T")


def _store(path: str) -> Store:
    from sac.store import shared

    return shared(path)


def store() -> Store:
    from sac.store import db_path

    return _store(str(db_path()))


def methodology_version(s: Store | None = None) -> int:
    s = s or store()
    try:
        return int(s.scalar("SELECT max(version) FROM methodology_versions") or 1)
    except Exception:  # table arrives with migration 003
        return 1


def versions() -> tuple[int, int]:
    """(data version, methodology version): part of every cache key."""
    s = store()
    return s.data_version(), methodology_version(s)


@st.cache_data(show_spinner=False, max_entries=512)
def _run(name: str, db: str, data_version: int, method_version: int, args: tuple, kwargs: tuple):
    func = _REGISTRY[name]
    return func(_store(db), *args, **dict(kwargs))


_REGISTRY: dict[str, Callable] = {}


def cached(func: Callable[..., T]) -> Callable[..., T]:
    """``cached(sac.metrics.ratings.rate_units)(period="2025")`` — the store is passed for you."""
    name = f"{func.__module__}.{func.__qualname__}"
    _REGISTRY[name] = func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from sac.store import db_path

        dv, mv = versions()  # the database file is part of the key too: two stores never share a result
        return _run(name, str(db_path()), dv, mv, tuple(args), tuple(sorted(kwargs.items())))

    return wrapper


def call(func: Callable[..., T], *args, **kwargs) -> T:
    """Shorthand for ``cached(func)(*args, **kwargs)``."""
    return cached(func)(*args, **kwargs)


def clear() -> None:
    """Forget cached results (after a write made in this process the data version already does this)."""
    _run.clear()
