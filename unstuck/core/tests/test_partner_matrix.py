"""The partner's row of the persona matrix: every page and every API operation, with what a
partner gets (issue 15, item 8).

A partner is invited to deal_b and to one session on it. They read that deal and take part in
that session; everything else answers 404 (not theirs to see) or 403 (a part of the workspace
they know of but may not use). Both tables must name every route: a new page or endpoint
fails `test_the_tables_cover_every_route` until its partner row is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from unstuck.api import api
from unstuck.cocreate.models import (
    ActionItem,
    ApprovalRequest,
    Lever,
    Option,
    Participant,
    Session,
)
from unstuck.cocreate.services import levers_ensure
from unstuck.core.models import ApiToken, Membership, TaskRun
from unstuck.core.services import api_token_create
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import BuyingRole, Contact, Stakeholder
from unstuck.imports.models import ImportRun
from unstuck.investigate.models import DecisionStep, InvestigationRequest, Obstacle
from unstuck.share.digest_send import unsubscribe_token
from unstuck.share.models import BenchAsk, BenchPerson, NewsPost, Play
from unstuck.thinking.models import BiasFlag, PerspectiveQuestion
from unstuck.thinking.services import question_bank_ensure

# Routes outside a workspace, and what anyone signed in gets there.
OUTSIDE = {
    "home",
    "healthz",
    "readyz",
    "login",
    "logout",
    "api-tokens",
    "api-token-revoke",
    # Reached from an emailed link or the sign-in page, before anyone is signed in.
    "invite-accept",
    "password-reset",
    "password-reset-done",
    "password-reset-confirm",
    "password-reset-complete",
}


class PartnerMatrixCase(PersonasTestCase):
    session_b: Session
    session_a: Session
    option_b: Option
    stakeholder_b: Stakeholder
    obstacle_b: Obstacle
    request_b: InvestigationRequest
    step_b: DecisionStep
    lever: Lever
    question: PerspectiveQuestion
    flag: BiasFlag
    import_run: ImportRun
    task_run: TaskRun
    rep_b_membership: Membership
    approval: ApprovalRequest
    item: ActionItem
    leader_token: ApiToken
    secret: str
    news: NewsPost
    bench_person: BenchPerson
    ask: BenchAsk
    play: Play

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        ws = cls.workspace
        cls.session_b = Session.objects.create(
            workspace=ws, deal=cls.deal_b, ideal_outcome="Renew", started_by=cls.manager_b
        )
        Participant.objects.create(session=cls.session_b, user=cls.partner)
        cls.session_a = Session.objects.create(
            workspace=ws, deal=cls.deal_a, ideal_outcome="Expand", started_by=cls.manager_a
        )
        cls.option_b = Option.objects.create(session=cls.session_b, title="Pilot", author=cls.rep_b)
        contact = Contact.objects.create(workspace=ws, name="Ana Ruiz")
        cls.stakeholder_b = Stakeholder.objects.create(
            deal=cls.deal_b, contact=contact, buying_role=BuyingRole.ECONOMIC_BUYER
        )
        cls.obstacle_b = Obstacle.objects.create(deal=cls.deal_b, kind="budget", description="No")
        cls.request_b = InvestigationRequest.objects.create(
            deal=cls.deal_b,
            question="Who signs?",
            due_date=date(2030, 1, 1),
            asked_by=cls.manager_b,
            assignee=cls.rep_b,
        )
        cls.step_b = DecisionStep.objects.create(deal=cls.deal_b, name="Legal review", order=1)
        levers_ensure(workspace=ws)
        cls.lever = Lever.objects.filter(workspace=ws).first()  # type: ignore[assignment]
        question_bank_ensure(workspace=ws)
        cls.question = PerspectiveQuestion.objects.filter(workspace=ws).first()  # type: ignore[assignment]
        cls.flag = BiasFlag.objects.create(
            workspace=ws,
            author=cls.leader,
            bias="legacy",
            text="We always did it so",
            confidence=0.9,
        )
        cls.import_run = ImportRun.objects.create(workspace=ws, kind="csv")
        cls.rep_b_membership = Membership.objects.get(workspace=ws, user=cls.rep_b)
        cls.task_run = TaskRun.objects.create(
            workspace=ws, kind="scoring", label="Scoring", task_path="x", status="failed"
        )
        cls.approval = ApprovalRequest.objects.create(
            workspace=ws, option=cls.option_b, requested_by=cls.manager_b
        )
        cls.item = ActionItem.objects.create(
            session=cls.session_b, text="Send", owner=cls.rep_b, due_date=date(2030, 1, 1)
        )
        # A verified play never applied to the partner's deal: not theirs to see.
        cls.play = Play.objects.create(
            workspace=ws, title="Phase it", what_to_do="Pilot first", status="verified"
        )
        cls.leader_token = api_token_create(user=cls.leader, name="leader")[0]
        # share: news posted by the leader (a partner sees only their own posts)
        cls.news = NewsPost.objects.create(workspace=ws, author=cls.leader, title="N", body="B")
        # share: the partner is on the bench and was asked for help on deal_b
        cls.bench_person = BenchPerson.objects.create(
            workspace=ws, user=cls.partner, function="legal", helps_with="DPAs"
        )
        cls.ask = BenchAsk.objects.create(
            workspace=ws,
            deal=cls.deal_b,
            person=cls.bench_person,
            asked_by=cls.rep_b,
            what="Review the DPA",
            due_date=date(2030, 1, 1),
        )
        cls.secret = api_token_create(user=cls.partner, name="partner")[1]


def _walk(patterns: list[Any], ns: str = "") -> list[str]:
    names: list[str] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "api":
                continue
            names += _walk(p.url_patterns, ns + (f"{p.namespace}:" if p.namespace else ""))
        elif isinstance(p, URLPattern) and p.name:
            names.append(ns + p.name)
    return names


Row = tuple[str, Callable[["PartnerMatrixTests"], dict[str, Any]], int]


def _deal(pk_attr: str) -> Callable[[PartnerMatrixTests], dict[str, Any]]:
    return lambda t: {"pk": getattr(t, pk_attr).pk}


def _session_b(t: PartnerMatrixTests) -> dict[str, Any]:
    return {"pk": t.session_b.pk}


# url name -> (method, kwargs, the partner's status). 404: not theirs to see; 403: seen, not
# theirs to use or change; 200/302: what they may do.
WEB: dict[str, Row] = {
    "workspace-home": ("get", lambda t: {}, 302),
    "workspace-settings": ("get", lambda t: {}, 403),
    # Retrying background work is for leaders and managers.
    "task-retry": ("post", lambda t: {"pk": t.task_run.pk}, 403),
    # People and teams are the leaders' to manage.
    "member-invite": ("post", lambda t: {}, 403),
    "member-update": ("post", lambda t: {"pk": t.rep_b_membership.pk}, 403),
    "member-deactivate": ("post", lambda t: {"pk": t.rep_b_membership.pk}, 403),
    "member-reactivate": ("post", lambda t: {"pk": t.rep_b_membership.pk}, 403),
    "member-invite-resend": ("post", lambda t: {"pk": t.rep_b_membership.pk}, 403),
    "team-create": ("post", lambda t: {}, 403),
    "team-update": ("post", lambda t: {"pk": t.team_b.pk}, 403),
    # The smallest signed-in page answers every member.
    "ping": ("get", lambda t: {}, 200),
    "deals:pipeline": ("get", lambda t: {}, 200),
    "deals:pipeline-csv": ("get", lambda t: {}, 200),  # only the deals they were invited to
    "deals:detail": ("get", _deal("deal_b"), 200),
    "deals:move": ("post", _deal("deal_b"), 403),
    "deals:stakeholder-new": ("get", _deal("deal_b"), 403),
    "deals:stakeholder-edit": (
        "get",
        lambda t: {"pk": t.deal_b.pk, "stakeholder_pk": t.stakeholder_b.pk},
        403,
    ),
    "deals:stakeholder-delete": (
        "post",
        lambda t: {"pk": t.deal_b.pk, "stakeholder_pk": t.stakeholder_b.pk},
        403,
    ),
    "deals:partner-invite": ("post", _deal("deal_b"), 403),
    "deals:partner-remove": ("post", lambda t: {"pk": t.deal_b.pk, "user_pk": t.partner.pk}, 403),
    "investigate:queue": ("get", lambda t: {}, 403),
    "investigate:settings": ("get", lambda t: {}, 403),
    "investigate:my-requests": ("get", lambda t: {}, 403),
    "investigate:stakeholder-view": ("post", _deal("deal_b"), 403),
    "investigate:step-add": ("post", _deal("deal_b"), 403),
    "investigate:step-status": ("post", lambda t: {"pk": t.deal_b.pk, "step_pk": t.step_b.pk}, 403),
    "investigate:obstacle-add": ("post", _deal("deal_b"), 403),
    "investigate:obstacle-resolve": (
        "post",
        lambda t: {"pk": t.deal_b.pk, "obstacle_pk": t.obstacle_b.pk},
        403,
    ),
    "investigate:pain": ("post", _deal("deal_b"), 403),
    "investigate:feedback-add": ("post", _deal("deal_b"), 403),
    "investigate:request-create": ("post", _deal("deal_b"), 403),
    "investigate:request-answer": (
        "post",
        lambda t: {"pk": t.deal_b.pk, "request_pk": t.request_b.pk},
        403,
    ),
    "cocreate:sessions": ("get", lambda t: {}, 200),
    "cocreate:start": ("get", lambda t: {"deal_pk": t.deal_b.pk}, 403),
    "cocreate:session": ("get", _session_b, 200),
    "cocreate:live": ("get", _session_b, 200),
    "cocreate:suggestions": ("get", _session_b, 200),
    # Invited to the session, the partner takes part (each answers by going back to it).
    "cocreate:option-add": ("post", _session_b, 302),
    "cocreate:suggestion-accept": ("post", _session_b, 302),
    "cocreate:suggestion-ignore": ("post", _session_b, 302),
    "cocreate:comment-add": ("post", _session_b, 302),
    "cocreate:option-score": ("post", lambda t: {**_session_b(t), "option_pk": t.option_b.pk}, 302),
    "cocreate:converge": ("post", _session_b, 403),
    "cocreate:checklist": ("post", _session_b, 403),
    "cocreate:decide": ("post", _session_b, 403),
    "cocreate:approval-request": (
        "post",
        lambda t: {**_session_b(t), "option_pk": t.option_b.pk},
        403,
    ),
    "cocreate:action-add": ("post", _session_b, 403),
    "cocreate:action-done": ("post", lambda t: {**_session_b(t), "item_pk": t.item.pk}, 302),
    "cocreate:outcome": ("post", _session_b, 403),
    "cocreate:invite": ("post", _session_b, 403),
    # Approvals of the sessions they see, as in the API.
    "cocreate:approvals": ("get", lambda t: {}, 200),
    "cocreate:approval-decide": ("post", lambda t: {"pk": t.approval.pk}, 403),
    "cocreate:guardrails": ("get", lambda t: {}, 403),
    "cocreate:levers": ("get", lambda t: {}, 403),
    "cocreate:lever-new": ("get", lambda t: {}, 403),
    "cocreate:lever-edit": ("get", lambda t: {"pk": t.lever.pk}, 403),
    "thinking:check": ("post", lambda t: {}, 200),
    "thinking:check-dismiss": ("post", lambda t: {}, 400),  # their own drafts only
    "thinking:deal-note": ("post", _deal("deal_b"), 403),
    "thinking:flags": ("get", lambda t: {}, 200),
    "thinking:flag-dismiss": ("post", lambda t: {"pk": t.flag.pk}, 404),
    "thinking:questions": ("get", lambda t: {}, 200),
    "thinking:question-edit": ("get", lambda t: {"pk": t.question.pk}, 403),
    "thinking:training": ("get", lambda t: {}, 200),
    "thinking:lesson": ("get", lambda t: {"bias": "legacy"}, 200),
    "thinking:quiz": ("get", lambda t: {}, 200),
    "imports:list": ("get", lambda t: {}, 403),
    "imports:new": ("get", lambda t: {}, 403),
    "imports:detail": ("get", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:mapping": ("get", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:preview": ("get", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:rejected-csv": ("get", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:repeat": ("post", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:discard": ("post", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:invite-owners": ("post", lambda t: {"pk": t.import_run.pk}, 403),
    "imports:mapping-toml": ("get", lambda t: {"pk": t.import_run.pk}, 403),
    # Where a manager's time goes is for managers and leaders only.
    "insights:page": ("get", lambda t: {}, 403),
    "insights:checkin": ("post", lambda t: {}, 403),
    "insights:pulse": ("post", lambda t: {}, 403),
    "insights:recompute": ("post", lambda t: {}, 403),
    # share: news. Partners post and see their own posts; a leader's post is not theirs.
    "share:news": ("get", lambda t: {}, 200),
    "share:news-new": ("get", lambda t: {}, 200),
    "share:news-detail": ("get", lambda t: {"pk": t.news.pk}, 404),
    "share:news-read": ("post", lambda t: {"pk": t.news.pk}, 404),
    "share:news-relay": ("post", lambda t: {"pk": t.news.pk}, 403),
    # share: the digest. Their own "This week" and email settings; the schedule is a leader's.
    "share:digest": ("get", lambda t: {}, 200),
    "share:digest-preferences": ("post", lambda t: {}, 302),
    "share:digest-schedule": ("post", lambda t: {}, 403),
    "share:digest-unsubscribe": (
        "get",
        lambda t: {"token": unsubscribe_token(t.workspace.pk, t.partner.pk)},
        200,
    ),
    # share: the bench. A partner answers the asks made to them; asking is for who works deals.
    "share:bench": ("get", lambda t: {}, 200),
    "share:bench-add": ("post", lambda t: {}, 403),
    "share:ask-new": ("get", lambda t: {"deal_pk": t.deal_b.pk}, 403),
    "share:who-helped": ("get", lambda t: {"deal_pk": t.deal_b.pk}, 403),
    "share:ask-detail": ("get", lambda t: {"pk": t.ask.pk}, 200),
    "share:ask-answer": ("post", lambda t: {"pk": t.ask.pk}, 302),
    "share:ask-rate": ("post", lambda t: {"pk": t.ask.pk}, 403),
    # /share
    # The playbook: only verified plays applied to their deals (none here); no curating.
    "share:plays": ("get", lambda t: {}, 200),
    "share:play-new": ("get", lambda t: {}, 403),
    "share:play": ("get", lambda t: {"pk": t.play.pk}, 404),
    "share:play-edit": ("get", lambda t: {"pk": t.play.pk}, 403),
    "share:play-verify": ("post", lambda t: {"pk": t.play.pk}, 404),
    "share:play-retire": ("post", lambda t: {"pk": t.play.pk}, 404),
    "share:play-apply": ("post", lambda t: {"pk": t.play.pk}, 404),
    "share:play-refresh": ("post", lambda t: {"pk": t.play.pk}, 404),
    "share:play-promote": ("post", lambda t: {"session_pk": t.session_b.pk}, 403),
}

# What the form posts, where a view reads the form before the service checks permission.
WEB_DATA = {"investigate:request-answer": {"answer": "Legal signs."}}

# "METHOD /path" -> (path values, body, the partner's status).
ApiRow = tuple[Callable[["PartnerMatrixTests"], dict[str, Any]], Any, int]
S = "/api/v1/workspaces/{slug}"


def _ids(**attrs: str) -> Callable[[PartnerMatrixTests], dict[str, Any]]:
    return lambda t: {name: getattr(t, attr).pk for name, attr in attrs.items()}


DEAL_B = _ids(deal_id="deal_b")
SESSION_B = _ids(session_id="session_b")
API: dict[str, ApiRow] = {
    "GET /api/v1/me": (lambda t: {}, None, 200),
    "GET /api/v1/tokens": (lambda t: {}, None, 200),
    "POST /api/v1/tokens": (lambda t: {}, {"name": "mine"}, 201),
    # Someone else's token is not found.
    "DELETE /api/v1/tokens/{token_id}": (_ids(token_id="leader_token"), None, 404),
    f"GET {S}/deals": (lambda t: {}, None, 200),
    # The member list (names, emails) is not a partner's; people and teams are the leaders'.
    f"GET {S}/people": (lambda t: {}, None, 403),
    f"POST {S}/people": (lambda t: {}, {"email": "new@acme.test", "role": "rep"}, 403),
    f"PATCH {S}/people/{{person_id}}": (_ids(person_id="rep_b_membership"), {"role": "rep"}, 403),
    f"POST {S}/people/{{person_id}}/deactivate": (_ids(person_id="rep_b_membership"), None, 403),
    f"POST {S}/people/{{person_id}}/reactivate": (_ids(person_id="rep_b_membership"), None, 403),
    f"GET {S}/teams": (lambda t: {}, None, 403),
    # Background work is shown to leaders and managers.
    f"GET {S}/tasks": (lambda t: {}, None, 403),
    f"POST {S}/tasks/{{task_run_id}}/retry": (_ids(task_run_id="task_run"), None, 403),
    f"POST {S}/teams": (lambda t: {}, {"name": "C"}, 403),
    f"PATCH {S}/teams/{{team_id}}": (_ids(team_id="team_b"), {"name": "C"}, 403),
    f"GET {S}/deals/{{deal_id}}": (DEAL_B, None, 200),
    f"POST {S}/deals/{{deal_id}}/stage": (DEAL_B, {"stage": "Discovery"}, 403),
    f"GET {S}/deals/{{deal_id}}/stakeholders": (DEAL_B, None, 200),
    f"POST {S}/deals/{{deal_id}}/stakeholders": (
        DEAL_B,
        {"name": "X", "buying_role": "user"},
        403,
    ),
    f"PATCH {S}/deals/{{deal_id}}/stakeholders/{{stakeholder_id}}": (
        _ids(deal_id="deal_b", stakeholder_id="stakeholder_b"),
        {"notes": "x"},
        403,
    ),
    f"DELETE {S}/deals/{{deal_id}}/stakeholders/{{stakeholder_id}}": (
        _ids(deal_id="deal_b", stakeholder_id="stakeholder_b"),
        None,
        403,
    ),
    f"GET {S}/investigate/queue": (lambda t: {}, None, 403),
    f"GET {S}/investigate/deals/{{deal_id}}/signals": (DEAL_B, None, 200),
    f"GET {S}/investigate/diagnose": (lambda t: {}, None, 200),
    f"GET {S}/investigate/deals/{{deal_id}}/investigation": (DEAL_B, None, 200),
    f"POST {S}/investigate/deals/{{deal_id}}/requests": (
        DEAL_B,
        {"question": "x", "due_date": "2030-01-01"},
        403,
    ),
    f"POST {S}/investigate/deals/{{deal_id}}/requests/{{request_id}}/answer": (
        _ids(deal_id="deal_b", request_id="request_b"),
        {"answer": "x"},
        403,
    ),
    f"POST {S}/investigate/deals/{{deal_id}}/obstacles": (
        DEAL_B,
        {"kind": "budget", "description": "x"},
        403,
    ),
    f"PUT {S}/investigate/deals/{{deal_id}}/pain": (DEAL_B, {"pain": "x", "resolution": "y"}, 403),
    f"POST {S}/investigate/deals/{{deal_id}}/feedback": (
        DEAL_B,
        {"kind": "note", "text": "x"},
        403,
    ),
    f"POST {S}/investigate/deals/{{deal_id}}/steps": (DEAL_B, {"name": "x"}, 403),
    f"PUT {S}/investigate/deals/{{deal_id}}/stakeholders/{{stakeholder_id}}/view": (
        _ids(deal_id="deal_b", stakeholder_id="stakeholder_b"),
        {"financial_concerns": "x"},
        403,
    ),
    f"GET {S}/investigate/settings": (lambda t: {}, None, 403),
    f"PUT {S}/investigate/settings": (lambda t: {}, {}, 403),
    f"POST {S}/thinking/check": (
        DEAL_B,
        {"text": "We have always done it this way.", "deal_id": "{deal_id}"},
        403,
    ),
    f"GET {S}/thinking/flags": (lambda t: {}, None, 200),
    f"POST {S}/thinking/flags/{{flag_id}}/dismiss": (_ids(flag_id="flag"), {"reason": "x"}, 404),
    f"GET {S}/thinking/questions": (lambda t: {}, None, 200),
    f"POST {S}/thinking/questions": (
        lambda t: {},
        {"text": "x?", "perspective": "opening", "biases": ["legacy"]},
        403,
    ),
    f"PATCH {S}/thinking/questions/{{question_id}}": (
        _ids(question_id="question"),
        {"text": "x?"},
        403,
    ),
    f"GET {S}/thinking/training/progress": (lambda t: {}, None, 200),
    f"GET {S}/insights/effectiveness": (lambda t: {}, None, 403),
    f"PUT {S}/insights/checkins": (
        lambda t: {},
        {"week": "2026-11-23", "innovation": 40, "coaching": 20, "efficiency": 30, "admin": 10},
        403,
    ),
    f"PUT {S}/insights/pulse": (
        lambda t: {},
        {"empowered": 3, "time_for_innovation": 3, "decide_without_approval": 3},
        403,
    ),
    # The playbook: verified plays applied to their deals only (none here); no curating.
    f"GET {S}/share/plays": (lambda t: {}, None, 200),
    f"POST {S}/share/plays": (lambda t: {}, {"title": "T", "what_to_do": "x"}, 403),
    f"GET {S}/share/plays/trust": (lambda t: {}, None, 403),
    f"GET {S}/share/plays/{{play_id}}": (_ids(play_id="play"), None, 404),
    f"PATCH {S}/share/plays/{{play_id}}": (_ids(play_id="play"), {"title": "Mine"}, 404),
    f"POST {S}/share/plays/{{play_id}}/verify": (_ids(play_id="play"), None, 404),
    f"POST {S}/share/plays/{{play_id}}/retire": (_ids(play_id="play"), {}, 404),
    f"GET {S}/share/plays/{{play_id}}/outcome": (_ids(play_id="play"), None, 404),
    f"POST {S}/share/plays/{{play_id}}/outcome/refresh": (_ids(play_id="play"), None, 404),
    f"GET {S}/share/plays/{{play_id}}/applications": (_ids(play_id="play"), None, 404),
    f"POST {S}/share/plays/{{play_id}}/applications": (
        _ids(play_id="play"),
        {"deal_id": 1},
        404,
    ),
    f"POST {S}/share/sessions/{{session_id}}/promote": (SESSION_B, None, 403),
    f"GET {S}/imports/{{run_id}}": (_ids(run_id="import_run"), None, 403),
    f"GET {S}/cocreate/deals/{{deal_id}}/suggestions": (DEAL_B, None, 403),
    f"GET {S}/cocreate/sessions": (lambda t: {}, None, 200),
    f"POST {S}/cocreate/sessions": (
        lambda t: {},
        {"deal_id": "{deal_b}", "ideal_outcome": "x"},
        403,
    ),
    f"GET {S}/cocreate/sessions/{{session_id}}": (SESSION_B, None, 200),
    f"GET {S}/cocreate/sessions/{{session_id}}/suggestions": (SESSION_B, None, 200),
    f"POST {S}/cocreate/sessions/{{session_id}}/options": (SESSION_B, {"title": "Mine"}, 201),
    f"POST {S}/cocreate/sessions/{{session_id}}/suggestions/accept": (
        SESSION_B,
        {"key": "no-such"},
        400,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/suggestions/ignore": (
        SESSION_B,
        {"key": "no-such"},
        204,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/comments": (SESSION_B, {"text": "Good"}, 201),
    f"POST {S}/cocreate/sessions/{{session_id}}/converge": (SESSION_B, None, 403),
    f"POST {S}/cocreate/sessions/{{session_id}}/options/{{option_id}}/score": (
        _ids(session_id="session_b", option_id="option_b"),
        {"value": 4, "risk": 4, "feasibility": 4, "payoff": 4},
        409,  # allowed, but scoring waits for the session to converge
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/checklist": (
        SESSION_B,
        {"alternatives_considered": "x", "dissent_explored": "x", "premortem": "x"},
        403,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/options/{{option_id}}/approval": (
        _ids(session_id="session_b", option_id="option_b"),
        {},
        403,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/decide": (
        SESSION_B,
        {"option_ids": [], "rationale": "x"},
        403,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/actions": (
        SESSION_B,
        {"text": "x", "owner_id": 1, "due_date": "2030-01-01"},
        403,
    ),
    f"POST {S}/cocreate/sessions/{{session_id}}/outcome": (SESSION_B, {"outcome": "won"}, 403),
    f"GET {S}/cocreate/approvals": (lambda t: {}, None, 200),
    f"POST {S}/cocreate/approvals/{{approval_id}}": (
        _ids(approval_id="approval"),
        {"approve": True, "reason": "x"},
        403,
    ),
    f"GET {S}/cocreate/levers": (lambda t: {}, None, 403),
    f"POST {S}/cocreate/levers": (
        lambda t: {},
        {"family": "price", "name": "x", "template": "x"},
        403,
    ),
    f"PATCH {S}/cocreate/levers/{{lever_id}}": (_ids(lever_id="lever"), {"name": "x"}, 403),
    # share: news
    f"GET {S}/share/news": (lambda t: {}, None, 200),
    f"POST {S}/share/news": (lambda t: {}, {"title": "Legal", "body": "New DPA"}, 201),
    f"GET {S}/share/news/inbox": (lambda t: {}, None, 403),
    f"GET {S}/share/news/{{post_id}}": (_ids(post_id="news"), None, 404),
    f"POST {S}/share/news/{{post_id}}/read": (_ids(post_id="news"), None, 404),
    f"POST {S}/share/news/{{post_id}}/relay": (
        _ids(post_id="news"),
        {"team_id": 1, "decision": "passed"},
        404,
    ),
    f"GET {S}/share/news/{{post_id}}/reads": (_ids(post_id="news"), None, 404),
    # share: the digest (their own), the bench (the asks made to them)
    f"GET {S}/share/digest": (lambda t: {}, None, 200),
    f"PUT {S}/share/digest/preferences": (
        lambda t: {},
        {"time_zone": "Europe/Berlin", "subscribed": True},
        200,
    ),
    f"GET {S}/share/digest/schedule": (lambda t: {}, None, 200),
    f"PUT {S}/share/digest/schedule": (
        lambda t: {},
        {"weekday": 1, "hour": 9, "enabled": True},
        403,
    ),
    f"GET {S}/share/bench": (lambda t: {}, None, 200),
    f"POST {S}/share/bench": (
        lambda t: {},
        {"email": "x@acme.test", "function": "legal", "helps_with": "x"},
        403,
    ),
    f"GET {S}/share/bench/asks": (lambda t: {}, None, 200),
    f"POST {S}/share/bench/asks": (
        lambda t: {},
        {"deal_id": "{deal_id}", "person_id": 1, "what": "x", "due_date": "2030-01-01"},
        403,
    ),
    f"GET {S}/share/bench/asks/{{ask_id}}": (_ids(ask_id="ask"), None, 200),
    f"POST {S}/share/bench/asks/{{ask_id}}/answer": (_ids(ask_id="ask"), {"answer": "Done"}, 200),
    f"POST {S}/share/bench/asks/{{ask_id}}/rate": (_ids(ask_id="ask"), {"helpful": True}, 403),
    f"GET {S}/share/bench/deals/{{deal_id}}/who-helped": (DEAL_B, None, 403),
    f"GET {S}/share/bench/involvement": (lambda t: {}, None, 403),
    # /share
    f"GET {S}/cocreate/guardrails": (lambda t: {}, None, 403),
    f"PUT {S}/cocreate/guardrails": (
        lambda t: {},
        {
            "min_options": 8,
            "max_discount_pct": 10,
            "max_term_months": 24,
            "payment_terms": [],
            "clauses": [],
        },
        403,
    ),
}


def _api_operations() -> list[str]:
    schema = api.get_openapi_schema()
    return sorted(
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    )


class PartnerMatrixTests(PartnerMatrixCase):
    def test_the_tables_cover_every_route(self) -> None:
        workspace_routes = set(_walk(get_resolver().url_patterns)) - OUTSIDE
        self.assertEqual(sorted(workspace_routes - set(WEB)), [], "pages without a partner row")
        self.assertEqual(sorted(set(WEB) - workspace_routes), [], "rows for no page")
        self.assertEqual(sorted(set(_api_operations()) - set(API)), [], "operations without a row")
        self.assertEqual(sorted(set(API) - set(_api_operations())), [], "rows for no operation")

    def test_every_page_answers_the_partner_as_the_matrix_says(self) -> None:
        self.client.force_login(self.partner)
        for name, (method, kwargs, expected) in WEB.items():
            with self.subTest(page=name):
                url = reverse(name, kwargs={"slug": "acme", **kwargs(self)})
                response = getattr(self.client, method)(url, WEB_DATA.get(name, {}))
                self.assertEqual(response.status_code, expected)

    def test_every_api_operation_answers_the_partner_as_the_matrix_says(self) -> None:
        headers = {"Authorization": f"Bearer {self.secret}"}
        refs = {"{deal_id}": self.deal_b.pk, "{deal_b}": self.deal_b.pk}
        for operation, (values, body, expected) in API.items():
            method, path = operation.split(" ", 1)
            path = path.format(slug="acme", **values(self))
            if isinstance(body, dict):
                body = {k: refs.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
            with self.subTest(operation=operation):
                response = self.client.generic(
                    method,
                    path,
                    data=json.dumps(body) if body is not None else "",
                    content_type="application/json",
                    headers=headers,
                )
                self.assertEqual(response.status_code, expected, response.content[:300])

    def test_the_partner_cannot_see_the_members_list(self) -> None:
        self.client.force_login(self.partner)
        page = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}))
        self.assertNotContains(page, reverse("workspace-settings", kwargs={"slug": "acme"}))
        settings_page = self.client.get(reverse("workspace-settings", kwargs={"slug": "acme"}))
        self.assertEqual(settings_page.status_code, 403)
        self.assertNotContains(settings_page, self.manager_a.email, status_code=403)

    def test_a_partner_attaches_no_flag_to_a_deal_they_only_read(self) -> None:
        before = BiasFlag.objects.filter(deal=self.deal_b).count()
        self.client.force_login(self.partner)
        response = self.client.post(
            reverse("thinking:check", kwargs={"slug": "acme"}),
            {"text": "We have always done it this way, it worked.", "deal": self.deal_b.pk},
        )
        self.assertEqual(response.status_code, 403)
        api = self.client.post(
            "/api/v1/workspaces/acme/thinking/check",
            {"text": "We have always done it this way, it worked.", "deal_id": self.deal_b.pk},
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        self.assertEqual(api.status_code, 403)
        self.assertEqual(BiasFlag.objects.filter(deal=self.deal_b).count(), before)
        # Nothing new in the manager's list either.
        self.client.force_login(self.manager_b)
        flags = self.client.get(
            "/api/v1/workspaces/acme/thinking/flags", {"deal_id": self.deal_b.pk}
        ).json()
        self.assertEqual(flags, [])

    def test_the_gentle_note_on_a_session_page_does_not_name_the_deal_to_a_partner(self) -> None:
        self.client.force_login(self.partner)
        page = self.client.get(
            reverse("cocreate:session", kwargs={"slug": "acme", "pk": self.session_b.pk})
        )
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, f"&quot;deal&quot;: {self.deal_b.pk}")
