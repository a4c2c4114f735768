"""The embedded demo (GitHub issue 2): a believable SAC database, built deterministically.

:func:`generate` turns the fixed catalogue (:mod:`sac.demo.catalogue`) and one seeded random
generator into table frames; :func:`build_demo` writes them into an empty store in one
transaction. The same ``today`` gives the same table contents on every run, so the demo is
also the one fixture builder shared by unit, store and browser tests.

Texture the pages and metrics are meant to find (each pinned by ``tests/test_demo.py``):

- regions that lead (Astana, Almaty) and lag (Turkistan, Kyzylorda) consistently;
- reporting gaps: random missing facts, whole quarters missing for Ulytau and Abai, no facts
  for periods not yet reported (2026 only up to Q3 for quarterly data);
- a target planned the wrong way (seed 001 Table 2), one indicator with two inconsistent plans
  from two documents (seed 001 Table 9), budget program 068 carried with three amounts for
  2021 (seed 001 Table 11), facts with a modified z-score above 3.5 (METHODOLOGY.md section 8);
- year-end spending spikes (seed 000), projects late, over budget, self-reported green while
  behind, a manager with two overlapping active projects (Rules para 79), instructions
  overdue and escalated (Rules para 92-94);
- an upload history (:mod:`sac.demo.uploads`): facts uploaded per region and period by the
  region's project office, most on time, three regions habitually late, so reporting timeliness
  (METHODOLOGY.md section 8) reads neither 0 % nor 100 %; plans per source document and year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sac.demo import catalogue as C
from sac.demo import uploads as U

TODAY = dt.date(2026, 11, 23)
SEED = 20261123

# Facts the demo plants as outliers: (indicator, unit, period, factor applied to the fact).
OUTLIERS = [
    ("UNEMP", "27", "2025-Q2", 3.0),
    ("CRIME_STREET", "47", "2024-Q3", 3.5),
    ("VACC", "31", "2023-Q1", 0.4),
    ("INFANT_MORT", "59", "2024", 3.0),
    ("APPEALS", "15", "2025-Q1", 0.5),
    ("REG_UNEMP", "43", "2025-03", 4.0),
]
# Whole quarters a region did not report (every quarterly and monthly indicator).
MISSING_QUARTERS = [("62", 2024, 2), ("62", 2025, 4), ("10", 2023, 3)]
# Reporting deadline: a period's facts are due this many days after it ends, and exist only when
# the deadline has passed by today (and the region's file has come in, sac.demo.uploads). Annual
# figures are due within the 30 days of grace the timeliness audit allows, like quarterly ones
# (sac.metrics.quality.reporting); at 60 days every annual upload would count as late.
LAG_DAYS = {"month": 20, "quarter": 30, "year": 30}
BUDGET_DOC = "Budget execution reports"

_CUM_Q = np.array([0.18, 0.42, 0.68, 1.0])  # planned cumulative share of the year by quarter end


# --- small helpers -------------------------------------------------------------------------------
def _round(x: np.ndarray) -> np.ndarray:
    """Round to what a report would print: 0 decimals from 1 000, 1 from 10, else 2."""
    x = np.asarray(x, dtype=float)
    a = np.abs(x)
    return np.where(a >= 1000, np.round(x, 0), np.where(a >= 10, np.round(x, 1), np.round(x, 2)))


def _reported(kind: pd.Series, year: pd.Series, sub: pd.Series, today: dt.date) -> np.ndarray:
    """Whether each period's data is out by ``today``: it ended LAG_DAYS[kind] days before."""
    sub = pd.to_numeric(sub, errors="coerce").fillna(12).to_numpy()
    month = np.where(kind == "year", 12, np.where(kind == "quarter", 3 * sub, sub)).astype(int)
    first = pd.to_datetime(pd.DataFrame({"year": np.asarray(year, dtype=int), "month": month, "day": 1}))
    end = first + pd.offsets.MonthEnd(0)
    lag = pd.to_timedelta(kind.map(LAG_DAYS).to_numpy(dtype=float), unit="D")
    return ((end + lag) < pd.Timestamp(today)).to_numpy()


def _days(x) -> pd.TimedeltaIndex:
    return pd.to_timedelta(np.asarray(x, dtype=float), unit="D")


# --- reference: organisations and officials --------------------------------------------------------
def _organisations(regions: pd.DataFrame) -> pd.DataFrame:
    rows = [(o, "state_body", en, ru, kk, None) for o, en, ru, kk in C.MINISTRIES]
    for r in regions.itertuples():
        rows.append((f"AKM-{r.kato}", "akimat", f"Akimat of {r.name_en}", f"Акимат: {r.name_ru}",
                     f"{r.name_kk} әкімдігі", r.kato))
    rows += [(o, "project_office", en, ru, kk, reg) for o, en, ru, kk, reg in C.PROJECT_OFFICES]
    rows += [(o, "other", en, ru, kk, reg) for o, en, ru, kk, reg in C.OTHER_ORGS]
    return pd.DataFrame(rows, columns=["org_id", "kind", "name_en", "name_ru", "name_kk", "region_kato"])


