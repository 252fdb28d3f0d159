"""Forms of the news pages."""

from __future__ import annotations

from django import forms

from unstuck.core.validation import IdField
from unstuck.share.models import Audience, RelayDecision


class PostForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 8}))
    audience = forms.ChoiceField(choices=Audience.choices, initial=Audience.WORKSPACE)
    teams = forms.MultipleChoiceField(choices=(), required=False)
    must_read = forms.BooleanField(required=False)
    draft_key = forms.CharField(max_length=40, required=False)

    def __init__(self, *args: object, teams: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [(str(pk), name) for pk, name in teams]
        self.fields["teams"].choices = choices  # type: ignore[attr-defined]


class RelayForm(forms.Form):
    team = IdField()
    decision = forms.ChoiceField(choices=RelayDecision.choices)
    line = forms.CharField(max_length=2_000, required=False)
    draft_key = forms.CharField(max_length=40, required=False)
