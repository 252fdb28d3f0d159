from django.urls import path

from unstuck.cocreate import views

app_name = "cocreate"
S = "sessions/<int:pk>/"
urlpatterns = [
    path("", views.session_list, name="sessions"),
    path("deals/<int:deal_pk>/start/", views.session_start, name="start"),
    path(S, views.session_detail, name="session"),
    path(S + "live/", views.session_live, name="live"),
    path(S + "suggestions/", views.session_suggestions, name="suggestions"),
    path(S + "suggestions/accept/", views.suggestion_accept, name="suggestion-accept"),
    path(S + "suggestions/ignore/", views.suggestion_ignore, name="suggestion-ignore"),
    path(S + "options/", views.option_add, name="option-add"),
    path(S + "options/<int:option_pk>/score/", views.option_score, name="option-score"),
    path(S + "options/<int:option_pk>/approval/", views.approval_request, name="approval-request"),
    path(S + "comments/", views.comment_add, name="comment-add"),
    path(S + "converge/", views.session_converge, name="converge"),
    path(S + "checklist/", views.session_checklist, name="checklist"),
    path(S + "decide/", views.session_decide, name="decide"),
    path(S + "actions/", views.action_add, name="action-add"),
    path(S + "actions/<int:item_pk>/done/", views.action_done, name="action-done"),
    path(S + "outcome/", views.session_outcome, name="outcome"),
    path(S + "invite/", views.session_invite, name="invite"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval-decide"),
    path("levers/", views.levers, name="levers"),
    path("levers/new/", views.lever_edit, name="lever-new"),
    path("levers/<int:pk>/edit/", views.lever_edit, name="lever-edit"),
    path("guardrails/", views.guardrails, name="guardrails"),
]
