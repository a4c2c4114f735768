"""Which unit a cell names: a region or city (KATO, ISO 3166-2, a name in any language) or an organisation.

One :class:`UnitLookup` is built per import from the store; the importer asks it once per distinct cell.

Every name a region goes by is data, not code:

* ``sac/reference/region_aliases.csv`` (``alias,kato,kind,note``), shipped with the package and read each time
  a lookup is built, so a new package version's aliases always apply: Russian full and short forms, Kazakh,
  official and common English transliterations, abbreviations (``ВКО``), former names (``Нур-Султан``,
  ``Алма-Ата``), cities with and without ``г.``, 2- and 9-digit KATO, ISO 3166-2 (current and pre-2020).
* the ``region_aliases`` table (migration 006), rows an admin adds with ``python -m sac aliases add``
  (:func:`add_alias`); an admin row wins over a package row with the same key.
* the ``regions`` table's own names, KATO and ISO codes (always known, even with no CSV).

Names are compared by :func:`alias_key` (one normaliser for all of them; see its docstring).

Former units. South Kazakhstan region (``Южно-Казахстанская``, ``South Kazakhstan``, ``ЮКО``, KATO 51) was
split in 2018 into Turkistan region (61) and the city of Shymkent (79); it maps to neither. Its names carry
the kind ``former_unit`` and its own code ``51``: :meth:`UnitLookup.resolve` returns None for them (an
importer must not store a pre-2018 series under a current unit) unless asked with ``include_former=True``,
which returns ``'51'``. Former *names* of a current unit (``Нур-Султан``, ``Акмола``, ``Алма-Ата``,
``Целиноградская область``) map to that unit.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ALIASES_CSV = Path(__file__).resolve().parent.parent / "reference" / "region_aliases.csv"
FORMER_UNIT = "former_unit"              # kind of the names of a unit that no longer exists (South Kazakhstan)
ADMIN_KIND = "admin"
_CODE_KINDS = frozenset({"kato2", "kato9", "iso", "iso_old"})   # not offered as spellings by suggest()
_OLD_ISO = re.compile(r"kz[a-z]{3}")                               # KZ-YUZ as a key
AUDIT_ADDED, AUDIT_REMOVED = "region_alias_added", "region_alias_removed"

# -- normalisation -------------------------------------------------------------------------------------

_CITY_WORDS = frozenset({"г", "гор", "город", "қ", "қала", "қаласы", "city"})
_REGION_WORDS = frozenset({"обл", "область", "облысы", "облыс", "region", "oblast", "oblys", "oblysy", "province"})
_QUOTES = "«»\"'“”„‟‘’‚‛`´‹›"
_FOOTNOTE_TAIL = re.compile(
    r"(?:\s*\*+"                      # Туркестанская*
    r"|\s*[(\[]?\d{1,2}[)\]]"         # г.Шымкент2)  Shimkent city 3)  (1)  [2]
    r"|(?<=[^\W\d_])\d{1,2}"          # Kostanay1, and superscripts (NFKC makes ¹ a 1)
    r"|\s+\d{1,2})\s*$")              # Туркестанская 1
_FOOTNOTE_HEAD = re.compile(r"^\s*\*+\s*")
_LETTERS = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_LAT_TO_CYR = str.maketrans("AaBCcEeHKkMOoPpTXxYyIi", "АаВСсЕеНКкМОоРрТХхУуІі")
_KK_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
_KK_LETTERS = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")


def _unconfuse(word: re.Match) -> str:
    """A run of letters mixing Cyrillic with Latin look-alikes ('Aлматы' with a Latin A) -> all Cyrillic."""
    w = word.group(0)
    return w.translate(_LAT_TO_CYR) if _CYRILLIC.search(w) and _LATIN.search(w) else w


def alias_key(text: object) -> str:
    """A region or city name, code or abbreviation as a comparison key (the ``region_aliases.alias`` column).

    * NFKC (superscript ¹ -> 1, full-width letters), Latin look-alikes inside a Cyrillic word -> Cyrillic,
      lower case, ``ё`` -> ``е``; quotes (« » " ' “ ” ‘ ’ …) dropped.
    * codes: ``75``, ``75.0``, ``750000000`` -> the digits; ``KZ-75``, ``kz 75``, ``KZ75`` -> ``kz-75``.
    * footnote marks at the end (``*``, ``1``, ``1)``, ``(2)``, ``[3]``, ``²``) or a leading ``*`` dropped:
      ``Туркестанская*``, ``Туркестанская 1``, ``г.Шымкент2)``, ``Shimkent city 3)``.
    * the words are split on spaces and punctuation (hyphens too: ``Западно-Казахстанская`` =
      ``Западно Казахстанская``) and joined with none.
    * a city word (``г.``, ``г``, ``гор.``, ``город``, ``қ.``, ``қаласы``, ``city``) anywhere makes the key
      ``city:<name>``; a region word (``обл.``, ``обл``, ``область``, ``облысы``, ``Region``, ``oblast``,
      ``oblysy``, ``province``) anywhere (``область Абай``) makes it ``region:<name>``; ``of`` beside one
      is dropped (``city of Almaty``). Both kinds of word: ``city+region:<name>``, which matches nothing.

    So ``Алматы облысы`` (``region:алматы``), ``Алматы қаласы`` (``city:алматы``) and ``Алматы``
    (``алматы``) stay three keys, and a region never collides with a city. Kazakh letters are kept
    (``Ақмола`` the region's Kazakh name is not ``Акмола`` the capital's former name); a second, folded
    index (:func:`fold_key`) forgives Kazakh typed without its letters where that is unambiguous.
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _LETTERS.sub(_unconfuse, s)
    s = s.lower().replace("ё", "е")
    for q in _QUOTES:
        s = s.replace(q, " ")
    s = s.strip()
    m = re.fullmatch(r"(\d+)(?:[.,]0+)?", s)
    if m:
        return m.group(1)
    m = re.fullmatch(r"kz[\s\-_.]*(\d{2})", s)
    if m:
        return f"kz-{m.group(1)}"
    s = _FOOTNOTE_HEAD.sub("", s)
    while True:
        m = _FOOTNOTE_TAIL.search(s)
        if not m or not _LETTERS.search(s[:m.start()]):
            break
        s = s[:m.start()]
    marks: set[str] = set()
    words = []
    for w in re.split(r"[\W_]+", s):
        if not w:
            continue
        if w in _CITY_WORDS:
            marks.add("city")
        elif w in _REGION_WORDS:
            marks.add("region")
        else:
            words.append(w)
    if marks:
        words = [w for w in words if w != "of"]
    body = "".join(words)
    if not body:
        return ""
    return f"{'+'.join(sorted(marks))}:{body}" if marks else body


