"""The SVG charts: well-formed, escaped, scaled to their data, no script."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from django.test import SimpleTestCase

from unstuck.insights import charts

NS = "{http://www.w3.org/2000/svg}"
CATS = [charts.Series("a", "A <b>", "cat-innovation"), charts.Series("b", "B", "cat-admin")]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


class ChartTests(SimpleTestCase):
    def test_stacked_bars_draw_one_rect_per_non_zero_part_and_escape_text(self) -> None:
        svg = charts.stacked_bars(
            title="<script>alert(1)</script>", desc="d", labels=["w1", "w2"], series=CATS,
            values=[{"a": 60, "b": 40}, {"a": 100, "b": 0}], max_value=100,
        )  # fmt: skip
        self.assertNotIn("<script", svg)
        root = parse(svg)
        rects = root.findall(f"{NS}rect")
        self.assertEqual(len(rects), 3)
        heights = sorted(float(r.get("height", 0)) for r in rects)
        # 40 % and 60 % of a full bar: the same plot height split 2:3; 100 % is the sum.
        self.assertAlmostEqual(heights[0] / heights[1], 40 / 60, places=2)
        self.assertAlmostEqual(heights[0] + heights[1], heights[2], places=0)
        self.assertIn("A &lt;b&gt;", svg)

    def test_step_curves_start_at_everyone_waiting_and_step_down(self) -> None:
        svg = charts.step_curves(
            title="t", desc="d", x_max=100,
            curves=[(CATS[0], [(10, 0.5), (50, 0.25)])],
        )  # fmt: skip
        path = parse(svg).find(f"{NS}path")
        assert path is not None
        d = path.get("d", "")
        self.assertTrue(d.startswith("M56,12"))  # day 0 at 100 %
        self.assertEqual(d.count("V"), 2)

    def test_intervals_and_funnel_render_a_row_each(self) -> None:
        svg = charts.intervals(
            title="t", desc="d", rows=[(CATS[0], 0.5, 0.3, 0.7), (CATS[1], 0.2, 0.1, 0.4)]
        )
        self.assertEqual(len(parse(svg).findall(f"{NS}circle")), 2)
        svg = charts.funnel(
            title="t", desc="d", rows=[("Qualification", 100.0, 10.0), ("Proposal", 50.0, 30.0)],
            fmt=lambda v: f"${v:.0f}",
        )  # fmt: skip
        self.assertEqual(len(parse(svg).findall(f"{NS}rect")), 4)

    def test_nice_max_rounds_up(self) -> None:
        self.assertEqual(charts.nice_max(0), 1.0)
        self.assertEqual(charts.nice_max(430), 500.0)
        self.assertEqual(charts.nice_max(1_900_000), 2_000_000.0)