class _People:
    """Deterministic unique names and sequential ids for officials."""

    def __init__(self, rng: np.random.Generator) -> None:
        first = [(f, "m") for f in C.FIRST_M] + [(f, "f") for f in C.FIRST_F]
        combos = [(f, g, s) for f, g in first for s in C.SURNAMES]
        order = rng.permutation(len(combos))
        self._names = [combos[i] for i in order]
        self.rows: list[tuple] = []

    def add(self, position: str, org_id: str | None, certified: bool | None) -> str:
        f, g, s = self._names[len(self.rows)]
        if g == "f" and s.endswith(("ov", "ev", "in")):
            s += "a"
        oid = f"OFF-{len(self.rows) + 1:04d}"
        self.rows.append((oid, f"{f} {s}", position, org_id, certified))
        return oid

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=["official_id", "full_name", "position", "org_id", "certified_pm"])
        df["certified_pm"] = df["certified_pm"].astype("boolean")
        return df


# --- the goal map ------------------------------------------------------------------------------------
def _goal_map(people: _People, rng: np.random.Generator, regions: pd.DataFrame):
    """Goal nodes with their responsible officials (levels 1-4, Rules para 17, Appendix 2)."""
    region_names = dict(zip(regions["kato"], regions["name_en"], strict=True))
    rows = []
    level_no = {C.NP: 1, C.PRG: 2, C.BD: 3, C.GP: 4}
    owner_of = {}
    for node_id, parent, level, code, en, ru, kk, pkind, reg, owner in C.GOAL_NODES:
        if level == C.NP:
            pos = f"Deputy Prime Minister, curator of the national priority \"{en}\""
        elif level == C.PRG:
            pos = (f"Deputy Akim of {region_names[reg]}, program manager" if reg
                   else "Vice Minister, program manager")
        else:
            pos = "Head of the basic direction"
        off = people.add(pos, owner, None)
        owner_of[node_id] = owner
        rows.append((node_id, parent, level, code, en, ru, kk, pkind, reg, off, level_no[level],
                     node_id == C.STANDARD_BD))
    parent_region = {r[0]: r[8] for r in C.GOAL_NODES}
    for i, (node_id, parent, en, ru, kk, _ind, _tpl) in enumerate(C.GROUPS, start=1):
        owner = owner_of[parent]
        off = people.add("Head of the group of projects", owner, bool(rng.random() < 0.5))
        owner_of[node_id] = owner
        rows.append((node_id, parent, C.GP, f"{dict((g[0], g[3]) for g in C.GOAL_NODES)[parent]}.{i}",
                     en, ru, kk, None, parent_region[parent], off, 4, False))
    cols = ["node_id", "parent_id", "level", "code", "name_en", "name_ru", "name_kk", "program_kind",
            "region_kato", "responsible_official", "responsibility_level", "is_standard_bd"]
    nodes = pd.DataFrame(rows, columns=cols)
    # groups inherit the region of their program (Almaty, Astana, Shymkent plans)
    prg_region = nodes.set_index("node_id")["region_kato"].to_dict()
    parent_of = nodes.set_index("node_id")["parent_id"].to_dict()
    nodes["region_kato"] = [r if isinstance(r, str) else prg_region.get(parent_of.get(p) or "", None)
                            for r, p in zip(nodes["region_kato"], nodes["parent_id"], strict=True)]
    return nodes, owner_of


# --- indicators and their values ---------------------------------------------------------------------
def _indicators(nodes: pd.DataFrame) -> pd.DataFrame:
    node = nodes.set_index("node_id")
    rag = {"VACC": (1.0, 0.97), "LIFE_EXP": (1.0, 0.98), "HOUSING": (1.0, 0.85)}
    no_official = {"TREES", "SME_GDP"}
    rows = []
    for d in C.IND:
        base = d.get("base")
        target = d.get("target")
        gp = d.get("goalposts")
        n = node.loc[d["node"]]
        rows.append(dict(
            indicator_id=d["id"], name_en=d["en"], name_ru=d["ru"], name_kk=d["kk"], unit_of_measure=d["unit"],
            direction=d["dir"], tier=d["tier"], periodicity=d["per"], cumulative=bool(d.get("cum", False)),
            aggregation=d["agg"], weight=float(d.get("w", 1.0)),
            rag_green=rag.get(d["id"], (None, None))[0], rag_amber=rag.get(d["id"], (None, None))[1],
            baseline_value=base[0] if base else None, baseline_year=base[1] if base else None,
            target_value=target[0] if target else None, target_year=target[1] if target else None,
            goalpost_low=gp[0] if gp else None, goalpost_high=gp[1] if gp else None,
            responsibility_level=int(n["responsibility_level"]), node_id=d["node"],
            responsible_official=None if d["id"] in no_official else n["responsible_official"],
            source_document=d["doc"],
        ))
    df = pd.DataFrame(rows)
    for c in ("baseline_year", "target_year"):
        df[c] = df[c].astype("Int64")
    return df


def _region_factor(d: dict, katos: list[str], rng: np.random.Generator) -> np.ndarray:
    """Each region's level relative to the republic: a population share for totals, else a spread."""
    pop = np.array([C.POPULATION[k] for k in katos], dtype=float)
    spread = d["spread"]
    if spread == "pop":
        f = pop * np.exp(rng.normal(0, 0.15, len(katos)))
        return f / f.sum()
    if spread == "grp":
        return np.array([C.GRP_FACTOR[k] for k in katos]) * np.exp(rng.normal(0, 0.05, len(katos)))
    if spread == "grp_total":
        f = pop * np.array([C.GRP_FACTOR[k] for k in katos]) * np.exp(rng.normal(0, 0.1, len(katos)))
        return f / f.sum()
    sign = 1.0 if d["dir"] == "down" else -1.0
    skill = np.array([C.SKILL[k] for k in katos])
    # lagging regions also start from a worse level (higher unemployment, lower coverage)
    return np.exp(rng.normal(0, spread, len(katos)) - sign * 2.0 * skill * (spread > 0.03))


