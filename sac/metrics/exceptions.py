"""Management by exception (METHODOLOGY.md section 9; seed 001 ch. 3.3).

The leadership view shows only what needs help from above: red indicators, projects
off track, overdue instructions, escalated issues, year-end spending spikes (seed 000)
and targets the running projects are not enough to reach (Rules para 74).

Severity (3 = high, 2 = medium, 1 = low), documented here so the page can say it:
- red_indicator: 3 when the achievement ratio A < 0.75 (S < 75), else 2;
- project_off_track (running, computed or self-reported status red): 3 when past its planned end, else 2;
- instruction_overdue: 3 when more than 30 days overdue, else 2;
- escalated (escalated and still on control): 3;
- spending_spike: 2;
- projects_insufficient (running projects contribute but plan less than required; or the
  indicator is red for the unit and no running project contributes at all, reason "no running
  project contributes"): 2.
Within a severity, kinds keep the order above and the larger ``magnitude`` comes first.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from sac.i18n import fmt_date, fmt_number
from sac.methodology import current
from sac.metrics import budget, goalmap, instructions, projects
from sac.metrics.plan_fact import plan_fact

KINDS = ("red_indicator", "project_off_track", "instruction_overdue", "escalated", "spending_spike",
         "projects_insufficient")
SEVERITY_LABELS = {3: "high", 2: "medium", 1: "low"}
COLUMNS = ["kind", "severity", "severity_label", "title_en", "title_ru", "title_kk", "reason", "reason_en",
           "reason_ru", "reason_kk", "region_kato", "subject_id", "magnitude", "page", "params",
           "methodology_version"]
# What the decision list (sac.metrics.decisions) needs besides: the subject's name, who answers for the item,
# its due date, its age in days and, for red indicators, the achievement ratio in percent.
DETAIL_COLUMNS = ["subject_name_en", "subject_name_ru", "subject_name_kk", "owner_en", "owner_ru", "owner_kk",
                  "due_date", "age_days", "achievement"]

# title and reason templates per kind and language; fields are filled per row
_TEXT = {
    "red_indicator": {
        "en": ("{name} — {unit}: red", "Fact {fact} against plan {plan}, achievement {a}%"),
        "ru": ("{name} — {unit}: красная зона", "Факт {fact} при плане {plan}, исполнение {a}%"),
        "kk": ("{name} — {unit}: қызыл аймақ", "Нақты {fact}, жоспар {plan}, орындалуы {a}%"),
    },
    "project_off_track": {
        "en": ("Project off track: {name}", "SPI {spi}, CPI {cpi}; slip {slip} days"),
        "ru": ("Проект отстаёт: {name}", "SPI {spi}, CPI {cpi}; отставание {slip} дн."),
        "kk": ("Жоба кестеден қалып отыр: {name}", "SPI {spi}, CPI {cpi}; кешігу {slip} күн"),
    },
    "instruction_overdue": {
        "en": ("Instruction overdue: {name}", "Due {due}, {days} days overdue; responsible: {org}"),
        "ru": ("Просрочено поручение: {name}", "Срок {due}, просрочено на {days} дн.; ответственный: {org}"),
        "kk": ("Тапсырма мерзімі өтті: {name}", "Мерзімі {due}, {days} күнге кешікті; жауапты: {org}"),
    },
    "escalated": {
        "en": ("Escalated: {name}", "On control since {issue}, due {due}; responsible: {org}"),
        "ru": ("Вынесено руководству: {name}", "На контроле с {issue}, срок {due}; ответственный: {org}"),
        "kk": ("Басшылыққа шығарылды: {name}", "{issue} бастап бақылауда, мерзімі {due}; жауапты: {org}"),
    },
    # escalated and past its due date: the days overdue are said (the list shows it once, as escalated)
    "escalated_overdue": {
        "en": ("Escalated: {name}", "On control since {issue}, due {due}, {days} days overdue; responsible: {org}"),
        "ru": ("Вынесено руководству: {name}",
               "На контроле с {issue}, срок {due}, просрочено на {days} дн.; ответственный: {org}"),
        "kk": ("Басшылыққа шығарылды: {name}",
               "{issue} бастап бақылауда, мерзімі {due}, {days} күнге кешікті; жауапты: {org}"),
    },
    "spending_spike": {
        "en": ("Year-end spending spike: program {name} — {unit}",
               "{share}% of the year's spending in Q4 (threshold {thr}%)"),
        "ru": ("Всплеск расходов в конце года: программа {name} — {unit}",
               "{share}% годовых расходов в IV квартале (порог {thr}%)"),
        # "бағдарламасы" follows the programme, not the region: "034 … бағдарламасы — Абай облысы"
        "kk": ("Жыл соңындағы шығыс өсімі: {name} бағдарламасы — {unit}",
               "Жылдық шығыстардың {share}% IV тоқсанда (шегі {thr}%)"),
    },
    "projects_insufficient": {
        "en": ("Projects insufficient: {name} — {unit}",
               "Required {required}, planned by running projects {planned}, shortfall {shortfall}"),
        "ru": ("Проектов недостаточно: {name} — {unit}",
               "Требуется {required}, запланировано проектами {planned}, нехватка {shortfall}"),
        "kk": ("Жобалар жеткіліксіз: {name} — {unit}",
               "Қажет {required}, жобалармен жоспарланған {planned}, жетіспеушілік {shortfall}"),
    },
    # a red indicator's gap that no running project addresses at all
    "projects_insufficient_none": {
        "en": ("Projects insufficient: {name} — {unit}", "Required {required}; no running project contributes"),
        "ru": ("Проектов недостаточно: {name} — {unit}",
               "Требуется {required}; ни один реализуемый проект не вносит вклад"),
        "kk": ("Жобалар жеткіліксіз: {name} — {unit}",
               "Қажет {required}; іске асырылып жатқан бірде-бір жоба үлес қоспайды"),
    },
}


def _texts(kind: str, fields: list[dict], text_key: str | None = None) -> dict[str, list[str]]:
    """title_<lang> and reason_<lang> columns for rows of one kind (fields already per language)."""
    out = {}
    for lang in ("en", "ru", "kk"):
        title, reason = _TEXT[text_key or kind][lang]
        out[f"title_{lang}"] = [title.format(**f[lang]) for f in fields]
        out[f"reason_{lang}"] = [reason.format(**f[lang]) for f in fields]
    return out


def _n(x, lang, d=1):
    return fmt_number(x, lang, d)


def _frame(kind: str, base: pd.DataFrame, fields: list[dict], text_key: str | None = None) -> pd.DataFrame:
    out = base.reset_index(drop=True).copy()
    out.insert(0, "kind", kind)
    for k, v in _texts(kind, fields, text_key).items():
        out[k] = v
    return out


def _region_names(store) -> dict[str, dict[str, str]]:
    r = store.df("SELECT kato, name_en, name_ru, name_kk FROM regions")
    o = store.df("SELECT org_id AS kato, name_en, name_ru, name_kk FROM organisations")
    both = pd.concat([r, o]).drop_duplicates("kato")
    return {lang: dict(zip(both["kato"], both[f"name_{lang}"], strict=True)) for lang in ("en", "ru", "kk")}


def _people(store) -> dict:
    """Officials (id -> full name, organisation) and organisation names per language: who answers for an item."""
    f = store.df("SELECT official_id, full_name, org_id FROM officials")
    o = store.df("SELECT org_id, name_en, name_ru, name_kk FROM organisations")
    return {"official": {r["official_id"]: (r["full_name"], r["org_id"]) for r in f.to_dict("records")},
            "org": {lang: dict(zip(o["org_id"], o[f"name_{lang}"], strict=True)) for lang in ("en", "ru", "kk")}}


def _owner(people, lang, *, org=None, official=None, fallback=None) -> str | None:
    """'Organisation — Official' (either alone when the other is unknown; the official's own organisation when
    none is given), else ``fallback`` (the region's name) or None."""
    name, own_org = people["official"].get(official, (None, None)) if isinstance(official, str) else (None, None)
    org = org if isinstance(org, str) and org else own_org
    org_name = people["org"][lang].get(org, org) if isinstance(org, str) and org else None
    parts = [x for x in (org_name, name) if isinstance(x, str) and x]
    return " — ".join(parts) if parts else fallback


def _add_details(out: pd.DataFrame, subject: list[dict], owner: list[dict], due, age, achievement=None) -> pd.DataFrame:
    """Fill :data:`DETAIL_COLUMNS` (``subject`` and ``owner``: one {lang: text} per row)."""
    for lang in ("en", "ru", "kk"):
        out[f"subject_name_{lang}"] = [x[lang] for x in subject]
        out[f"owner_{lang}"] = [x[lang] for x in owner]
    out["due_date"] = pd.to_datetime(pd.Series(due, index=out.index, dtype="object"))
    out["age_days"] = pd.array(age, dtype="Int64") if len(out) else pd.array([], dtype="Int64")
    out["achievement"] = pd.Series(achievement if achievement is not None else np.nan, index=out.index,
                                   dtype="float64")
    return out


def _red_indicators(cells, names, people) -> pd.DataFrame:
    red = cells[cells["rag"] == "red"].copy()
    if red.empty:
        return pd.DataFrame()
    base = pd.DataFrame({
        "severity": (red["ratio"] < 0.75).map({True: 3, False: 2}).to_numpy(),
        "region_kato": red["unit_code"].where(red["unit_kind"] == "region").to_numpy(),
        "subject_id": red["indicator_id"].to_numpy(),
        "magnitude": (100.0 - red["score"]).to_numpy(),
        "page": "pages/indicators.py",
        "params": [{"indicator": i, "region": u, "period": str(p)}
                   for i, u, p in zip(red["indicator_id"], red["unit_code"], red["rating_period"], strict=True)],
    })
    fields = [{lang: {"name": r[f"name_{lang}"] or r["name_en"], "unit": names[lang].get(r["unit_code"], r["unit_code"]),
                      "fact": _n(r["fact"], lang, 2), "plan": _n(r["plan"], lang, 2), "a": _n(100 * r["ratio"], lang)}
               for lang in ("en", "ru", "kk")} for r in red.to_dict("records")]
    recs = red.to_dict("records")
    return _add_details(
        _frame("red_indicator", base, fields),
        [{lang: r[f"name_{lang}"] or r["name_en"] for lang in ("en", "ru", "kk")} for r in recs],
        [{lang: _owner(people, lang, official=r.get("responsible_official"),
                       fallback=names[lang].get(r["unit_code"], r["unit_code"])) for lang in ("en", "ru", "kk")}
         for r in recs],
        due=[None] * len(recs), age=[None] * len(recs), achievement=(100 * red["ratio"]).to_numpy())


def _projects_off_track(store, today, region, names, people) -> pd.DataFrame:
    p = projects.load_projects(store, today=today, region=region)
    off = p[projects.off_track(p)]
    if off.empty:
        return pd.DataFrame()
    base = pd.DataFrame({
        "severity": off["overdue"].map({True: 3, False: 2}).to_numpy(),
        "region_kato": off["region_kato"].to_numpy(),
        "subject_id": off["project_id"].to_numpy(),
        "magnitude": off["slip_days"].fillna(0).to_numpy(),
        "page": "pages/projects.py",
        "params": [{"project": x} for x in off["project_id"]],
    })
    fields = [{lang: {"name": (r.get(f"name_{lang}") or r["name_en"]), "spi": _n(r["SPI"], lang, 2),
                      "cpi": _n(r["CPI"], lang, 2), "slip": _n(r["slip_days"], lang, 0)}
               for lang in ("en", "ru", "kk")} for r in off.to_dict("records")]
    recs = off.to_dict("records")
    t = pd.Timestamp(today).normalize()
    # age: days past the planned end (projects still within their term have none)
    age = [(t - r["planned_end"]).days if r["overdue"] and pd.notna(r["planned_end"]) else None for r in recs]
    return _add_details(
        _frame("project_off_track", base, fields),
        [{lang: r.get(f"name_{lang}") or r["name_en"] for lang in ("en", "ru", "kk")} for r in recs],
        [{lang: _owner(people, lang, org=r.get("customer"), official=r.get("manager_id"),
                       fallback=names[lang].get(r["region_kato"])) for lang in ("en", "ru", "kk")} for r in recs],
        due=[r["planned_end"] for r in recs], age=age)


def _instructions(store, today, region, people) -> tuple[pd.DataFrame, pd.DataFrame]:
    ins = instructions.load_instructions(store, today=today, region=region)

    def fields(df):
        return [{lang: {"name": r["title"], "due": fmt_date(r["due_date"]), "issue": fmt_date(r["issue_date"]),
                        "days": _n(r["days_overdue"], lang, 0),
                        "org": r.get(f"org_name_{lang}") or r.get("responsible_org") or "—"}
                 for lang in ("en", "ru", "kk")} for r in df.to_dict("records")]

    def base(df, severity):
        return pd.DataFrame({
            "severity": severity,
            "region_kato": df["region_kato"].to_numpy(),
            "subject_id": df["instruction_id"].to_numpy(),
            "magnitude": df["days_overdue"].fillna(0).to_numpy(),
            "page": "pages/situation_room.py",
            "params": [{"instruction": x} for x in df["instruction_id"]],
        })

    def details(out, df):
        recs = df.to_dict("records")
        return _add_details(
            out, [{lang: r["title"] for lang in ("en", "ru", "kk")} for r in recs],
            [{lang: _owner(people, lang, org=r.get("responsible_org"), official=r.get("responsible_official"))
              for lang in ("en", "ru", "kk")} for r in recs],
            # age: days overdue; the store keeps no escalation date, so an escalated one not yet due has age 0
            due=[r["due_date"] for r in recs],
            age=[int(r["days_overdue"]) if pd.notna(r["days_overdue"]) else 0 for r in recs])

    od = ins[ins["overdue"]]
    esc = ins[ins["escalated"].astype(bool) & (ins["status"] == "on_control")]
    a = pd.DataFrame() if od.empty else details(_frame(
        "instruction_overdue", base(od, (od["days_overdue"] > 30).map({True: 3, False: 2}).to_numpy()), fields(od)), od)
    parts = [details(_frame("escalated", base(e, 3), fields(e), key), e)
             for e, key in ((esc[esc["overdue"]], "escalated_overdue"), (esc[~esc["overdue"]], None)) if not e.empty]
    b = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return a, b


def _spending_spikes(store, period, region, m, names, people) -> pd.DataFrame:
    """Year-end spikes of the period's year from ``sac.metrics.budget.year_end_spike`` (seed 000),
    one row per budget program and unit flagged above ``budget.spike_share``."""
    year = store.scalar("SELECT year FROM periods WHERE code = ?", [str(period)])
    if year is None:
        return pd.DataFrame()
    lines = budget.load_lines(store, unit_codes=[region] if region else None, year=int(year))
    if lines.empty:
        return pd.DataFrame()
    sp = budget.year_end_spike(lines, m)
    sp = sp[sp["flagged"].astype(bool)]
    if sp.empty:
        return pd.DataFrame()
    prog = lines.drop_duplicates("program_code").set_index("program_code")
    base = pd.DataFrame({
        "severity": 2,
        "region_kato": sp["unit_code"].where(sp["unit_code"].isin(names["en"])).to_numpy(),
        "subject_id": sp["program_code"].to_numpy(),
        "magnitude": (100 * sp["spike_share"]).to_numpy(),
        "page": "pages/budget.py",
        "params": [{"program": p, "region": u, "year": str(int(y))}
                   for p, u, y in zip(sp["program_code"], sp["unit_code"], sp["year"], strict=True)],
    })
    fields = []
    for r in sp.to_dict("records"):
        per_lang = {}
        for lang in ("en", "ru", "kk"):
            pname = prog[f"program_name_{lang}"].get(r["program_code"]) if r["program_code"] in prog.index else None
            label = (f"{r['program_code']} {pname}" if isinstance(pname, str) and pname and pname != r["program_code"]
                     else r["program_code"])  # an unnamed programme is named by its code, once
            unit = names[lang].get(r["unit_code"], r["unit_code"])
            per_lang[lang] = {"name": label, "unit": unit, "share": _n(100 * r["spike_share"], lang),
                              "thr": _n(100 * r["threshold"], lang, 0)}
        fields.append(per_lang)
    recs = sp.to_dict("records")
    admin = store.df("SELECT program_code, administrator FROM budget_programs").set_index("program_code")["administrator"]

    def pname(code, lang):
        n = prog[f"program_name_{lang}"].get(code) if code in prog.index else None
        return f"{code} {n}" if isinstance(n, str) and n and n != code else code

    return _add_details(
        _frame("spending_spike", base, fields),
        [{lang: pname(r["program_code"], lang) for lang in ("en", "ru", "kk")} for r in recs],
        [{lang: _owner(people, lang, org=admin.get(r["program_code"]),
                       fallback=names[lang].get(r["unit_code"])) for lang in ("en", "ru", "kk")} for r in recs],
        due=[None] * len(recs), age=[None] * len(recs))


def _insufficient(store, period, region, names, cells, people) -> pd.DataFrame:
    gap = goalmap.gap_analysis(store, period, region=region)
    # where running projects fall short; a gap no running project addresses at all only when the
    # indicator is red for that unit in the period (the rest stays in the full gap analysis on the
    # indicators page, not flooded into the leadership view)
    red = cells.loc[cells["rag"] == "red", ["indicator_id", "unit_code"]].drop_duplicates().assign(_red=True)
    gap = gap.merge(red, on=["indicator_id", "unit_code"], how="left")
    is_red = gap["_red"].notna().to_numpy(bool)
    none = (gap["n_projects"] == 0).to_numpy(bool)
    ins = gap[gap["insufficient"].fillna(False).to_numpy(bool) & (~none | is_red)]
    if ins.empty:
        return pd.DataFrame()
    official = store.df("SELECT indicator_id, responsible_official FROM indicators")
    ins = ins.merge(official, on="indicator_id", how="left")
    parts = [_insufficient_frame(ins[ins["n_projects"] > 0], names, people, None),
             _insufficient_frame(ins[ins["n_projects"] == 0], names, people, "projects_insufficient_none")]
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)


