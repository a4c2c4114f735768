"""Accounts, roles, sign-in and permissions (issue 5). Never imports streamlit.

- :class:`User` is who is acting: a built-in account, an OIDC identity, or the
  anonymous ``public`` pseudo-user when public views are switched on.
- :mod:`sac.auth.accounts` keeps built-in accounts in the ``users`` table
  (migration 004): bcrypt hashes, lockout, password change, language.
- :mod:`sac.auth.permissions` says what a role may do (``require``) and which
  regions / organisations it may touch (``allowed_units``).
- :mod:`sac.auth.oidc` maps identity-provider claims to a role and units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("admin", "analyst", "leadership", "project_office")   # accounts; 'public' is a pseudo-role
SOURCES = ("builtin", "oidc", "public")


class AuthError(Exception):
    """Base class of the errors of this package; ``code`` is a stable machine-readable reason."""

    code = "auth_error"


class PermissionDenied(AuthError):
    """The user's role (or scope) does not allow the action."""

    code = "permission_denied"

    def __init__(self, message: str, *, action: str | None = None, username: str | None = None,
                 units: frozenset[str] | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.username = username
        self.units = units or frozenset()


@dataclass(frozen=True)
class User:
    """Who is acting.

    ``units`` are KATO codes / org_ids the account is scoped to; empty means all
    (but see :func:`sac.auth.permissions.allowed_units`: a project office with no
    units gets none, never all).
    """

    username: str
    display_name: str
    role: str
    units: frozenset[str] = field(default_factory=frozenset)
    language: str = "en"
    source: str = "builtin"

    @property
    def is_public(self) -> bool:
        return self.role == "public"


PUBLIC_USER = User(username="anonymous", display_name="Public", role="public", source="public")
