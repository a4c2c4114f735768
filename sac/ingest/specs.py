"""What each kind of upload holds: its table, natural key, columns, their types and header synonyms.

Header synonyms are compared after :func:`sac.ingest.parse.norm_header` (case, spaces and
punctuation ignored), in English, Russian and Kazakh. The column names are those of
``sac/migrations/001_core.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sac.ingest.parse import norm_header

# Field types: text | number | amount (number >= 0) | share (0..1; '45%' or 45 -> 0.45) | int
# | date | period | unit (region KATO/ISO/name or organisation id) | region | bool | enum


@dataclass(frozen=True)
class Field:
    name: str                      # column in the table
    type: str
    synonyms: tuple[str, ...] = ()
    required: bool = False         # a value must be present on every row
    default: object = None         # stored when the column is absent on an inserted row (NOT NULL columns)
    choices: dict[str, str] = field(default_factory=dict)  # enum: normalised text -> code
    ref: str | None = None         # 'indicators', or 'table.column' the value must exist in (foreign keys)
    lo: float | None = None        # inclusive bounds for int/number
    hi: float | None = None

    def keys(self) -> set[str]:
        return {norm_header(s) for s in (self.name, *self.synonyms)}


@dataclass(frozen=True)
class Kind:
    kind: str
    table: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    one_of: tuple[str, ...] = ()   # at least one of these columns in the file and a value on each row
    office: bool = True            # a project office may upload it (for its own units); reference data: no

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def _choices(mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {norm_header(s): code for code, words in mapping.items() for s in (code, *words)}


UNIT = ("unit", "unit code", "region", "kato", "като", "код като", "регион", "область", "өңір", "аймақ", "облыс",
        "организация", "ұйым", "organisation", "organization", "org id", "территория", "аумақ")
INDICATOR = ("indicator", "indicator id", "indicator code", "показатель", "код показателя", "индикатор",
             "көрсеткіш", "көрсеткіш коды", "kni", "кни", "цпи")
PERIOD = ("period", "период", "кезең", "отчетный период", "есепті кезең", "year", "год", "жыл")
SOURCE = ("source document", "source", "document", "документ", "источник", "құжат", "дереккөз", "документ-источник")
PLAN = ("plan", "план", "жоспар", "плановое значение", "жоспарлы мән", "target", "утверждено", "бекітілген")
FACT = ("fact", "факт", "нақты", "фактическое значение", "нақты мән", "actual", "исполнение факт")

KINDS: dict[str, Kind] = {}


def _add(k: Kind) -> None:
    KINDS[k.kind] = k


_add(Kind("indicator_values", "indicator_values", ("indicator_id", "unit_code", "period", "source_document"), (
    Field("indicator_id", "text", INDICATOR, required=True, ref="indicators"),
    Field("unit_code", "unit", UNIT, required=True),
    Field("period", "period", PERIOD, required=True),
    Field("source_document", "text", SOURCE, default=""),
    Field("plan", "number", PLAN),
    Field("fact", "number", FACT),
), one_of=("plan", "fact")))

_add(Kind("budget", "budget_lines", ("program_code", "subprogram_code", "unit_code", "period", "source_document"), (
    Field("program_code", "text", ("program", "budget program", "бюджетная программа", "программа", "бп",
                                   "код программы", "бағдарлама", "бюджеттік бағдарлама", "бағдарлама коды"),
          required=True),
    Field("subprogram_code", "text", ("subprogram", "подпрограмма", "код подпрограммы", "кіші бағдарлама"),
          default=""),
    Field("unit_code", "unit", UNIT, required=True),
    Field("period", "period", PERIOD, required=True),
    Field("source_document", "text", SOURCE, default=""),
    Field("plan", "amount", PLAN + ("approved", "утвержденный бюджет")),
    Field("revised", "amount", ("revised", "уточненный", "уточнено", "уточненный план", "нақтыланған")),
    Field("allocated", "amount", ("allocated", "выделено", "профинансировано", "финансирование", "бөлінген",
                                  "қаржыландырылды")),
    Field("spent", "amount", ("spent", "освоено", "исполнено", "кассовые расходы", "игерілген", "игерілді",
                              "executed")),
), one_of=("plan", "revised", "allocated", "spent")))

_STAGES = _choices({
    "initiation": ("инициирование", "бастамашылық"), "planning": ("планирование", "жоспарлау"),
    "implementation": ("реализация", "исполнение", "іске асыру"), "monitoring": ("мониторинг",),
    "adjustment": ("корректировка", "түзету"), "closure": ("завершение", "закрытие", "аяқтау", "closed"),
})
_RAG = _choices({"green": ("зеленый", "жасыл", "g"), "amber": ("желтый", "сары", "yellow", "a"),
                 "red": ("красный", "қызыл", "r")})

_add(Kind("projects", "projects", ("project_id",), (
    Field("project_id", "text", ("project", "project code", "id", "проект", "код проекта", "жоба", "жоба коды"),
          required=True),
    Field("name_en", "text", ("name", "project name", "name english", "название на английском")),
    Field("name_ru", "text", ("наименование", "название", "наименование проекта", "name russian")),
    Field("name_kk", "text", ("атауы", "жобаның атауы", "name kazakh")),
    Field("node_id", "text", ("node", "group of projects", "группа проектов", "жобалар тобы")),
    Field("region_kato", "region", ("region", "kato", "като", "регион", "область", "өңір", "облыс")),
    Field("initiator", "text", ("инициатор", "бастамашы")),
    Field("sponsor", "text", ("спонсор", "демеуші")),
    Field("customer", "text", ("заказчик", "тапсырыс беруші")),
    Field("manager_id", "text", ("manager", "руководитель проекта", "менеджер", "жоба жетекшісі")),
    Field("lifecycle_stage", "enum", ("stage", "этап", "стадия", "кезең"), choices=_STAGES),
    Field("status_reported", "enum", ("status", "статус", "мәртебе"), choices=_RAG),
    Field("is_active", "bool", ("active", "активный", "действующий", "белсенді"), default=True),
    Field("planned_start", "date", ("плановое начало", "начало план", "жоспарлы басталуы")),
    Field("planned_end", "date", ("плановое окончание", "окончание план", "жоспарлы аяқталуы")),
    Field("actual_start", "date", ("фактическое начало", "нақты басталуы")),
    Field("actual_end", "date", ("фактическое окончание", "нақты аяқталуы")),
    Field("forecast_end", "date", ("прогнозное окончание", "болжамды аяқталуы")),
    Field("budget", "amount", ("бюджет", "бюджет проекта", "bac", "жоба бюджеті")),
    Field("cost_to_date", "amount", ("cost", "actual cost", "затраты", "освоено", "шығындар")),
    Field("forecast_cost", "amount", ("прогнозная стоимость", "eac", "болжамды құны")),
    Field("percent_complete", "share", ("percent complete", "готовность", "процент выполнения", "орындалу пайызы")),
    Field("stakeholder_expectations_met", "bool", ("stakeholders", "ожидания заинтересованных сторон",
                                                   "мүдделі тараптар")),
    Field("consultant_involved", "bool", ("consultant", "консультант", "кеңесші")),
    Field("staff_total", "int", ("staff", "численность команды", "команда", "қызметкерлер"), lo=0),
    Field("staff_certified", "int", ("certified staff", "сертифицированные", "сертификатталған"), lo=0),
    Field("risks", "text", ("риски", "тәуекелдер")),
)))

_add(Kind("contributions", "project_contributions", ("project_id", "indicator_id", "unit_code"), (
    Field("project_id", "text", ("project", "проект", "код проекта", "жоба"), required=True),
    Field("indicator_id", "text", INDICATOR, required=True, ref="indicators"),
    Field("unit_code", "unit", UNIT, required=True),
    Field("planned_contribution", "number", ("contribution", "вклад", "плановый вклад", "үлес", "жоспарлы үлес"),
          required=True),
)))

_INSTR_STATUS = _choices({
    "on_control": ("on control", "на контроле", "бақылауда", "open", "в работе"),
    "done": ("исполнено", "выполнено", "орындалды", "closed", "completed"),
    "removed": ("снято с контроля", "снято", "бақылаудан алынды", "removed from control"),
})

_add(Kind("instructions", "instructions", ("instruction_id",), (
    Field("instruction_id", "text", ("instruction", "id", "number", "поручение", "номер", "номер поручения",
                                     "тапсырма", "тапсырма нөмірі"), required=True),
    Field("title", "text", ("содержание", "текст поручения", "поручение текст", "мазмұны", "тапсырма мазмұны"),
          required=True),
    Field("issuer", "text", ("кем дано", "автор", "берген")),
    Field("responsible_org", "text", ("responsible", "ответственный орган", "исполнитель", "жауапты орган")),
    Field("responsible_official", "text", ("ответственное лицо", "жауапты тұлға")),
    Field("region_kato", "region", ("region", "kato", "като", "регион", "өңір")),
    Field("issue_date", "date", ("issued", "дата поручения", "дата выдачи", "берілген күні"), required=True),
    Field("due_date", "date", ("due", "deadline", "срок", "срок исполнения", "мерзімі", "орындау мерзімі"),
          required=True),
    Field("status", "enum", ("статус", "мәртебе", "состояние"), required=True, choices=_INSTR_STATUS),
    Field("done_date", "date", ("done", "дата исполнения", "орындалған күні")),
    Field("escalated", "bool", ("эскалировано", "escalation", "жоғары жаққа"), default=False),
)))

_add(Kind("indicators", "indicators", ("indicator_id",), (
    Field("indicator_id", "text", INDICATOR + ("code", "код"), required=True),
    Field("name_en", "text", ("name", "name english")),
    Field("name_ru", "text", ("наименование", "название", "наименование показателя")),
    Field("name_kk", "text", ("атауы", "көрсеткіштің атауы")),
    Field("unit_of_measure", "text", ("unit of measure", "единица измерения", "ед изм", "өлшем бірлігі")),
    Field("direction", "enum", ("направление", "бағыты"), choices=_choices({
        "up": ("higher is better", "рост", "повышение", "больше лучше", "өсу", "↑"),
        "down": ("lower is better", "снижение", "меньше лучше", "төмендеу", "↓")})),
    Field("tier", "enum", ("уровень результата", "деңгей"), choices=_choices({
        "output": ("непосредственный результат", "продукт"), "outcome": ("конечный результат", "нәтиже"),
        "impact": ("влияние", "воздействие", "әсер")})),
    Field("periodicity", "enum", ("периодичность", "кезеңділік", "frequency"), required=True, choices=_choices({
        "year": ("annual", "yearly", "год", "годовой", "ежегодно", "жыл", "жылдық"),
        "quarter": ("quarterly", "квартал", "квартальный", "ежеквартально", "тоқсан", "тоқсандық"),
        "month": ("monthly", "месяц", "месячный", "ежемесячно", "ай", "айлық")})),
    Field("cumulative", "bool", ("нарастающим итогом", "өспелі"), default=False),
    Field("aggregation", "enum", ("агрегация",), default="mean", choices=_choices({
        "sum": ("сумма",), "mean": ("среднее",), "pop_weighted_mean": ("population weighted mean",),
        "none": ("нет",)})),
    Field("weight", "number", ("вес", "салмақ"), default=1.0, lo=0),
    Field("rag_green", "number", ()),
    Field("rag_amber", "number", ()),
    Field("baseline_value", "number", ("baseline", "базовое значение", "базалық мән")),
    Field("baseline_year", "int", ("базовый год", "базалық жыл"), lo=1900, hi=2100),
    Field("target_value", "number", ("target", "целевое значение", "нысаналы мән")),
    Field("target_year", "int", ("целевой год", "нысаналы жыл"), lo=1900, hi=2100),
    Field("goalpost_low", "number", ()),
    Field("goalpost_high", "number", ()),
    Field("responsibility_level", "int", ("уровень ответственности", "жауапкершілік деңгейі"), lo=1, hi=4),
    Field("node_id", "text", ("node", "узел", "goal node"), ref="goal_nodes.node_id"),
    Field("responsible_official", "text", ("ответственный", "жауапты"), ref="officials.official_id"),
    Field("source_document", "text", SOURCE),
    # plausible bounds of a value (issue 9): a fact or plan outside them is an upload error
    Field("min_value", "number", ("minimum", "min", "lower bound", "нижняя граница", "минимум", "төменгі шек")),
    Field("max_value", "number", ("maximum", "max", "upper bound", "верхняя граница", "максимум", "жоғарғы шек")),
)))

NAMES_RU = ("наименование", "название", "наименование организации", "наименование программы")
_add(Kind("organisations", "organisations", ("org_id",), (
    Field("org_id", "text", ("organisation", "organization", "org", "code", "код", "код организации", "ұйым коды",
                             "бин", "bin"), required=True),
    Field("kind", "enum", ("type", "тип", "вид", "түрі"), default="other", choices=_choices({
        "state_body": ("state body", "ministry", "госорган", "государственный орган", "министерство",
                       "мемлекеттік орган", "министрлік"),
        "akimat": ("акимат", "әкімдік"), "project_office": ("project office", "проектный офис", "жобалық кеңсе"),
        "other": ("другое", "басқа")})),
    Field("name_en", "text", ("name", "name english")),
    Field("name_ru", "text", NAMES_RU),
    Field("name_kk", "text", ("атауы", "ұйымның атауы")),
    Field("region_kato", "region", ("region", "регион", "область", "өңір", "kato", "като")),
), office=False))

_add(Kind("budget_programs", "budget_programs", ("program_code",), (
    Field("program_code", "text", ("program", "programme", "budget program", "бюджетная программа", "программа",
                                   "код программы", "бюджеттік бағдарлама", "бағдарлама"), required=True),
    Field("name_en", "text", ("name", "name english")),
    Field("name_ru", "text", NAMES_RU),
    Field("name_kk", "text", ("атауы", "бағдарламаның атауы")),
    Field("administrator", "text", ("administrator", "администратор", "администратор программы", "әкімші"),
          ref="organisations.org_id"),
    Field("node_id", "text", ("node", "узел", "goal node"), ref="goal_nodes.node_id"),
), office=False))

# Columns whose absence is filled from another name column (name_en is NOT NULL in the schema; for passports
# and reference data name_ru and name_kk are too, and are filled from the others).
NAME_FALLBACK = {"projects": ("name_en", ("name_ru", "name_kk")),
                 "indicators": ("name_en", ("name_ru", "name_kk")),
                 "organisations": ("name_en", ("name_ru", "name_kk")),
                 "budget_programs": ("name_en", ("name_ru", "name_kk"))}
ALL_NAMES_REQUIRED = ("indicators", "organisations", "budget_programs")