def _national_plans(d: dict, years: list[int]) -> dict[int, float]:
    plans = d["plans"]
    if plans == "sme":
        return {y: float(C.SME_MNE[y]) for y in C.SME_MNE}
    if isinstance(plans, list):
        return {y: float(p) for y, p in zip(years, plans, strict=True)}
    return {y: plans * (1 + d.get("growth", 0.0)) ** (y - years[0]) for y in years}


def _values(katos: list[str], today: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """indicator_values rows: plans for the five plan years, facts as reported so far."""
    years = list(range(today.year - 4, today.year + 1))
    skill = np.array([C.SKILL[k] for k in katos])
    nreg = len(katos)
    frames = []
    for d in C.IND:
        sign = 1.0 if d["dir"] == "up" else -1.0
        noise = d.get("noise", 0.025)
        factor = _region_factor(d, katos, rng)
        nat = _national_plans(d, years)
        yrs = sorted(nat)
        plan_y = np.outer([nat[y] for y in yrs], factor)                       # years x regions
        ind_eff = rng.normal(0, 0.015, nreg)                                     # region x indicator effect
        # plans are ambitious: the typical region falls 1.5% short, leaders beat them, laggards miss
        perf = 1 + sign * (skill - 0.015 + ind_eff)[None, :] + rng.normal(0, noise, plan_y.shape)
        if "fact_level" in d:   # facts that follow their own path, whatever the plan (Table 2, inflation)
            lvl = dict(zip(years, d["fact_level"], strict=True))
            fact_y = np.outer([lvl.get(y, np.nan) for y in yrs], factor) * perf
        else:
            fact_y = plan_y * perf
        if d.get("cap"):   # a share cannot pass 100%: facts that would, land just below it
            plan_y = np.minimum(plan_y, d["cap"])
            fact_y = np.where(fact_y > d["cap"], d["cap"] - rng.uniform(0.2, 1.5, fact_y.shape), fact_y)
        per = d["per"]
        unit_idx = np.tile(np.arange(nreg), len(yrs))
        year_idx = np.repeat(np.arange(len(yrs)), nreg)
        base = pd.DataFrame({"unit": unit_idx, "yi": year_idx, "year": np.array(yrs)[year_idx],
                             "plan": plan_y.ravel(), "fact": fact_y.ravel()})
        parts = [base.assign(kind="year", sub=pd.NA)]
        if per in ("quarter", "month"):
            nsub = 4 if per == "quarter" else 12
            sub = np.arange(1, nsub + 1)
            g = base.loc[base.index.repeat(nsub)].reset_index(drop=True)
            g["sub"] = np.tile(sub, len(base))
            g["kind"] = per
            if d.get("cum"):
                share = _CUM_Q if per == "quarter" else sub / 12.0
                g["plan"] = g["plan"] * np.tile(share, len(base))
                inc = np.diff(np.concatenate([[0.0], share]))
                steps = np.tile(inc, len(base)) * np.exp(rng.normal(0, 0.08, len(g)))
                steps = steps.reshape(len(base), nsub)
                steps = steps / steps.sum(axis=1, keepdims=True)
                g["fact"] = g["fact"] * np.cumsum(steps, axis=1).ravel()
            else:
                season = np.tile(rng.normal(0, 0.015, nsub), len(base))
                g["fact"] = g["fact"] * (1 + season + rng.normal(0, noise, len(g)))
                if d.get("cap"):
                    g["fact"] = np.where(g["fact"] > d["cap"], d["cap"] - rng.uniform(0.2, 1.5, len(g)), g["fact"])
            # the year row of a sub-annual indicator: Q4 / December value, or the mean of its periods
            yearly_fact = (g.groupby(["yi", "unit"])["fact"].last() if d.get("cum")
                           else g.groupby(["yi", "unit"])["fact"].mean())
            parts[0] = parts[0].drop(columns="fact").merge(
                yearly_fact.rename("fact").reset_index(), on=["yi", "unit"], how="left")
            parts.append(g)
        v = pd.concat(parts, ignore_index=True)
        v["indicator_id"] = d["id"]
        v["unit_code"] = np.array(katos)[v["unit"].to_numpy()]
        v["period"] = np.where(
            v["kind"] == "year", v["year"].astype(str),
            np.where(v["kind"] == "quarter", v["year"].astype(str) + "-Q" + v["sub"].astype(str),
                     v["year"].astype(str) + "-" + v["sub"].astype(str).str.zfill(2)))
        v["source_document"] = d["doc"] or ""
        # facts exist only for periods already reported
        ok = _reported(v["kind"], v["year"], v["sub"], today)
        v.loc[~ok, "fact"] = np.nan
        if d.get("integer"):
            v["plan"] = np.round(v["plan"])
            v["fact"] = np.round(v["fact"])
        else:
            v["plan"] = _round(v["plan"])
            v["fact"] = _round(v["fact"])
        frames.append(v[["indicator_id", "unit_code", "period", "source_document", "plan", "fact", "kind", "year", "sub"]])
    vals = pd.concat(frames, ignore_index=True)

    # Seed 001 Table 9: the "Enbek" program plans active SMEs by growth rates, not +40 000 a year.
    sme = vals[(vals["indicator_id"] == "SME_ACTIVE") & (vals["period"] == "2019")][["unit_code", "plan"]]
    rows = []
    for y in (2018, 2019, 2020, 2021):
        if y == 2018:
            mult = 1 / (1 + C.SME_ENBEK_GROWTH[2019])
        else:
            mult = np.prod([1 + C.SME_ENBEK_GROWTH[z] for z in range(2020, y + 1)]) if y > 2019 else 1.0
        rows.append(sme.assign(period=str(y), plan=np.round(sme["plan"] * mult)))
    enbek = pd.concat(rows, ignore_index=True).assign(indicator_id="SME_ACTIVE", source_document=C.DOC_ENBEK,
                                                      fact=np.nan, kind="year")
    enbek["year"] = enbek["period"].astype(int)
    vals = pd.concat([vals, enbek], ignore_index=True)

    # Gaps: random missing facts, whole quarters not reported, a few plans missing.
    gap = rng.random(len(vals)) < 0.03
    vals.loc[gap, "fact"] = np.nan
    for kato, y, q in MISSING_QUARTERS:
        month_q = (vals["sub"].astype("Float64").fillna(0).astype(int) + 2) // 3
        hit = (vals["unit_code"] == kato) & (vals["year"] == y) & (
            ((vals["kind"] == "quarter") & (vals["sub"].astype("Float64") == q))
            | ((vals["kind"] == "month") & (month_q == q)))
        vals.loc[hit.fillna(False), "fact"] = np.nan
    no_plan = rng.random(len(vals)) < 0.005
    vals.loc[no_plan & (vals["source_document"] != C.DOC_ENBEK), "plan"] = np.nan

    # Outliers (modified z > 3.5 against the unit's own history).
    for ind, unit, period, mult in OUTLIERS:
        hit = (vals["indicator_id"] == ind) & (vals["unit_code"] == unit) & (vals["period"] == period)
        base = vals.loc[hit, "fact"]
        if base.isna().all():  # a planted outlier must exist even where a gap fell
            base = vals.loc[hit, "plan"]
        vals.loc[hit, "fact"] = _round(base.to_numpy() * mult)
    vals = vals.dropna(subset=["plan", "fact"], how="all")
    return (vals[["indicator_id", "unit_code", "period", "source_document", "plan", "fact"]]
            .sort_values(["indicator_id", "unit_code", "period", "source_document"]).reset_index(drop=True))


# --- budget -----------------------------------------------------------------------------------------
def _budget(katos: list[str], today: dt.date, rng: np.random.Generator):
    programs = pd.DataFrame(
        [(c, en, ru, kk, adm, node) for c, en, ru, kk, adm, node, *_ in C.BUDGET_PROGRAMS],
        columns=["program_code", "name_en", "name_ru", "name_kk", "administrator", "node_id"])
    links = pd.DataFrame([(c, i) for c, *_x, inds, _p, _g, _s in
                          [(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]) for b in C.BUDGET_PROGRAMS]
                          for i in inds], columns=["program_code", "indicator_id"])
    pop = np.array([C.POPULATION[k] for k in katos], dtype=float)
    skill = np.array([C.SKILL[k] for k in katos])
    years = [today.year - 2, today.year - 1, today.year]
    months = np.arange(1, 13)
    frames = []
    for code, *_x, annual, growth, spike in C.BUDGET_PROGRAMS:
        share = pop * np.exp(rng.normal(0, 0.2, len(katos)))
        share /= share.sum()
        for k, y in enumerate(years):
            plan_year = annual * (1 + growth) ** k * share                          # regions
            revised_year = plan_year * (1 + rng.normal(0, 0.05, len(katos)))
            execution = np.clip(rng.normal(0.95, 0.03, len(katos)) + skill, 0.7, 1.0)
            if spike:   # seed 000: massive spending at year end
                w = np.ones((len(katos), 12))
                w[:, 11] = rng.uniform(6.0, 12.0, len(katos))
                w[:, 9:11] *= 1.5
            else:
                w = np.ones((len(katos), 12)) * (1 + 0.03 * months)[None, :] * np.exp(rng.normal(0, 0.1, (len(katos), 12)))
            w /= w.sum(axis=1, keepdims=True)
            spent = (revised_year * execution)[:, None] * w
            allocated = np.maximum(spent, (revised_year / 12)[:, None] * rng.uniform(0.9, 1.05, (len(katos), 12)))
            df = pd.DataFrame({
                "program_code": code, "unit_code": np.repeat(katos, 12),
                "month": np.tile(months, len(katos)),
                "plan": np.repeat(plan_year / 12, 12), "revised": np.repeat(revised_year / 12, 12),
                "allocated": allocated.ravel(), "spent": spent.ravel(),
            })
            df["period"] = f"{y}-" + df["month"].astype(str).str.zfill(2)
            # execution is known for months that have ended
            done = pd.Series(_reported(pd.Series("month", index=df.index), pd.Series(y, index=df.index),
                                       df["month"], today + dt.timedelta(days=LAG_DAYS["month"])))
            df.loc[~done.to_numpy(), ["allocated", "spent"]] = np.nan
            frames.append(df)
    lines = pd.concat(frames, ignore_index=True)
    for c in ("plan", "revised", "allocated", "spent"):
        lines[c] = np.round(lines[c], 1)
    lines["subprogram_code"] = ""
    lines["source_document"] = BUDGET_DOC
    # Seed 001 Table 11: program 068 carried with different amounts in three documents.
    conflict = pd.DataFrame(C.BP068_CONFLICT, columns=["period", "source_document", "plan"]).assign(
        program_code="068", subprogram_code="", unit_code="MLSP")
    lines = pd.concat([lines, conflict], ignore_index=True)
    cols = ["program_code", "subprogram_code", "unit_code", "period", "source_document",
            "plan", "revised", "allocated", "spent"]
    lines = lines[cols].sort_values(cols[:5]).reset_index(drop=True)
    return programs, links, lines


