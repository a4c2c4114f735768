"""Versioned methodology configuration (METHODOLOGY.md, preamble).

Every threshold, weight and method choice of METHODOLOGY.md is configuration,
stored with a version number in ``methodology_versions`` (migration 003).
History is append-only: :func:`save_new_version` writes version N+1 and an
audit entry ``methodology_changed`` in the same transaction; nothing rewrites
an old version. Result frames of ``sac.metrics`` carry ``methodology_version``.

    >>> from sac.methodology import DEFAULT_CONFIG, current
    >>> m = current(store)        # Methodology(version=1, config={...}, ...)
    >>> m.config["rating"]["coverage_min"]
    0.8

``render_markdown(m, lang)`` produces the methodology page from the same
config, so the page and the numbers never disagree.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any

from sac import audit

#: The defaults of METHODOLOGY.md version 1. Migration 003 seeds version 1 with exactly this.
DEFAULT_CONFIG: dict[str, Any] = {
    "plan_fact": {"rag_green": 1.0, "rag_amber": 0.9},
    "rating": {
        "kind": "plan_fulfilment",
        "normalisation": "minmax",
        "aggregation": "arithmetic",
        "coverage_min": 0.8,
        "tie_decimals": 1,
        "geometric_floor": 1.0,
        "robustness": {"draws": 500, "seed": 20240101, "weight_low": 0.75, "weight_high": 1.25},
    },
    "progress": {"on_track": 0.95, "acceleration": 0.6, "projection_points": 5},
    "budget": {"spike_share": 0.40, "bands": {"high": 0.9, "medium": 0.8, "satisfactory": 0.7}},
    "projects": {"ev_red": 0.8, "ev_amber": 0.95},
    # outlier_min_rel_dev and outlier_window_years: the materiality floor and the history window of the
    # upload-outlier rule (a documented refinement of METHODOLOGY.md section 8; the values the code used
    # before they were configuration, so version 1 results are unchanged)
    "quality": {"outlier_z": 3.5, "outlier_min_rel_dev": 0.10, "outlier_window_years": 3},
    # issue 12: a data set is due this many days after its period ends (quarterly facts by the 20th of the
    # month after the quarter); the Submissions page counts a set still open after it as late
    "submission": {"days_after_period": {"indicator_values": 20, "budget": 10, "projects": 5}},
}

RATING_KINDS = ("plan_fulfilment", "level")
NORMALISATIONS = ("minmax", "zscore", "goalposts")
AGGREGATIONS = ("arithmetic", "geometric")


@dataclass(frozen=True)
class Methodology:
    """One stored version of the methodology configuration."""

    version: int
    config: dict[str, Any] = field(hash=False)
    created_at: _dt.datetime | None = None
    created_by: str | None = None
    note: str | None = None


def default() -> Methodology:
    """Version 1 with the defaults, without a store (for pure functions and tests)."""
    return Methodology(version=1, config=copy.deepcopy(DEFAULT_CONFIG), created_by="system",
                       note="METHODOLOGY.md version 1 defaults")


def resolve(config: dict | Methodology | None) -> tuple[dict[str, Any], int]:
    """(config dict, version) from whatever a metric function was given.

    ``None`` -> the defaults, version 1; a :class:`Methodology` -> its config and
    version; a plain dict -> merged over the defaults, version taken from a
    ``"version"`` key if present, else 1 (documented: an ad-hoc dict is labelled
    with the version it claims, so pass a Methodology for stored results).
    """
    if config is None:
        return copy.deepcopy(DEFAULT_CONFIG), 1
    if isinstance(config, Methodology):
        return merge(DEFAULT_CONFIG, config.config), int(config.version)
    version = int(config.get("version", 1)) if isinstance(config, dict) else 1
    cfg = {k: v for k, v in config.items() if k != "version"}
    return merge(DEFAULT_CONFIG, cfg), version


def merge(base: dict, override: dict) -> dict:
    """Deep merge: ``override``'s leaves replace ``base``'s; unknown keys raise ValueError."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if k not in base:
            raise ValueError(f"unknown methodology setting {k!r}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise ValueError(f"methodology setting {k!r} must be a mapping")
            out[k] = merge(base[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def validate(config: dict) -> dict:
    """A complete, checked config (merged over the defaults). Raises ValueError naming the bad setting."""
    cfg = merge(DEFAULT_CONFIG, config)
    pf, r, rob = cfg["plan_fact"], cfg["rating"], cfg["rating"]["robustness"]
    checks = [
        (0 < float(pf["rag_amber"]) <= float(pf["rag_green"]), "plan_fact: need 0 < rag_amber <= rag_green"),
        (r["kind"] in RATING_KINDS, f"rating.kind must be one of {RATING_KINDS}"),
        (r["normalisation"] in NORMALISATIONS, f"rating.normalisation must be one of {NORMALISATIONS}"),
        (r["aggregation"] in AGGREGATIONS, f"rating.aggregation must be one of {AGGREGATIONS}"),
        (0 <= float(r["coverage_min"]) <= 1, "rating.coverage_min must be within [0, 1]"),
        (int(r["tie_decimals"]) >= 0, "rating.tie_decimals must be >= 0"),
        (float(r["geometric_floor"]) > 0, "rating.geometric_floor must be > 0"),
        (int(rob["draws"]) >= 1, "rating.robustness.draws must be >= 1"),
        (0 < float(rob["weight_low"]) <= float(rob["weight_high"]),
         "rating.robustness: need 0 < weight_low <= weight_high"),
        (float(cfg["progress"]["on_track"]) >= float(cfg["progress"]["acceleration"]) >= 0,
         "progress: need on_track >= acceleration >= 0"),
        (int(cfg["progress"]["projection_points"]) >= 2, "progress.projection_points must be >= 2"),
        (0 < float(cfg["budget"]["spike_share"]) <= 1, "budget.spike_share must be within (0, 1]"),
        (float(cfg["budget"]["bands"]["high"]) >= float(cfg["budget"]["bands"]["medium"])
         >= float(cfg["budget"]["bands"]["satisfactory"]), "budget.bands: need high >= medium >= satisfactory"),
        (0 < float(cfg["projects"]["ev_red"]) <= float(cfg["projects"]["ev_amber"]),
         "projects: need 0 < ev_red <= ev_amber"),
        (float(cfg["quality"]["outlier_z"]) > 0, "quality.outlier_z must be > 0"),
        (float(cfg["quality"]["outlier_min_rel_dev"]) >= 0, "quality.outlier_min_rel_dev must be >= 0"),
        (all(int(v) >= 0 for v in cfg["submission"]["days_after_period"].values()),
         "submission.days_after_period: whole numbers of days >= 0"),
        (int(cfg["quality"]["outlier_window_years"]) >= 1
         and float(cfg["quality"]["outlier_window_years"]) == int(cfg["quality"]["outlier_window_years"]),
         "quality.outlier_window_years must be a whole number >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    return cfg


def _row_to_methodology(row) -> Methodology:
    version, created_at, created_by, config, note = row
    return Methodology(version=int(version), config=merge(DEFAULT_CONFIG, json.loads(config)),
                       created_at=created_at, created_by=created_by, note=note)


_SELECT = "SELECT version, created_at, created_by, config, note FROM methodology_versions"


def _has_table(store) -> bool:
    return bool(store.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'methodology_versions'"))


def current(store) -> Methodology:
    """The newest stored version (version 1 = defaults on a fresh store).

    ``store=None`` or a store without migration 003 (e.g. an old file opened
    read-only) gives the defaults as version 1.
    """
    if store is None or not _has_table(store):
        return default()
    cur = store.cursor()
    try:
        row = cur.execute(_SELECT + " ORDER BY version DESC LIMIT 1").fetchone()
    finally:
        cur.close()
    return default() if row is None else _row_to_methodology(row)


def get(store, version: int) -> Methodology:
    """One stored version; KeyError when there is no such version."""
    if store is None or not _has_table(store):
        if int(version) == 1:
            return default()
        raise KeyError(f"no methodology version {version}")
    cur = store.cursor()
    try:
        row = cur.execute(_SELECT + " WHERE version = ?", [int(version)]).fetchone()
    finally:
        cur.close()
    if row is None:
        raise KeyError(f"no methodology version {version}")
    return _row_to_methodology(row)


def versions(store):
    """All versions, newest first: DataFrame version, created_at, created_by, note, config (JSON text)."""
    return store.df("SELECT version, created_at, created_by, note, config FROM methodology_versions "
                    "ORDER BY version DESC")


def save_new_version(store, config: dict, actor: str, note: str | None = None) -> int:
    """Store ``config`` (full or partial, merged over the CURRENT version) as version N+1; return N+1.

    Never rewrites history. The audit entry ``methodology_changed`` (target = the
    new version, details = the settings that changed, old -> new) is written in
    the same transaction. A config equal to the current one writes nothing and
    returns the current version number. Raises ValueError for an invalid config.
    """
    base = current(store)
    new_cfg = validate(merge(base.config, config))
    if new_cfg == base.config:
        return base.version
    changes = {path: {"old": old, "new": new} for path, old, new in _diff(base.config, new_cfg)}
    with store.write() as cur:
        latest = cur.execute("SELECT coalesce(max(version), 0) FROM methodology_versions").fetchone()[0]
        version = int(latest) + 1
        cur.execute(
            "INSERT INTO methodology_versions (version, created_by, config, note) VALUES (?, ?, ?, ?)",
            [version, actor, json.dumps(new_cfg, sort_keys=True), note],
        )
        audit.record(cur, actor, "methodology_changed", target=str(version),
                     details={"from_version": int(latest), "note": note, "changes": changes})
    return version


def _diff(old: dict, new: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    out = []
    for k in new:
        path = f"{prefix}{k}"
        if isinstance(new[k], dict):
            out.extend(_diff(old.get(k, {}), new[k], path + "."))
        elif old.get(k) != new[k]:
            out.append((path, old.get(k), new[k]))
    return out


# -- the generated methodology page --------------------------------------------------

_HEADINGS = {
    "title": {"en": "Methodology", "ru": "Методика", "kk": "Әдістеме"},
    "version": {"en": "Version {v}, adopted {d} by {who}", "ru": "Версия {v}, принята {d}, {who}",
                "kk": "{v}-нұсқа, {d} қабылданған, {who}"},
    "s2": {"en": "Plan-fact for one cell", "ru": "План-факт по одной ячейке", "kk": "Бір ұяшық бойынша жоспар-факт"},
    "s3": {"en": "Comparative rating of regions (Rules para 34)",
           "ru": "Сравнительный рейтинг регионов (п. 34 Правил)",
           "kk": "Өңірлердің салыстырмалы рейтингі (Қағидалардың 34-т.)"},
    "s4": {"en": "Progress to target", "ru": "Прогресс к целевому значению", "kk": "Нысаналы мәнге қарай прогресс"},
    "s5": {"en": "Budget", "ru": "Бюджет", "kk": "Бюджет"},
    "s6": {"en": "Projects", "ru": "Проекты", "kk": "Жобалар"},
    "s7": {"en": "Goal map and gap analysis", "ru": "Карта целей и анализ разрывов",
           "kk": "Мақсаттар картасы және алшақтықты талдау"},
    "s8": {"en": "Indicator quality audit", "ru": "Аудит качества индикаторов", "kk": "Индикаторлар сапасының аудиті"},
    "s9": {"en": "Management by exception", "ru": "Управление по отклонениям", "kk": "Ауытқулар бойынша басқару"},
    "s10": {"en": "Instructions on control", "ru": "Поручения на контроле", "kk": "Бақылаудағы тапсырмалар"},
    "s11": {"en": "Approval of data sets", "ru": "Утверждение наборов данных", "kk": "Деректер жиындарын бекіту"},
}


def _h(key: str, lang: str) -> str:
    texts = _HEADINGS[key]
    return texts.get(lang, texts["en"])


def _pct(x: float) -> str:
    return f"{100 * float(x):g}%"


def render_markdown(methodology: Methodology | None = None, lang: str = "en") -> str:
    """The methodology page (sections 2-10) with the formulas and THIS version's settings.

    Every threshold in the text is read from ``methodology.config``, so the page and
    the numbers never disagree. Body text is English; headings in en/ru/kk.
    """
    m = methodology or default()
    c = merge(DEFAULT_CONFIG, m.config)
    pf, r, rob, pr, b, pj, q = (c["plan_fact"], c["rating"], c["rating"]["robustness"], c["progress"],
                                c["budget"], c["projects"], c["quality"])
    sub = c["submission"]["days_after_period"]
    when = m.created_at.strftime("%d.%m.%Y") if m.created_at else "—"
    agg = "weighted arithmetic mean" if r["aggregation"] == "arithmetic" else "weighted geometric mean"
    kind = "plan-fulfilment" if r["kind"] == "plan_fulfilment" else f"level ({r['normalisation']})"
    return f"""# {_h("title", lang)}

*{_h("version", lang).format(v=m.version, d=when, who=m.created_by or "—")}.*{(" " + m.note) if m.note else ""}

Every figure in the app names the methodology version it was computed with. Notation: indicator *i*, unit *r*
(region, city, organisation), period *t*; plan *P*, fact *F*; direction up (higher is better) or down.

## 2. {_h("s2", lang)}

- Deviation `Δ = F − P`; relative deviation `Δ% = 100·(F − P)/|P|` (undefined when P = 0).
- Achievement ratio *A*: up `A = F/P`; down `A = P/F`, and `A = 1` when F = 0 and P ≥ 0 (target met).
- When P ≤ 0, F < 0 or the signs of P and F differ the ratio means nothing: binary form, `A = 1` if achieved, else 0.
- Achieved: `F ≥ P` (up) or `F ≤ P` (down). Score `S = 100·min(A, 1)`: over-achievement is shown but never
  compensates another indicator.
- Colour (always with a label): green `A ≥ {pf["rag_green"]:g}`; amber `{pf["rag_amber"]:g} ≤ A < {pf["rag_green"]:g}`;
  red `A < {pf["rag_amber"]:g}`; grey when plan or fact is missing. An indicator's passport may set its own cut-points.
- A missing fact is "no data", never zero. A fact without a plan is shown but not scored.
- Period: for a year, an indicator reported quarterly or monthly counts with its latest sub-period that has data
  (the same sub-period for every unit; for cumulative indicators that is the year to date). An annual indicator is
  not used for a quarter.

## 3. {_h("s3", lang)}

- Default rating: **{kind}**, aggregated by the **{agg}**.
- Plan-fulfilment: `R_r = Σ w_i·S_ri / Σ w_i` over the indicators with a score for *r*.
- Level: min-max `N = 100·(x − min)/(max − min)` (reversed for down; all equal → 100); or z-score rescaled by the
  normal distribution function (population standard deviation; all values equal → 100, as for min-max); or goalposts
  `100·clip((x − L)/(U − L), 0, 1)` from the passport. An indicator without both goalposts, or with U ≤ L, is
  dropped from a goalposts rating (from every unit's mean and coverage alike), and the rating names it; so is an
  indicator whose passport has no direction.
- Geometric mean: scores are floored at {r["geometric_floor"]:g} so that a weak indicator is not hidden by a strong one.
- Coverage `= Σ w over indicators with data / Σ w over all indicators of the chosen set`: every indicator of the set
  planned for the period (a plan for at least one unit, in the period or in a quarter or month of it) counts in the
  denominator, reported or not. A unit with coverage below
  {_pct(r["coverage_min"])} is listed as "not rated: insufficient data", with its coverage; every region is listed,
  one without any data with coverage 0. A year still
  being reported therefore rates few regions: the rating opens on the latest period in which at least half of the
  regions are rated.
- Ties: R is rounded half up (95.25 → 95.3) to {r["tie_decimals"]} decimal(s), then ranked 1, 2, 2, 4; shared places
  show as "=2".
- Movement: change of rank against the previous period, for units rated in both. Territorial reforms
  (`sac/reference/territorial_reforms.csv`): a unit whose territory changed between the two periods (East
  Kazakhstan, Almaty and Karaganda regions in 2022, when Abai, Zhetysu and Ulytau were formed from them; Almaty
  region and Almaty city in 2014) gets no movement but the flag "territory changed", and a unit that did not exist
  in the previous period (Abai, Zhetysu, Ulytau from 2022; Turkistan region and Shymkent from 2018, formed from
  South Kazakhstan) is "new". A reform counts from the start of its year, for annual, quarterly and monthly data.
- Robustness: {rob["draws"]} draws (fixed seed {rob["seed"]}) multiply each weight by a random factor in
  [{rob["weight_low"]:g}, {rob["weight_high"]:g}] and pick arithmetic or geometric aggregation with equal chance.
  Each unit gets its median rank and the 5th–95th percentile band of ranks (widened, if needed, to include its
  rank in the rating itself). Two units whose bands overlap are not clearly apart.

## 4. {_h("s4", lang)}

- `g_obs = (y_t/y₀)^(1/(t−t₀)) − 1`, `g_req = (y_T/y₀)^(1/(T−t₀)) − 1`, `Q = g_obs/g_req`.
- Target already achieved → achieved; `Q ≥ {pr["on_track"]:g}` on track; `{pr["acceleration"]:g} ≤ Q < {pr["on_track"]:g}`
  acceleration needed; `0 ≤ Q < {pr["acceleration"]:g}` limited progress; `Q < 0` moving away.
- Q is compared with the thresholds rounded to 12 decimals, so a Q of exactly {pr["on_track"]:g} is on track.
- No status, with the reason, when there are fewer than two points, y₀ ≤ 0 (baseline not positive), the latest
  value is not positive, the target is not positive ("target not positive": a growth rate to it is undefined), the
  target year is not after the baseline year, or g_req = 0.
- National series: the regions combined by the passport's rule (sum, mean, population-weighted mean). A sum is
  missing for a year in which a region with a plan has no fact, and a population-weighted mean when a reporting
  region has no population: a missing region never counts as zero.
- Projection: least-squares line through the last {pr["projection_points"]} points, evaluated at the target year.
- A unit's values from before its latest territorial reform are not compared with values after it: its progress
  starts from its first value in the reform year (the earlier series is left out of the projection too); with fewer
  than two values after the reform there is no status, with the reason "territory changed".

## 5. {_h("s5", lang)}

- Execution `spent/plan` (period and year to date); financing `allocated/plan`; `spent/allocated`; `spent − plan`;
  unspent balance.
- Year-end spike: share of the year's spending made in Q4 (December for monthly data); flagged above
  {_pct(b["spike_share"])}. Cumulative execution by month stops at the last month with spending data (later months
  are unknown, not flat). Where monthly or quarterly rows carry spending but no plan, execution is against the
  year's plan.
- Efficiency `E = (mean S of linked indicators / 100) / execution`; effectiveness `K = (mean S / 100)·min(E, 1)`;
  bands: high ≥ {b["bands"]["high"]:g}, medium ≥ {b["bands"]["medium"]:g}, satisfactory ≥ {b["bands"]["satisfactory"]:g},
  else unsatisfactory.
- One budget program and year carried with different amounts in different documents is flagged with every amount
  and its source.

## 6. {_h("s6", lang)}

- Rules para 64 ratios with numerator and denominator; slip in days; budget variance `100·(cost − budget)/budget`.
- Earned value: `SPI = EV/PV`, `CPI = EV/AC`; red when SPI or CPI < {pj["ev_red"]:g} or overdue; amber when
  < {pj["ev_amber"]:g}; else green (SPI and CPI compared rounded to 12 decimals: exactly {pj["ev_amber"]:g} is green).
  A self-reported status that disagrees is flagged.
- One project per manager (para 79); rating of project managers (para 68.10) with the coverage and tie rules of §3;
  the best and the worst five are different people (with fewer than ten rated, the worst are those not among the
  best).

## 7. {_h("s7", lang)}

- A node's score is the weighted mean S of its indicators, or the mean of its children's scores. A node of a
  region's plan (the region set on it or on a node above it) is scored on that region's values only.
- A project's contribution is the signed change in the indicator's unit that the project brings about (negative for
  an indicator where lower is better: a project cutting the poverty share by 0.5 points states −0.5).
- `required = target − current fact` (direction-aware); `planned = Σ contributions of running projects`;
  "projects insufficient" when planned < required.

## 8. {_h("s8", lang)}

- Passport completeness; targets planned against the direction; one indicator with several targets; upload
  outliers with modified z-score above {q["outlier_z"]:g} against the unit's own history (flagged, never dropped).
- Refinement of the outlier rule (settings of this version): the history is the same indicator and unit's facts
  within ±{q["outlier_window_years"]} years (±4 quarters, ±6 months for quarterly and monthly data), at least four
  of them; and a fact is flagged only when it also lies more than {_pct(q["outlier_min_rel_dev"])} from the median,
  so that near-constant series do not flag ordinary noise.

## 9. {_h("s9", lang)}

Red indicators, projects off track, overdue instructions, escalated issues, year-end spending spikes, insufficient
projects for a target: running projects that plan less than required, or a red indicator's gap where
no running project contributes (the other gaps without a project are on the indicators page).

- Projects off track: running (active, not finished) with the computed or the self-reported status red; every page
  counts them so.
- The decision list (situation room, information boards) ranks them in one order: escalated issues and overdue
  instructions first; then severity (high before medium), kind (red indicators, projects off track, spending
  spikes, insufficient projects), age (days overdue, days past a project's planned end), magnitude, code.
- One line per decision: an indicator red in several regions is one line naming its regions (severity: the
  highest of theirs; magnitude: the sum of their shortfalls 100 − S); an escalated instruction that is overdue is
  listed once, as escalated.
- The first ten lines give each kind a share: up to 2 escalated issues, 2 overdue instructions, 2 red
  indicators, 2 projects off track, 1 spending spike, 1 insufficient target (places a kind cannot fill go to the
  others in that order); the rest follows in the order above.

## 10. {_h("s10", lang)}

Overdue count and days; share done on time per responsible body.

## 11. {_h("s11", lang)}

- A data set is what one region or organisation reports of one kind (indicator facts, budget execution, project
  status) for one period: open → submitted (by the project office) → approved (by an analyst) → locked; an analyst
  returns a submission with a comment, an admin unlocks with a written reason. A set covers the sub-periods of its
  period. Project status belongs to the quarter in which it is uploaded.
- An upload that would change a figure in a set that is not open is refused for those rows; a rollback inside
  such a set is refused.
- Due: {sub["indicator_values"]} days after the period ends for indicator facts, {sub["budget"]} for budget
  execution, {sub["projects"]} for project status; a set still open after that is late.
"""
