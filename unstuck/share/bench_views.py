"""Web pages for the bench: the directory and one's asks, asking for help on a deal,
answering and rating an ask, and "who helped on deals like this" on a deal page."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.core.access import can_edit_deal, get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.models import Membership, Role, Team
from unstuck.core.submit import submit_and_redirect, submit_page
from unstuck.core.validation import IdField
from unstuck.share import bench_selectors as selectors
from unstuck.share import bench_services as services
from unstuck.share.models import BenchAsk, Function


class PersonForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=200, required=False)
    function = forms.ChoiceField(choices=Function.choices)
    helps_with = forms.CharField(max_length=2_000, widget=forms.Textarea(attrs={"rows": 2}))


class AskForm(forms.Form):
    person = IdField()
    what = forms.CharField(max_length=2_000, widget=forms.Textarea(attrs={"rows": 3}))
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


class AnswerForm(forms.Form):
    answer = forms.CharField(max_length=5_000, widget=forms.Textarea(attrs={"rows": 4}))


class RateForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda v: v == "yes"
    )


@workspace_view()
def bench(request: HttpRequest, membership: Membership) -> HttpResponse:
    teams: list[Team] = []
    if membership.role == Role.MANAGER:
        teams = list(
            Team.objects.filter(workspace_id=membership.workspace_id, manager_id=membership.user_id)
        )
    elif membership.role == Role.LEADER:
        teams = list(Team.objects.filter(workspace_id=membership.workspace_id))
    involvement = [
        (
            team,
            selectors.function_involvement(
                workspace_id=membership.workspace_id, team_ids=[team.pk]
            ),
        )
        for team in teams[:20]
    ]
    return render(
        request,
        "share/bench/bench.html",
        {
            "people": selectors.bench_directory(membership).filter(active=True),
            "asks": selectors.asks_inbox(membership),
            "involvement": involvement,
            "form": PersonForm() if membership.role == Role.LEADER else None,
        },
    )


@workspace_view(Role.LEADER)
@require_POST
def bench_add(request: HttpRequest, membership: Membership) -> HttpResponse:
    return submit_and_redirect(
        request,
        PersonForm(request.POST),
        lambda data: services.bench_person_add(membership=membership, **data),
        done="Added to the bench.",
        back=reverse("share:bench", kwargs={"slug": membership.workspace.slug}),
    )


@workspace_view(Role.LEADER, Role.MANAGER, Role.REP)
@require_http_methods(["GET", "POST"])
def ask_new(request: HttpRequest, membership: Membership, deal_pk: int) -> HttpResponse:
    deal = get_deal_for(membership, deal_pk, write=True)
    form = AskForm(request.POST or None)
    asked = submit_page(
        request,
        form,
        lambda data: services.bench_ask(
            membership=membership,
            deal=deal,
            person=selectors.get_bench_person_for(membership, data["person"]),
            what=data["what"],
            due_date=data["due_date"],
        ),
        done=lambda ask: f"Asked {ask.person.user.display_name}; they can now open this deal.",
        then=lambda ask: reverse(
            "share:ask-detail", kwargs={"slug": membership.workspace.slug, "pk": ask.pk}
        ),
    )
    if asked is not None:
        return asked
    return render(
        request,
        "share/bench/ask_new.html",
        {
            "deal": deal,
            "form": form,
            "people": selectors.bench_directory(membership).filter(active=True),
            "who": selectors.who_helped(membership, deal),
        },
    )


@workspace_view()
def ask_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    ask = selectors.get_ask_for(membership, pk)
    return render(
        request,
        "share/bench/ask.html",
        {
            "ask": ask,
            "can_answer": ask.person.user_id == membership.user_id and ask.status != "withdrawn",
            "can_rate": ask.status == "answered"
            and (
                ask.asked_by_id == membership.user_id
                or membership.role in {Role.MANAGER, Role.LEADER}
            ),
        },
    )


@workspace_view()
@require_POST
def ask_answer(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    ask = selectors.get_ask_for(membership, pk)
    return submit_and_redirect(
        request,
        AnswerForm(request.POST),
        lambda data: services.ask_answer(membership=membership, ask=ask, answer=data["answer"]),
        done="Answer sent.",
        back=_ask_url(membership, ask),
        check=lambda: services.ask_check_answerer(membership=membership, ask=ask),
    )


@workspace_view()
@require_POST
def ask_rate(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    ask = selectors.get_ask_for(membership, pk)
    return submit_and_redirect(
        request,
        RateForm(request.POST),
        lambda data: services.ask_rate(membership=membership, ask=ask, helpful=data["helpful"]),
        done="Thanks: your rating is kept with the ask.",
        back=_ask_url(membership, ask),
        check=lambda: services.ask_check_rater(membership=membership, ask=ask),
    )


def _ask_url(membership: Membership, ask: BenchAsk) -> str:
    return reverse("share:ask-detail", kwargs={"slug": membership.workspace.slug, "pk": ask.pk})


@workspace_view(Role.LEADER, Role.MANAGER, Role.REP)
def who_helped(request: HttpRequest, membership: Membership, deal_pk: int) -> HttpResponse:
    """The deal page's panel (loaded by htmx): who helped on won deals like this one."""
    deal = get_deal_for(membership, deal_pk)
    return render(
        request,
        "share/bench/_who_helped.html",
        {
            "deal": deal,
            "who": selectors.who_helped(membership, deal),
            "can_ask": can_edit_deal(membership, deal),
        },
    )
