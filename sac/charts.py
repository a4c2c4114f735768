"""Plotly figure builders for the SAC dashboards: frames in, ``go.Figure`` out.

Pure functions: no Streamlit, no SQL, no metric arithmetic (the metrics modules
compute scores, RAG and shares; these functions only draw them). Every visible
word comes from the caller: titles as arguments, legend and hover words through
a ``labels`` mapping whose English defaults are listed in each function's
``DEFAULT_LABELS``; pages pass translated texts (``t("ns.key", lang)``).

``lang`` sets plotly's number separators (``1,234.5`` in English, ``1 234,5``
with a non-breaking space in Russian and Kazakh, the same as ``sac.i18n``) and
every date axis shows dd.mm.yyyy.

Colour rules (METHODOLOGY.md section 2, BRIEF "lower is better shown in red by
mistake"):

* RAG uses the Okabe-Ito colour-blind-safe palette (``RAG_COLOURS``) and colour is
  never the only carrier: every RAG mark carries ``RAG_ICONS`` and a word
  (``rag_label``).
* Continuous colour is always a *score* 0-100 (already oriented by direction,
  ``S = 100·min(A, 1)``), never a raw value, so a "down" indicator with a high
  raw value and a low score is drawn low. The sequential scale is blue (no grey in
  it), so grey is free to mean "no data", which is also hatched and written out.
* Missing is missing: a NaN is drawn as a labelled "no data" mark, never as 0.

Text is text: plotly reads a subset of HTML (``<a href>``, ``<b>``, ``<br>``, ``<span style>``) and template
variables (``%{…}``) in every label, hover, tick, legend and title. Every text these functions are given (names
from the data, titles and words from the caller) goes through :func:`plain` before it reaches the figure, so a
region called ``<a href="…">x</a>`` reads as those characters and never becomes a link; the markup in the
figures is the builders' own.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "RAG_COLOURS", "RAG_ICONS", "RAG_TEXT", "SCORE_COLOURSCALE", "NO_DATA_COLOUR", "SEPARATORS", "DATE_TICKFORMAT",
    "TILE_GRID", "REGION_SHORT", "plain", "rag_label", "normalise_rag", "score_colours", "separators", "chart_config",
    "tile_map", "rating_dots", "rank_history", "indicator_series", "plan_fact_bars", "cumulative_execution",
    "execution_bars", "project_timeline", "goal_sunburst", "ratio_bars", "spike_bars",
]

# --- palette ---------------------------------------------------------------------------------------------------

#: Okabe-Ito colours for RAG: achieved = bluish green, close = orange, lagging = vermillion, no data = grey.
RAG_COLOURS: dict[str, str] = {"green": "#009E73", "amber": "#E69F00", "red": "#D55E00", "grey": "#999999"}
#: The icon that goes with every RAG colour (colour is never the only carrier, METHODOLOGY.md section 2).
RAG_ICONS: dict[str, str] = {"green": "✓", "amber": "!", "red": "✗", "grey": "○"}
#: English default words for the RAG states; pages pass translations.
RAG_TEXT: dict[str, str] = {"green": "achieved", "amber": "close", "red": "lagging", "grey": "no data"}
RAG_ORDER = ("green", "amber", "red", "grey")
NO_DATA_COLOUR = RAG_COLOURS["grey"]
_NO_DATA_FILL = "#EEEEEE"
_INK = "#222222"
_NEUTRAL = "#0072B2"        # Okabe-Ito blue: a bar that carries no judgement
_PLAN = "#666666"
_PROJECTION = "#CC79A7"     # Okabe-Ito reddish purple: distinct from every RAG colour
#: Okabe-Ito colours for lines, those that read as RAG (orange, green, vermillion) last.
QUALITATIVE = ["#0072B2", "#CC79A7", "#56B4E9", "#000000", "#E69F00", "#009E73", "#D55E00", "#F0E442"]

#: Sequential blue scale for scores 0-100 (light = low, dark = high); it contains no grey.
SCORE_COLOURSCALE: list[list] = [
    [0.0, "#F1F6FC"], [0.2, "#C6DBEF"], [0.4, "#8FBFE0"], [0.6, "#4A98C9"], [0.8, "#1764AB"], [1.0, "#08306B"],
]

#: plotly ``layout.separators``: decimal mark then thousands mark (the same as ``sac.i18n.fmt_number``).
SEPARATORS: dict[str, str] = {"en": ".,", "ru": ",\u00a0", "kk": ",\u00a0"}
DATE_TICKFORMAT = "%d.%m.%Y"


def separators(lang: str) -> str:
    """plotly ``layout.separators`` for ``lang`` (unknown languages get the English ones)."""
    return SEPARATORS.get(lang, SEPARATORS["en"])


def normalise_rag(rag) -> pd.Series | str:
    """Map RAG codes to ``green``/``amber``/``red``/``grey``; missing or unknown is ``grey`` (no data).

    Accepts a scalar or a Series; case-insensitive.
    """
    if isinstance(rag, pd.Series):
        s = rag.astype("string").str.strip().str.lower()
        return s.where(s.isin(["green", "amber", "red"]), "grey").fillna("grey").astype(object)
    if rag is None or (isinstance(rag, float) and np.isnan(rag)) or rag is pd.NA:
        return "grey"
    r = str(rag).strip().lower()
    return r if r in ("green", "amber", "red") else "grey"


def rag_label(rag, text: str | None = None) -> str:
    """The icon of ``rag`` followed by ``text`` (default: the English RAG word), e.g. ``"✗ lagging"``."""
    r = normalise_rag(rag)
    return f"{RAG_ICONS[r]} {RAG_TEXT[r] if text is None else text}"


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


_SCALE_POS = np.array([p for p, _ in SCORE_COLOURSCALE])
_SCALE_RGB = np.array([_hex_to_rgb(c) for _, c in SCORE_COLOURSCALE], dtype=float)


def _score_rgb(scores) -> np.ndarray:
    x = np.clip(np.asarray(pd.to_numeric(pd.Series(scores), errors="coerce"), dtype=float) / 100.0, 0.0, 1.0)
    return np.stack([np.interp(x, _SCALE_POS, _SCALE_RGB[:, k]) for k in range(3)], axis=1)


def score_colours(scores) -> list[str]:
    """Hex colours of scores 0-100 on ``SCORE_COLOURSCALE`` (clipped); NaN gives ``NO_DATA_COLOUR``."""
    rgb = np.rint(np.nan_to_num(_score_rgb(scores))).astype(int)
    missing = pd.isna(pd.to_numeric(pd.Series(scores), errors="coerce")).to_numpy()
    hexes = pd.Series([f"#{r:02X}{g:02X}{b:02X}" for r, g, b in rgb.clip(0, 255)], dtype=object)
    return hexes.where(~missing, NO_DATA_COLOUR).tolist()


def _text_on(scores) -> list[str]:
    """Dark ink on light tiles, white on dark ones (relative luminance of the score colour)."""
    rgb = _score_rgb(scores) / 255.0
    lum = 0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]
    return np.where(lum < 0.45, "#FFFFFF", _INK).tolist()


def plain(text) -> str:
    """``text`` as plotly shows it literally: ``< > &`` as entities and the braces of ``%{…}`` as character
    references (plotly turns both back into the characters when it draws)."""
    return html.escape(str(text), quote=False).replace("{", "&#123;").replace("}", "&#125;")


def _plain(s: pd.Series) -> pd.Series:
    """:func:`plain` over a column of texts; missing stays missing."""
    return s.astype(object).map(lambda x: x if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA
                                else plain(x))


def _labels(defaults: Mapping[str, str], labels: Mapping[str, str] | None) -> dict[str, str]:
    out = dict(defaults)
    if labels:
        out.update(labels)
    return {k: plain(v) for k, v in out.items()}


def _rag_texts(labels: Mapping[str, str]) -> dict[str, str]:
    return {r: labels.get(f"rag_{r}", RAG_TEXT[r]) for r in RAG_ORDER}


def _require(df: pd.DataFrame, cols: Sequence[str], func: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{func}: missing columns {missing}; got {list(df.columns)}")


def _layout(fig: go.Figure, lang: str, title: str | None = None, **kw) -> go.Figure:
    """The house layout: separators for ``lang``, white template, title as ``dict(text=...)`` (plotly 7),
    legend above the plot (below the title)."""
    kw.setdefault("legend", dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"))
    fig.update_layout(
        separators=separators(lang),
        template="plotly_white",
        font=dict(family="Inter, 'Segoe UI', Arial, sans-serif", size=13, color=_INK),
        title=dict(text=plain(title), x=0, xanchor="left") if title else None,
        margin=dict(l=10, r=10, t=80 if title else 40, b=10),
        hoverlabel=dict(bgcolor="white"),
        **kw,
    )
    return fig


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def chart_config(filename: str) -> dict:
    """``st.plotly_chart(config=...)``: the toolbar's camera saves ``<filename>.png`` (2x); no plotly logo."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    }


