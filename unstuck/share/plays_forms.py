"""Forms of the playbook pages: write or edit a play, filter the list, apply a play."""

from __future__ import annotations

from typing import Any

from django import forms

from unstuck.cocreate.models import LeverFamily
from unstuck.core.models import Membership, Role, User
from unstuck.deals.models import Stage
from unstuck.investigate.models import ObstacleKind
from unstuck.investigate.stall_signals import SIGNALS
from unstuck.share.models import PlaySource, PlayStatus

SIGNAL_CHOICES = [(code, label) for code, (_, label) in SIGNALS.items()]


def stage_choices(membership: Membership) -> list[tuple[str, str]]:
    names = (
        Stage.objects.filter(pipeline__workspace_id=membership.workspace_id)
        .order_by("order", "name")
        .values_list("name", flat=True)
    )
    return [(n, n) for n in dict.fromkeys(names)]


class PlayForm(forms.Form):
    title = forms.CharField(max_length=200)
    situation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="When this play fits, in plain words.",
    )
    obstacle_kinds = forms.MultipleChoiceField(
        choices=ObstacleKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    stall_signals = forms.MultipleChoiceField(
        choices=SIGNAL_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    stages = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple, label="Stages"
    )
    lever_families = forms.MultipleChoiceField(
        choices=LeverFamily.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    what_to_do = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="What to do")
    what_to_say = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="What to say"
    )
    evidence = forms.CharField(
        required=False,
        label="Evidence deals",
        help_text="CRM ids of deals that show the play works, separated by commas.",
    )
    verifier = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    review_interval_days = forms.IntegerField(
        min_value=7, max_value=730, initial=90, label="Review every (days)"
    )
    # The play as the form showed it: a save over someone's newer one is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_version(self) -> str | None:
        return self.cleaned_data.get("version") or None

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stages"].choices = stage_choices(membership)  # type: ignore[attr-defined]
        self.fields["verifier"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            memberships__workspace_id=membership.workspace_id,
            memberships__role__in=[Role.LEADER, Role.MANAGER],
        ).order_by("name", "email")
        self.fields["verifier"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]


class PlayFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(
        choices=[("", "Active"), *PlayStatus.choices], required=False, label="Status"
    )
    obstacle = forms.ChoiceField(
        choices=[("", "Any obstacle"), *ObstacleKind.choices], required=False
    )
    stage = forms.ChoiceField(choices=[], required=False)
    due = forms.BooleanField(required=False, label="Due for review")
    retire = forms.BooleanField(required=False, label="Proposed for retirement")

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [("", "Any stage"), *stage_choices(membership)]  # type: ignore[attr-defined]


class ApplyForm(forms.Form):
    deal = forms.IntegerField(min_value=1)
    source = forms.ChoiceField(choices=PlaySource.choices, required=False)
    session = forms.IntegerField(min_value=1, required=False)
    note = forms.CharField(max_length=300, required=False)
    next = forms.CharField(max_length=500, required=False)


class RetireForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)
