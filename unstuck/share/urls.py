from django.urls import URLPattern, path

from unstuck.share.views import plays

app_name = "share"
urlpatterns: list[URLPattern] = [
    path("plays/", plays.play_list, name="plays"),
    path("plays/new/", plays.play_edit, name="play-new"),
    path("plays/<int:pk>/", plays.play_detail, name="play"),
    path("plays/<int:pk>/edit/", plays.play_edit, name="play-edit"),
    path("plays/<int:pk>/verify/", plays.play_verify, name="play-verify"),
    path("plays/<int:pk>/retire/", plays.play_retire, name="play-retire"),
    path("plays/<int:pk>/apply/", plays.play_apply, name="play-apply"),
    path("plays/promote/<int:session_pk>/", plays.play_promote, name="play-promote"),
]
