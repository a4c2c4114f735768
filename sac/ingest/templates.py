"""XLSX upload templates: one per kind, English headers in row 1 (what the importer matches; required ones in
dark red), a note row with the Russian and Kazakh header of each column, marked 'required' where the importer
refuses a file without it, and one example row.

The note row starts with '#', and the importer skips a row whose first cell starts with '#' like a
blank row, so a filled-in template can be uploaded as it is.
"""

from __future__ import annotations

import io
from pathlib import Path

from sac.ingest.specs import KINDS

# (ru, kk) header and an example value per column; columns not listed get no example.
_NOTES: dict[str, tuple[str, str]] = {
    "indicator_id": ("Код показателя", "Көрсеткіш коды"), "unit_code": ("Регион (КАТО)", "Өңір (КАТО)"),
    "period": ("Период", "Кезең"), "source_document": ("Документ", "Құжат"), "plan": ("План", "Жоспар"),
    "fact": ("Факт", "Нақты"), "program_code": ("Бюджетная программа", "Бюджеттік бағдарлама"),
    "subprogram_code": ("Подпрограмма", "Кіші бағдарлама"), "revised": ("Уточненный", "Нақтыланған"),
    "allocated": ("Выделено", "Бөлінген"), "spent": ("Освоено", "Игерілген"),
    "project_id": ("Код проекта", "Жоба коды"), "name_en": ("Наименование (англ.)", "Атауы (ағылш.)"),
    "name_ru": ("Наименование", "Атауы (орыс.)"), "name_kk": ("Наименование (каз.)", "Атауы"),
    "region_kato": ("Регион (КАТО)", "Өңір (КАТО)"), "budget": ("Бюджет, млн тенге", "Бюджет, млн теңге"),
    "planned_contribution": ("Плановый вклад: изменение показателя в его единицах, со знаком (отрицательный, где лучше меньше)",
                             "Жоспарлы үлес: көрсеткіштің өз бірлігіндегі таңбалы өзгерісі (аз болғаны жақсы болса, теріс)"), "instruction_id": ("Номер поручения", "Тапсырма нөмірі"),
    "title": ("Содержание", "Мазмұны"), "issue_date": ("Дата поручения", "Берілген күні"),
    "due_date": ("Срок исполнения", "Орындау мерзімі"), "status": ("Статус", "Мәртебе"),
    "periodicity": ("Периодичность", "Кезеңділік"), "direction": ("Направление", "Бағыты"),
    "org_id": ("Код организации", "Ұйым коды"), "kind": ("Тип", "Түрі"),
    "administrator": ("Администратор программы (код организации)", "Бағдарлама әкімшісі (ұйым коды)"),
    "min_value": ("Нижняя граница", "Төменгі шек"), "max_value": ("Верхняя граница", "Жоғарғы шек"),
}
REQUIRED = "required / обязательно / міндетті"
ONE_OF = "this or another value column / это или другое значение / осы немесе басқа мән"
_EXAMPLES: dict[str, dict[str, object]] = {
    "indicator_values": {"indicator_id": "KNI-01", "unit_code": "71", "period": "2024-Q3",
                         "source_document": "National project 2024", "plan": 4.8, "fact": 4.9},
    "budget": {"program_code": "068", "subprogram_code": "", "unit_code": "71", "period": "2021",
               "source_document": "Budget law 2021", "plan": 76952, "revised": 80043, "allocated": 27472,
               "spent": 27000},
    "projects": {"project_id": "P-001", "name_en": "School construction", "name_ru": "Строительство школы",
                 "region_kato": "75", "lifecycle_stage": "implementation", "status_reported": "green",
                 "is_active": "yes", "planned_start": "01.03.2024", "planned_end": "31.12.2025", "budget": 1200,
                 "cost_to_date": 450, "percent_complete": "40%"},
    "contributions": {"project_id": "P-001", "indicator_id": "KNI-01", "unit_code": "75", "planned_contribution": 0.2},
    "instructions": {"instruction_id": "I-2024-001", "title": "Prepare the heating season plan", "issuer": "Akim",
                     "region_kato": "71", "issue_date": "15.01.2024", "due_date": "01.03.2024",
                     "status": "on_control", "escalated": "no"},
    "indicators": {"indicator_id": "KNI-01", "name_en": "Unemployment rate", "name_ru": "Уровень безработицы",
                   "name_kk": "Жұмыссыздық деңгейі", "unit_of_measure": "%", "direction": "down", "tier": "outcome",
                   "periodicity": "quarter", "aggregation": "mean", "weight": 1, "target_value": 4.7,
                   "target_year": 2025},
    "organisations": {"org_id": "AKM-71", "kind": "akimat", "name_en": "Akimat of Astana", "name_ru": "Акимат г. Астаны",
                      "name_kk": "Астана қаласының әкімдігі", "region_kato": "71"},
    "budget_programs": {"program_code": "068", "name_en": "Health care", "name_ru": "Здравоохранение",
                        "name_kk": "Денсаулық сақтау"},
}


def templates(kind: str) -> bytes:
    """The XLSX template of ``kind``: header row, a '#' note row (ru / kk headers), one example row."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    spec = KINDS[kind]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = kind
    names = [f.name for f in spec.fields]
    ws.append(names)
    notes = [" / ".join(_NOTES.get(n, ("", ""))).strip(" /") for n in names]
    for i, f in enumerate(spec.fields):  # what the importer refuses a file without says so in the template
        if f.required:
            notes[i] = f"{REQUIRED} · {notes[i]}" if notes[i] else REQUIRED
        elif f.name in spec.one_of:
            notes[i] = f"{ONE_OF} · {notes[i]}" if notes[i] else ONE_OF
    notes[0] = "# " + (notes[0] or names[0])
    ws.append(notes)
    example = _EXAMPLES.get(kind, {})
    ws.append([example.get(n) for n in names])
    for c, f in zip(ws[1], spec.fields, strict=True):
        c.font = Font(bold=True, color="9C0006" if f.required else None)
    for c in ws[2]:
        c.font = Font(italic=True, color="666666")
        c.fill = PatternFill("solid", fgColor="EEEEEE")
    for i, n in enumerate(names, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = max(12, len(n) + 4)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_templates(directory: str | Path) -> list[Path]:
    """Write ``<kind>.xlsx`` for every kind into ``directory``; returns the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in KINDS:
        p = d / f"template_{kind}.xlsx"
        p.write_bytes(templates(kind))
        out.append(p)
    return out
