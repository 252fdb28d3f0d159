from django import forms

from unstuck.core.validation import IdField
from unstuck.thinking.biases import Bias
from unstuck.thinking.question_bank import Perspective, Situation


class QuestionForm(forms.Form):
    text = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    perspective = forms.ChoiceField(choices=Perspective.choices)
    biases = forms.MultipleChoiceField(
        choices=Bias.choices, widget=forms.CheckboxSelectMultiple, label="Helps against"
    )
    situations = forms.MultipleChoiceField(
        choices=Situation.choices, widget=forms.CheckboxSelectMultiple, label="Suits"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="In use")


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=300)


class NoteForm(forms.Form):
    summary = forms.CharField(max_length=5000)
    draft_key = forms.CharField(max_length=40, required=False)


class CheckForm(forms.Form):
    """What the gentle note posts: the text under a name it names, and what it is about."""

    field = forms.CharField(max_length=50, required=False)
    context = forms.CharField(max_length=50, required=False)
    situation = forms.ChoiceField(choices=[("", ""), *Situation.choices], required=False)
    draft_key = forms.RegexField(regex=r"^[A-Za-z0-9_-]{8,40}$", required=False)
    deal = IdField(required=False)


class DraftDismissForm(forms.Form):
    """Setting aside a note shown beside a draft: which draft, which bias, and why."""

    draft_key = forms.RegexField(regex=r"^[A-Za-z0-9_-]{8,40}$")
    bias = forms.ChoiceField(choices=Bias.choices)
    reason = forms.CharField(max_length=300)