def fold_key(key: str) -> str:
    """A key with the Kazakh letters folded to their Russian look-alikes (ә->а, ғ->г, қ->к, ң->н, ө->о,
    ұ/ү->у, һ->х, і->и): ``Шыгыс Казакстан облысы`` typed on a Russian keyboard still finds 63."""
    return key.translate(_KK_FOLD)


def _split(key: str) -> tuple[str, str]:
    mark, sep, core = key.partition(":")
    return (mark, core) if sep else ("", key)


def _lang(text: str) -> str:
    """'kk' | 'ru' | 'en' by the script a name is written in."""
    if _KK_LETTERS.search(text):
        return "kk"
    return "ru" if _CYRILLIC.search(text) else "en"


# -- the package table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Alias:
    alias: str         # as written
    kato: str
    kind: str
    note: str
    source: str        # 'package' | 'regions' | 'admin'

    @property
    def key(self) -> str:
        return alias_key(self.alias)


@lru_cache(maxsize=4)
def _read_package(path: str, mtime_ns: int, size: int) -> tuple[Alias, ...]:
    with open(path, encoding="utf-8", newline="") as f:
        return tuple(Alias(r["alias"].strip(), r["kato"].strip(), (r.get("kind") or "").strip(),
                           (r.get("note") or "").strip(), "package")
                     for r in csv.DictReader(f) if (r.get("alias") or "").strip() and (r.get("kato") or "").strip())