# --- tile map ----------------------------------------------------------------------------------------------------

#: KATO code -> (column, row) on a 6 x 5 tile grid of Kazakhstan; row 0 is the north, column 0 the west.
#: West: WKO, Atyrau, Mangystau, Aktobe; north: Kostanay, NKO, Akmola (Astana beside it), Pavlodar; east: Abai,
#: EKO; centre: Ulytau, Karaganda; south: Kyzylorda, Turkistan (Shymkent below), Zhambyl, Almaty region
#: (Almaty city below), Zhetysu.
TILE_GRID: dict[str, tuple[int, int]] = {
    "39": (1, 0), "59": (2, 0), "55": (4, 0),
    "27": (0, 1), "15": (1, 1), "11": (2, 1), "71": (3, 1), "10": (4, 1), "63": (5, 1),
    "23": (0, 2), "62": (2, 2), "35": (3, 2), "33": (4, 2),
    "47": (0, 3), "43": (1, 3), "61": (2, 3), "31": (3, 3), "19": (4, 3),
    "79": (2, 4), "75": (4, 4),
}

#: Short tile names by KATO code and language (reference data, like the names in regions.csv).
REGION_SHORT: dict[str, dict[str, str]] = {
    "10": {"en": "Abai", "ru": "Абай", "kk": "Абай"},
    "11": {"en": "Akmola", "ru": "Акмола", "kk": "Ақмола"},
    "15": {"en": "Aktobe", "ru": "Актобе", "kk": "Ақтөбе"},
    "19": {"en": "Almaty reg.", "ru": "Алм. обл.", "kk": "Алм. обл."},
    "23": {"en": "Atyrau", "ru": "Атырау", "kk": "Атырау"},
    "27": {"en": "WKO", "ru": "ЗКО", "kk": "БҚО"},
    "31": {"en": "Zhambyl", "ru": "Жамбыл", "kk": "Жамбыл"},
    "33": {"en": "Zhetysu", "ru": "Жетысу", "kk": "Жетісу"},
    "35": {"en": "Karaganda", "ru": "Караганда", "kk": "Қарағанды"},
    "39": {"en": "Kostanay", "ru": "Костанай", "kk": "Қостанай"},
    "43": {"en": "Kyzylorda", "ru": "Кызылорда", "kk": "Қызылорда"},
    "47": {"en": "Mangystau", "ru": "Мангистау", "kk": "Маңғыстау"},
    "55": {"en": "Pavlodar", "ru": "Павлодар", "kk": "Павлодар"},
    "59": {"en": "NKO", "ru": "СКО", "kk": "СҚО"},
    "61": {"en": "Turkistan", "ru": "Туркестан", "kk": "Түркістан"},
    "62": {"en": "Ulytau", "ru": "Улытау", "kk": "Ұлытау"},
    "63": {"en": "EKO", "ru": "ВКО", "kk": "ШҚО"},
    "71": {"en": "Astana", "ru": "Астана", "kk": "Астана"},
    "75": {"en": "Almaty", "ru": "Алматы", "kk": "Алматы"},
    "79": {"en": "Shymkent", "ru": "Шымкент", "kk": "Шымкент"},
}

REGIONS_CSV = Path(__file__).resolve().parent / "reference" / "regions.csv"

#: the default words and icon of a tile the reader may not see (a project office's map): not "no data"
OUT_OF_SCOPE_TEXT = "not in your scope"
OUT_OF_SCOPE_ICON = "⊘"
_OUT_OF_SCOPE_INK = "#777777"


def region_codes() -> list[str]:
    """The KATO codes of the 17 regions and 3 cities, as listed in ``sac/reference/regions.csv``."""
    with REGIONS_CSV.open(encoding="utf-8") as f:
        return [row["kato"] for row in csv.DictReader(f)]


def _kato(s: pd.Series) -> pd.Series:
    """KATO codes as strings: 10, 10.0 and '10' are one region."""
    num = pd.to_numeric(s, errors="coerce")
    as_int = num.round().astype("Int64").astype("string")
    return as_int.where(num.notna(), s.astype("string").str.strip()).astype(object)


