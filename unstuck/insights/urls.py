from django.urls import path

from unstuck.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.insights, name="page"),
    path("checkin/", views.checkin, name="checkin"),
    path("pulse/", views.pulse, name="pulse"),
    path("recompute/", views.recompute, name="recompute"),
]
