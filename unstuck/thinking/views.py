"""Web pages for thinking: the gentle note, flags and their patterns, the question bank,
the deal-page note and the training."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.core.access import get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.core.submit import FormInvalid, forbid, submit, submit_and_redirect, submit_page
from unstuck.thinking import selectors, services
from unstuck.thinking.access import get_flag_for, get_question_for
from unstuck.thinking.biases import BIAS_KEYS, CATALOGUE, NONE, Bias
from unstuck.thinking.forms import (
    CheckForm,
    DismissForm,
    DraftDismissForm,
    NoteForm,
    QuestionForm,
)
from unstuck.thinking.question_bank import Perspective, Situation
from unstuck.thinking.training import (
    LESSONS,
    QUIZ_BY_KEY,
    quiz_choices,
    quiz_item_for_token,
    quiz_order,
    quiz_token,
)

# The gentle note ---------------------------------------------------------------------------


@workspace_view()
@require_POST
def check(request: AppRequest, membership: Membership) -> HttpResponse:
    """Check the text beside which the note sits; answer with the note (empty when sound).

    The text is a draft: nothing is stored; its save stores the flags (`services.text_check`).
    """
    form = CheckForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    data = form.cleaned_data
    text = request.POST.get(data["field"] or "text", "")
    if data["deal"]:  # a note beside a deal's text: only who may change the deal writes there
        get_deal_for(membership, data["deal"], write=True)
    try:
        flags = services.text_preview(
            workspace=membership.workspace,
            author=request.user,
            text=text,
            situation=data["situation"] or None,
            draft_key=data["draft_key"],
        )
    except UnstuckError as exc:
        return render(request, "thinking/_partials/gentle_note.html", {"error": exc.message})
    return render(request, "thinking/_partials/gentle_note.html", {"flags": flags})


@workspace_view()
@require_POST
def draft_flag_dismiss(request: AppRequest, membership: Membership) -> HttpResponse:
    """Set aside a note shown beside a text still being typed; kept for when it is saved."""
    try:
        flag = submit(
            DraftDismissForm(request.POST),
            lambda data: services.draft_flag_dismiss(
                workspace=membership.workspace,
                author=request.user,
                draft_key=data["draft_key"],
                bias=data["bias"],
                reason=data["reason"],
            ),
        )
    except FormInvalid:
        return HttpResponse("Say in a few words why this note doesn't apply.", status=400)
    except UnstuckError as exc:
        forbid(exc)
        return HttpResponse(exc.message, status=400)
    return render(request, "thinking/_partials/gentle_flag.html", {"flag": flag})


@workspace_view()
@require_POST
def flag_dismiss(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    flag = get_flag_for(membership, pk, write=True)
    form = DismissForm(request.POST)

    def dismiss(data: dict[str, Any]) -> object:
        return services.flag_dismiss(membership=membership, flag=flag, reason=data["reason"])

    if not request.htmx:
        return submit_and_redirect(
            request,
            form,
            dismiss,
            done="Flag set aside; your reason is kept with it.",
            back=reverse("thinking:flags", kwargs={"slug": membership.workspace.slug}),
        )
    error = None
    try:
        submit(form, dismiss)
    except FormInvalid:
        error = "Say in a few words why this note doesn't apply."
    except UnstuckError as exc:
        forbid(exc)
        error = exc.message
    return render(
        request,
        "thinking/_partials/gentle_flag.html",
        {"flag": flag, "error": error},
        status=400 if error else 200,
    )


# Flags and patterns ------------------------------------------------------------------------

PERIODS = {"30": 30, "90": 90, "365": 365, "all": None}


@workspace_view()
def flags(request: AppRequest, membership: Membership) -> HttpResponse:
    period = request.GET.get("period", "90")
    days = PERIODS.get(period, 90)
    since = timezone.now() - timedelta(days=days) if days else None
    visible = selectors.flags_visible_to(membership)
    bias = request.GET.get("bias", "")
    listed = visible.filter(created_at__gte=since) if since else visible
    if bias in BIAS_KEYS:
        listed = listed.filter(bias=bias)
    context = {
        "patterns": selectors.flag_patterns(visible, since),
        "recent": listed.select_related("author", "deal", "dismissed_by")[:100],
        "period": period,
        "periods": [("30", "30 days"), ("90", "90 days"), ("365", "A year"), ("all", "All")],
        "bias": bias,
        "biases": Bias.choices,
    }
    return render(request, "thinking/flags.html", context)


# The question bank -------------------------------------------------------------------------


@workspace_view()
@require_http_methods(["GET", "POST"])
def questions(request: AppRequest, membership: Membership) -> HttpResponse:
    form = QuestionForm(request.POST or None, initial={"situations": Situation.values})
    added = submit_page(
        request,
        form,
        lambda data: services.question_add(
            membership=membership,
            text=data["text"],
            perspective=data["perspective"],
            biases=data["biases"],
            situations=data["situations"],
        ),
        done="Question added to the bank.",
        then=reverse("thinking:questions", kwargs={"slug": membership.workspace.slug}),
        check=lambda: services.question_bank_require_edit(membership),
    )
    if added is not None:
        return added
    bias = request.GET.get("bias") or None
    situation = request.GET.get("situation") or None
    shown = selectors.questions_for(workspace=membership.workspace, bias=bias, situation=situation)
    if situation:
        shown = [q for q in shown if situation in q.situations]
    archived = []
    if membership.role == Role.LEADER:
        archived = list(membership.workspace.perspective_questions.filter(is_active=False))
    context = {
        "questions": shown,
        "archived": archived,
        "form": form,
        "bias": bias or "",
        "situation": situation or "",
        "biases": Bias.choices,
        "situations": Situation.choices,
        "perspectives": dict(Perspective.choices),
        "situation_names": dict(Situation.choices),
        "can_edit": membership.role == Role.LEADER,
    }
    return render(request, "thinking/questions.html", context, status=400 if form.errors else 200)


@workspace_view(Role.LEADER)
@require_http_methods(["GET", "POST"])
def question_edit(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    question = get_question_for(membership, pk)
    initial = {
        "text": question.text,
        "perspective": question.perspective,
        "biases": question.biases,
        "situations": question.situations,
        "is_active": question.is_active,
    }
    form = QuestionForm(request.POST or None, initial=initial)
    saved = submit_page(
        request,
        form,
        lambda data: services.question_update(membership=membership, question=question, **data),
        done="Question saved.",
        then=reverse("thinking:questions", kwargs={"slug": membership.workspace.slug}),
    )
    if saved is not None:
        return saved
    return render(
        request,
        "thinking/question_edit.html",
        {"form": form, "question": question},
        status=400 if form.errors else 200,
    )


# A note on a deal, written with the gentle note beside it ----------------------------------


@workspace_view()
@require_POST
def deal_note(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    return submit_and_redirect(
        request,
        NoteForm(request.POST),
        lambda data: services.deal_note_add(
            membership=membership,
            deal=deal,
            summary=data["summary"],
            draft_key=data["draft_key"],
        ),
        done="Note saved.",
        back=reverse("deals:detail", kwargs={"slug": membership.workspace.slug, "pk": deal.pk}),
    )


# Training ----------------------------------------------------------------------------------


@workspace_view()
def training(request: AppRequest, membership: Membership) -> HttpResponse:
    progress = selectors.training_progress(workspace=membership.workspace, user=request.user)
    team = selectors.team_training_progress(membership) if membership.is_leader else []
    context = {
        "progress": progress,
        "rows": list(zip([LESSONS[k] for k in BIAS_KEYS], progress.per_bias, strict=True)),
        "team": team,
    }
    return render(request, "thinking/training.html", context)


@workspace_view()
@require_http_methods(["GET", "POST"])
def lesson(request: AppRequest, membership: Membership, bias: str) -> HttpResponse:
    if bias not in LESSONS:
        raise Http404("No such lesson.")
    if request.method == "POST":
        return submit_and_redirect(
            request,
            None,
            lambda _: services.lesson_complete(
                workspace=membership.workspace, user=request.user, bias=bias
            ),
            done=f"Lesson on {CATALOGUE[bias].name} bias marked as read.",
            back=reverse("thinking:quiz", kwargs={"slug": membership.workspace.slug}),
        )
    keys = list(BIAS_KEYS)
    index = keys.index(bias)
    context = {
        "lesson": LESSONS[bias],
        "info": CATALOGUE[bias],
        "questions": selectors.questions_for(workspace=membership.workspace, bias=bias, limit=3),
        "next_bias": keys[index + 1] if index + 1 < len(keys) else None,
        "done": selectors.training_progress(
            workspace=membership.workspace,
            user=request.user,
        )
        .per_bias[index]
        .lesson_done,
    }
    return render(request, "thinking/lesson.html", context)


CHOICES = [(k, CATALOGUE[k].name) for k in BIAS_KEYS] + [(NONE, "No bias")]


@workspace_view()
@require_http_methods(["GET", "POST"])
def quiz(request: AppRequest, membership: Membership) -> HttpResponse:
    """One statement at a time, in the person's own order, the choices shuffled; the page
    names the statement by a token (never by its key, which would give the answer away) and
    the server checks the answer."""
    user = request.user
    workspace = membership.workspace
    if request.method == "POST":
        item = quiz_item_for_token(request.POST.get("item", ""))
        if item is None:
            return HttpResponse("That quiz question does not exist.", status=400)
        try:
            answer = services.quiz_answer(
                workspace=workspace,
                user=user,
                item_key=item.key,
                chosen=request.POST.get("chosen", ""),
            )
        except UnstuckError as exc:
            return HttpResponse(exc.message, status=400)
        next_key = selectors.quiz_next_item(
            workspace=workspace,
            user=user,
            after=item.key,
        )
        context = {
            "item": item,
            "answer": answer,
            "expected_name": dict(CHOICES)[item.answer],
            "chosen_name": dict(CHOICES)[answer.chosen],
            "next_token": quiz_token(QUIZ_BY_KEY[next_key]) if next_key else None,
        }
        template = "thinking/_partials/quiz_result.html"
        if not request.htmx:
            context["progress"] = selectors.training_progress(
                workspace=workspace,
                user=user,
            )
            template = "thinking/quiz.html"
        return render(request, template, context)
    order = quiz_order(workspace_id=workspace.pk, user_id=membership.user_id)
    asked = quiz_item_for_token(request.GET.get("item", ""))
    key = asked.key if asked else selectors.quiz_next_item(workspace=workspace, user=user)
    item = QUIZ_BY_KEY.get(key or "") or order[0]
    progress = selectors.training_progress(workspace=workspace, user=user)
    context = {
        "item": item,
        "token": quiz_token(item),
        "all_done": key is None,
        "choices": quiz_choices(item, user_id=membership.user_id),
        "progress": progress,
        "position": order.index(item) + 1,
        "count": len(order),
    }
    return render(request, "thinking/quiz.html", context)