def tile_map(df: pd.DataFrame, value_col: str, label_col: str | None = None, hover_col: str | None = None, *,
             kato_col: str = "kato", score_col: str | None = None, lang: str = "en", value_format: str = ".1f",
             value_suffix: str = "", title: str | None = None, colorbar_title: str | None = None,
             no_data_text: str = RAG_TEXT["grey"], height: int = 520, out_of_scope: Collection[str] = (),
             out_of_scope_text: str = OUT_OF_SCOPE_TEXT) -> go.Figure:
    """A tile-grid map of Kazakhstan's 20 regions and cities, coloured by a score 0-100.

    Input ``df`` (one row per unit; rows whose KATO code is not one of the 20 are ignored):

    * ``kato_col`` (default ``kato``): KATO code, '10' ... '79' (str or int);
    * ``value_col``: the number written on the tile; it is also the colour when ``score_col`` is None,
      and then it must be a score 0-100;
    * ``score_col`` (optional): the score 0-100 that colours the tile (direction-aware, so a "down"
      indicator is never coloured by its raw value); ``value_col`` then may be the raw value;
    * ``label_col`` (optional): the tile's short name; default ``REGION_SHORT[kato][lang]``;
    * ``hover_col`` (optional): the hover text (plain text, shown as written); default "label: value".

    Every one of the 20 tiles is drawn; a tile with no row or no score is grey, hatched and reads "○ no data"
    (``no_data_text``), never 0. Each tile's ``customdata[0]`` is its KATO code, so
    ``st.plotly_chart(..., on_select="rerun")`` selection points name the region. Two traces: 0 = scored
    tiles (with the colour bar), 1 = tiles with no data. No map tiles or network are needed.

    ``out_of_scope``: KATO codes the reader may not see (a project office's map). Their tiles are neither
    scored nor "no data": white, dotted, no figure, their name over "⊘", and a legend entry and hover of their
    own, "⊘ not in your scope" (``out_of_scope_text``); a row given for such a code is ignored. They are trace 2, present only
    when ``out_of_scope`` names a tile.
    """
    _require(df, [kato_col, value_col] + [c for c in (label_col, hover_col, score_col) if c], "tile_map")
    d = df.copy()
    d["_kato"] = _kato(d[kato_col])
    d = d[d["_kato"].isin(list(TILE_GRID))]
    if d["_kato"].duplicated().any():
        raise ValueError(f"tile_map: duplicate KATO codes {sorted(d.loc[d['_kato'].duplicated(), '_kato'])}")
    grid = pd.DataFrame(
        [(k, c, r, REGION_SHORT[k].get(lang, REGION_SHORT[k]["en"])) for k, (c, r) in TILE_GRID.items()],
        columns=["_kato", "col", "row", "_short"],
    )
    hidden = {str(k) for k in _kato(pd.Series(list(out_of_scope), dtype=object))} & set(TILE_GRID)
    outside = grid[grid["_kato"].isin(hidden)].reset_index(drop=True)
    grid = grid[~grid["_kato"].isin(hidden)]
    g = grid.merge(d, on="_kato", how="left")
    g["_value"] = pd.to_numeric(g[value_col], errors="coerce") if value_col in g else np.nan
    g["_score"] = pd.to_numeric(g[score_col], errors="coerce") if score_col else g["_value"]
    g["_label"] = _plain(g[label_col].astype(object).where(g[label_col].notna(), g["_short"]) if label_col
                         else g["_short"])
    if hover_col:
        g[hover_col] = _plain(g[hover_col])
    no_data_text = plain(no_data_text)
    scored = g[g["_score"].notna()].reset_index(drop=True)
    empty = g[g["_score"].isna()].reset_index(drop=True)

    def hover(part: pd.DataFrame, fallback: pd.Series) -> pd.Series:
        if hover_col:
            return part[hover_col].astype(object).where(part[hover_col].notna(), fallback)
        return fallback

    fig = go.Figure()
    tile = dict(width=0.92, orientation="v", textposition="inside", insidetextanchor="middle", textangle=0,
                constraintext="none")
    # value text goes through plotly's own formatter, so the separators follow ``lang``
    val_fmt = f"%{{customdata[2]:{value_format}}}{value_suffix}"
    missing_value = scored["_value"].isna()
    text_tpl = np.where(missing_value, "<b>%{customdata[1]}</b>", f"<b>%{{customdata[1]}}</b><br>{val_fmt}")
    fig.add_trace(go.Bar(
        x=scored["col"], y=np.full(len(scored), 0.92), base=-scored["row"] - 0.46,
        customdata=np.column_stack([scored["_kato"], scored["_label"], scored["_value"],
                                    hover(scored, scored["_label"].astype(str))]) if len(scored) else None,
        texttemplate=text_tpl.tolist(),
        hovertemplate=np.where(missing_value | bool(hover_col), "%{customdata[3]}<extra></extra>",
                               f"%{{customdata[3]}}: {val_fmt}<extra></extra>").tolist(),
        textfont=dict(color=_text_on(scored["_score"]), size=12),
        marker=dict(color=scored["_score"], colorscale=SCORE_COLOURSCALE, cmin=0, cmax=100,
                    line=dict(color="white", width=1),
                    colorbar=dict(title=dict(text=plain(colorbar_title)) if colorbar_title else None, thickness=14,
                                  len=0.7, y=0.55)),
        showlegend=False, name="", **tile,
    ))
    fig.add_trace(go.Bar(
        x=empty["col"], y=np.full(len(empty), 0.92), base=-empty["row"] - 0.46,
        customdata=np.column_stack([empty["_kato"], empty["_label"], empty["_value"],
                                    hover(empty, empty["_label"].astype(str))]) if len(empty) else None,
        texttemplate=f"<b>%{{customdata[1]}}</b><br><span style='font-size:10px'>{RAG_ICONS['grey']} {no_data_text}</span>",
        hovertemplate=f"%{{customdata[3]}}: {no_data_text}<extra></extra>",
        textfont=dict(color=_INK, size=12),
        marker=dict(color=_NO_DATA_FILL, line=dict(color=NO_DATA_COLOUR, width=1),
                    pattern=dict(shape="/", fgcolor=NO_DATA_COLOUR, size=8, solidity=0.15)),
        name=rag_label("grey", no_data_text), showlegend=len(empty) > 0, **tile,
    ))
    if len(outside):
        scope_text = f"{OUT_OF_SCOPE_ICON} {plain(out_of_scope_text)}"
        outside["_label"] = _plain(outside["_short"])
        fig.add_trace(go.Bar(
            x=outside["col"], y=np.full(len(outside), 0.92), base=-outside["row"] - 0.46,
            customdata=np.column_stack([outside["_kato"], outside["_label"]]),
            # the icon alone on the tile (the words do not fit 19 times over); the legend and the hover say them
            texttemplate=f"<b>%{{customdata[1]}}</b><br>{OUT_OF_SCOPE_ICON}",
            hovertemplate=f"%{{customdata[1]}}: {scope_text}<extra></extra>",
            textfont=dict(color=_OUT_OF_SCOPE_INK, size=12),
            marker=dict(color="#FFFFFF", line=dict(color=_OUT_OF_SCOPE_INK, width=1),
                        pattern=dict(shape=".", fgcolor="#BBBBBB", size=6, solidity=0.1)),
            name=scope_text, showlegend=True, **tile,
        ))
    _layout(fig, lang, title, height=height, barmode="overlay", bargap=0, dragmode=False,
            uniformtext=dict(minsize=9, mode="show"))
    fig.update_xaxes(visible=False, range=[-0.5, 5.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-4.5, 0.5], fixedrange=True, scaleanchor="x", scaleratio=1)
    return fig


# --- ratings -----------------------------------------------------------------------------------------------------

RATING_LABELS = {"score": "Score", "rank_band": "Rank (5th-95th percentile band)", "rank": "rank",
                 "median_rank": "median rank", "band": "rank band", "not_rated": "Not rated (insufficient data)",
                 "coverage": "coverage"}


