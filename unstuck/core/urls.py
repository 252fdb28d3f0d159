from django.contrib.auth.views import LogoutView
from django.urls import path

from unstuck.core import views

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
    path("account/api-tokens/", views.api_tokens, name="api-tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