def package_aliases(path: Path = ALIASES_CSV) -> tuple[Alias, ...]:
    """The rows of the package's region_aliases.csv (re-read when the file changes)."""
    st = path.stat()
    return _read_package(str(path), st.st_mtime_ns, st.st_size)


def package_conflicts(rows: tuple[Alias, ...] | None = None) -> list[tuple[str, str, str]]:
    """(key, kato, other kato) for package rows whose keys collide on different units (should be none)."""
    seen: dict[str, str] = {}
    out = []
    for a in rows if rows is not None else package_aliases():
        k = a.key
        if k and seen.setdefault(k, a.kato) != a.kato:
            out.append((k, seen[k], a.kato))
    return out


def _table_exists(cur) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'region_aliases'").fetchone()[0])


def admin_aliases(cur) -> list[Alias]:
    """The admin's rows of the region_aliases table (none when the table does not exist yet)."""
    if not _table_exists(cur):
        return []
    return [Alias(w, k, kind or ADMIN_KIND, note or "", "admin") for w, k, kind, note in cur.execute(
        "SELECT alias_as_written, kato, kind, note FROM region_aliases ORDER BY alias").fetchall()]


# -- the lookup ------------------------------------------------------------------------------------------

@dataclass
class UnitLookup:
    regions: dict[str, str] = field(default_factory=dict)          # alias key -> kato
    orgs: dict[str, str] = field(default_factory=dict)             # org_id lower -> org_id
    region_of: dict[str, str | None] = field(default_factory=dict)  # unit code -> its region's kato
    folded: dict[str, str] = field(default_factory=dict)           # fold_key(key) -> kato, where unambiguous
    kinds: dict[str, str] = field(default_factory=dict)            # kato -> 'region' | 'city' | 'former_unit'
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (kato, 'ru'|'kk'|'en') -> display name
    sources: dict[str, Alias] = field(default_factory=dict)        # alias key -> the row it came from

    @property
    def former(self) -> set[str]:
        return {k for k, kind in self.kinds.items() if kind == FORMER_UNIT}

    @classmethod
    def load(cls, cur) -> UnitLookup:
        """Regions and their aliases (package CSV, the regions table, the admin's rows on top) and organisations."""
        out = cls()
        table_rows = []
        for kato, iso, kind, en, ru, kk in cur.execute(
                "SELECT kato, iso, kind, name_en, name_ru, name_kk FROM regions").fetchall():
            out.region_of[kato] = kato
            out.kinds[kato] = kind if kind in ("region", "city") else "region"
            out.names.update({(kato, "en"): en, (kato, "ru"): ru, (kato, "kk"): kk})
            table_rows += [Alias(v, kato, "regions", "", "regions") for v in (kato, iso, en, ru, kk) if v]
        package = package_aliases()
        for a in package:
            if a.kind == FORMER_UNIT and a.kato not in out.kinds:
                out.kinds[a.kato] = FORMER_UNIT
        for a in package:
            if a.kato in out.kinds:
                out._add(a, override=False)
                if a.kind == FORMER_UNIT:   # a former unit's display names: its first alias in each script
                    out.names.setdefault((a.kato, _lang(a.alias)), a.alias)
        for a in table_rows:
            out._add(a, override=False)
        for a in admin_aliases(cur):
            if a.kato in out.kinds:
                out._add(a, override=True)
        by_fold: dict[str, set[str]] = {}
        for k, kato in out.regions.items():
            by_fold.setdefault(fold_key(k), set()).add(kato)
        out.folded = {k: next(iter(v)) for k, v in by_fold.items() if len(v) == 1}
        for org_id, rk in cur.execute("SELECT org_id, region_kato FROM organisations").fetchall():
            out.orgs[org_id.lower()] = org_id
            out.region_of[org_id] = rk
        return out

    def _add(self, a: Alias, override: bool) -> None:
        k = a.key
        if k and (override or k not in self.regions):
            self.regions[k] = a.kato
            self.sources[k] = a

    def _find(self, key: str, table: dict[str, str]) -> str | None:
        if not key:
            return None
        hit = table.get(key)
        if hit is not None:
            return hit
        mark, core = _split(key)
        if mark == "city":        # 'г. X' is X only when X alone is a city ('г. Туркестан' is not region 61)
            hit = table.get(core)
            return hit if hit is not None and self.kinds.get(hit) == "city" else None
        if mark == "region":      # 'X область' is X only when X alone is a region ('Шымкент облысы' is not 79)
            hit = table.get(core)
            return hit if hit is not None and self.kinds.get(hit) in ("region", FORMER_UNIT) else None
        if mark == "":            # 'X' alone: the region or the city named X, when only one of them exists
            found = {v for v in (table.get(f"region:{core}"), table.get(f"city:{core}")) if v is not None}
            return found.pop() if len(found) == 1 else None
        return None

    def region(self, text: object) -> str | None:
        """The KATO code a name, code or abbreviation stands for (former units included), or None."""
        key = alias_key(text)
        return self._find(key, self.regions) or self._find(fold_key(key), self.folded)

    def resolve(self, text: str, allow_orgs: bool = True, include_former: bool = False) -> str | None:
        """The unit code ``text`` names, or None.

        A region or city first (:meth:`region`); a former unit (South Kazakhstan, 51) is None unless
        ``include_former``; then, when ``allow_orgs``, an organisation's id (case-insensitive).
        """
        s = str(text).strip()
        if not s:
            return None
        kato = self.region(s)
        if kato is not None:
            return kato if include_former or self.kinds.get(kato) != FORMER_UNIT else None
        return self.orgs.get(s.lower()) if allow_orgs else None

    def display(self, kato: str, lang: str = "ru") -> str:
        """``Акмолинская область (11)``; a former unit says so: ``Южно-Казахстанская область (51, former unit)``."""
        name = self.names.get((kato, lang)) or self.names.get((kato, "en")) or self.names.get((kato, "ru")) or kato
        return f"{name} ({kato}, former unit)" if self.kinds.get(kato) == FORMER_UNIT else f"{name} ({kato})"

    def suggest(self, text: object, n: int = 3) -> list[str]:
        """The ``n`` closest known units to an unknown name, as people write them (``Акмолинская область (11)``),
        in the language the name was written in; best first, one entry per unit, none below a 0.6 likeness
        (difflib on the keys, Kazakh letters folded). For a 9-digit KATO below region level (``751110000``)
        the unit it lies in; for other codes nothing."""
        key = alias_key(text)
        if not key or n <= 0:
            return []
        mark, core = _split(key)
        if core.isdigit() or core.startswith("kz-"):   # a code is no spelling: at most the unit a KATO lies in
            unit = core[:2] if len(core) == 9 else None
            return [self.display(unit, "en")] if unit in self.kinds else []
        fcore = fold_key(core)
        best: dict[str, float] = {}
        sm = difflib.SequenceMatcher()
        sm.set_seq2(fcore)
        for k, kato in self.regions.items():
            m2, c2 = _split(k)
            if (c2.isdigit() or c2.startswith("kz-") or self.sources[k].kind in _CODE_KINDS
                    or _OLD_ISO.fullmatch(c2)):
                continue
            sm.set_seq1(fold_key(c2))
            if sm.real_quick_ratio() < 0.6 or sm.quick_ratio() < 0.6:
                continue
            score = sm.ratio() + (0.01 if c2 == core else 0.0) + (0.02 if m2 == mark else 0.0)
            kind = self.kinds.get(kato)
            if (mark == "city" and kind == "city") or (mark == "region" and kind != "city"):
                score += 0.05
            if score >= 0.6 and score > best.get(kato, 0.0):
                best[kato] = score
        lang = _lang(str(text))
        ranked = sorted(best, key=lambda kato: (-best[kato], kato))[:n]
        return [self.display(kato, lang) for kato in ranked]


