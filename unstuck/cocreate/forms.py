"""Forms of co-creation: they parse input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from unstuck.cocreate.models import Clause, LeverFamily, Outcome, PaymentTerms
from unstuck.core.validation import IdField
from unstuck.investigate.models import Factor, ObstacleKind

SCORE_CHOICES = [(n, str(n)) for n in range(1, 6)]
PHASES = [("early", "Early stages"), ("mid", "Middle stages"), ("late", "Late stages")]


class StartForm(forms.Form):
    ideal_outcome = forms.CharField(
        label="The customer's ideal business outcome",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    obstacles = forms.MultipleChoiceField(
        label="Obstacles it addresses", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, obstacles: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["obstacles"].choices = obstacles  # type: ignore[attr-defined]


class TermsMixin(forms.Form):
    discount_pct = forms.DecimalField(
        label="Discount %", required=False, min_value=0, max_value=100, decimal_places=2
    )
    term_months = forms.IntegerField(
        label="Term (months)", required=False, min_value=1, max_value=120
    )
    payment_terms = forms.ChoiceField(
        label="Payment terms", required=False, choices=[("", "—"), *PaymentTerms.choices]
    )
    clauses = forms.MultipleChoiceField(
        label="Risk-sharing clauses",
        required=False,
        choices=Clause.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class OptionForm(TermsMixin):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=3000
    )


class SuggestionForm(forms.Form):
    key = forms.CharField(max_length=80)


class EditedSuggestionForm(OptionForm):
    key = forms.CharField(max_length=80, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=3000)
    option = IdField(required=False, widget=forms.HiddenInput)


class ScoreForm(forms.Form):
    value = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, label="Value to customer")
    risk = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, label="Risk to us (5 safest)")
    feasibility = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, label="Feasibility")
    payoff = forms.TypedChoiceField(choices=SCORE_CHOICES, coerce=int, label="Payoff")


class ChecklistForm(forms.Form):
    alternatives_considered = forms.CharField(
        label="Which credible alternatives did we consider, and why not them?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=3000,
    )
    dissent_explored = forms.CharField(
        label="Who disagreed, and what did we learn from it?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=3000,
    )
    premortem = forms.CharField(
        label="Premortem: six months on, this failed — why?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=3000,
    )


class DecideForm(forms.Form):
    options = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=3000)

    def __init__(self, *args: Any, options: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["options"].choices = options  # type: ignore[attr-defined]


class ActionItemForm(forms.Form):
    text = forms.CharField(max_length=300, label="Action")
    owner = forms.ChoiceField()
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owners  # type: ignore[attr-defined]


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ApprovalRequestForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)


class ApprovalDecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    reason = forms.CharField(max_length=2000)


class InviteForm(forms.Form):
    user = IdField()


class GuardrailsForm(forms.Form):
    min_options = forms.IntegerField(
        label="Options needed before converging", min_value=1, max_value=50
    )
    max_discount_pct = forms.DecimalField(
        label="Largest discount a manager may offer alone (%)", min_value=0, max_value=100
    )
    max_term_months = forms.IntegerField(
        label="Longest contract term a manager may offer alone (months)", min_value=1
    )
    payment_terms = forms.MultipleChoiceField(
        label="Payment terms a manager may offer alone",
        required=False,
        choices=PaymentTerms.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    clauses = forms.MultipleChoiceField(
        label="Risk-sharing clauses a manager may offer alone",
        required=False,
        choices=Clause.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class LeverForm(TermsMixin):
    family = forms.ChoiceField(choices=LeverFamily.choices)
    name = forms.CharField(max_length=120)
    template = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    obstacle_kinds = forms.MultipleChoiceField(
        label="Fits obstacles",
        required=False,
        choices=ObstacleKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    phases = forms.MultipleChoiceField(
        label="Fits stages (none: any)",
        required=False,
        choices=PHASES,
        widget=forms.CheckboxSelectMultiple,
    )
    factors = forms.MultipleChoiceField(
        label="When the committee weighs",
        required=False,
        choices=Factor.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    min_amount = forms.DecimalField(label="Deal size from", required=False, min_value=0)
    max_amount = forms.DecimalField(label="Deal size up to", required=False, min_value=0)
    is_active = forms.BooleanField(label="In use", required=False, initial=True)
