from __future__ import annotations

from typing import Any

from django import forms

from unstuck.deals.models import BuyingRole, Deal, Influence, Stage, Stance


class StageMoveForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), empty_label=None)
    amount = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        help_text="Leave empty to keep the current amount.",
    )
    close_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to keep the current close date.",
    )

    def __init__(
        self, *args: Any, deal: Deal, stages: list[Stage] | None = None, **kwargs: Any
    ) -> None:
        """stages: the pipeline's stages in their order, when the caller has read them (the
        deal page): the options are then not read again."""
        super().__init__(*args, **kwargs)
        self.deal = deal
        field = self.fields["stage"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id).exclude(
            pk=deal.stage_id
        )
        if not self.is_bound:
            # Built to be shown: the select reads its options once, in one plain query. The
            # field's own iterator reads them afresh each time (through a server-side cursor on
            # PostgreSQL), and the widget iterates twice: the first option decides `required`.
            options = field.iterator(field)
            if stages is None:
                stages = list(field.queryset)
            else:
                stages = [s for s in stages if s.pk != deal.stage_id]
            field.widget.choices = [options.choice(stage) for stage in stages]
            # The move a rep makes most is one stage forward (as a CRM's stage path does):
            # offered first-selected, rather than the pipeline's first stage, a move backwards.
            current = deal.stage.order
            ahead = [stage for stage in stages if stage.order > current]
            if ahead and "stage" not in self.initial:
                self.initial["stage"] = ahead[0].pk

    def clean_stage(self) -> Stage:
        stage: Stage = self.cleaned_data["stage"]
        return stage


class StakeholderForm(forms.Form):
    name = forms.CharField(max_length=200)
    title = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    buying_role = forms.ChoiceField(choices=BuyingRole.choices, label="Role in the decision")
    influence = forms.TypedChoiceField(
        choices=Influence.choices, coerce=int, initial=Influence.MEDIUM
    )
    stance = forms.ChoiceField(choices=Stance.choices, initial=Stance.UNKNOWN)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # The stakeholder as the form showed it: a save over someone else's newer edit is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_version(self) -> str | None:
        return self.cleaned_data.get("version") or None