def _insufficient_frame(ins, names, people, text_key) -> pd.DataFrame:
    if ins.empty:
        return pd.DataFrame()
    req = ins["required"].abs()
    base = pd.DataFrame({
        "severity": 2,
        "region_kato": ins["unit_code"].where(ins["unit_code"].isin(names["en"])).to_numpy(),
        "subject_id": ins["indicator_id"].to_numpy(),
        "magnitude": (100 * ins["shortfall"] / req.where(req > 0)).to_numpy(),
        "page": "pages/indicators.py",
        "params": [{"indicator": i, "region": u} for i, u in zip(ins["indicator_id"], ins["unit_code"], strict=True)],
    })
    fields = [{lang: {"name": r[f"name_{lang}"] or r["name_en"], "unit": names[lang].get(r["unit_code"], r["unit_code"]),
                      "required": _n(r["required"], lang, 2), "planned": _n(r["planned"], lang, 2),
                      "shortfall": _n(r["shortfall"], lang, 2)} for lang in ("en", "ru", "kk")}
              for r in ins.to_dict("records")]
    recs = ins.to_dict("records")
    return _add_details(
        _frame("projects_insufficient", base, fields, text_key),
        [{lang: r[f"name_{lang}"] or r["name_en"] for lang in ("en", "ru", "kk")} for r in recs],
        [{lang: _owner(people, lang, official=r.get("responsible_official"),
                       fallback=names[lang].get(r["unit_code"])) for lang in ("en", "ru", "kk")} for r in recs],
        due=[None] * len(recs), age=[None] * len(recs))