def rating_dots(df: pd.DataFrame, *, lang: str = "en", labels: Mapping[str, str] | None = None,
                title: str | None = None, score_format: str = ".1f") -> go.Figure:
    """Units sorted by rank: score dots (left panel) and the robustness rank band (right panel).

    Input columns: ``unit_name``, ``score`` (0-100), ``rank`` (competition rank, NaN when not rated);
    optional ``rank_label`` (e.g. "=2", shown on the axis), ``rank_p05``, ``rank_p95``, ``rank_median``
    (METHODOLOGY.md section 3.7) and ``coverage`` (0-1). A unit whose ``rank`` or ``score`` is missing is
    not rated: it gets no dot, and a note under the chart lists it with its coverage (section 3.4).
    ``labels`` keys: see ``RATING_LABELS``. Traces: 0 score dots, 1 band bars, 2 median rank, 3 rank.
    """
    _require(df, ["unit_name", "score", "rank"], "rating_dots")
    lab = _labels(RATING_LABELS, labels)
    d = df.copy()
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    d["rank"] = pd.to_numeric(d["rank"], errors="coerce")
    rated = d[d["score"].notna() & d["rank"].notna()].sort_values(["rank", "unit_name"], kind="stable")
    not_rated = d.drop(rated.index)
    if "rank_label" in rated:
        rl = rated["rank_label"].astype(object).where(rated["rank_label"].notna(),
                                                      rated["rank"].astype("Int64").astype(str))
    else:
        rl = rated["rank"].astype("Int64").astype(str)
    ylab = _plain(rl.astype(str) + ". " + rated["unit_name"].astype(str)).tolist()
    for c in ("rank_p05", "rank_p95", "rank_median"):
        rated[c] = pd.to_numeric(rated[c], errors="coerce") if c in rated else np.nan

    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, column_widths=[0.55, 0.45],
                        subplot_titles=(lab["score"], lab["rank_band"]))
    fig.add_trace(go.Scatter(
        x=rated["score"], y=ylab, mode="markers+text", text=None,
        texttemplate=f"%{{x:{score_format}}}", textposition="middle right",
        marker=dict(size=11, color=score_colours(rated["score"]), line=dict(color=_INK, width=1)),
        hovertemplate=f"%{{y}}<br>{lab['score']}: %{{x:{score_format}}}<extra></extra>", name=lab["score"],
        showlegend=False, cliponaxis=False,  # a label right of a dot near 100 ('99.2') is not cut to '99'
    ), row=1, col=1)
    width = rated["rank_p95"] - rated["rank_p05"]
    fig.add_trace(go.Bar(
        x=width.where(width > 0, 0.15), base=rated["rank_p05"].where(width > 0, rated["rank_p05"] - 0.075),
        y=ylab, orientation="h", width=0.5, marker=dict(color="#9ECAE1", line=dict(color="#4A98C9", width=1)),
        customdata=np.column_stack([rated["rank_p05"], rated["rank_p95"]]) if len(rated) else None,
        hovertemplate=f"%{{y}}<br>{lab['band']}: %{{customdata[0]:.0f}}-%{{customdata[1]:.0f}}<extra></extra>",
        name=lab["band"],
    ), row=1, col=2)
    fig.add_trace(go.Scatter(
        x=rated["rank_median"], y=ylab, mode="markers", name=lab["median_rank"],
        marker=dict(symbol="line-ns-open", size=14, color=_INK, line=dict(width=2)),
        hovertemplate=f"%{{y}}<br>{lab['median_rank']}: %{{x:.1f}}<extra></extra>",
    ), row=1, col=2)
    fig.add_trace(go.Scatter(
        x=rated["rank"], y=ylab, mode="markers", name=lab["rank"],
        marker=dict(symbol="circle", size=8, color=_NEUTRAL),
        hovertemplate=f"%{{y}}<br>{lab['rank']}: %{{x:.0f}}<extra></extra>",
    ), row=1, col=2)
    n = max(len(rated), 1)
    _layout(fig, lang, title, height=max(260, 26 * n + 160), barmode="overlay",
            legend=dict(orientation="h", yanchor="top", y=-0.06, x=1, xanchor="right"))  # x=0.55 pushed the margin at ~1024 px
    fig.update_yaxes(categoryorder="array", categoryarray=ylab, autorange="reversed", type="category")
    fig.update_xaxes(range=[0, 115], tickvals=[0, 20, 40, 60, 80, 100], row=1, col=1, showgrid=True)  # room for labels
    hi = float(np.nanmax([rated["rank"].max(), rated["rank_p95"].max(), 1.0])) if len(rated) else 1.0
    fig.update_xaxes(range=[0.5, hi + 0.5], dtick=1 if hi <= 25 else None, row=1, col=2)
    if len(not_rated):
        cov = pd.to_numeric(not_rated["coverage"], errors="coerce") if "coverage" in not_rated else None
        names = _plain(not_rated["unit_name"].astype(str))
        if cov is not None:
            names = names.where(cov.isna(), names + " (" + lab["coverage"] + " " + (cov * 100).round().astype(
                "Int64").astype(str) + "%)")
        fig.add_annotation(text=f"<i>{lab['not_rated']}:</i> " + "; ".join(names.tolist()), xref="paper",
                           yref="paper", x=0, y=-0.07, yanchor="top", showarrow=False, align="left",
                           font=dict(size=12, color="#555555"))
        fig.update_layout(margin=dict(b=80), legend=dict(y=-0.12))
    return fig


# --- territory breaks (issue 9) ----------------------------------------------------------------------------------

#: the default words of a territory break line ('{year}' is filled in)
BREAK_LABEL = "territory changed {year}"
_BREAK_LINE = dict(color=_INK, dash="dash", width=1.5)


def _year_of(x) -> int | None:
    """The calendar year of a period code ('2022', '2022-Q3', '2022-07') or a date; None when neither."""
    if isinstance(x, (pd.Timestamp, _dt.date)):
        return int(x.year)
    text = str(x)
    return int(text[:4]) if text[:4].isdigit() else None


def _visible_breaks(years: Sequence[int | None], breaks: Sequence[int] | None) -> list[int]:
    """The break years with data on both sides: some value of a year before it and some of it or after
    (a line where the series starts or after it ends marks nothing in the figure)."""
    have = [y for y in years if y is not None]
    if not breaks or not have:
        return []
    return sorted({int(b) for b in breaks if min(have) < int(b) <= max(have)})


def _break_line(fig: go.Figure, x, label: str, year: int, units: Sequence[str] = (), *, above: bool = False) -> None:
    """A dashed vertical line at ``x`` (axis units) and its label at the top of the plot, right of the line
    (``above``: over the plot, where no line runs: a rank history's rank 1 is its top edge); ``units``: the names
    whose line it breaks, shown when the label is hovered."""
    fig.add_shape(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=_BREAK_LINE)
    fig.add_annotation(x=x, xref="x", y=1, yref="paper", text=plain(str(label).replace("{year}", str(year))),
                       showarrow=False, xanchor="left", yanchor="bottom" if above else "top", xshift=4, align="left",
                       font=dict(size=11, color=_INK), bgcolor="rgba(255,255,255,0.8)",
                       hovertext="<br>".join(plain(u) for u in units) or None)


def rank_history(df: pd.DataFrame, *, lang: str = "en", highlight: Sequence[str] | None = None,
                 title: str | None = None, rank_title: str | None = None, breaks: Sequence[int] | None = None,
                 break_label: str = BREAK_LABEL, unit_breaks: Mapping[str, Sequence[int]] | None = None) -> go.Figure:
    """Rank over periods, one line per unit, rank 1 on top.

    Input columns: ``period`` (a code such as '2024-Q3' or a date), ``unit_name``, ``rank`` (NaN = not rated
    that period: a gap in the line, not a rank). ``highlight``: units drawn in colour, the rest in light grey.

    Territory breaks (:func:`sac.metrics.territory.break_years`): ``unit_breaks`` maps a unit name to the years
    its territory changed (the all-region chart); ``breaks`` gives the years of every unit without an entry
    there (one region's history). A unit's line never joins a rank before such a year to one of it or after
    (the new territory's rank is another series); each year where some unit has ranks on both sides is a dashed
    line between the last period before the year and the first of it, labelled ``break_label`` ('{year}'
    filled in), once however many units it breaks; its hover names them.
    """
    _require(df, ["period", "unit_name", "rank"], "rank_history")
    d = df.copy()
    d["rank"] = pd.to_numeric(d["rank"], errors="coerce")
    periods = sorted(d["period"].dropna().unique().tolist())
    d = d.sort_values(["unit_name", "period"], kind="stable")
    units = d["unit_name"].drop_duplicates().tolist()
    hl = set(highlight or [])
    # Colours go to the coloured lines in turn, so two highlighted units never share one (numbering every
    # unit gave Almaty and Mangystau, 3rd and 11th of 20, the same black).
    coloured = [u for u in units if not hl or u in hl]
    colour_of = {u: QUALITATIVE[i % len(QUALITATIVE)] for i, u in enumerate(coloured)}
    categorical = bool(periods) and not isinstance(periods[0], (pd.Timestamp, _dt.date))
    broken: dict[int, list[str]] = {}      # break year -> the units whose line it breaks
    fig = go.Figure()
    for u in units:  # one trace per unit (tens at most), not per row
        part = d[d["unit_name"] == u]
        grey = u not in colour_of
        colour = "#CCCCCC" if grey else colour_of[u]
        own = (unit_breaks or {}).get(u, breaks)
        years = [_year_of(p) for p in part["period"]]
        cut = _visible_breaks([y for y, r in zip(years, part["rank"], strict=True) if pd.notna(r)], own)
        for year in cut:
            broken.setdefault(year, []).append(str(u))
        x, y = _split_at(part["period"].tolist(), part["rank"].astype("float64").tolist(), years, cut)
        if categorical:
            x = [None if v is None else plain(v) for v in x]
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name=plain(u), connectgaps=False,
            line=dict(color=colour, width=1.5 if grey else 2.5), marker=dict(size=6 if grey else 8),
            hovertemplate=f"{plain(u)}<br>%{{x}}: %{{y:.0f}}<extra></extra>",
        ))
    hi = d["rank"].max()
    _layout(fig, lang, title, height=420)
    fig.update_yaxes(autorange=False, range=[(hi if pd.notna(hi) else 1) + 0.5, 0.5],
                     dtick=1 if pd.notna(hi) and hi <= 25 else None,
                     title=dict(text=plain(rank_title)) if rank_title else None)
    if categorical:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=[plain(p) for p in periods])
        years = [_year_of(p) for p in periods]
        for year in sorted(broken):
            first = next(i for i, y in enumerate(years) if y is not None and y >= year)
            _break_line(fig, first - 0.5, break_label, year, broken[year], above=True)  # between two categories
    else:
        fig.update_xaxes(tickformat=DATE_TICKFORMAT)
        for year in sorted(broken):
            _break_line(fig, f"{year}-01-01", break_label, year, broken[year], above=True)
    fig.update_layout(legend=dict(orientation="v", y=1, x=1.02, yanchor="top"))
    return fig


