"""row_url: a route reversed once for every row of a list gives what {% url %} gives per row."""

from __future__ import annotations

from django.template import Context, Template
from django.test import SimpleTestCase
from django.urls import reverse

from unstuck.core.templatetags.unstuck import row_url


class RowUrlTests(SimpleTestCase):
    def test_each_id_gets_the_url_reverse_gives(self) -> None:
        for name, kwarg in [("deals:detail", "pk"), ("cocreate:start", "deal_pk")]:
            url = row_url(name, kwarg, slug="acme-2")
            for pk in (1, 7, 10, 918273, 2**62):
                self.assertEqual(
                    url.for_id(pk), reverse(name, kwargs={"slug": "acme-2", kwarg: pk})
                )

    def test_in_a_template_the_rows_links_match_the_url_tag(self) -> None:
        rendered = Template(
            "{% load unstuck %}{% row_url 'deals:detail' 'pk' slug=slug as u %}"
            "{% for pk in ids %}{{ u|for_id:pk }} {% url 'deals:detail' slug=slug pk=pk %};"
            "{% endfor %}"
        ).render(Context({"slug": "w", "ids": [3, 41, 500]}))
        pairs = [line.split() for line in rendered.split(";") if line]
        self.assertEqual(len(pairs), 3)
        for ours, djangos in pairs:
            self.assertEqual(ours, djangos)

    def test_an_id_that_is_not_a_number_is_refused(self) -> None:
        url = row_url("deals:detail", "pk", slug="w")
        with self.assertRaises(ValueError):
            url.for_id("1/../../admin")  # type: ignore[arg-type]

    def test_a_route_without_that_keyword_is_an_error_not_a_wrong_link(self) -> None:
        with self.assertRaises(Exception):  # noqa: B017 - NoReverseMatch or ValueError
            row_url("deals:pipeline", "pk", slug="w")
