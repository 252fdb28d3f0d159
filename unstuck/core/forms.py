from django import forms
from django.contrib.auth.forms import AuthenticationForm

from unstuck.core.validation import IdField


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'Weekly export script'."
    )


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    reps_see_team_deals = forms.BooleanField(
        required=False,
        label="Reps can read their teammates' deals",
        help_text="They still edit only their own.",
    )
    default_currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        help_text="ISO 4217 code used when an import gives none, e.g. USD, EUR.",
        error_messages={"invalid": "Use a three-letter currency code such as USD."},
    )


ROLE_CHOICES = [
    ("rep", "Rep"),
    ("manager", "Manager"),
    ("leader", "Leader"),
    ("partner", "Partner"),
]


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="rep")
    team = IdField(required=False, help_text="A rep's team, or the team a manager manages.")


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    team = IdField(required=False)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    manager = IdField(required=False, help_text="The membership of a manager.")


class TeamUpdateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    manager = IdField(required=False)
    clear_manager = forms.BooleanField(required=False)