# --- projects --------------------------------------------------------------------------------------
def _projects(people: _People, nodes: pd.DataFrame, katos: list[str], regions: pd.DataFrame,
              values: pd.DataFrame, owner_of: dict, today: dt.date, rng: np.random.Generator, n: int = 320):
    groups = pd.DataFrame([(g[0], g[1], g[5], *g[6]) for g in C.GROUPS],
                          columns=["node_id", "bd", "indicator_id", "tpl_en", "tpl_ru", "tpl_kk"])
    node_region = nodes.set_index("node_id")["region_kato"].to_dict()
    node_off = nodes.set_index("node_id")["responsible_official"].to_dict()
    groups["region"] = groups["node_id"].map(node_region)
    wts = np.where(groups["region"].notna(), 0.6, 1.4)
    gi = np.sort(rng.choice(len(groups), size=n, p=wts / wts.sum()))
    p = groups.iloc[gi].reset_index(drop=True)
    pop = np.array([C.POPULATION[k] for k in katos], dtype=float)
    p["region_kato"] = np.where(p["region"].notna(), p["region"],
                                np.array(katos)[rng.choice(len(katos), size=n, p=pop / pop.sum())])
    p["project_id"] = [f"PRJ-{i + 1:04d}" for i in range(n)]
    seq = p.groupby("node_id").cumcount() + 1
    reg = regions.set_index("kato")
    p["name_en"] = [t.format(n=s) + f", {reg.at[r, 'name_en']}" for t, s, r in zip(p["tpl_en"], seq, p["region_kato"], strict=True)]
    p["name_ru"] = [t.format(n=s) + f", {reg.at[r, 'name_ru']}" for t, s, r in zip(p["tpl_ru"], seq, p["region_kato"], strict=True)]
    p["name_kk"] = [f"{reg.at[r, 'name_kk']}, " + t.format(n=s) for t, s, r in zip(p["tpl_kk"], seq, p["region_kato"], strict=True)]

    cat = rng.choice(np.array(["finished", "running", "planned"]), size=n, p=[0.30, 0.56, 0.14])
    t0 = pd.Timestamp(today)
    day = pd.to_timedelta(1, unit="D")
    dur = np.where(cat == "running", rng.uniform(270, 1100, n), rng.uniform(180, 720, n)).round()
    start = np.select(
        [cat == "finished", cat == "running"],
        [-rng.uniform(400, 1600, n), -rng.uniform(60, 900, n)], rng.uniform(10, 240, n)).round()
    # most running projects are still within their planned dates; the rest are overdue
    dur = np.where((cat == "running") & (rng.random(n) < 0.82), np.maximum(dur, -start + rng.uniform(30, 600, n)).round(), dur)
    # finished projects end at least two months ago
    start = np.where((cat == "finished") & (start + dur > -60), -60 - dur - rng.uniform(0, 200, n).round(), start)
    ps = t0 + _days(start)
    pe = ps + _days(dur)
    elapsed = np.clip(-start / dur, 0, 1)
    behind = rng.random(n) < 0.2
    perf = np.where(behind, rng.uniform(0.45, 0.78, n), np.clip(rng.normal(1.0, 0.08, n), 0.82, 1.15))
    overrun = rng.random(n) < 0.12
    cost_factor = np.where(overrun, rng.uniform(1.15, 1.5, n), np.clip(rng.normal(0.96, 0.04, n), 0.85, 1.1))
    budget = np.round(np.exp(rng.normal(np.log(1800), 1.0, n)), 1)
    slip_fin = np.where(rng.random(n) < 0.6, 0, rng.uniform(10, 240, n)).round()
    actual_start = ps + _days(rng.uniform(0, 30, n).round())

    fin, run, plan = cat == "finished", cat == "running", cat == "planned"
    pc = np.select([fin, run], [1.0, np.clip(elapsed * perf, 0.0, 0.98)], 0.0)
    p["percent_complete"] = np.round(pc, 3)
    actual_end = pe + _days(slip_fin)
    actual_end = actual_end.where(actual_end < t0 - 5 * day, t0 - 5 * day)
    slip_run = np.maximum((1 / perf - 1) * dur, 0).round()
    forecast_end = pe + _days(slip_run)
    overdue = run & (pe < t0)
    forecast_end = forecast_end.where(~(overdue & (forecast_end < t0 + 30 * day)), t0 + 45 * day)
    p["planned_start"] = ps.date
    p["planned_end"] = pe.date
    p["actual_start"] = pd.Series(actual_start.date).where(~plan, None)
    p["actual_end"] = pd.Series(actual_end.date).where(fin, None)
    p["forecast_end"] = pd.Series(forecast_end.date).where(run, pd.Series(pe.date).where(plan, None))
    p["budget"] = budget
    p["cost_to_date"] = np.round(np.select([fin, run], [budget * cost_factor, budget * pc * cost_factor], 0.0), 1)
    p["forecast_cost"] = np.round(budget * np.where(plan, 1.0, cost_factor), 1)
    p["is_active"] = ~fin

    # computed status (METHODOLOGY.md section 6) and what the project office reported
    spi = np.where(elapsed > 0, pc / np.maximum(elapsed, 1e-9), 1.0)
    cpi = 1 / cost_factor
    red = run & ((spi < 0.8) | (cpi < 0.8) | overdue)
    amber = run & ~red & ((spi < 0.95) | (cpi < 0.95))
    computed = np.where(red, "red", np.where(amber, "amber", "green"))
    fin_status = np.where((slip_fin > 0) | (cost_factor > 1.0), np.where(slip_fin > 120, "red", "amber"), "green")
    reported = np.where(fin, fin_status, computed)
    # some project offices report green while the project is behind
    hide = red & (rng.random(n) < 0.4)
    reported = np.where(hide, "green", reported)
    p["status_reported"] = reported
    p["lifecycle_stage"] = np.select(
        [fin, plan & (rng.random(n) < 0.5), plan, red & (rng.random(n) < 0.5), run & (rng.random(n) < 0.3)],
        ["closure", "initiation", "planning", "adjustment", "monitoring"], "implementation")
    sat = rng.random(n)
    p["stakeholder_expectations_met"] = pd.array(
        np.where(plan, None, np.where(fin, sat < 0.8, sat < np.where(red, 0.4, 0.75))), dtype="boolean")
    p["consultant_involved"] = rng.random(n) < 0.3
    p["staff_total"] = rng.integers(4, 31, n)
    p["staff_certified"] = rng.binomial(p["staff_total"].to_numpy(), 0.35)
    p["risks"] = [C.RISKS[i] for i in rng.integers(0, len(C.RISKS), n)]
    p["risks"] = p["risks"].where(~fin, None)

    # roles (Rules para 77): initiator = the body owning the direction, sponsor = the head of the
    # basic direction (official_id), customer = the akimat of the region (org_id)
    p["initiator"] = p["bd"].map(owner_of)
    p["sponsor"] = p["bd"].map(node_off)
    p["customer"] = "AKM-" + p["region_kato"]

    # Managers (Rules para 79: one project at a time). Every active project has its own manager;
    # some finished projects were run by a manager who then took up an active one after they ended.
    mgr = np.array([None] * n, dtype=object)
    active_idx = np.flatnonzero(~fin)
    for i in active_idx:
        mgr[i] = people.add("Project manager", p.at[i, "customer"], bool(rng.random() < 0.45))
    fin_idx = np.flatnonzero(fin)
    fin_sorted = fin_idx[np.argsort(actual_end[fin_idx].to_numpy(), kind="stable")]
    act_sorted = active_idx[np.argsort(-(ps[active_idx].to_numpy().astype("int64")), kind="stable")]
    k = min(len(fin_sorted), len(act_sorted), int(0.5 * len(fin_sorted)))
    f_k, a_k = fin_sorted[:k], act_sorted[:k]
    ok = actual_end[f_k].to_numpy() < ps[a_k].to_numpy()
    mgr[f_k[ok]] = mgr[a_k[ok]]
    for i in fin_idx:
        if mgr[i] is None:
            mgr[i] = people.add("Project manager", p.at[i, "customer"], bool(rng.random() < 0.45))
    # ...and one manager who runs two running projects at once (the exception para 79 forbids)
    run_idx = np.flatnonzero(run)
    a, b = run_idx[0], next(j for j in run_idx[1:] if ps[j] < pe[run_idx[0]] and pe[j] > ps[run_idx[0]])
    mgr[b] = mgr[a]
    p["manager_id"] = mgr

    # planned contributions of active projects to their group's indicator, in its unit (signed:
    # negative for indicators that should go down)
    ind = pd.DataFrame(C.IND).set_index("id")
    last_plan = (values[values["period"] == str(today.year)].groupby(["indicator_id", "unit_code"])["plan"]
                 .max().rename("level").reset_index())
    contrib = p.loc[~fin, ["project_id", "indicator_id", "region_kato"]].rename(columns={"region_kato": "unit_code"})
    contrib = contrib.merge(last_plan, on=["indicator_id", "unit_code"], how="left")
    sign = np.where(ind.loc[contrib["indicator_id"], "dir"].to_numpy() == "up", 1.0, -1.0)
    flow = ind.loc[contrib["indicator_id"], "agg"].to_numpy() == "sum"
    mag = contrib["level"].to_numpy() * np.where(flow, rng.uniform(0.01, 0.06, len(contrib)),
                                                 rng.uniform(0.001, 0.01, len(contrib)))
    contrib["planned_contribution"] = _round(sign * mag)
    contrib = contrib.dropna(subset=["planned_contribution"])[["project_id", "indicator_id", "unit_code",
                                                                "planned_contribution"]]

    cols = ["project_id", "name_en", "name_ru", "name_kk", "node_id", "region_kato", "initiator", "sponsor",
            "customer", "manager_id", "lifecycle_stage", "status_reported", "is_active", "planned_start",
            "planned_end", "actual_start", "actual_end", "forecast_end", "budget", "cost_to_date", "forecast_cost",
            "percent_complete", "stakeholder_expectations_met", "consultant_involved", "staff_total",
            "staff_certified", "risks"]
    return p[cols], contrib.reset_index(drop=True)


