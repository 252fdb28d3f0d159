"""Web pages for the digest: "This week" (the digest as it stands, built for the person),
their email settings, the workspace's schedule, and one-click unsubscribe."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.core.decorators import workspace_view
from unstuck.core.models import Membership, Role, Workspace
from unstuck.core.submit import submit_and_redirect
from unstuck.share import digest_send as send
from unstuck.share.digest import digest_build
from unstuck.share.models import DigestSchedule, PersonPreference, Weekday


class PreferenceForm(forms.Form):
    time_zone = forms.CharField(max_length=64, required=False)
    subscribed = forms.BooleanField(required=False)


class ScheduleForm(forms.Form):
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    hour = forms.IntegerField(min_value=0, max_value=23)
    enabled = forms.BooleanField(required=False)


@workspace_view()
def this_week(request: HttpRequest, membership: Membership) -> HttpResponse:
    preference = PersonPreference.objects.filter(
        workspace_id=membership.workspace_id, user_id=membership.user_id
    ).first()
    schedule = DigestSchedule.objects.filter(workspace_id=membership.workspace_id).first()
    return render(
        request,
        "share/digest/week.html",
        {
            "digest": digest_build(membership, preference=preference),
            "preference": preference,
            "schedule": schedule or DigestSchedule(weekday=0, hour=8),
            "weekdays": Weekday.choices,
            "hours": range(24),
            "zones": sorted(zoneinfo.available_timezones()),
        },
    )


@workspace_view()
@require_POST
def preferences(request: HttpRequest, membership: Membership) -> HttpResponse:
    return submit_and_redirect(
        request,
        PreferenceForm(request.POST),
        lambda data: send.preference_update(
            membership=membership, time_zone=data["time_zone"], subscribed=data["subscribed"]
        ),
        done="Saved.",
        back=reverse("share:digest", kwargs={"slug": membership.workspace.slug}),
    )


@workspace_view(Role.LEADER)
@require_POST
def schedule(request: HttpRequest, membership: Membership) -> HttpResponse:
    return submit_and_redirect(
        request,
        ScheduleForm(request.POST),
        lambda data: send.schedule_update(membership=membership, **data),
        done="The digest goes out at the new time, in each person's time zone.",
        back=reverse("share:digest", kwargs={"slug": membership.workspace.slug}),
    )


# A mail client's one-click POST (RFC 8058) carries no CSRF token; the signed token is the proof.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET shows one button (link scanners must not unsubscribe anyone); POST, from that
    button or the mail client's one-click, unsubscribes. No sign-in: the token is signed."""
    found = send.read_unsubscribe_token(token)
    workspace = Workspace.objects.filter(slug=slug).first()
    if found is None or workspace is None or found[0] != workspace.pk:
        raise Http404("This unsubscribe link is not valid.")
    if not Membership.objects.filter(workspace=workspace, user_id=found[1]).exists():
        raise Http404("This unsubscribe link is not valid.")
    done = False
    if request.method == "POST":
        send.digest_unsubscribe(workspace_id=found[0], user_id=found[1])
        done = True
    return render(
        request, "share/digest/unsubscribe.html", {"done": done, "workspace_name": workspace.name}
    )
