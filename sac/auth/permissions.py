"""What each role may do, checked where data is read and written (issue 5).

The navigation hides pages a role may not open (``sac.pages_registry``), and the
same rules are enforced again here so that a crafted URL or a direct call of a
domain function is refused too:

=====================  =====  =======  ==========  ==============  ======
action                 admin  analyst  leadership  project_office  public
=====================  =====  =======  ==========  ==============  ======
view_published         yes    yes      yes         yes             yes
view                   yes    yes      yes         own units       no
export                 yes    yes      yes         own units       no
upload                 yes    yes      no          own units       no
rollback               yes    yes      no          no              no
build_board            yes    yes      no          no              no
submit_data            yes    yes      no          own units       no
approve_data           yes    yes      no          no              no
unlock_data            yes    no       no          no              no
change_methodology     yes    yes      no          no              no
manage_users           yes    no       no          no              no
view_audit             yes    no       no          no              no
=====================  =====  =======  ==========  ==============  ======

"Analyst: everything but user management" (issue 5); the audit log is the
admin's, as pages_registry has it. Leadership reads everything and changes
nothing. A project office uploads and reads for its assigned regions and
organisations only; :func:`allowed_units` gives the importer that set.

A detail view opened by a URL parameter (``?instruction=``, ``?project=``,
``?region=``) asks :func:`can_see` about that one thing, so a typed or shared
link shows nothing a menu would not have offered the reader:

===========  =====  =======  ==========  ==============  ======
detail       admin  analyst  leadership  project_office  public
===========  =====  =======  ==========  ==============  ======
instruction  yes    yes      yes         own units       no
project      yes    yes      yes         own units       no
region       yes    yes      yes         own units       no
indicator    yes    yes      yes         yes             no
===========  =====  =======  ==========  ==============  ======

An instruction's issuer and responsible official are internal: the public
reader of the situation room sees the counts, never one instruction. An
indicator's passport is national (its regional values are the region's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from sac.auth import PermissionDenied, User
from sac.pages_registry import PAGES, PageSpec, pages_for

ALL_ROLES = ("admin", "analyst", "leadership", "project_office", "public")

PERMISSIONS: dict[str, frozenset[str]] = {
    "view_published": frozenset(ALL_ROLES),
    "view": frozenset({"admin", "analyst", "leadership", "project_office"}),
    "export": frozenset({"admin", "analyst", "leadership", "project_office"}),
    "upload": frozenset({"admin", "analyst", "project_office"}),
    "rollback": frozenset({"admin", "analyst"}),
    "build_board": frozenset({"admin", "analyst"}),   # information boards (sac/boards): leadership reads them
    # data sets (issue 12, sac/datasets.py): submit our figures; approve, return or lock them; unlock with a reason
    "submit_data": frozenset({"admin", "analyst", "project_office"}),
    "approve_data": frozenset({"admin", "analyst"}),
    "unlock_data": frozenset({"admin"}),
    "change_methodology": frozenset({"admin", "analyst"}),
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
}
ACTIONS = tuple(PERMISSIONS)


def can(user: User | None, action: str) -> bool:
    """True when ``user`` may perform ``action``; unknown actions raise ``KeyError`` (a typo must not pass)."""
    roles = PERMISSIONS[action]
    return user is not None and user.role in roles


def require(user: User | None, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may perform ``action``."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    if not can(user, action):
        who = "nobody signed in" if user is None else f"{user.username} ({user.role})"
        raise PermissionDenied(f"{who} may not {action}", action=action,
                               username=None if user is None else user.username)


def allowed_units(user: User | None, store=None) -> set[str] | None:
    """The unit codes (KATO regions, org_ids) ``user`` may upload and read; ``None`` means all.

    - admin, analyst, leadership: ``None`` (all);
    - project_office: its assigned units, plus, when ``store`` is given, the
      organisations whose ``region_kato`` is one of its regions. A project office
      with no units gets the empty set — nothing, never everything;
    - public or nobody: the empty set (public views show published aggregates only).
    """
    if user is None or user.role == "public":
        return set()
    if user.role != "project_office":
        return None
    units = set(user.units)
    if store is not None and units:
        placeholders = ", ".join("?" for _ in units)
        orgs = store.df(f"SELECT org_id FROM organisations WHERE region_kato IN ({placeholders})", sorted(units))
        units |= set(orgs["org_id"].astype(str))
    return units


# detail kind -> (roles that may see one, whether a restricted reader sees only those of its own units)
DETAILS: dict[str, tuple[frozenset[str], bool]] = {
    "instruction": (frozenset({"admin", "analyst", "leadership", "project_office"}), True),
    "project": (frozenset({"admin", "analyst", "leadership", "project_office"}), True),
    "region": (frozenset({"admin", "analyst", "leadership", "project_office"}), True),
    "indicator": (frozenset({"admin", "analyst", "leadership", "project_office"}), False),
}


def can_see(user: User | None, kind: str, unit=None, store=None) -> bool:
    """True when ``user`` may see the detail of one ``kind`` (see :data:`DETAILS`) belonging to ``unit``
    (a KATO code or org_id; None or missing when it belongs to none).

    A reader restricted to units (a project office) sees a unit-bound detail only when ``unit`` is one of
    :func:`allowed_units` (``store`` adds the organisations of its regions); a detail with no unit is not
    shown to it. Unknown kinds raise ``KeyError``.
    """
    roles, scoped = DETAILS[kind]
    if user is None or user.role not in roles:
        return False
    allowed = allowed_units(user, store)
    if allowed is None or not scoped:
        return True
    return unit is not None and not pd.isna(unit) and str(unit) in allowed


def require_units(user: User | None, unit_codes, store=None) -> None:
    """Raise :class:`PermissionDenied` naming the codes in ``unit_codes`` outside the user's scope."""
    allowed = allowed_units(user, store)
    if allowed is None:
        return
    foreign = {str(u) for u in unit_codes} - allowed
    if foreign:
        who = "nobody signed in" if user is None else user.username
        raise PermissionDenied(f"{who} may not act for units {', '.join(sorted(foreign))}",
                               action="units", username=None if user is None else user.username,
                               units=frozenset(foreign))


