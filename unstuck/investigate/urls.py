from django.urls import path

from unstuck.investigate import views

app_name = "investigate"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("settings/", views.stall_settings, name="settings"),
    path("requests/", views.my_requests, name="my-requests"),
    path("deals/<int:pk>/committee/", views.stakeholder_view, name="stakeholder-view"),
    path("deals/<int:pk>/steps/", views.step_add, name="step-add"),
    path("deals/<int:pk>/steps/<int:step_pk>/", views.step_status, name="step-status"),
    path("deals/<int:pk>/obstacles/", views.obstacle_add, name="obstacle-add"),
    path(
        "deals/<int:pk>/obstacles/<int:obstacle_pk>/resolve/",
        views.obstacle_resolve,
        name="obstacle-resolve",
    ),
    path("deals/<int:pk>/pain/", views.pain_update, name="pain"),
    path("deals/<int:pk>/feedback/", views.feedback_add, name="feedback-add"),
    path("deals/<int:pk>/requests/", views.request_create, name="request-create"),
    path(
        "deals/<int:pk>/requests/<int:request_pk>/answer/",
        views.request_answer,
        name="request-answer",
    ),
]