# -- the admin's aliases ------------------------------------------------------------------------------------

class AliasError(ValueError):
    """An alias change refused: ``code`` is 'invalid', 'unknown_unit', 'org_clash', 'package_alias' or 'not_found'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _audit(cur, actor: str, action: str, target: str, details: dict) -> None:
    from sac import audit

    audit.record(cur, actor, action, target, details)


def list_aliases(cur) -> list[dict]:
    """Every alias: the package's (``overridden`` when an admin row has the same key) and the admin's."""
    admin = admin_aliases(cur)
    admin_keys = {a.key for a in admin}
    rows = [{"alias": a.alias, "key": a.key, "kato": a.kato, "kind": a.kind, "note": a.note,
             "source": "package (overridden)" if a.key in admin_keys else "package"} for a in package_aliases()]
    rows += [{"alias": a.alias, "key": a.key, "kato": a.kato, "kind": a.kind, "note": a.note, "source": "admin"}
             for a in admin]
    return rows


def add_alias(store, actor: str, alias: str, kato: str, note: str | None = None) -> str:
    """Map ``alias`` to the unit ``kato`` (an admin row; it wins over a package alias with the same key).

    Returns 'added', 'replaced' (an admin row of the key existed), 'overrides' (a package alias pointed
    elsewhere) or 'known' (the name already resolves to ``kato``: nothing written). Audited.
    """
    written = (alias or "").strip()
    key = alias_key(written)
    kato = (kato or "").strip()
    if not key or key.startswith("city+region:"):
        raise AliasError("invalid", f"{alias!r} is not a usable name (empty once normalised, or both a city and "
                                    f"a region word)")
    if key.isdigit() or key.startswith("kz-"):
        raise AliasError("invalid", f"{alias!r} is a code: KATO and ISO codes are fixed, not aliases")
    with store.write() as cur:
        lookup = UnitLookup.load(cur)
        if kato not in lookup.kinds:
            known = ", ".join(sorted(lookup.kinds))
            raise AliasError("unknown_unit", f"{kato!r} is not a region, city or former unit code (known: {known})")
        if written.lower() in lookup.orgs:
            raise AliasError("org_clash", f"{alias!r} is an organisation's id; a region alias would hide it")
        current = lookup.sources.get(key)
        if current is None and lookup.region(written) == kato:
            return "known"                       # already found by the rules ('Шымкент қ.' as 'г. Шымкент')
        if current is not None and current.kato == kato and current.source != "admin":
            return "known"
        status = ("replaced" if current is not None and current.source == "admin"
                  else "overrides" if current is not None else "added")
        kind = FORMER_UNIT if lookup.kinds[kato] == FORMER_UNIT else ADMIN_KIND
        cur.execute("DELETE FROM region_aliases WHERE alias = ?", [key])
        cur.execute("INSERT INTO region_aliases (alias, alias_as_written, kato, kind, note, source, created_at, "
                    "created_by) VALUES (?, ?, ?, ?, ?, 'admin', ?, ?)",
                    [key, written, kato, kind, note or None,
                     dt.datetime.now(dt.UTC).replace(tzinfo=None), actor])
        _audit(cur, actor, AUDIT_ADDED, written, {
            "key": key, "kato": kato, "note": note or None, "status": status,
            "previous": None if current is None else {"kato": current.kato, "source": current.source}})
    return status


def remove_alias(store, actor: str, alias: str) -> list[str]:
    """Remove the admin's alias(es) with the key of ``alias``; the package's cannot be removed (map them
    elsewhere with :func:`add_alias`). Returns the removed aliases as written. Audited."""
    key = alias_key(alias)
    with store.write() as cur:
        rows = cur.execute("SELECT alias, alias_as_written, kato FROM region_aliases").fetchall() \
            if _table_exists(cur) else []
        hits = [r for r in rows if key and (r[0] == key or alias_key(r[1]) == key)]
        if not hits:
            if key and any(a.key == key for a in package_aliases()):
                raise AliasError("package_alias", f"{alias!r} is a package alias (sac/reference/region_aliases.csv); "
                                                  f"it cannot be removed, but 'aliases add' can map it to another unit")
            raise AliasError("not_found", f"no admin alias {alias!r}")
        for stored_key, written, kato in hits:
            cur.execute("DELETE FROM region_aliases WHERE alias = ?", [stored_key])
            _audit(cur, actor, AUDIT_REMOVED, written, {"key": stored_key, "kato": kato})
    return [w for _, w, _ in hits]
