"""The SVG chart builders: data present, text escaped, no NaN, sensible axes."""

import math
import xml.etree.ElementTree as ET

import pytest

from gateway import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """Parsing proves the output is well-formed XML (so nothing unescaped broke it)."""
    return ET.fromstring(svg)


def marks(svg: str, tag: str, css_class: str) -> list[ET.Element]:
    return [element for element in parse(svg).iter(f"{SVG}{tag}") if element.get("class") == css_class]


class TestNiceTicks:
    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            (0, 12, [0, 2.5, 5, 7.5, 10, 12.5]),
            (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        ],
    )
    def test_round_steps_covering_the_range(self, low, high, expected):
        assert charts.nice_ticks(low, high) == pytest.approx(expected)

    def test_integer_ticks_have_whole_steps(self):
        assert charts.nice_ticks(0, 12, integer=True) == [0, 5, 10, 15]
        assert charts.nice_ticks(0, 1, integer=True) == [0, 1]

    def test_non_finite_bounds_fall_back(self):
        assert charts.nice_ticks(math.nan, math.inf)[0] == 0


class TestBarChart:
    def test_each_value_is_a_bar_with_its_data(self):
        svg = charts.bar_chart(title="Daily", labels=["2025-06-01", "2025-06-02"], values=[3, 0])
        bars = marks(svg, "rect", "bar")
        assert [(bar.get("data-label"), bar.get("data-value")) for bar in bars] == [
            ("2025-06-01", "3.0"),
            ("2025-06-02", "0.0"),
        ]
        assert bars[0].find(f"{SVG}title").text == "2025-06-01: 3"
        assert "2025-06-01: 3; 2025-06-02: 0" in parse(svg).find(f"{SVG}desc").text

    def test_text_is_escaped(self):
        svg = charts.bar_chart(title="<script>alert(1)</script>", labels=['a"<b>&'], values=[1])
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(svg)
        assert root.find(f"{SVG}title").text == "<script>alert(1)</script>"
        assert marks(svg, "rect", "bar")[0].get("data-label") == 'a"<b>&'

    def test_missing_values_have_no_bar(self):
        svg = charts.bar_chart(title="t", labels=["a", "b"], values=[None, 2])
        assert [bar.get("data-label") for bar in marks(svg, "rect", "bar")] == ["b"]

    def test_no_data_says_so(self):
        svg = charts.bar_chart(title="t", labels=[], values=[])
        assert "No data to show." in svg
        parse(svg)

    def test_no_nan_anywhere(self):
        svg = charts.bar_chart(title="t", labels=["a", "b"], values=[0, 0])
        assert "nan" not in svg.lower()


class TestLineChart:
    def test_points_and_gaps(self):
        svg = charts.line_chart(title="Value", labels=["a", "b", "c"], series=[("value", [1.5, None, 2.0])])
        points = marks(svg, "circle", "point")
        assert [(p.get("data-label"), p.get("data-value")) for p in points] == [("a", "1.5"), ("c", "2.0")]
        assert len(list(parse(svg).iter(f"{SVG}polyline"))) == 2  # the gap splits the line

    def test_several_series_get_a_legend(self):
        svg = charts.line_chart(title="t", labels=["a"], series=[("one", [1]), ("two", [2])])
        texts = [text.text for text in parse(svg).iter(f"{SVG}text")]
        assert "one" in texts and "two" in texts


class TestGroupedBarChart:
    def test_one_bar_per_series_and_category(self):
        svg = charts.grouped_bar_chart(
            title="MAPE", categories=["roas", "ctr"], series=[("v1", [0.1, 0.2]), ("v2", [0.05, None])]
        )
        bars = [(b.get("data-label"), b.get("data-series"), b.get("data-value")) for b in marks(svg, "rect", "bar")]
        assert bars == [("roas", "v1", "0.1"), ("roas", "v2", "0.05"), ("ctr", "v1", "0.2")]


class TestIntervalChart:
    def test_rows_have_point_interval_and_note(self):
        svg = charts.interval_chart(
            title="CTR",
            rows=[
                {"label": "A", "value": 0.03, "low": 0.028, "high": 0.032, "note": "P(best) 0.0%"},
                {
                    "label": "B",
                    "value": 0.035,
                    "low": 0.033,
                    "high": 0.037,
                    "note": "P(best) 100.0%",
                    "highlight": True,
                },
            ],
        )
        points = marks(svg, "circle", "point")
        assert [(p.get("data-label"), p.get("data-value")) for p in points] == [("A", "0.03"), ("B", "0.035")]
        assert points[1].get("fill") == charts.HIGHLIGHT
        intervals = marks(svg, "line", "interval")
        assert [(i.get("data-low"), i.get("data-high")) for i in intervals] == [("0.028", "0.032"), ("0.033", "0.037")]
        assert "B: 3.50% (95% interval 3.30% to 3.70%); P(best) 100.0%" in svg

    def test_row_without_data(self):
        svg = charts.interval_chart(title="t", rows=[{"label": "A", "value": None}, {"label": "B", "value": 0.5}])
        assert "no data" in svg
        parse(svg)


def test_percent_axis_labels_are_as_precise_as_the_ticks():
    svg = charts.interval_chart(title="t", rows=[{"label": "A", "value": 0.0015, "low": 0.00115, "high": 0.00233}])
    texts = [text.text for text in parse(svg).iter(f"{SVG}text")]
    assert "0.125%" in texts
    assert "0.150%" in texts  # one precision for the whole axis