def _split_at(x: list, y: list, years: list[int | None], cut: Sequence[int]) -> tuple[list, list]:
    """The points of one line with a gap (a point at the first period of the year, rank NaN) before the first
    period of each year in ``cut``: with ``connectgaps=False`` plotly starts the line afresh there."""
    if not cut:
        return x, y
    out_x, out_y, pending = [], [], sorted(cut)
    for xi, yi, year in zip(x, y, years, strict=True):
        if pending and year is not None and year >= pending[0] and out_x:
            out_x.append(xi)
            out_y.append(np.nan)
        while pending and year is not None and year >= pending[0]:
            pending.pop(0)
        out_x.append(xi)
        out_y.append(yi)
    return out_x, out_y


# --- indicators --------------------------------------------------------------------------------------------------

SERIES_LABELS = {"plan": "plan", "fact": "fact", "target": "target", "projection": "projection",
                 "territory_break": BREAK_LABEL}


def indicator_series(df: pd.DataFrame, target_value: float | None = None, target_year: int | None = None,
                     projection: pd.DataFrame | float | None = None, unit_of_measure: str | None = None, *,
                     lang: str = "en", labels: Mapping[str, str] | None = None, title: str | None = None,
                     value_format: str = ",.1f", date_tickformat: str = DATE_TICKFORMAT,
                     breaks: Sequence[int] | None = None) -> go.Figure:
    """One indicator for one unit over time: plan dashed, fact as markers and line, target, projection.

    Input columns: ``period_start`` or ``date`` (the x position), ``plan``, ``fact`` (NaN = no data: a gap,
    never 0). ``target_value`` at ``target_year`` is drawn as a star on 1 January of that year (the
    ``period_start`` of the year) and a dotted goal line. ``projection`` is either a frame with columns
    ``date`` (or ``period_start``) and ``value``, or the projected value at ``target_year`` (drawn from the
    last fact). ``unit_of_measure`` titles the y axis. Trace names come from ``labels``
    (``SERIES_LABELS`` keys).

    ``breaks``: the years the unit's territory changed (:func:`sac.metrics.territory.break_years`; none for
    the country). Each one with a plan or fact on both sides is a dashed vertical line on 1 January of that
    year, where the new territory's values begin, labelled ``labels['territory_break']`` with ``{year}``
    filled in ('territory changed 2022').
    """
    xcol = "period_start" if "period_start" in df.columns else "date"
    _require(df, [xcol, "plan", "fact"], "indicator_series")
    lab = _labels(SERIES_LABELS, labels)
    unit_of_measure = plain(unit_of_measure) if unit_of_measure else None
    d = df.copy()
    d["_x"] = _dates(d[xcol])
    d = d.sort_values("_x", kind="stable")
    hv = f"%{{x|{DATE_TICKFORMAT}}}: %{{y:{value_format}}}" + (f" {unit_of_measure}" if unit_of_measure else "")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=d["_x"], y=pd.to_numeric(d["plan"], errors="coerce"), mode="lines+markers",
                             name=lab["plan"], line=dict(color=_PLAN, dash="dash", width=2),
                             marker=dict(symbol="circle-open", size=7), connectgaps=False,
                             hovertemplate=f"{lab['plan']}<br>{hv}<extra></extra>"))
    fact = pd.to_numeric(d["fact"], errors="coerce")
    fig.add_trace(go.Scatter(x=d["_x"], y=fact, mode="lines+markers", name=lab["fact"],
                             line=dict(color=_NEUTRAL, width=2.5), marker=dict(size=9), connectgaps=False,
                             hovertemplate=f"{lab['fact']}<br>{hv}<extra></extra>"))
    target_x = pd.Timestamp(int(target_year), 1, 1) if target_year is not None else None
    if projection is not None:
        if isinstance(projection, pd.DataFrame):
            pc = "date" if "date" in projection.columns else "period_start"
            _require(projection, [pc, "value"], "indicator_series projection")
            px_, py_ = _dates(projection[pc]), pd.to_numeric(projection["value"], errors="coerce")
        else:
            last = d[fact.notna()].tail(1)
            if target_x is None or last.empty or pd.isna(projection):
                px_, py_ = pd.Series([], dtype="datetime64[ns]"), pd.Series([], dtype=float)
            else:
                px_ = pd.Series([last["_x"].iloc[0], target_x])
                py_ = pd.Series([float(fact[last.index].iloc[0]), float(projection)])
        fig.add_trace(go.Scatter(x=px_, y=py_, mode="lines+markers", name=lab["projection"],
                                 line=dict(color=_PROJECTION, dash="dot", width=2),
                                 marker=dict(symbol="diamond", size=8),
                                 hovertemplate=f"{lab['projection']}<br>{hv}<extra></extra>"))
    if target_value is not None and not pd.isna(target_value):
        fig.add_hline(y=float(target_value), line=dict(color=_INK, dash="dot", width=1))
        if target_x is not None:
            fig.add_trace(go.Scatter(x=[target_x], y=[float(target_value)], mode="markers+text",
                                     name=lab["target"], marker=dict(symbol="star", size=16, color=_INK),
                                     text=[lab["target"]], textposition="top center",
                                     hovertemplate=f"{lab['target']}<br>{hv}<extra></extra>"))
    valued = d["_x"][(pd.to_numeric(d["plan"], errors="coerce").notna() | fact.notna()).to_numpy(bool)]
    for year in _visible_breaks([x.year for x in valued.dropna()], breaks):
        # the label is the caller's text (already plain() in ``lab``): fill the year in before escaping
        raw = (labels or {}).get("territory_break", SERIES_LABELS["territory_break"])
        _break_line(fig, f"{year}-01-01", raw, year)
    _layout(fig, lang, title, height=420)
    fig.update_xaxes(type="date", tickformat=date_tickformat, hoverformat=DATE_TICKFORMAT)
    fig.update_yaxes(title=dict(text=unit_of_measure) if unit_of_measure else None, tickformat=",")
    return fig


PLAN_FACT_LABELS = {"plan": "plan", "fact": "fact", **{f"rag_{k}": v for k, v in RAG_TEXT.items()}}


