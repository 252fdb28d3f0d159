from django.contrib.auth.views import LogoutView
from django.urls import path

from unstuck.core import people_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", LogoutView.as_view(), name="logout"),
    path("w/<slug:slug>/", views.workspace_home, name="workspace-home"),
    path("w/<slug:slug>/ping/", views.ping, name="ping"),
    path("w/<slug:slug>/settings/", views.workspace_settings, name="workspace-settings"),
    path("w/<slug:slug>/tasks/<int:pk>/retry/", views.task_retry, name="task-retry"),
    path("w/<slug:slug>/people/invite/", people_views.member_invite, name="member-invite"),
    path("w/<slug:slug>/people/<int:pk>/", people_views.member_update, name="member-update"),
    path(
        "w/<slug:slug>/people/<int:pk>/deactivate/",
        people_views.member_deactivate,
        name="member-deactivate",
    ),
    path(
        "w/<slug:slug>/people/<int:pk>/reactivate/",
        people_views.member_reactivate,
        name="member-reactivate",
    ),
    path(
        "w/<slug:slug>/people/<int:pk>/invite/",
        people_views.member_invite_resend,
        name="member-invite-resend",
    ),
    path("w/<slug:slug>/teams/", people_views.team_create, name="team-create"),
    path("w/<slug:slug>/teams/<int:pk>/", people_views.team_update, name="team-update"),
    path(
        "invite/<uidb64>/<token>/",
        people_views.InviteAcceptView.as_view(),
        name="invite-accept",
    ),
    path("password-reset/", people_views.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", people_views.password_reset_done, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        people_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        people_views.password_reset_complete,
        name="password-reset-complete",
    ),
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
