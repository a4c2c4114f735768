"""OpenID Connect identities to SAC users: roles and units from the provider's claims.

Streamlit does the protocol (``st.login`` / ``st.user``, configured in
``.streamlit/secrets.toml`` ``[auth]``: ``redirect_uri`` ending in ``/oauth2callback``,
``cookie_secret``, ``client_id``, ``client_secret``, ``server_metadata_url``).
The SAC reads a second section, ``[sac_oidc]``, that says how claims become a role
and a scope (all keys optional)::

    [sac_oidc]
    label = "Keycloak"              # shown on the "Sign in with ..." button
    provider = ""                   # a named provider ([auth.<name>]); empty: the default [auth]
    username_claim = "email"        # falls back to "sub"
    name_claim = "name"
    role_claim = "sac_role"         # a string or a list (e.g. "groups")
    units_claim = "sac_units"       # list or comma/space-separated KATO codes / org_ids
    default_role = ""               # role of an identity whose claim maps to none; empty: refuse it
    [sac_oidc.role_map]             # claim value -> SAC role; without it the value must be a role name
    "sac-admins" = "admin"
    "sac-analysts" = "analyst"

When a list claim maps to several roles the most privileged wins
(admin > analyst > leadership > project_office). Never imports streamlit: the
UI layer passes the secrets section and the claims in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sac.auth import ROLES, PermissionDenied, User

ROLE_ORDER = ("admin", "analyst", "leadership", "project_office")   # most privileged first


@dataclass(frozen=True)
class OidcMapping:
    label: str = "identity provider"
    provider: str | None = None
    username_claim: str = "email"
    name_claim: str = "name"
    role_claim: str = "sac_role"
    units_claim: str | None = "sac_units"
    default_role: str | None = None
    role_map: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> OidcMapping:
        """From the ``[sac_oidc]`` secrets section (a mapping); unknown roles in it are an error."""
        cfg = dict(cfg or {})
        role_map = {str(k): str(v) for k, v in dict(cfg.get("role_map") or {}).items()}
        default_role = cfg.get("default_role") or None
        for role in [*role_map.values(), *([default_role] if default_role else [])]:
            if role not in ROLES:
                raise ValueError(f"[sac_oidc] maps to unknown role {role!r}; roles: {', '.join(ROLES)}")
        return cls(label=str(cfg.get("label") or cls.label), provider=cfg.get("provider") or None,
                   username_claim=str(cfg.get("username_claim") or cls.username_claim),
                   name_claim=str(cfg.get("name_claim") or cls.name_claim),
                   role_claim=str(cfg.get("role_claim") or cls.role_claim),
                   units_claim=cfg.get("units_claim", cls.units_claim) or None,
                   default_role=default_role, role_map=role_map)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s;]+", value) if v]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def role_from_claims(claims: Mapping, mapping: OidcMapping) -> str | None:
    """The SAC role the claims give, or None."""
    values = _as_list(claims.get(mapping.role_claim))
    if mapping.role_map:
        roles = {mapping.role_map[v] for v in values if v in mapping.role_map}
    else:
        roles = {v for v in values if v in ROLES}
    for role in ROLE_ORDER:
        if role in roles:
            return role
    return mapping.default_role


def user_from_claims(claims: Mapping, mapping: OidcMapping) -> User:
    """The :class:`User` for an identity's claims (``st.user``).

    Raises :class:`PermissionDenied` when no role can be mapped, or when a project
    office identity carries no units (it would otherwise see nothing at all, which
    is a configuration error worth saying).
    """
    username = claims.get(mapping.username_claim) or claims.get("sub")
    if not username:
        raise PermissionDenied("the identity provider sent neither the user name claim nor 'sub'")
    username = str(username).strip().lower()
    role = role_from_claims(claims, mapping)
    if role is None:
        raise PermissionDenied(f"{username}: the claim {mapping.role_claim!r} maps to no SAC role",
                               action="sign_in", username=username)
    units = frozenset(_as_list(claims.get(mapping.units_claim))) if mapping.units_claim else frozenset()
    if role == "project_office" and not units:
        raise PermissionDenied(f"{username}: a project office needs regions in the claim {mapping.units_claim!r}",
                               action="sign_in", username=username)
    display = claims.get(mapping.name_claim) or claims.get("name") or username
    return User(username=username, display_name=str(display), role=role, units=units, source="oidc")
