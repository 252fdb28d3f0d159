"""Forms of the insights page: the ten-second weekly check-in and the monthly pulse."""

from __future__ import annotations

from typing import Any

from django import forms

from unstuck.insights.classes import CATEGORIES, CATEGORY_LABELS
from unstuck.insights.services import PULSE_QUESTIONS

SCALE = [(5, "Agree"), (4, "Rather agree"), (3, "Neither"), (2, "Rather disagree"), (1, "Disagree")]


class CheckInForm(forms.Form):
    week = forms.DateField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, weeks: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if weeks:
            self.fields["week"] = forms.DateField(
                widget=forms.Select(choices=[(w, w) for w in reversed(weeks)]), label="Week of"
            )
        for c in CATEGORIES:
            self.fields[c] = forms.IntegerField(
                min_value=0,
                max_value=100,
                label=CATEGORY_LABELS[c],
                widget=forms.NumberInput(attrs={"step": 5, "inputmode": "numeric"}),
            )


class PulseForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, text in PULSE_QUESTIONS:
            self.fields[key] = forms.TypedChoiceField(
                choices=SCALE, coerce=int, label=text, widget=forms.RadioSelect
            )
