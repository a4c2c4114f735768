"""Every page of the app, in navigation order, with the roles that may open it.

Pure data: ``app.py`` builds ``st.navigation`` from it, the auth layer filters
it by role, and ``tests/test_pages.py`` walks it so no page goes untested.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "analyst", "leadership", "project_office", "public")
READERS = ("admin", "analyst", "leadership", "project_office")


@dataclass(frozen=True)
class PageSpec:
    path: str          # file under pages/
    title_key: str     # i18n key of its navigation title
    icon: str
    roles: tuple[str, ...]
    section: str       # i18n key of its navigation section
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/situation_room.py", "nav.situation_room", ":material/dashboard:", READERS + ("public",), "nav.section_overview", default=True),
    PageSpec("pages/rating.py", "nav.rating", ":material/leaderboard:", READERS + ("public",), "nav.section_overview"),
    PageSpec("pages/region.py", "nav.region", ":material/location_on:", READERS, "nav.section_overview"),
    PageSpec("pages/boards.py", "boards.nav_title", ":material/description:", ("admin", "analyst", "leadership"), "nav.section_overview"),
    PageSpec("pages/indicators.py", "nav.indicators", ":material/monitoring:", READERS, "nav.section_analysis"),
    PageSpec("pages/budget.py", "nav.budget", ":material/account_balance:", READERS, "nav.section_analysis"),
    PageSpec("pages/projects.py", "nav.projects", ":material/assignment:", READERS, "nav.section_analysis"),
    PageSpec("pages/data_quality.py", "nav.data_quality", ":material/fact_check:", ("admin", "analyst", "project_office"), "nav.section_data"),
    PageSpec("pages/upload.py", "nav.upload", ":material/upload_file:", ("admin", "analyst", "project_office"), "nav.section_data"),
    PageSpec("pages/submissions.py", "nav.submissions", ":material/task_alt:", READERS, "nav.section_data"),
    PageSpec("pages/methodology.py", "nav.methodology", ":material/functions:", READERS + ("public",), "nav.section_data"),
    PageSpec("pages/audit.py", "nav.audit", ":material/history:", ("admin",), "nav.section_admin"),
    PageSpec("pages/users.py", "nav.users", ":material/group:", ("admin",), "nav.section_admin"),
)


def pages_for(role: str) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]
