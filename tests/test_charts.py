"""Chart builders: what a reader of the figure sees (tiles, colours, labels, separators, "no data")."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sac import charts as C

CODES = C.region_codes()
OKABE_ITO = {"#0072B2", "#009E73", "#E69F00", "#D55E00", "#999999"}


def _tiles(fig: go.Figure) -> pd.DataFrame:
    """Every tile of a tile map: kato, cell (col, row), trace (0 scored, 1 no data), text template, colour value."""
    rows = []
    for i, tr in enumerate(fig.data[:2]):
        if tr.customdata is None:
            continue
        tpl = tr.texttemplate if isinstance(tr.texttemplate, (list, tuple)) else [tr.texttemplate] * len(tr.x)
        colours = tr.marker.color if i == 0 else [None] * len(tr.x)
        for cd, x, b, t, c in zip(tr.customdata, tr.x, tr.base, tpl, colours, strict=True):
            rows.append({"kato": cd[0], "label": cd[1], "col": x, "row": round(-b - 0.46), "trace": i,
                         "text": t, "colour_value": c})
    return pd.DataFrame(rows)


def _all_scores() -> pd.DataFrame:
    return pd.DataFrame({"kato": CODES, "score": np.linspace(5, 100, 20)})


# --- tile map --------------------------------------------------------------------------------------------------


def test_regions_reference_has_the_20_units_including_the_2022_regions():
    assert len(CODES) == 20
    assert {"10", "33", "62", "71", "75", "79"} <= set(CODES)
    assert set(C.TILE_GRID) == set(CODES) == set(C.REGION_SHORT)


def test_tile_map_draws_exactly_20_tiles_one_per_kato_code_in_distinct_cells():
    fig = C.tile_map(_all_scores(), "score")
    tiles = _tiles(fig)
    assert len(tiles) == 20
    assert sorted(tiles["kato"]) == sorted(CODES)
    assert {"10", "33", "62"} <= set(tiles["kato"])
    assert not tiles.duplicated(["col", "row"]).any()
    # bars are 0.92 wide and tall on a unit grid, so distinct cells never overlap
    assert fig.data[0].width == pytest.approx(0.92) and list(fig.data[0].y) == [pytest.approx(0.92)] * 20


def test_tile_grid_is_roughly_geographic():
    g = C.TILE_GRID
    col, row = (lambda k: g[k][0]), (lambda k: g[k][1])
    west = ["27", "23", "47", "15"]       # WKO, Atyrau, Mangystau, Aktobe
    east = ["63", "10"]                  # EKO, Abai
    north = ["39", "59", "11", "55"]     # Kostanay, NKO, Akmola, Pavlodar
    south = ["43", "61", "79", "31", "19", "75"]
    assert max(col(k) for k in west) < min(col(k) for k in east)
    assert max(row(k) for k in north) < min(row(k) for k in south)
    assert row("75") > row("19") and row("79") > row("61")   # the cities sit below their surrounding regions
    assert abs(col("71") - col("11")) + abs(row("71") - row("11")) == 1   # Astana beside Akmola


def test_tile_map_customdata_names_the_region_for_click_selection():
    fig = C.tile_map(_all_scores().assign(kato=lambda d: d["kato"].astype(int)), "score")
    tiles = _tiles(fig)
    assert set(tiles["kato"]) == set(CODES)            # int codes come back as the string KATO codes
    astana = tiles[tiles["kato"] == "71"].iloc[0]
    assert astana["label"] == "Astana" and astana["trace"] == 0


def test_tile_map_missing_score_is_grey_hatched_no_data_never_zero():
    df = _all_scores()
    df.loc[df["kato"] == "62", "score"] = np.nan       # Ulytau: a row without a score
    df = df[df["kato"] != "33"]                        # Zhetysu: no row at all
    df = pd.concat([df, pd.DataFrame({"kato": ["00"], "score": [50.0]})])  # not a region: ignored
    fig = C.tile_map(df, "score", no_data_text="нет данных", lang="ru")
    tiles = _tiles(fig)
    assert len(tiles) == 20
    empty = tiles[tiles["trace"] == 1]
    assert sorted(empty["kato"]) == ["33", "62"]
    assert all("○ нет данных" in t for t in empty["text"])
    assert set(tiles.loc[tiles["trace"] == 0, "kato"]).isdisjoint({"33", "62"})
    assert fig.data[1].marker.pattern.shape == "/"
    assert fig.data[1].name == "○ нет данных" and fig.data[1].showlegend
    assert 0 not in list(tiles["colour_value"].dropna())  # nothing silently coloured as a zero score


def test_tile_map_down_indicator_is_coloured_by_score_not_by_raw_value():
    # unemployment (lower is better): region 71 has the highest raw value and the lowest score
    df = pd.DataFrame({"kato": ["71", "75"], "raw": [9.5, 3.1], "score": [12.0, 97.0]})
    fig = C.tile_map(df, "raw", score_col="score", value_format=".1f", value_suffix="%")
    tiles = _tiles(fig).set_index("kato")
    assert tiles.loc["71", "colour_value"] == 12.0 and tiles.loc["75", "colour_value"] == 97.0
    assert fig.data[0].marker.cmin == 0 and fig.data[0].marker.cmax == 100
    # the tile text shows the raw value, formatted by plotly with the language's separators
    assert "%{customdata[2]:.1f}%" in tiles.loc["71", "text"]
    raw = {cd[0]: cd[2] for cd in fig.data[0].customdata}
    assert raw == {"71": 9.5, "75": 3.1}
    light, dark = C.score_colours([12.0, 97.0])
    assert _luminance(light) > _luminance(dark)   # low score = light end of the blue scale


def test_tile_map_rejects_duplicate_regions():
    with pytest.raises(ValueError, match="duplicate"):
        C.tile_map(pd.DataFrame({"kato": ["71", 71], "score": [1.0, 2.0]}), "score")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(CODES), unique=True),
       st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=20, max_size=20))
def test_tile_map_property_always_20_tiles_scored_exactly_where_a_score_exists(codes, scores):
    df = pd.DataFrame({"kato": codes, "score": pd.array(scores[: len(codes)], dtype="Float64")})
    tiles = _tiles(C.tile_map(df, "score"))
    assert len(tiles) == 20 and not tiles.duplicated(["col", "row"]).any()
    with_score = set(df.loc[df["score"].notna(), "kato"])
    assert set(tiles.loc[tiles["trace"] == 0, "kato"]) == with_score


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# --- palette and RAG --------------------------------------------------------------------------------------------


def test_rag_palette_is_okabe_ito_and_every_state_has_an_icon():
    assert set(C.RAG_COLOURS.values()) <= OKABE_ITO
    assert set(C.RAG_COLOURS) == set(C.RAG_ICONS) == {"green", "amber", "red", "grey"}
    assert len(set(C.RAG_COLOURS.values())) == 4 and len(set(C.RAG_ICONS.values())) == 4
    assert C.NO_DATA_COLOUR == "#999999"


@pytest.mark.parametrize(("rag", "text", "expected"), [
    ("green", "достигнуто", "✓ достигнуто"),
    ("amber", None, "! close"),
    ("RED", None, "✗ lagging"),
    (None, None, "○ no data"),
    (np.nan, "нет данных", "○ нет данных"),
    (pd.NA, None, "○ no data"),
    ("purple", None, "○ no data"),
])
def test_rag_label(rag, text, expected):
    assert C.rag_label(rag, text) == expected


def test_score_scale_has_no_grey_so_grey_only_means_no_data():
    colours = C.score_colours(np.linspace(0, 100, 101))
    assert C.NO_DATA_COLOUR not in colours
    for c in colours:  # blue-dominant everywhere: never a neutral grey
        r, g, b = (int(c[i:i + 2], 16) for i in (1, 3, 5))
        assert b - r >= 10
    assert C.score_colours([np.nan, None]) == [C.NO_DATA_COLOUR, C.NO_DATA_COLOUR]
    assert C.score_colours([-5, 150]) == C.score_colours([0, 100])  # clipped to the 0-100 scale


def test_plan_fact_bars_colour_by_rag_with_labels_even_when_lower_is_better():
    # unemployment, lower is better: Shymkent's fact is ABOVE plan and metrics said red
    df = pd.DataFrame({"unit_name": ["Astana", "Almaty", "Shymkent", "Abai"], "plan": [4.8, 4.8, 4.7, 4.7],
                       "fact": [4.5, 4.95, 5.6, np.nan], "rag": ["green", "amber", "red", None]})
    fig = C.plan_fact_bars(df, labels={"rag_red": "отстаёт"})
    fact = {tr.name: tr for tr in fig.data if tr.offsetgroup == "fact"}
    assert set(fact) == {"✓ achieved", "! close", "✗ отстаёт", "○ no data"}
    by_unit = {u: (tr.marker.color, tr.name) for tr in fact.values() for u in tr.y}
    assert by_unit["Shymkent"] == (C.RAG_COLOURS["red"], "✗ отстаёт")   # higher raw fact, still red
    assert by_unit["Astana"] == (C.RAG_COLOURS["green"], "✓ achieved")
    for tr in fact.values():
        assert tr.marker.color in OKABE_ITO
        label = tr.texttemplate if tr.texttemplate else tr.text[0]
        assert tr.name in label                                      # every RAG mark carries its icon and word
    nd = fact["○ no data"]
    assert list(nd.y) == ["Abai"] and list(nd.x) == [0] and list(nd.text) == ["○ no data"]


def test_plan_fact_bars_missing_fact_is_no_data_even_if_rag_says_green():
    df = pd.DataFrame({"unit_name": ["A"], "plan": [1.0], "fact": [np.nan], "rag": ["green"]})
    names = [tr.name for tr in C.plan_fact_bars(df).data]
    assert names == ["plan", "○ no data"]


# --- separators and dates ----------------------------------------------------------------------------------------


def _every_figure(lang: str) -> dict[str, go.Figure]:
    s = pd.DataFrame({"period_start": pd.to_datetime(["2023-01-01", "2024-01-01"]), "plan": [1.0, 2.0],
                      "fact": [1.0, np.nan]})
    t = pd.DataFrame({"name": ["P"], "planned_start": ["2024-01-01"], "planned_end": ["2024-06-30"],
                      "forecast_end": ["2024-08-01"], "status_computed": ["red"]})
    return {
        "tile_map": C.tile_map(_all_scores(), "score", lang=lang),
        "rating_dots": C.rating_dots(pd.DataFrame({"unit_name": ["A"], "score": [50.0], "rank": [1]}), lang=lang),
        "rank_history": C.rank_history(pd.DataFrame({"period": ["2024"], "unit_name": ["A"], "rank": [1]}),
                                       lang=lang),
        "indicator_series": C.indicator_series(s, lang=lang),
        "plan_fact_bars": C.plan_fact_bars(pd.DataFrame({"unit_name": ["A"], "plan": [1.0], "fact": [1.0],
                                                         "rag": ["green"]}), lang=lang),
        "cumulative_execution": C.cumulative_execution(
            pd.DataFrame({"month": [1, 2], "cum_share_spent": [0.1, 0.2], "elapsed_share": [1 / 12, 2 / 12]}),
            lang=lang),
        "execution_bars": C.execution_bars(pd.DataFrame({"name": ["068"], "execution": [0.9]}), lang=lang),
        "project_timeline": C.project_timeline(t, lang=lang),
        "goal_sunburst": C.goal_sunburst(pd.DataFrame({"id": ["a"], "parent": [None], "name": ["A"],
                                                       "score": [50.0], "level": ["program"]}), lang=lang),
        "ratio_bars": C.ratio_bars(pd.DataFrame({"group": ["A"], "ratio": [0.5], "numerator": [1],
                                                 "denominator": [2]}), lang=lang),
        "spike_bars": C.spike_bars(pd.DataFrame({"program": ["068"], "q4_share": [0.5], "flagged": [True]}),
                                   lang=lang),
    }


@pytest.mark.parametrize(("lang", "seps"), [("en", ".,"), ("ru", ",\u00a0"), ("kk", ",\u00a0")])
def test_every_figure_uses_the_language_number_separators(lang, seps):
    figs = _every_figure(lang)
    assert len(figs) == 11
    for name, fig in figs.items():
        assert fig.layout.separators == seps, name


def test_dates_are_dd_mm_yyyy():
    figs = _every_figure("ru")
    assert figs["indicator_series"].layout.xaxis.tickformat == "%d.%m.%Y"
    assert figs["project_timeline"].layout.xaxis.tickformat == "%d.%m.%Y"
    assert figs["project_timeline"].data[0].customdata[0][1] == "01.01.2024"


# --- series ------------------------------------------------------------------------------------------------------


def test_indicator_series_plan_dashed_fact_gap_target_and_projection():
    df = pd.DataFrame({"date": ["2022-01-01", "2023-01-01", "2024-01-01"], "plan": [4.8, 4.7, 4.7],
                       "fact": [5.0, np.nan, 4.9]})
    fig = C.indicator_series(df, target_value=4.5, target_year=2027, projection=4.6, unit_of_measure="%",
                             labels={"plan": "план", "fact": "факт", "target": "цель", "projection": "прогноз"})
    tr = {t.name: t for t in fig.data}
    assert tr["план"].line.dash == "dash"
    assert "markers" in tr["факт"].mode
    fact_y = list(tr["факт"].y)
    assert fact_y[0] == 5.0 and np.isnan(fact_y[1]) and fact_y[2] == 4.9    # a gap, not a zero
    assert tr["факт"].connectgaps is False
    assert list(tr["цель"].y) == [4.5] and pd.Timestamp(tr["цель"].x[0]) == pd.Timestamp("2027-01-01")
    # projection runs from the last fact to the projected value at the target year
    assert list(tr["прогноз"].y) == [4.9, 4.6]
    assert [pd.Timestamp(x) for x in tr["прогноз"].x] == [pd.Timestamp("2024-01-01"), pd.Timestamp("2027-01-01")]
    assert fig.layout.yaxis.title.text == "%"
    assert [s.y0 for s in fig.layout.shapes] == [4.5]                       # the goal line


def test_indicator_series_projection_frame():
    df = pd.DataFrame({"period_start": ["2023-01-01", "2024-01-01"], "plan": [1.0, 2.0], "fact": [1.0, 2.0]})
    proj = pd.DataFrame({"date": ["2024-01-01", "2025-01-01"], "value": [2.0, 3.0]})
    fig = C.indicator_series(df, projection=proj)
    assert list(next(t for t in fig.data if t.name == "projection").y) == [2.0, 3.0]


def test_rank_history_has_rank_one_on_top():
    df = pd.DataFrame({"period": ["2024", "2023", "2024", "2023"], "unit_name": ["A", "A", "B", "B"],
                       "rank": [1, 2, 2, 1]})
    fig = C.rank_history(df, highlight=["A"])
    lo, hi = fig.layout.yaxis.range
    assert lo > hi and hi == 0.5                   # reversed: rank 1 at the top
    a = next(t for t in fig.data if t.name == "A")
    assert list(a.x) == ["2023", "2024"] and list(a.y) == [2, 1]
    b = next(t for t in fig.data if t.name == "B")
    assert b.line.color == "#CCCCCC" and a.line.color != "#CCCCCC"


def test_rank_history_gives_every_highlighted_unit_its_own_colour():
    # 20 regions, the six highlighted spread out: the 4th and the 12th once both came out black
    names = [f"R{i:02d}" for i in range(20)]
    df = pd.DataFrame({"period": ["2024"] * 20, "unit_name": names, "rank": range(1, 21)})
    highlight = ["R00", "R03", "R11", "R15", "R18", "R19"]
    fig = C.rank_history(df, highlight=highlight)
    colours = {t.name: t.line.color for t in fig.data}
    assert len({colours[n] for n in highlight}) == len(highlight)
    assert "#CCCCCC" not in {colours[n] for n in highlight}
    assert {colours[n] for n in names if n not in highlight} == {"#CCCCCC"}


# --- ratings ------------------------------------------------------------------------------------------------------


def test_rating_dots_orders_by_rank_shows_ties_bands_and_lists_unrated_units():
    df = pd.DataFrame({
        "unit_name": ["C", "A", "B", "D"], "score": [70.0, 90.0, 70.0, np.nan], "rank": [2, 1, 2, np.nan],
        "rank_label": ["=2", "1", "=2", None], "rank_p05": [2, 1, 1, np.nan], "rank_p95": [3, 2, 3, np.nan],
        "rank_median": [2.5, 1.0, 2.0, np.nan], "coverage": [1.0, 1.0, 0.9, 0.5]})
    fig = C.rating_dots(df, labels={"not_rated": "Не оценены", "coverage": "покрытие"})
    dots, band = fig.data[0], fig.data[1]
    assert list(dots.y) == ["1. A", "=2. B", "=2. C"]
    assert list(dots.x) == [90.0, 70.0, 70.0]
    assert list(band.base) == [1, 1, 2] and list(band.x) == [1, 2, 1]     # p05 .. p95
    note = fig.layout.annotations[-1].text
    assert "Не оценены" in note and "D (покрытие 50%)" in note
    assert "D" not in " ".join(dots.y)


# --- budget ---------------------------------------------------------------------------------------------------------


def test_execution_bars_missing_is_no_data_and_100_percent_line():
    fig = C.execution_bars(pd.DataFrame({"name": ["068", "071"], "execution": [0.87, np.nan]}))
    assert list(fig.data[0].y) == ["068"] and list(fig.data[0].x) == [0.87]
    assert list(fig.data[1].y) == ["071"] and list(fig.data[1].text) == ["○ no data"]
    assert [s.x0 for s in fig.layout.shapes] == [1.0]


def test_spike_bars_flag_threshold_and_labels():
    df = pd.DataFrame({"program": ["068", "071", "080"], "q4_share": [0.52, 0.31, np.nan],
                       "flagged": [True, False, None]})
    fig = C.spike_bars(df, threshold=0.4, labels={"flagged": "всплеск"})
    ok, flagged, nd = fig.data
    assert list(ok.y) == ["071"] and list(flagged.y) == ["068"] and list(nd.y) == ["080"]
    assert flagged.marker.color == C.RAG_COLOURS["red"] and "! " in flagged.texttemplate
    assert "всплеск" in flagged.texttemplate
    assert [s.x0 for s in fig.layout.shapes] == [0.4]


def test_cumulative_execution_diagonal_and_one_line_per_program():
    df = pd.DataFrame({"month": [1, 2, 1, 2], "program": ["068", "068", "071", "071"],
                       "cum_share_spent": [0.05, np.nan, 0.1, 0.2], "elapsed_share": [1 / 12, 2 / 12] * 2})
    fig = C.cumulative_execution(df, program_col="program")
    assert [t.name for t in fig.data] == ["elapsed share of the year", "068", "071"]
    assert fig.data[0].line.dash == "dash" and list(fig.data[0].y) == [1 / 12, 2 / 12]
    assert np.isnan(fig.data[1].y[1])                                # no data stays a gap
    assert fig.layout.yaxis.tickformat == ".0%"


def test_ratio_bars_text_is_numerator_over_denominator_and_zero_denominator_is_no_data():
    df = pd.DataFrame({"group": ["Astana", "Abai"], "ratio": [0.75, np.nan], "numerator": [3, 0],
                       "denominator": [4, 0]})
    fig = C.ratio_bars(df)
    bars, nd = fig.data
    assert list(bars.y) == ["Astana"] and list(bars.customdata[0]) == [3, 4]
    assert bars.texttemplate.startswith("%{customdata[0]:,.0f}/%{customdata[1]:,.0f}")
    assert list(nd.y) == ["Abai"] and list(nd.text) == ["○ no data"]


# --- projects and goal map ---------------------------------------------------------------------------------------


def test_project_timeline_has_planned_and_forecast_bar_per_project():
    df = pd.DataFrame({
        "name": ["School", "Road", "Park", "Clinic"],
        "planned_start": pd.to_datetime(["2024-01-10", "2023-06-01", "2024-05-01", "2024-03-01"]),
        "planned_end": pd.to_datetime(["2024-12-20", "2025-06-30", "2024-10-01", "2025-03-01"]),
        "forecast_end": pd.to_datetime(["2025-02-15", "2025-06-30", "2024-12-01", None]),
        "actual_end": pd.to_datetime([None, None, "2024-09-20", None]),
        "status_computed": ["red", "green", "amber", None]})
    fig = C.project_timeline(df, today=dt.date(2024, 11, 1))
    planned = fig.data[0]
    assert planned.name == "planned" and sorted(planned.y) == ["Clinic", "Park", "Road", "School"]
    bars = {y: tr for tr in fig.data[1:] if tr.type == "bar" for y in tr.y}
    assert sorted(bars) == ["Park", "Road", "School"]
    assert bars["School"].name == "✗ off track" and bars["School"].marker.color == C.RAG_COLOURS["red"]
    assert all(tr.name in tr.text[0] for tr in fig.data[1:] if tr.type == "bar")
    # Park finished: the bar ends at the actual end, not at the forecast
    i = list(bars["Park"].y).index("Park")
    end = pd.Timestamp(bars["Park"].base[i]) + pd.Timedelta(milliseconds=bars["Park"].x[i])
    assert end == pd.Timestamp("2024-09-20")
    # School: planned bar 10.01-20.12.2024, forecast to 15.02.2025
    j = list(planned.y).index("School")
    assert list(planned.customdata[j][1:]) == ["10.01.2024", "20.12.2024"]
    text = next(tr for tr in fig.data if tr.type == "scatter")
    assert list(text.y) == ["Clinic"] and list(text.text) == ["○ no data"]


def test_goal_sunburst_colours_by_score_missing_grey_and_hover_has_responsible():
    df = pd.DataFrame({"id": ["np", "p1", "p2"], "parent": [None, "np", "np"], "name": ["NP", "P1", "P2"],
                       "score": [60.0, 95.0, np.nan], "level": ["national_priority", "program", "program"],
                       "responsible": ["Ivanov", "Serikova", None]})
    for kind in ("sunburst", "treemap"):
        fig = C.goal_sunburst(df, kind=kind, level_labels={"program": "программа"}, labels={"responsible": "отв."})
        tr = fig.data[0]
        assert tr.type == kind
        assert list(tr.marker.colors) == C.score_colours([60.0, 95.0, np.nan])
        assert tr.marker.colors[2] == C.NO_DATA_COLOUR
        assert "○ no data" in tr.texttemplate[2] and "○ no data" not in tr.texttemplate[1]
        assert all("отв.: %{customdata[2]}" in h for h in tr.hovertemplate)
        assert "○ no data" in tr.hovertemplate[2] and "%{customdata[1]:.1f}" in tr.hovertemplate[1]
        assert tr.customdata[1][0] == "программа" and tr.customdata[1][2] == "Serikova"
        assert list(tr.parents) == ["", "np", "np"]


@pytest.mark.parametrize("scores,lo", [([94.2, 99.1, 97.0], 80.0), ([85.0, 99.0], 80.0), ([71.5, 90.0], 70.0),
                                       ([12.0, 99.0], 10.0), ([np.nan], 0.0), ([100.0], 80.0)])
def test_goal_score_min(scores, lo):
    assert C.goal_score_min(scores) == lo


def test_goal_sunburst_auto_scale_tells_close_scores_apart_and_its_colour_bar_says_so():
    df = pd.DataFrame({"id": ["np", "p1", "p2"], "parent": [None, "np", "np"], "name": ["NP", "P1", "P2"],
                       "score": [97.0, 94.0, 100.0], "level": ["national_priority", "program", "program"]})
    auto = C.goal_sunburst(df, score_min="auto")
    colours = auto.data[0].marker.colors
    assert colours[1] == C.score_colours([70.0])[0]       # 94 on an 80-100 scale sits at 70% of it
    assert colours[2] == C.score_colours([100.0])[0]
    assert auto.data[1].marker.cmin == 80 and auto.data[1].marker.cmax == 100
    assert "97.0" not in auto.data[0].texttemplate[0]     # texts print the score itself, not the position
    assert "%{customdata[1]:.1f}" in auto.data[0].texttemplate[0]


def test_goal_sunburst_rejects_unknown_kind():
    with pytest.raises(ValueError):
        C.goal_sunburst(pd.DataFrame({"id": [], "parent": [], "name": [], "score": [], "level": []}), kind="pie")


def test_chart_config_downloads_png_named_and_hides_logo():
    cfg = C.chart_config("rating_2024")
    assert cfg["displaylogo"] is False
    assert cfg["toImageButtonOptions"]["format"] == "png"
    assert cfg["toImageButtonOptions"]["filename"] == "rating_2024"


def test_missing_input_columns_are_named():
    with pytest.raises(ValueError, match="rag"):
        C.plan_fact_bars(pd.DataFrame({"unit_name": ["A"], "plan": [1], "fact": [1]}))


def test_nullable_dtypes_from_duckdb_keep_missing_as_missing():
    """Frames straight from DuckDB carry Float64/Int64/string with pd.NA and date objects; NA stays "no data"."""
    tiles = _tiles(C.tile_map(pd.DataFrame({"kato": pd.array(["71", "75"], dtype="string"),
                                            "score": pd.array([55.0, None], dtype="Float64")}), "score"))
    assert tiles.set_index("kato").loc["75", "trace"] == 1 and tiles.set_index("kato").loc["71", "trace"] == 0
    hist = C.rank_history(pd.DataFrame({"period": pd.array(["2023", "2024"], dtype="string"),
                                        "unit_name": ["A", "A"], "rank": pd.array([3, None], dtype="Int64")}))
    y = list(hist.data[0].y)
    assert y[0] == 3 and np.isnan(y[1])
    tl = C.project_timeline(pd.DataFrame({
        "name": pd.array(["P"], dtype="string"), "planned_start": [dt.date(2024, 1, 1)],
        "planned_end": [dt.date(2024, 6, 30)], "forecast_end": [None], "actual_end": [dt.date(2024, 5, 31)],
        "status_computed": pd.array([None], dtype="string")}))
    bar = tl.data[1]
    assert bar.name == "○ no data" and bar.marker.color == C.NO_DATA_COLOUR
    assert pd.Timestamp(bar.base[0]) + pd.Timedelta(milliseconds=bar.x[0]) == pd.Timestamp("2024-05-31")
    spike = C.spike_bars(pd.DataFrame({"program": ["068"], "q4_share": pd.array([0.6], dtype="Float64"),
                                       "flagged": pd.array([None], dtype="boolean")}))
    assert list(spike.data[0].y) == ["068"] and len(spike.data[1].y) == 0   # unknown flag is not a spike
    for fig in (hist, tl, spike):
        assert '"NaN"' not in fig.to_json()


def test_tile_map_hover_uses_hover_col_or_label_and_value():
    df = pd.DataFrame({"kato": ["71", "75"], "score": [80.0, 40.0], "tip": ["Astana: 80 (rank 1)", None]})
    fig = C.tile_map(df, "score", hover_col="tip")
    hover = {cd[0]: cd[3] for cd in fig.data[0].customdata}
    assert hover == {"71": "Astana: 80 (rank 1)", "75": "Almaty"}        # a missing tip falls back to the label
    plain = C.tile_map(df, "score")
    assert set(plain.data[0].hovertemplate) == {"%{customdata[3]}: %{customdata[2]:.1f}<extra></extra>"}


def test_percentages_printed_on_bars_have_one_decimal():
    # 4/7 is 57.1%, not "57%": every percentage the charts print carries one decimal
    ratio = C.ratio_bars(pd.DataFrame({"group": ["A"], "numerator": [4], "denominator": [7], "ratio": [4 / 7]}))
    assert "(%{x:.1%})" in ratio.data[0].texttemplate
    spikes = C.spike_bars(pd.DataFrame({"program": ["A", "B"], "q4_share": [0.3, 0.55], "flagged": [False, True]}))
    assert all(".1%" in t.texttemplate for t in spikes.data if t.texttemplate)
    cum = C.cumulative_execution(pd.DataFrame({"month": [1, 2], "cum_share_spent": [0.1, 0.2],
                                               "elapsed_share": [1 / 12, 2 / 12]}))
    assert ":.1%" in cum.data[0].hovertemplate


# --- territory breaks (issue 9) ------------------------------------------------------------------------------------

def _series_2020_2023() -> pd.DataFrame:
    return pd.DataFrame({"period_start": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"]),
                         "plan": [np.nan] * 4, "fact": [100.0, 110.0, 60.0, 66.0]})


def _break_marks(fig: go.Figure) -> tuple[list, list]:
    lines = [s for s in fig.layout.shapes if s.type == "line" and s.yref == "paper" and s.line.dash == "dash"]
    notes = [a for a in fig.layout.annotations if "territory" in str(a.text) or "территория" in str(a.text)]
    return lines, notes


def test_indicator_series_marks_the_territory_break_of_east_kazakhstan_and_none_for_akmola():
    from sac.metrics import territory
    fig = C.indicator_series(_series_2020_2023(), breaks=territory.break_years("63"))
    lines, notes = _break_marks(fig)
    assert len(lines) == 1 and pd.Timestamp(lines[0].x0) == pd.Timestamp("2022-01-01") == pd.Timestamp(lines[0].x1)
    assert [a.text for a in notes] == ["territory changed 2022"] and pd.Timestamp(notes[0].x) == pd.Timestamp("2022")
    fig11 = C.indicator_series(_series_2020_2023(), breaks=territory.break_years("11"))
    assert _break_marks(fig11) == ([], [])
    assert _break_marks(C.indicator_series(_series_2020_2023())) == ([], [])          # the country: no breaks


def test_indicator_series_break_label_is_translated_and_plain_text():
    fig = C.indicator_series(_series_2020_2023(), breaks=[2022],
                             labels={"territory_break": "территория изменилась <b>{year}</b>"})
    _, notes = _break_marks(fig)
    assert [a.text for a in notes] == ["территория изменилась &lt;b&gt;2022&lt;/b&gt;"]


@pytest.mark.parametrize("breaks, shown", [
    ([2020], []),            # where the series starts: nothing before it to mark
    ([2024], []),            # after the last value
    ([2014, 2022], [2022]),  # Almaty region: only the one inside the data
    ([2021, 2022], [2021, 2022]),
])
def test_indicator_series_marks_only_breaks_with_values_on_both_sides(breaks, shown):
    lines, _ = _break_marks(C.indicator_series(_series_2020_2023(), breaks=breaks))
    assert [pd.Timestamp(s.x0).year for s in lines] == shown


def test_indicator_series_quarterly_break_sits_before_the_first_quarter_of_the_year():
    q = pd.DataFrame({"period_start": pd.to_datetime(["2021-07-01", "2021-10-01", "2022-01-01", "2022-04-01"]),
                      "plan": [1.0, 1.0, 1.0, 1.0], "fact": [np.nan] * 4})            # plans count as data
    lines, _ = _break_marks(C.indicator_series(q, breaks=[2022]))
    assert [pd.Timestamp(s.x0) for s in lines] == [pd.Timestamp("2022-01-01")]


def test_rank_history_of_one_region_marks_its_break_between_the_years():
    df = pd.DataFrame({"period": ["2020", "2021", "2022", "2023"], "unit_name": ["EKO"] * 4, "rank": [3, 4, 9, 8]})
    fig = C.rank_history(df, breaks=[2022], break_label="территория изменилась {year}")
    lines, notes = _break_marks(fig)
    assert [s.x0 for s in lines] == [1.5]                  # between '2021' (index 1) and '2022' (index 2)
    assert [a.text for a in notes] == ["территория изменилась 2022"]
    assert _break_marks(C.rank_history(df)) == ([], [])
    assert _break_marks(C.rank_history(df, breaks=[2020])) == ([], [])


def _segments(trace) -> list[list[str]]:
    """The runs of x a line draws without a break (plotly with connectgaps=False breaks at a missing y)."""
    runs, run = [], []
    for x, y in zip(trace.x, trace.y, strict=True):
        if y is None or (isinstance(y, float) and np.isnan(y)):
            runs, run = runs + ([run] if run else []), []
        else:
            run.append(x)
    return runs + ([run] if run else [])


def test_rank_history_of_all_regions_breaks_each_changed_units_line_at_its_reform_year():
    """The rating page's chart of every region: EKO (2022) and Turkistan (2018) are two lines each; Akmola, whom no
    reform touched, one; one marker per reform year, however many units it breaks, its hover naming them."""
    from sac.metrics import territory
    periods = ["2016", "2017", "2018", "2019", "2020", "2021", "2022", "2023"]
    df = pd.DataFrame({"period": periods * 4, "unit_name": [u for u in ("EKO", "Turkistan", "Akmola", "Abai")
                                                            for _ in periods],
                       "rank": [3, 4, 5, 4, 4, 3, 9, 8] + [9, 9, 12, 11, 11, 10, 10, 9] + [1, 1, 2, 2, 1, 1, 2, 2]
                       + [np.nan] * 6 + [5, 6]})
    codes = {"EKO": "63", "Turkistan": "61", "Akmola": "11", "Abai": "10"}
    fig = C.rank_history(df, unit_breaks={u: territory.break_years(k) for u, k in codes.items()})
    lines = {t.name: _segments(t) for t in fig.data}
    assert lines["EKO"] == [periods[:6], periods[6:]]                 # no segment from 2021 to 2022
    assert lines["Turkistan"] == [periods[:2], periods[2:]]           # nor from 2017 to 2018
    assert lines["Akmola"] == [periods]
    assert lines["Abai"] == [["2022", "2023"]]                        # begins in 2022: nothing to break
    marks, notes = _break_marks(fig)
    assert sorted(s.x0 for s in marks) == [1.5, 5.5]                  # before '2018' (index 2) and '2022' (index 6)
    assert sorted(a.text for a in notes) == ["territory changed 2018", "territory changed 2022"]
    assert {a.text: a.hovertext for a in notes} == {"territory changed 2018": "Turkistan",
                                                    "territory changed 2022": "EKO"}


def test_rank_history_of_one_region_draws_no_segment_across_its_break():
    df = pd.DataFrame({"period": ["2020", "2021", "2022", "2023"], "unit_name": ["EKO"] * 4, "rank": [3, 4, 9, 8]})
    assert _segments(C.rank_history(df, breaks=[2022]).data[0]) == [["2020", "2021"], ["2022", "2023"]]
    assert _segments(C.rank_history(df).data[0]) == [["2020", "2021", "2022", "2023"]]
    dated = df.assign(period=pd.to_datetime(df["period"]))
    assert len(_segments(C.rank_history(dated, breaks=[2022]).data[0])) == 2


def test_tile_map_regions_out_of_the_readers_scope_are_not_no_data():
    """A project office's map: the regions it may not see read 'not in your scope' (trace 2, a legend entry of
    their own, no figure), never hatched 'no data'; a region of its own without a score stays 'no data'."""
    df = pd.DataFrame({"kato": ["75", "19"], "score": [80.0, np.nan]})
    hidden = [k for k in CODES if k not in ("75", "19")]
    fig = C.tile_map(df.assign(kato=df["kato"]), "score", out_of_scope=hidden, out_of_scope_text="вне вашего доступа",
                     no_data_text="нет данных", lang="ru")
    assert len(fig.data) == 3
    scored, empty, outside = fig.data
    assert [cd[0] for cd in scored.customdata] == ["75"] and [cd[0] for cd in empty.customdata] == ["19"]
    assert sorted(cd[0] for cd in outside.customdata) == sorted(hidden)
    assert "вне вашего доступа" in outside.name and outside.showlegend and outside.name != empty.name
    assert "вне вашего доступа" in outside.hovertemplate and "нет данных" not in outside.texttemplate
    assert outside.texttemplate.endswith(C.OUT_OF_SCOPE_ICON)         # the words are the legend's and the hover's
    assert outside.marker.pattern.shape != empty.marker.pattern.shape
    # every tile still drawn once
    assert len(scored.x) + len(empty.x) + len(outside.x) == 20
    # a row given for an out-of-scope region is not shown
    fig2 = C.tile_map(pd.DataFrame({"kato": CODES, "score": 50.0}), "score", out_of_scope=["71"])
    assert "71" not in [cd[0] for cd in fig2.data[0].customdata] and [cd[0] for cd in fig2.data[2].customdata] == ["71"]
    assert len(C.tile_map(df, "score").data) == 2                     # no scope given: the two traces as before
