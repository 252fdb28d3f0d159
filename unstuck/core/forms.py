from django import forms
from django.contrib.auth.forms import AuthenticationForm


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