# --- instructions on control -------------------------------------------------------------------------
def _instructions(people_rows: pd.DataFrame, orgs: pd.DataFrame, regions: pd.DataFrame, issuers: list[str],
                  today: dt.date, rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    cats = np.array(["done_on_time"] * 24 + ["done_late"] * 10 + ["overdue"] * 11 + ["open"] * 9 + ["removed"] * 6)
    cats = cats[rng.permutation(n)]
    t0 = pd.Timestamp(today)
    day = pd.to_timedelta(1, unit="D")
    u = lambda a, b: rng.uniform(a, b, n).round()  # noqa: E731
    due_off = np.select(
        [cats == "overdue", cats == "open"], [-u(3, 150), u(5, 90)], -u(30, 400))
    due = t0 + _days(due_off)
    issue = due - _days(u(14, 100))
    issue = issue.where(issue < t0 - 3 * day, t0 - 3 * day)
    done = np.select([cats == "done_on_time", cats == "done_late"],
                     [due_off - u(0, 12), np.minimum(due_off + u(3, 60), -1)], np.nan)
    done_date = t0 + _days(done)
    done_date = done_date.where(done_date > issue, issue + day)
    tpl = [C.INSTRUCTION_TITLES[i] for i in rng.integers(0, len(C.INSTRUCTION_TITLES), n)]
    katos = regions["kato"].to_numpy()
    reg = katos[rng.integers(0, len(katos), n)]
    names = regions.set_index("kato")["name_en"]
    org = np.where(rng.random(n) < 0.5, np.array([t[1] for t in tpl]), "AKM-" + reg)
    first_official = people_rows.drop_duplicates("org_id").set_index("org_id")["official_id"]
    escalated = (cats == "overdue") & (np.arange(n) % 3 == 0) | ((cats == "done_late") & (np.arange(n) % 7 == 0))
    df = pd.DataFrame({
        "instruction_id": [f"INS-{i + 1:03d}" for i in range(n)],
        "title": [f"{t[0]}: {names[r]}" for t, r in zip(tpl, reg, strict=True)],
        "issuer": np.array(issuers)[rng.integers(0, len(issuers), n)],
        "responsible_org": org,
        "responsible_official": pd.Series(org).map(first_official),
        "region_kato": reg,
        "issue_date": issue.date,
        "due_date": due.date,
        "status": np.select([np.isin(cats, ["done_on_time", "done_late"]), cats == "removed"], ["done", "removed"],
                            "on_control"),
        "done_date": pd.Series(done_date.date).where(np.isin(cats, ["done_on_time", "done_late"]), None),
        "escalated": escalated,
    })
    return df


# --- assembling --------------------------------------------------------------------------------------
def generate(regions: pd.DataFrame, today: dt.date = TODAY) -> dict[str, pd.DataFrame]:
    """Every demo table as a frame, keyed by table name. Pure: same inputs, same frames.

    ``regions`` is the seeded ``regions`` table (kato, name_en, name_ru, name_kk, ...). Besides the
    tables of :data:`LOAD_ORDER` (the batched ones with a ``batch_id``), ``upload_batches`` with
    provisional ids 1..n in upload order and ``hist_indicator_values`` / ``hist_budget_lines``
    (see :func:`sac.demo.uploads.schedule`).
    """
    rng = np.random.default_rng(SEED)
    regions = regions.sort_values("kato").reset_index(drop=True)
    katos = regions["kato"].tolist()
    orgs = _organisations(regions)
    people = _People(rng)
    pm = people.add("Prime Minister of the Republic of Kazakhstan", "GOV", None)
    head_office = people.add("Head of the Office of the Prime Minister", "GOV", None)
    for k, name in zip(regions["kato"], regions["name_en"], strict=True):
        people.add(f"Akim of {name}", f"AKM-{k}", None)
    for o, *_ in C.PROJECT_OFFICES:
        people.add("Head of the project office", o, True)
    nodes, owner_of = _goal_map(people, rng, regions)
    indicators = _indicators(nodes)
    values = _values(katos, today, rng)
    programs, links, lines = _budget(katos, today, rng)
    projects, contrib = _projects(people, nodes, katos, regions, values, owner_of, today, rng)
    officials = people.frame()
    curators = nodes.loc[nodes["level"] == C.NP, "responsible_official"].tolist()
    instructions = _instructions(officials, orgs, regions, [pm, head_office, *curators], today, rng)
    frames = {
        "organisations": orgs, "officials": officials, "goal_nodes": nodes, "indicators": indicators,
        "indicator_values": values, "budget_programs": programs, "budget_program_indicators": links,
        "budget_lines": lines, "projects": projects, "project_contributions": contrib,
        "instructions": instructions,
    }
    return U.schedule(frames, katos, today, LAG_DAYS, SEED)


# Tables in load order (references first), and the history tables (sac/migrations/002).
LOAD_ORDER = ["organisations", "officials", "goal_nodes", "indicators", "indicator_values", "budget_programs",
              "budget_program_indicators", "budget_lines", "projects", "project_contributions", "instructions"]
HIST_TABLES = ["hist_indicator_values", "hist_budget_lines"]


class DemoNotEmpty(RuntimeError):
    """The store already holds data; the demo only fills an empty one."""


def _data_sets(cur, regions: list[str], today: dt.date) -> int:
    """The demo's approval history (issue 12): the regions' indicator facts and budget execution are locked up to
    the year before last, approved last year, and this year approved for the quarters reported long ago; the last
    ended quarter is submitted by about half the regions (the analyst's turn) and still open, late, for the rest.
    Written as an analyst would have moved them, with events, so the Submissions page has a history."""
    rows = []
    last_year = today.year - 1
    for kind in ("indicator_values", "budget"):
        for unit in regions:
            rows += [(unit, kind, str(y), "locked") for y in range(2010, last_year)]
            rows.append((unit, kind, str(last_year), "approved"))
    ended = [q for q in range(1, 5) if dt.date(today.year, 3 * q, 28) + dt.timedelta(days=10) < today]
    for q in ended[:-1]:
        rows += [(unit, "indicator_values", f"{today.year}-Q{q}", "approved") for unit in regions]
    if ended:
        rows += [(unit, "indicator_values", f"{today.year}-Q{ended[-1]}", "submitted")
                 for unit in regions[: len(regions) // 2]]
    frame = pd.DataFrame(rows, columns=["unit_code", "kind", "period", "state"])
    cur.register("demo_sets", frame)
    cur.execute("INSERT INTO data_sets (unit_code, kind, period, state, changed_by) "
                "SELECT unit_code, kind, period, state, 'analyst' FROM demo_sets")
    # the events that led there: submitted by the region's office, then approved (and locked) by the analyst
    for action, from_state, to_state, states in (("submit", "open", "submitted", ("submitted", "approved", "locked")),
                                                 ("approve", "submitted", "approved", ("approved", "locked")),
                                                 ("lock", "approved", "locked", ("locked",))):
        actor = "office" if action == "submit" else "analyst"
        cur.execute("INSERT INTO data_set_events (unit_code, kind, period, action, from_state, to_state, actor) "
                    f"SELECT unit_code, kind, period, ?, ?, ?, ? FROM demo_sets WHERE state IN "
                    f"({', '.join('?' for _ in states)}) ORDER BY period, kind, unit_code",
                    [action, from_state, to_state, actor, *states])
    cur.unregister("demo_sets")
    return len(frame)


def build_demo(store, *, today: dt.date = TODAY) -> dict[str, int]:
    """Fill an empty store with the demo, in one transaction. Returns row counts by table.

    The upload history comes from :func:`sac.demo.uploads.schedule`: ``upload_batches`` rows with the
    importer's kinds ('indicator_values', 'budget', 'projects', 'contributions', 'instructions',
    'indicators'), ids taken from ``upload_batch_seq`` in upload order (so later imports follow
    them), every row of a batched table pointing at the batch that last wrote it, and the previous
    images in ``hist_indicator_values`` / ``hist_budget_lines`` so a demo batch rolls back like an
    imported one. Reference tables get no batch. Also sets ``regions.population``.
    """
    if store.scalar("SELECT (SELECT count(*) FROM indicators) + (SELECT count(*) FROM organisations)"):
        raise DemoNotEmpty(f"{store.path} already holds data; the demo fills only an empty database")
    regions = store.df("SELECT kato, iso, kind, name_en, name_ru, name_kk FROM regions ORDER BY kato")
    frames = generate(regions, today)
    batches = frames["upload_batches"]
    counts: dict[str, int] = {}
    with store.write() as cur:
        if cur.execute("SELECT count(*) FROM indicators").fetchall()[0][0] or \
                cur.execute("SELECT count(*) FROM organisations").fetchall()[0][0]:
            raise DemoNotEmpty(f"{store.path} already holds data; the demo fills only an empty database")
        pop = pd.DataFrame(list(C.POPULATION.items()), columns=["kato", "population"])
        cur.register("demo_pop", pop)
        cur.execute("UPDATE regions SET population = p.population FROM demo_pop p WHERE regions.kato = p.kato")
        cur.unregister("demo_pop")
        # real batch ids from the sequence, in the provisional order 1..n
        ids = np.sort(np.array([r[0] for r in cur.execute(
            "SELECT nextval('upload_batch_seq') FROM range(?)", [len(batches)]).fetchall()], dtype="int64"))
        real = np.concatenate([[0], ids])     # provisional id k -> real[k]

        def insert(table: str, df: pd.DataFrame, where: str = "", params: list | None = None) -> None:
            col_sql = ", ".join(df.columns)
            cur.register("demo_df", df)
            cur.execute(f"INSERT INTO {table} ({col_sql}) SELECT {col_sql} FROM demo_df {where}", params or [])
            cur.unregister("demo_df")

        def remap(df: pd.DataFrame) -> pd.DataFrame:
            cols = [c for c in ("batch_id", "hist_batch_id") if c in df.columns]
            return df.assign(**{c: real[df[c].to_numpy()] for c in cols})

        insert("upload_batches", remap(batches))
        for table in LOAD_ORDER:
            df = remap(frames[table])
            if table == "goal_nodes":   # parents before children
                for level in (C.NP, C.PRG, C.BD, C.GP):
                    insert(table, df, "WHERE level = ?", [level])
            else:
                insert(table, df)
            counts[table] = len(df)
        for table in HIST_TABLES:
            insert(table, remap(frames[table]))
        counts["data_sets"] = _data_sets(cur, regions["kato"].astype(str).tolist(), today)
    counts["regions"] = len(regions)
    counts["upload_batches"] = len(batches)
    return counts
