"""The board as an A4 PDF (fpdf2): embedded DejaVu Sans, vector charts, tables that wrap and never cut text.

Why fpdf2: pure Python, maintained, embeds TrueType subsets (Cyrillic and the Kazakh letters ә ғ қ ң ө ұ ү һ і
are in DejaVu Sans, shipped in ``sac/reference/fonts`` with its licence, so no system font is needed at run time),
draws rectangles and lines as PDF vector paths, and its tables wrap cell text and repeat their heading row on
every page. Charts are drawn with those primitives (horizontal bars: a label column that wraps, the bar, the
value as text), not exported from plotly: no browser runs while a board is built, and the same data gives the
same drawing.

Layout rules: the node and the week in every page's header; the data and methodology versions, the revision and
the page number ("Page 2 of 5") in every footer; a section heading is never left alone at the foot of a page
(a block that does not fit with its heading starts a new page); a last page holding only a few lines is avoided
by laying the board out again more compactly, or with its last section starting on a fresh page
(:func:`render`).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from sac.boards.model import Bars, Board, Col, Link, Mark, Section, Table, Text
from sac.boards.weeks import parse_week
from sac.i18n import MISSING, fmt_date, fmt_number, fmt_pct, t

FONT_DIR = Path(__file__).resolve().parent.parent / "reference" / "fonts"
FONT = "DejaVu"
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 15.0, 20.0, 18.0
BODY_W = PAGE_W - 2 * MARGIN_X
ORPHAN_MM = 45.0     # a last page with less than this much content is an orphan
KEEP_TOGETHER_ROWS = 10   # a table of at most this many rows moves to the next page whole

# sac.charts' Okabe-Ito RAG colours; tints behind judged table cells (the icon and word carry the meaning)
TONE_RGB = {"green": (0, 158, 115), "amber": (230, 159, 0), "red": (213, 94, 0), "grey": (153, 153, 153),
            "neutral": (0, 114, 178)}
TINT_RGB = {"green": (217, 240, 232), "amber": (252, 239, 210), "red": (249, 224, 214), "grey": (238, 238, 238),
            "neutral": (221, 235, 247)}
INK = (34, 34, 34)
MUTED = (90, 90, 90)
RULE = (190, 190, 190)
HEAD_FILL = (220, 230, 241)
LINK_RGB = (0, 90, 160)


class _Doc(FPDF):
    def __init__(self, board: Board, meta: dict, compact: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.board, self.meta, self.compact = board, meta, compact
        self.lang = board.language
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(True, MARGIN_BOTTOM)
        self.set_title(f"{t('boards.doc_title', self.lang)}: {board.node_name}, {board.week}")
        self.set_author("SAC")
        self.set_creator("SAC information board (fpdf2)")
        self.set_lang({"en": "en", "ru": "ru", "kk": "kk"}[self.lang])
        built = meta["built_at"]
        self.set_creation_date(built.replace(tzinfo=_dt.UTC) if built.tzinfo is None else built)
        self.body_pt = 8.0 if compact else 8.6
        self.table_pt = 7.0 if compact else 7.5
        self.gap = 2.0 if compact else 3.2

    def header(self) -> None:
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN_X, 9)
        head = t("boards.doc_header", self.lang, node=self.board.node_name, week=self.board.week)
        self.multi_cell(BODY_W, 3.4, head, align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*RULE)
        self.line(MARGIN_X, self.get_y() + 0.8, PAGE_W - MARGIN_X, self.get_y() + 0.8)
        self.set_y(max(MARGIN_TOP, self.get_y() + 3))
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*RULE)
        self.line(MARGIN_X, self.get_y(), PAGE_W - MARGIN_X, self.get_y())
        self.set_font(FONT, "", 6.8)
        self.set_text_color(*MUTED)
        m = self.meta
        self.set_xy(MARGIN_X, -11.5)
        self.multi_cell(BODY_W - 32, 3.2, t("boards.doc_footer", self.lang, data=self.board.data_version,
                                             method=self.board.methodology_version, revision=m["revision"],
                                             built=m["built_at"].strftime("%d.%m.%Y %H:%M")), align="L")
        self.set_xy(PAGE_W - MARGIN_X - 32, -11.5)
        self.cell(32, 3.2, t("boards.doc_page", self.lang, page=self.page_no(), total="{nb}"), align="R")
        self.set_text_color(*INK)

    # -- helpers --------------------------------------------------------------------------------------------
    def room(self) -> float:
        return self.h - self.b_margin - self.get_y()

    def need(self, mm: float) -> None:
        """Start a new page unless ``mm`` fit on this one."""
        if self.room() < mm:
            self.add_page()

    def text_height(self, w: float, text: str, lh: float) -> float:
        lines = self.multi_cell(w, lh, text, dry_run=True, output="LINES")
        return max(1, len(lines)) * lh


def _fmt(value, col: Col, lang: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return MISSING
    if isinstance(value, Mark | Link):
        return value.text
    if col.kind == "int":
        return fmt_number(value, lang, 0)
    if col.kind == "num":
        return fmt_number(value, lang, col.decimals) if isinstance(value, int | float) else str(value)
    if col.kind == "pct":
        return fmt_pct(value, lang, col.decimals) if isinstance(value, int | float) else str(value)
    if col.kind == "date":
        return fmt_date(value)
    return str(value)


def _meta_block(pdf: _Doc, board: Board, meta: dict, sections: list[Section]) -> None:
    lang = board.language
    pdf.set_font(FONT, "B", 17 if not pdf.compact else 15)
    pdf.multi_cell(BODY_W, 8, t("boards.doc_title", lang), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 12 if not pdf.compact else 11)
    name = f"{board.node_code} {board.node_name}" if board.node_code else board.node_name
    pdf.multi_cell(BODY_W, 5.6, name, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    monday, sunday = parse_week(board.week)
    rows = [
        (t("boards.meta_level", lang), t(f"boards.level_{board.node_level}", lang)),
        (t("boards.meta_week", lang), t("boards.meta_week_value", lang, week=board.week, monday=fmt_date(monday),
                                        sunday=fmt_date(sunday))),
        (t("boards.meta_as_of", lang), fmt_date(board.as_of)),
        (t("boards.meta_period", lang), board.period or MISSING),
        (t("boards.meta_budget_year", lang), str(board.budget_year or MISSING)),
        (t("boards.meta_versions", lang), t("boards.meta_versions_value", lang, data=board.data_version,
                                            method=board.methodology_version)),
        (t("boards.meta_built", lang), t("boards.meta_built_value", lang, at=meta["built_at"].strftime("%d.%m.%Y %H:%M"),
                                         by=meta["built_by"], revision=meta["revision"])),
        (t("boards.meta_hash", lang), meta["content_hash"]),
        (t("boards.meta_contents", lang), " · ".join(f"{i}. {s.title}" for i, s in enumerate(sections, 1))),
    ]
    pdf.set_font(FONT, "", pdf.table_pt)
    with pdf.table(col_widths=(1.3, 4.7), width=BODY_W, first_row_as_headings=False, line_height=3.6,
                   borders_layout="NONE", text_align=("LEFT", "LEFT"), padding=(0.5, 1, 0.5, 0)) as table:
        for k, v in rows:
            r = table.row()
            r.cell(k, style=FontFace(emphasis="B", color=MUTED))
            r.cell(v)
    pdf.ln(pdf.gap)


def _estimate(pdf: _Doc, block) -> float:
    """About how tall ``block`` is (mm): for keeping a heading with what follows it."""
    if isinstance(block, Text):
        pdf.set_font(FONT, "", pdf.body_pt)
        return pdf.text_height(BODY_W - 3, block.text, pdf.body_pt * 0.47) + pdf.gap
    if isinstance(block, Bars):
        n = len(block.stacked if block.stacked is not None else block.bars)
        return 12 + n * 5.5 + (6 if block.legend else 0)
    return 8 + (6 if block.title else 0) + min(len(block.rows), 3) * 9


def _heading(pdf: _Doc, index: int, sec: Section) -> None:
    # the heading stays with its texts and the start of the first chart or table (a chart moves whole)
    lead = 0.0
    for block in sec.blocks:
        lead += _estimate(pdf, block)
        if not isinstance(block, Text):
            break
    pdf.need(12 + min(lead, PAGE_H - MARGIN_TOP - MARGIN_BOTTOM - 40))
    pdf.ln(1)
    pdf.set_font(FONT, "B", 12 if not pdf.compact else 11)
    pdf.set_text_color(*INK)
    pdf.multi_cell(BODY_W, 6, f"{index}. {sec.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*TONE_RGB["neutral"])
    pdf.set_line_width(0.5)
    pdf.line(MARGIN_X, pdf.get_y() + 0.3, MARGIN_X + 30, pdf.get_y() + 0.3)
    pdf.set_line_width(0.2)
    pdf.ln(2.2)


def _text(pdf: _Doc, block: Text) -> None:
    pdf.set_font(FONT, "", pdf.body_pt)
    lh = pdf.body_pt * 0.47
    indent = 3.0 if block.tone else 0.0
    h = pdf.text_height(BODY_W - indent, block.text, lh)
    pdf.need(min(h, 40))
    y = pdf.get_y()
    if block.tone:
        pdf.set_fill_color(*TONE_RGB.get(block.tone, TONE_RGB["neutral"]))
        pdf.rect(MARGIN_X, y + 0.4, 1.2, h - 0.8, style="F")
    pdf.set_x(MARGIN_X + indent)
    pdf.multi_cell(BODY_W - indent, lh, block.text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(pdf.gap * 0.6)


def _fit_widths(pdf: _Doc, block: Table, lang: str) -> tuple[float, ...]:
    """Column widths from the columns' weights, widened so that no word of a heading (nor a short word of a
    cell) is broken across lines, taken from the columns with room to spare."""
    total = sum(c.width for c in block.columns)
    want = [BODY_W * c.width / total for c in block.columns]
    pad = 2.6
    floor = []
    for j, c in enumerate(block.columns):
        pdf.set_font(FONT, "B", pdf.table_pt)
        w = max((pdf.get_string_width(word) for word in c.header.split()), default=0) + pad
        pdf.set_font(FONT, "", pdf.table_pt)
        for values in block.rows[:60]:
            text = _fmt(values[j], c, lang)
            words = [x for x in text.split() if len(x) <= 24]   # a longer "word" (an address) may break
            if words:
                w = max(w, max(pdf.get_string_width(x) for x in words) + pad)
        floor.append(min(w, BODY_W / 2))
    if sum(floor) >= BODY_W:
        return tuple(BODY_W * f / sum(floor) for f in floor)
    widths = [max(w, f) for w, f in zip(want, floor, strict=True)]
    for _ in range(len(widths)):      # give back what the widened columns took, from those with slack
        excess = sum(widths) - BODY_W
        if excess <= 1e-6:
            break
        slack = [w - f for w, f in zip(widths, floor, strict=True)]
        room = sum(x for x in slack if x > 0)
        widths = [w - excess * x / room if x > 0 else w for w, x in zip(widths, slack, strict=True)]
    return tuple(widths)


def _title(pdf: _Doc, title: str) -> None:
    pdf.set_font(FONT, "B", pdf.body_pt)
    pdf.multi_cell(BODY_W, pdf.body_pt * 0.5, title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(0.8)


def _table(pdf: _Doc, block: Table, lang: str) -> None:
    lh = pdf.table_pt * 0.46
    title_h = 0.0
    if block.title:
        pdf.set_font(FONT, "B", pdf.body_pt)
        title_h = pdf.text_height(BODY_W, block.title, pdf.body_pt * 0.5) + 0.8
    if not block.rows:
        if block.title:
            pdf.need(title_h + 8)
            _title(pdf, block.title)
        if block.empty:
            _text(pdf, Text(block.empty))
        return
    pdf.set_font(FONT, "", pdf.table_pt)
    widths = _fit_widths(pdf, block, lang)
    if len(block.rows) <= KEEP_TOGETHER_ROWS:   # a short table is not split across two pages, nor from its title
        pdf.set_font(FONT, "B", pdf.table_pt)
        height = max(pdf.text_height(w - 2, c.header, lh) for w, c in zip(widths, block.columns, strict=True)) + 2
        pdf.set_font(FONT, "", pdf.table_pt)
        for values in block.rows:
            height += max(pdf.text_height(w - 2, _fmt(v, c, lang), lh)
                          for w, v, c in zip(widths, values, block.columns, strict=True)) + 1.8
        pdf.need(title_h + height + (4 if block.note else 0))
    else:
        pdf.need(title_h + 22)   # the title, the heading row and a few rows
    if block.title:
        _title(pdf, block.title)
    pdf.set_font(FONT, "", pdf.table_pt)
    aligns = tuple("RIGHT" if c.kind in ("int", "num", "pct") else "LEFT" for c in block.columns)
    pdf.set_draw_color(*RULE)
    pdf.set_fill_color(255, 255, 255)   # a cell without a tint of its own is white, not the last bar's colour
    plain = FontFace(fill_color=(255, 255, 255), color=INK)
    with pdf.table(col_widths=widths, width=BODY_W, text_align=aligns, line_height=lh,
                   borders_layout="HORIZONTAL_LINES", padding=(0.9, 1.0, 0.9, 1.0), v_align="TOP",
                   headings_style=FontFace(emphasis="B", fill_color=HEAD_FILL, color=INK),
                   repeat_headings=1) as table:
        head = table.row()
        for c in block.columns:
            head.cell(c.header)
        for values in block.rows:
            r = table.row()
            for v, c in zip(values, block.columns, strict=True):
                text = _fmt(v, c, lang)
                if isinstance(v, Mark):
                    r.cell(text, style=FontFace(fill_color=TINT_RGB.get(v.tone, TINT_RGB["grey"]), color=INK))
                elif isinstance(v, Link):
                    r.cell(text, link=v.url, style=FontFace(color=LINK_RGB, fill_color=(255, 255, 255)))
                else:
                    r.cell(text, style=plain)
    if block.note:
        pdf.ln(0.6)
        pdf.set_font(FONT, "", pdf.table_pt)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(BODY_W, pdf.table_pt * 0.46, block.note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.ln(pdf.gap)


def _bars(pdf: _Doc, block: Bars) -> None:
    """Horizontal bars: label column (wrapped), bar area, value text; a dashed reference line when given."""
    items = block.stacked if block.stacked is not None else [(b.label, [(b.value, b.tone)], b.text)
                                                              for b in block.bars]
    if not items:
        return
    pt = pdf.table_pt
    lh = pt * 0.44
    label_w, text_w = 62.0, 26.0
    bar_w = BODY_W - label_w - text_w - 4
    if block.stacked is not None:
        scale = max([sum(v for v, _ in parts if v) for _, parts, _ in items] + [1])
    else:
        scale = block.scale_max or max([v for _, parts, _ in items for v, _ in parts if v is not None] + [1])
    pdf.set_font(FONT, "", pt)
    heights = [max(pdf.text_height(label_w, label, lh), 4.2) + 1.2 for label, _, _ in items]
    legend_h = 6 if block.legend else 0
    ref_h = 4 if block.reference is not None else 0
    total = 6 + sum(heights) + legend_h + ref_h
    pdf.need(min(total, 120))
    pdf.set_font(FONT, "B", pdf.body_pt)
    pdf.multi_cell(BODY_W, pdf.body_pt * 0.5, block.title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(FONT, "", pt)
    x0 = MARGIN_X + label_w + 2
    top = pdf.get_y()
    for (label, parts, text), h in zip(items, heights, strict=True):
        if pdf.room() < h:
            _reference(pdf, block, x0, bar_w, scale, top, pdf.get_y())
            pdf.add_page()
            top = pdf.get_y()
        y = pdf.get_y()
        pdf.set_xy(MARGIN_X, y + 0.6)
        pdf.multi_cell(label_w, lh, label, align="R")
        bh = min(3.6, h - 1.2)
        by = y + (h - bh) / 2
        x = x0
        drawn = False
        for value, tone in parts:
            if value is None:
                continue
            w = bar_w * max(float(value), 0.0) / scale if scale else 0
            if w > 0:
                pdf.set_fill_color(*TONE_RGB.get(tone, TONE_RGB["neutral"]))
                pdf.rect(x, by, w, bh, style="F")
                x += w
                drawn = True
        if not drawn:   # no data: an outline, never a zero-length bar that reads as "zero"
            pdf.set_draw_color(*TONE_RGB["grey"])
            pdf.rect(x0, by, 6, bh, style="D")
            x = x0 + 6
        pdf.set_xy(x + 1.2, by + bh / 2 - lh / 2)
        pdf.cell(text_w + (x0 + bar_w - x), lh, text)
        pdf.set_y(y + h)
    _reference(pdf, block, x0, bar_w, scale, top, pdf.get_y())
    if block.reference is not None and block.reference_label:
        pdf.set_font(FONT, "", pt - 0.5)
        pdf.set_text_color(*MUTED)
        rx = x0 + bar_w * block.reference / scale
        pdf.set_xy(max(MARGIN_X, min(rx - 20, PAGE_W - MARGIN_X - 40)), pdf.get_y() + 0.5)
        pdf.cell(40, lh, f"┆ {block.reference_label}", align="C")
        pdf.set_text_color(*INK)
        pdf.ln(lh + 0.5)
    if block.legend:
        pdf.ln(1)
        x = x0
        pdf.set_font(FONT, "", pt)
        for tone, word in block.legend:
            w = pdf.get_string_width(word) + 7
            if x + w > PAGE_W - MARGIN_X:
                pdf.ln(lh + 1)
                x = x0
            y = pdf.get_y()
            pdf.set_fill_color(*TONE_RGB.get(tone, TONE_RGB["neutral"]))
            pdf.rect(x, y + 0.5, 3, 2.6, style="F")
            pdf.set_xy(x + 4, y)
            pdf.cell(w - 4, lh + 0.6, word)
            x += w
        pdf.ln(lh + 1)
    pdf.ln(pdf.gap)


def _reference(pdf: _Doc, block: Bars, x0: float, bar_w: float, scale: float, top: float, bottom: float) -> None:
    if block.reference is None or not scale:
        return
    rx = x0 + bar_w * block.reference / scale
    pdf.set_draw_color(*INK)
    pdf.set_dash_pattern(dash=1.2, gap=1.0)
    pdf.line(rx, top, rx, bottom)
    pdf.set_dash_pattern()


def _layout(board: Board, meta: dict, compact: bool, break_last: bool) -> _Doc:
    pdf = _Doc(board, meta, compact)
    pdf.add_page()
    _meta_block(pdf, board, meta, board.sections)
    for i, sec in enumerate(board.sections, 1):
        if break_last and i == len(board.sections) and i > 1:
            pdf.add_page()
        _heading(pdf, i, sec)
        for block in sec.blocks:
            if isinstance(block, Table):
                _table(pdf, block, board.language)
            elif isinstance(block, Bars):
                _bars(pdf, block)
            else:
                _text(pdf, block)
    return pdf


def _last_page_fill(pdf: _Doc) -> float:
    return pdf.get_y() - MARGIN_TOP


def render(board: Board, *, revision: int, built_at: _dt.datetime, built_by: str, content_hash: str) -> bytes:
    """The PDF of ``board``. Laid out normally; when the last page would hold less than :data:`ORPHAN_MM` of
    content, laid out again compactly, then with the last section on a page of its own, and the first layout
    without an orphan page is kept (else the last one tried)."""
    meta = {"revision": revision, "built_at": built_at, "built_by": built_by, "content_hash": content_hash}
    pdf = None
    for compact, break_last in ((False, False), (True, False), (False, True), (True, True)):
        pdf = _layout(board, meta, compact, break_last)
        if pdf.page == 1 or _last_page_fill(pdf) >= ORPHAN_MM:
            break
    return bytes(pdf.output())