def exceptions(store, period: str, *, today=None, region: str | None = None) -> pd.DataFrame:
    """See :func:`exception_details`; the columns of :data:`COLUMNS` only."""
    out = exception_details(store, period, today=today, region=region)
    unavailable = out.attrs.get("unavailable", [])
    out = out[COLUMNS].copy()
    out.attrs["unavailable"] = unavailable
    return out


def exception_details(store, period: str, *, today=None, region: str | None = None) -> pd.DataFrame:
    """Everything that needs a decision from above for ``period`` (and, for projects and
    instructions, as of ``today``; default the current date), optionally for one region.

    Columns: ``kind`` (one of :data:`KINDS`), ``severity`` (3 high .. 1 low),
    ``severity_label``, ``title_en/ru/kk``, ``reason_en/ru/kk`` (human text with the
    figures) and ``reason`` (= reason_en), ``region_kato`` (NA when not a region),
    ``subject_id`` (indicator, project, instruction or budget program), ``magnitude``
    (the sort key within a severity: 100 - S, slip days, days overdue, Q4 share %,
    shortfall % of required), ``page`` and ``params`` (the link: page path and its query
    parameters), ``methodology_version``. Sorted by severity, kind, magnitude.

    Plus :data:`DETAIL_COLUMNS`: ``subject_name_en/ru/kk`` (indicator, project, instruction or
    program name), ``owner_en/ru/kk`` (responsible organisation — official, else the unit's name,
    else None), ``due_date`` (instruction due date, project planned end; NaT otherwise),
    ``age_days`` (Int64: days overdue of an instruction, 0 for an escalated one not yet due;
    days past a project's planned end; NA otherwise), ``achievement`` (A in percent for red
    indicators, else NaN).
    """
    m = current(store)
    today = today if today is not None else _dt.date.today()
    names = _region_names(store)
    people = _people(store)
    a, b = _instructions(store, today, region, people)
    cells = plan_fact(store, period, unit_codes=[region] if region else None, methodology=m)
    official = store.df("SELECT indicator_id, responsible_official FROM indicators")
    cells = cells.merge(official, on="indicator_id", how="left")
    parts = [_red_indicators(cells, names, people), _projects_off_track(store, today, region, names, people), a, b,
             _spending_spikes(store, period, region, m, names, people),
             _insufficient(store, period, region, names, cells, people)]
    parts = [p for p in parts if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[c for c in COLUMNS + DETAIL_COLUMNS if c != "reason"])
    out["reason"] = out["reason_en"]
    out["severity"] = out["severity"].astype(int)
    out["severity_label"] = out["severity"].map(SEVERITY_LABELS)
    out["methodology_version"] = m.version
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(KINDS)})
    out["magnitude"] = out["magnitude"].astype("float64")
    out = out.sort_values(["severity", "_k", "magnitude", "subject_id"], ascending=[False, True, False, True],
                          na_position="last")
    out["due_date"] = pd.to_datetime(out["due_date"])
    out["age_days"] = out["age_days"].astype("Int64")
    out["achievement"] = out["achievement"].astype("float64")
    out = out[COLUMNS + DETAIL_COLUMNS].reset_index(drop=True)
    out.attrs["unavailable"] = []  # kinds that could not be computed (none since sac.metrics.budget landed)
    return out
