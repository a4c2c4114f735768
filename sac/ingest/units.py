"""Which unit a cell names: a region or city (KATO, ISO 3166-2, a name in any language) or an organisation.

One :class:`UnitLookup` is built per import from the store; the importer asks it once per distinct cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sac.ingest import parse


@dataclass
class UnitLookup:
    regions: dict[str, str] = field(default_factory=dict)          # key -> kato
    orgs: dict[str, str] = field(default_factory=dict)             # org_id lower -> org_id
    region_of: dict[str, str | None] = field(default_factory=dict)  # unit code -> its region's kato

    @classmethod
    def load(cls, cur) -> UnitLookup:
        out = cls()
        for kato, iso, en, ru, kk in cur.execute(
                "SELECT kato, iso, name_en, name_ru, name_kk FROM regions").fetchall():
            out.region_of[kato] = kato
            out.regions[kato.lower()] = kato
            out.regions[iso.lower()] = kato
            for n in (en, ru, kk):
                out.regions[parse.region_key(n)] = kato
        for org_id, rk in cur.execute("SELECT org_id, region_kato FROM organisations").fetchall():
            out.orgs[org_id.lower()] = org_id
            out.region_of[org_id] = rk
        return out

    def resolve(self, text: str, allow_orgs: bool = True) -> str | None:
        """The unit code ``text`` names, or None."""
        s = text.strip()
        low = s.lower()
        if s.endswith(".0") and s[:-2].isdigit():
            low = s[:-2]
        return (self.regions.get(low) or self.regions.get(parse.region_key(s))
                or (self.orgs.get(low) if allow_orgs else None))