def restrict_frame(df: pd.DataFrame, user: User | None, column: str = "unit_code", store=None) -> pd.DataFrame:
    """The rows of ``df`` whose ``column`` is within the user's units (all rows when unrestricted).

    Same columns as ``df``; rows with a missing ``column`` are dropped for a
    restricted user (they cannot be shown to belong to the office).
    """
    allowed = allowed_units(user, store)
    if allowed is None:
        return df
    return df[df[column].astype("string").isin(sorted(allowed)).fillna(False).astype(bool)]


def pages_for_user(user: User | None) -> list[PageSpec]:
    """The pages ``user`` sees in the navigation (none when nobody is signed in)."""
    return [] if user is None else pages_for(user.role)


def can_open(user: User | None, page_path: str) -> bool:
    """True when ``page_path`` (``pages/upload.py``) is one of the user's pages."""
    return any(p.path == page_path for p in pages_for_user(user))


def require_page(user: User | None, page_path: str) -> None:
    """For pages to call first: refuse a user whose role may not open the page (a typed URL)."""
    if page_path not in {p.path for p in PAGES}:
        raise KeyError(f"no page {page_path!r} in pages_registry")
    if not can_open(user, page_path):
        who = "nobody signed in" if user is None else f"{user.username} ({user.role})"
        raise PermissionDenied(f"{who} may not open {page_path}", action="open_page",
                               username=None if user is None else user.username)


def public_views_enabled(env: Mapping[str, str] | None = None, config: Mapping | None = None) -> bool:
    """Anonymous read-only access to the published views (situation room, rating, methodology).

    Off by default. On when the environment has ``SAC_PUBLIC_VIEWS=1`` (or true/yes/on), or
    when the secrets have ``[sac] public_views = true`` (``config`` is that section). The
    environment wins when set, so an operator can switch it off without editing secrets.
    """
    env = os.environ if env is None else env
    raw = env.get("SAC_PUBLIC_VIEWS")
    if raw is not None and raw.strip() != "":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return bool((config or {}).get("public_views", False))
