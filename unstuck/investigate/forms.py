"""Forms of the investigation card; the services validate again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms

from unstuck.core.validation import IdField
from unstuck.investigate.models import (
    Factor,
    FeedbackKind,
    ObstacleKind,
    StallSettings,
    StepStatus,
)

if TYPE_CHECKING:
    _SettingsForm = forms.ModelForm[StallSettings]
else:  # ModelForm is generic in the stubs only
    _SettingsForm = forms.ModelForm


class StallSettingsForm(_SettingsForm):
    class Meta:
        model = StallSettings
        fields = (
            "no_activity_days",
            "slip_count",
            "single_threaded_max",
            "champion_quiet_days",
            "economic_buyer_from_stage",
            "shrinkage_strength",
        )
        labels = {
            "no_activity_days": "Silent after (days)",
            "slip_count": "Slipping after (push-outs)",
            "single_threaded_max": "Single-threaded at (people) or fewer",
            "champion_quiet_days": "Champion quiet after (days)",
            "economic_buyer_from_stage": "Expect an economic buyer from stage (order)",
            "shrinkage_strength": "Shrinkage toward workspace figures (pseudo-deals)",
        }


class StakeholderViewForm(forms.Form):
    stakeholder = IdField(widget=forms.HiddenInput)
    financial_concerns = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Financial concerns"
    )
    factors = forms.MultipleChoiceField(
        choices=Factor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Factors they weigh",
    )
    # The row as the form showed it (row_version): a save over someone's newer one is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_version(self) -> str | None:
        return self.cleaned_data.get("version") or None


class DecisionStepForm(forms.Form):
    name = forms.CharField(max_length=200, label="Step")
    owner = forms.CharField(max_length=200, required=False, label="Owner at the customer")
    status = forms.ChoiceField(choices=StepStatus.choices, initial=StepStatus.TODO)


class StepStatusForm(forms.Form):
    status = forms.ChoiceField(choices=StepStatus.choices)


class ObstacleForm(forms.Form):
    kind = forms.ChoiceField(choices=ObstacleKind.choices, label="Type")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    evidence = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the customer said or did.",
    )
    stakeholder = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: object, stakeholders: list[tuple[int, str]] = (), **kwargs: object):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["stakeholder"].choices = [("", "—"), *stakeholders]  # type: ignore[attr-defined]


class PainForm(forms.Form):
    pain = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="The customer's pain"
    )
    resolution = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="How we could resolve it"
    )
    # The row as the form showed it (row_version): a save over someone's newer one is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_version(self) -> str | None:
        return self.cleaned_data.get("version") or None


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(choices=FeedbackKind.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class RequestForm(forms.Form):
    question = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="What should the rep find out?"
    )
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due")


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
