"""The Django-free text choices behave as Django's own where models, forms and JSON use them."""

from __future__ import annotations

import json
import subprocess
import sys

from django.db import models
from django.test import SimpleTestCase

from unstuck.core.choices import TextChoices
from unstuck.thinking.biases import Bias


class Colour(TextChoices):
    DARK_RED = "dark_red", "Dark red"
    BLUE = "blue"


class DjangoColour(models.TextChoices):
    DARK_RED = "dark_red", "Dark red"
    BLUE = "blue"


class TextChoicesTests(SimpleTestCase):
    def test_it_offers_the_same_api_as_djangos(self) -> None:
        self.assertEqual(Colour.choices, DjangoColour.choices)
        self.assertEqual(Colour.values, DjangoColour.values)
        self.assertEqual(Colour.labels, DjangoColour.labels)
        self.assertEqual(Colour.DARK_RED.label, "Dark red")
        self.assertEqual(Colour("blue"), Colour.BLUE)

    def test_members_are_their_value_as_strings(self) -> None:
        self.assertEqual(Colour.BLUE, "blue")
        self.assertEqual(str(Colour.DARK_RED), "dark_red")
        self.assertEqual(f"{Colour.DARK_RED}", "dark_red")
        self.assertEqual(json.dumps({Colour.BLUE: [Colour.DARK_RED]}), '{"blue": ["dark_red"]}')
        self.assertIn("blue", Colour)
        self.assertNotIn("green", Colour)

    def test_the_bias_catalogue_imports_without_django(self) -> None:
        code = (
            "import sys\n"
            "from unstuck.thinking.biases import Bias, CATALOGUE\n"
            "from unstuck.thinking.question_bank import default_questions_for\n"
            "print(Bias.PERSONAL.label, 'django' in sys.modules)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        self.assertEqual(result.stdout.split(), ["Personal", "False"])
        self.assertEqual(Bias.PERSONAL.label, "Personal")