def plan_fact_bars(df: pd.DataFrame, *, lang: str = "en", labels: Mapping[str, str] | None = None,
                   title: str | None = None, value_format: str = ",.1f", unit_of_measure: str | None = None,
                   ) -> go.Figure:
    """Plan and fact per unit for one indicator and period, horizontal grouped bars, fact coloured by RAG.

    Input columns: ``unit_name``, ``plan``, ``fact``, ``rag`` ('green'/'amber'/'red', missing = no data) as
    computed by ``sac.metrics.plan_fact`` (direction-aware: a "down" indicator's fact above plan is red).
    Units keep the input order (top to bottom). Every fact bar's text is "<icon> <word>" of its RAG
    (``labels`` keys ``rag_green`` ... ``rag_grey``); a unit with no fact gets no bar but the text
    "○ no data" at zero. Traces: 0 plan, then one per RAG present (name = "<icon> <word>").
    """
    _require(df, ["unit_name", "plan", "fact", "rag"], "plan_fact_bars")
    lab = _labels(PLAN_FACT_LABELS, labels)
    words = _rag_texts(lab)
    unit_of_measure = plain(unit_of_measure) if unit_of_measure else None
    d = df.copy()
    d["unit_name"] = _plain(d["unit_name"].astype(str))
    d["plan"] = pd.to_numeric(d["plan"], errors="coerce")
    d["fact"] = pd.to_numeric(d["fact"], errors="coerce")
    d["_rag"] = normalise_rag(d["rag"])
    d.loc[d["fact"].isna(), "_rag"] = "grey"
    order = d["unit_name"].astype(str).tolist()
    unit = f" {unit_of_measure}" if unit_of_measure else ""
    fig = go.Figure()
    fig.add_trace(go.Bar(y=d["unit_name"].astype(str), x=d["plan"], orientation="h", name=lab["plan"],
                         offsetgroup="plan", marker=dict(color="#DDDDDD", line=dict(color=_PLAN, width=1)),
                         hovertemplate=f"%{{y}}<br>{lab['plan']}: %{{x:{value_format}}}{unit}<extra></extra>"))
    for r in RAG_ORDER:
        part = d[d["_rag"] == r]
        if part.empty:
            continue
        label = rag_label(r, words[r])
        if r == "grey":
            has_fact = part["fact"].notna()
            fig.add_trace(go.Bar(
                y=part["unit_name"].astype(str), x=part["fact"].where(has_fact, 0), orientation="h", name=label,
                offsetgroup="fact", marker=dict(color=RAG_COLOURS[r]), text=[label] * len(part),
                textposition="outside", cliponaxis=False,
                hovertemplate=f"%{{y}}<br>{lab['fact']}: {label}<extra></extra>"))
            continue
        fig.add_trace(go.Bar(
            y=part["unit_name"].astype(str), x=part["fact"], orientation="h", name=label, offsetgroup="fact",
            marker=dict(color=RAG_COLOURS[r]), texttemplate=f"%{{x:{value_format}}} {label}",
            textposition="outside", cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{lab['fact']}: %{{x:{value_format}}}{unit}<br>{label}<extra></extra>"))
    _layout(fig, lang, title, height=max(260, 44 * len(d) + 120), barmode="group", bargap=0.25)
    fig.update_yaxes(categoryorder="array", categoryarray=order, autorange="reversed")
    lo = float(np.nanmin([0.0, d["plan"].min(), d["fact"].min()]))
    hi = float(np.nanmax([0.0, d["plan"].max(), d["fact"].max()]))
    span = (hi - lo) or 1.0
    fig.update_xaxes(title=dict(text=unit_of_measure) if unit_of_measure else None, tickformat=",",
                     range=[lo - (0.05 * span if lo < 0 else 0), hi + 0.4 * span])  # room for "4.5 ✓ achieved"
    return fig


# --- budget ------------------------------------------------------------------------------------------------------

BUDGET_LABELS = {"elapsed": "elapsed share of the year", "executed": "cumulative execution", "no_data": "no data",
                 "reference": "100%", "flagged": "Q4 spike", "not_flagged": "no spike", "threshold": "threshold"}


def cumulative_execution(df: pd.DataFrame, *, program_col: str | None = None, lang: str = "en",
                         labels: Mapping[str, str] | None = None, title: str | None = None,
                         month_names: Sequence[str] | None = None) -> go.Figure:
    """Cumulative execution through the year against the elapsed share of the year (the diagonal).

    Input columns: ``month`` (1-12) or ``date``; ``cum_share_spent`` (cumulative spent / year plan, 0-1,
    NaN = no data: a gap); ``elapsed_share`` (0-1). ``program_col`` (optional): one coloured line per
    program. ``month_names`` (12 strings) label the month axis. Seed 000: spending that hugs zero until
    the last quarter shows as a line far under the diagonal. Trace 0 is the diagonal.
    """
    xcol = "month" if "month" in df.columns else "date"
    _require(df, [xcol, "cum_share_spent", "elapsed_share"] + ([program_col] if program_col else []),
             "cumulative_execution")
    lab = _labels(BUDGET_LABELS, labels)
    d = df.copy()
    d["_x"] = pd.to_numeric(d[xcol], errors="coerce") if xcol == "month" else _dates(d[xcol])
    d = d.sort_values("_x", kind="stable")
    diag = d.drop_duplicates("_x")[["_x", "elapsed_share"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=diag["_x"], y=diag["elapsed_share"], mode="lines", name=lab["elapsed"],
                             line=dict(color=_PLAN, dash="dash", width=1.5),
                             hovertemplate=f"{lab['elapsed']}: %{{y:.1%}}<extra></extra>"))
    groups = d.groupby(program_col, sort=False) if program_col else [(lab["executed"], d)]
    for i, (name, part) in enumerate(groups):  # one trace per program
        name = plain(name[0] if isinstance(name, tuple) else name)
        fig.add_trace(go.Scatter(x=part["_x"], y=pd.to_numeric(part["cum_share_spent"], errors="coerce"),
                                 mode="lines+markers", name=str(name), connectgaps=False,
                                 line=dict(color=QUALITATIVE[i % len(QUALITATIVE)], width=2.5),
                                 hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>"))
    _layout(fig, lang, title, height=420)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    if xcol == "month":
        fig.update_xaxes(tickvals=list(range(1, 13)), ticktext=[plain(m) for m in month_names] if month_names else None,
                         range=[0.5, 12.5])
    else:
        fig.update_xaxes(tickformat=DATE_TICKFORMAT)
    return fig


def execution_bars(df: pd.DataFrame, *, lang: str = "en", labels: Mapping[str, str] | None = None,
                   title: str | None = None) -> go.Figure:
    """Budget execution per program (or unit) as horizontal bars with a 100% reference line.

    Input columns: ``name``, ``execution`` (spent / plan as a ratio, 1.0 = 100%; NaN = no data, drawn as
    "○ no data" text at zero, not as a 0% bar). Input order is kept, top to bottom.
    """
    _require(df, ["name", "execution"], "execution_bars")
    lab = _labels(BUDGET_LABELS, labels)
    d = df.copy()
    d["execution"] = pd.to_numeric(d["execution"], errors="coerce")
    names = _plain(d["name"].astype(str))
    has = d["execution"].notna()
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names[has], x=d.loc[has, "execution"], orientation="h", marker=dict(color=_NEUTRAL),
                         texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False, showlegend=False,
                         hovertemplate="%{y}: %{x:.1%}<extra></extra>", name=""))
    nd = rag_label("grey", lab["no_data"])
    fig.add_trace(go.Bar(y=names[~has], x=np.zeros(int((~has).sum())), orientation="h", text=[nd] * int((~has).sum()),
                         textposition="outside", cliponaxis=False, marker=dict(color=NO_DATA_COLOUR),
                         name=nd, showlegend=False, hovertemplate=f"%{{y}}: {nd}<extra></extra>"))
    fig.add_vline(x=1.0, line=dict(color=_INK, dash="dash", width=1.5), annotation_text=lab["reference"],
                  annotation_position="top")
    hi = float(d["execution"].max()) if has.any() else 1.0
    _layout(fig, lang, title, height=max(240, 34 * len(d) + 120), barmode="overlay")
    fig.update_yaxes(categoryorder="array", categoryarray=names.tolist(), autorange="reversed")
    fig.update_xaxes(tickformat=".0%", range=[0, max(1.15, hi * 1.15)])
    return fig


def spike_bars(df: pd.DataFrame, threshold: float = 0.40, *, lang: str = "en",
               labels: Mapping[str, str] | None = None, title: str | None = None) -> go.Figure:
    """Share of the year's spending made in Q4 per program, with the threshold line (seed 000; default 40%).

    Input columns: ``program``, ``q4_share`` (0-1, NaN = no data), ``flagged`` (bool, from
    ``sac.metrics.budget``; not recomputed here). Flagged bars are vermillion and read "! <share>"; the rest
    are blue. ``threshold`` should be the methodology's ``budget.spike_share``.
    Traces: 0 not flagged, 1 flagged, 2 no data.
    """
    _require(df, ["program", "q4_share", "flagged"], "spike_bars")
    lab = _labels(BUDGET_LABELS, labels)
    d = df.copy()
    d["q4_share"] = pd.to_numeric(d["q4_share"], errors="coerce")
    flagged = d["flagged"].fillna(False).astype(bool) & d["q4_share"].notna()
    has = d["q4_share"].notna()
    names = _plain(d["program"].astype(str))
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names[has & ~flagged], x=d.loc[has & ~flagged, "q4_share"], orientation="h",
                         name=lab["not_flagged"], marker=dict(color=_NEUTRAL), texttemplate="%{x:.1%}",
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    fig.add_trace(go.Bar(y=names[flagged], x=d.loc[flagged, "q4_share"], orientation="h",
                         name=f"{RAG_ICONS['amber']} {lab['flagged']}", marker=dict(color=RAG_COLOURS["red"]),
                         texttemplate=f"{RAG_ICONS['amber']} %{{x:.1%}} {lab['flagged']}", textposition="outside",
                         cliponaxis=False, hovertemplate=f"%{{y}}: %{{x:.1%}} {lab['flagged']}<extra></extra>"))
    nd = rag_label("grey", lab["no_data"])
    fig.add_trace(go.Bar(y=names[~has], x=np.zeros(int((~has).sum())), orientation="h", name=nd,
                         text=[nd] * int((~has).sum()), textposition="outside", cliponaxis=False,
                         marker=dict(color=NO_DATA_COLOUR), showlegend=False,
                         hovertemplate=f"%{{y}}: {nd}<extra></extra>"))
    fig.add_vline(x=float(threshold), line=dict(color=RAG_COLOURS["red"], dash="dash", width=1.5),
                  annotation_text=f"{lab['threshold']} {threshold:.0%}", annotation_position="top")
    _layout(fig, lang, title, height=max(240, 34 * len(d) + 120), barmode="overlay")
    fig.update_yaxes(categoryorder="array", categoryarray=names.tolist(), autorange="reversed")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.12])
    return fig


