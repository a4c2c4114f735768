"""What a board is made of, before it becomes a PDF or a workbook: sections of tables, bar charts and text.

One model, two renderers (``sac.boards.pdf``, ``sac.boards.xlsx``), so the PDF and the workbook never
disagree. Cells hold raw values (numbers stay numbers for the workbook); the PDF formats them in the board's
language. Everything here is plain data and serialises to canonical JSON (:func:`canonical_json`), from which
the board's content hash is taken.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: colours of marks: the charts' Okabe-Ito RAG palette (sac.charts.RAG_COLOURS) plus a neutral blue
RAG = ("green", "amber", "red", "grey")


@dataclass(frozen=True)
class Mark:
    """A judged cell: its text always carries the judgement (icon and word); ``tone`` only colours it."""
    text: str
    tone: str  # 'green' | 'amber' | 'red' | 'grey' | 'neutral'


@dataclass(frozen=True)
class Link:
    """Text that links to ``url`` (an absolute address in the app)."""
    text: str
    url: str


@dataclass
class Col:
    header: str
    kind: str = "text"      # text | int | num | pct | date
    decimals: int = 0
    width: float = 1.0      # relative width in the PDF
    key: str = ""           # a stable, language-neutral name (the workbook's and the tests' handle)


@dataclass
class Table:
    key: str
    columns: list[Col]
    rows: list[list[Any]]
    title: str | None = None
    note: str | None = None
    empty: str | None = None    # said instead of an empty table


@dataclass
class Bar:
    label: str
    value: float | None     # None: no data (drawn as a grey outline with the word, never as zero)
    text: str               # the value as printed beside the bar
    tone: str = "neutral"


@dataclass
class Bars:
    """A horizontal bar chart. ``reference`` draws a dashed line (e.g. the elapsed share of the year) with
    ``reference_label``; ``stacked`` bars carry several (value, tone) parts each."""
    key: str
    title: str
    bars: list[Bar] = field(default_factory=list)
    unit: str = ""
    scale_max: float | None = None
    reference: float | None = None
    reference_label: str | None = None
    stacked: list[tuple[str, list[tuple[float, str]], str]] | None = None   # (label, [(value, tone)], text)
    legend: list[tuple[str, str]] | None = None                            # (tone, word)


@dataclass
class Text:
    text: str
    tone: str | None = None     # a warning line is 'red' or 'amber'


@dataclass
class Section:
    key: str        # decisions | changes | kni | rating | portfolio | budget
    title: str
    blocks: list[Table | Bars | Text] = field(default_factory=list)


@dataclass
class Board:
    """A built board before it is stored. ``state`` is what the next board of the node diffs against."""
    node_id: str
    node_level: str
    node_code: str | None
    node_name: str
    week: str
    language: str
    as_of: _dt.date
    period: str | None
    budget_year: int | None
    data_version: int
    methodology_version: int
    sections: list[Section]
    state: dict
    previous_board_id: int | None = None

    def content(self) -> dict:
        """Everything the reader sees that comes from the data (not who built it, when, or its revision)."""
        return {"node_id": self.node_id, "node_name": self.node_name, "week": self.week, "language": self.language,
                "as_of": self.as_of.isoformat(), "period": self.period, "budget_year": self.budget_year,
                "methodology_version": self.methodology_version, "previous_board_id": self.previous_board_id,
                "sections": [asdict(s) for s in self.sections]}

    def content_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode("utf-8")).hexdigest()


def _plain(x):
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 10)
    if isinstance(x, _dt.datetime | _dt.date):
        return x.isoformat()
    if hasattr(x, "item"):          # numpy scalars
        return _plain(x.item())
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


def canonical_json(obj) -> str:
    """Sorted keys, no spaces, NaN as null, dates as ISO text: the same content gives the same text."""
    return json.dumps(_plain(obj), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