# --- projects ----------------------------------------------------------------------------------------------------

TIMELINE_LABELS = {"planned": "planned", "forecast": "forecast / actual", "today": "today",
                   "rag_green": "on track", "rag_amber": "at risk", "rag_red": "off track", "rag_grey": "no data"}

_MS_PER_DAY = 86_400_000


def project_timeline(df: pd.DataFrame, *, lang: str = "en", labels: Mapping[str, str] | None = None,
                     title: str | None = None, today: _dt.date | None = None) -> go.Figure:
    """Gantt-like chart: per project a thin grey planned bar above a bar to the forecast (or actual) end,
    coloured by computed status and labelled "<icon> <word>".

    Input columns: ``name``, ``planned_start``, ``planned_end``, ``status_computed`` ('green'/'amber'/'red',
    missing = no data); the end of the second bar is ``actual_end`` when present, else ``forecast_end``
    (either column may be absent); its start is ``actual_start`` when present, else ``planned_start``.
    Input order is kept, top to bottom. Trace 0 is the planned bars (one per project with both planned
    dates); then one trace per status (each bar's customdata[0] is the project name). ``today`` draws a
    vertical line.
    """
    _require(df, ["name", "planned_start", "planned_end", "status_computed"], "project_timeline")
    lab = _labels(TIMELINE_LABELS, labels)
    words = _rag_texts(lab)
    d = df.copy()
    d["_name"] = _plain(d["name"].astype(str))
    ps, pe = _dates(d["planned_start"]), _dates(d["planned_end"])
    start2 = _dates(d["actual_start"]).fillna(ps) if "actual_start" in d else ps
    nat = pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns]")
    forecast = _dates(d["forecast_end"]) if "forecast_end" in d else nat
    end2 = (_dates(d["actual_end"]) if "actual_end" in d else nat).fillna(forecast)  # actual wins over forecast
    d["_rag"] = normalise_rag(d["status_computed"])
    fig = go.Figure()
    okp = ps.notna() & pe.notna()
    fig.add_trace(go.Bar(
        y=d.loc[okp, "_name"], base=ps[okp], x=(pe[okp] - ps[okp]).dt.total_seconds() * 1000, orientation="h",
        offset=-0.42, width=0.32, marker=dict(color="#CCCCCC", line=dict(color=_PLAN, width=1)),
        name=lab["planned"], customdata=np.column_stack([d.loc[okp, "_name"], ps[okp].dt.strftime("%d.%m.%Y"),
                                                         pe[okp].dt.strftime("%d.%m.%Y")]) if okp.any() else None,
        hovertemplate=f"%{{customdata[0]}}<br>{lab['planned']}: %{{customdata[1]}} - %{{customdata[2]}}"
                      "<extra></extra>",
    ))
    ok2 = start2.notna() & end2.notna()
    for r in RAG_ORDER:
        m = ok2 & (d["_rag"] == r)
        if not m.any():
            continue
        label = rag_label(r, words[r])
        fig.add_trace(go.Bar(
            y=d.loc[m, "_name"], base=start2[m], x=(end2[m] - start2[m]).dt.total_seconds() * 1000,
            orientation="h", offset=-0.06, width=0.46, marker=dict(color=RAG_COLOURS[r]), name=label,
            text=[label] * int(m.sum()), textposition="outside", cliponaxis=False,
            customdata=np.column_stack([d.loc[m, "_name"], start2[m].dt.strftime("%d.%m.%Y"),
                                        end2[m].dt.strftime("%d.%m.%Y")]),
            hovertemplate=f"%{{customdata[0]}}<br>{lab['forecast']}: %{{customdata[1]}} - %{{customdata[2]}}"
                          f"<br>{label}<extra></extra>",
        ))
    no_bar = ~ok2
    if no_bar.any():  # no forecast/actual dates: say "no data" where the bar would start
        nd = rag_label("grey", words["grey"])
        at = start2.fillna(pe).fillna(ps)[no_bar]
        fig.add_trace(go.Scatter(
            y=d.loc[no_bar, "_name"], x=at, mode="text", text=[nd] * int(no_bar.sum()), textposition="bottom right",
            name=nd, showlegend=False, hovertemplate=f"%{{y}}: {nd}<extra></extra>"))
    lo = pd.concat([ps, start2]).min()
    hi = pd.concat([pe, end2]).max()
    if pd.notna(lo) and pd.notna(hi):
        span = max(hi - lo, pd.Timedelta(days=30))
        fig.update_xaxes(range=[lo - 0.03 * span, hi + 0.22 * span])  # room for the status label
    if today is not None:
        fig.add_vline(x=pd.Timestamp(today).timestamp() * 1000, line=dict(color=_INK, dash="dot", width=1),
                      annotation_text=lab["today"], annotation_position="top")
    _layout(fig, lang, title, height=max(260, 48 * len(d) + 120), barmode="overlay")
    fig.update_yaxes(categoryorder="array", categoryarray=d["_name"].tolist(), autorange="reversed", type="category")
    fig.update_xaxes(type="date", tickformat=DATE_TICKFORMAT)
    return fig


# --- goal map ----------------------------------------------------------------------------------------------------

GOAL_LABELS = {"score": "score", "responsible": "responsible", "no_data": "no data"}


def goal_score_min(scores) -> float:
    """The light end of the goal map's colour scale: the lowest score rounded down to a multiple of 10,
    between 0 and 80 (so the scale spans at least 20 points); 0 when there is no score."""
    x = pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
    if x.empty:
        return 0.0
    return float(min(80.0, max(0.0, np.floor(x.min() / 10.0) * 10.0)))


def goal_sunburst(df: pd.DataFrame, *, kind: str = "sunburst", lang: str = "en",
                  labels: Mapping[str, str] | None = None, level_labels: Mapping[str, str] | None = None,
                  title: str | None = None, responsible_col: str = "responsible", max_depth: int = -1,
                  score_min: float | str = 0) -> go.Figure:
    """The goal map (Rules para 17, Appendix 2) as a sunburst, or a treemap with ``kind="treemap"``.

    Input columns: ``id``, ``parent`` (empty/NaN for roots), ``name``, ``score`` (0-100 roll-up from
    ``sac.metrics.goalmap``; NaN = no data, grey), ``level`` (a code; ``level_labels`` translates it for the
    hover). Optional ``responsible_col`` (default ``responsible``): the responsible official, shown in the
    hover. Sector colours are the score scale; each sector's text carries its score or "○ no data". All
    sectors count equally (no area encoding). The colour bar is a hidden helper trace (trace 1).

    ``score_min``: the score at the light end of the scale (default 0). ``"auto"``: the lowest score rounded
    down to a multiple of 10, at most 80 — with every node scoring 94-100 a 0-100 scale painted the whole map
    one dark blue; the colour bar shows the range used.
    """
    _require(df, ["id", "parent", "name", "score", "level"], "goal_sunburst")
    if kind not in ("sunburst", "treemap"):
        raise ValueError(f"goal_sunburst: kind must be 'sunburst' or 'treemap', not {kind!r}")
    lab = _labels(GOAL_LABELS, labels)
    d = df.copy()
    d["score"] = pd.to_numeric(d["score"], errors="coerce")
    lo = goal_score_min(d["score"]) if score_min == "auto" else float(score_min)
    scaled = (d["score"] - lo) / (100.0 - lo) * 100.0  # the colour position only; texts keep the score
    d["_parent"] = d["parent"].astype(object).where(d["parent"].notna(), "").astype(str)
    lvl = d["level"].astype(str)
    d["_level"] = _plain(lvl.map(dict(level_labels)).fillna(lvl) if level_labels else lvl)
    nd = rag_label("grey", lab["no_data"])
    resp = (_plain(d[responsible_col].astype(object).where(d[responsible_col].notna(), "—"))
            if responsible_col in d else pd.Series("—", index=d.index, dtype=object))
    custom = np.column_stack([d["_level"], d["score"].astype(object).where(d["score"].notna(), None), resp])
    resp_line = f"<br>{lab['responsible']}: %{{customdata[2]}}" if responsible_col in d else ""
    hover = np.where(d["score"].notna(), f"<b>%{{label}}</b><br>%{{customdata[0]}}<br>{lab['score']}: "
                     "%{customdata[1]:.1f}", f"<b>%{{label}}</b><br>%{{customdata[0]}}<br>{lab['score']}: {nd}")
    hover = (pd.Series(hover) + resp_line + "<extra></extra>").tolist()
    text_sc = np.where(d["score"].notna(), "%{label}<br>%{customdata[1]:.1f}", "%{label}<br>" + nd)
    common = dict(ids=d["id"].astype(str), parents=d["_parent"], labels=_plain(d["name"].astype(str)),
                  customdata=custom, hovertemplate=hover, texttemplate=text_sc.tolist(),
                  marker=dict(colors=score_colours(scaled), line=dict(color="white", width=1)),
                  maxdepth=max_depth, insidetextfont=dict(color=_text_on(scaled.fillna(0))))
    trace = go.Sunburst(**common, insidetextorientation="horizontal", leaf=dict(opacity=1)) if kind == "sunburst" else go.Treemap(**common)
    fig = go.Figure(trace)
    # an empty scatter only to show the colour bar of the score scale
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(colorscale=SCORE_COLOURSCALE, cmin=lo, cmax=100, color=[lo], showscale=True,
                                         colorbar=dict(title=dict(text=lab["score"]), thickness=14, len=0.7))))
    _layout(fig, lang, title, height=560)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# --- projects: Rules para 64 ratios --------------------------------------------------------------------------------

RATIO_LABELS = {"no_data": "no data"}


def ratio_bars(df: pd.DataFrame, *, lang: str = "en", labels: Mapping[str, str] | None = None,
               title: str | None = None) -> go.Figure:
    """One Rules para 64 ratio per group, horizontal bars 0-100% with the text "num/den (share)".

    Input columns: ``group``, ``ratio`` (0-1), ``numerator``, ``denominator``. A group with denominator 0 or
    missing, or a missing ratio, has no bar and reads "○ no data". Input order is kept, top to bottom.
    """
    _require(df, ["group", "ratio", "numerator", "denominator"], "ratio_bars")
    lab = _labels(RATIO_LABELS, labels)
    d = df.copy()
    for c in ("ratio", "numerator", "denominator"):
        d[c] = pd.to_numeric(d[c], errors="coerce")
    has = d["ratio"].notna() & d["denominator"].fillna(0).gt(0)
    names = _plain(d["group"].astype(str))
    fig = go.Figure()
    custom = np.column_stack([d.loc[has, "numerator"], d.loc[has, "denominator"]]) if has.any() else None
    fig.add_trace(go.Bar(y=names[has], x=d.loc[has, "ratio"], orientation="h", marker=dict(color=_NEUTRAL),
                         customdata=custom, texttemplate="%{customdata[0]:,.0f}/%{customdata[1]:,.0f} (%{x:.1%})",
                         textposition="outside", cliponaxis=False, showlegend=False, name="",
                         hovertemplate="%{y}: %{customdata[0]:,.0f}/%{customdata[1]:,.0f} (%{x:.1%})<extra></extra>"))
    nd = rag_label("grey", lab["no_data"])
    n_nd = int((~has).sum())
    fig.add_trace(go.Bar(y=names[~has], x=np.zeros(n_nd), orientation="h", text=[nd] * n_nd, name=nd,
                         textposition="outside", cliponaxis=False, marker=dict(color=NO_DATA_COLOUR),
                         showlegend=False, hovertemplate=f"%{{y}}: {nd}<extra></extra>"))
    _layout(fig, lang, title, height=max(220, 34 * len(d) + 110), barmode="overlay")
    fig.update_yaxes(categoryorder="array", categoryarray=names.tolist(), autorange="reversed")
    fig.update_xaxes(tickformat=".0%", range=[0, 1.25], tickvals=[0, 0.25, 0.5, 0.75, 1.0])
    return fig
