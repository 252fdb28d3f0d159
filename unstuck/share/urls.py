from django.urls import URLPattern, path

from unstuck.share import bench_views, digest_views, news_views
from unstuck.share.views import plays

app_name = "share"
urlpatterns: list[URLPattern] = [
    # the playbook
    path("plays/", plays.play_list, name="plays"),
    path("plays/new/", plays.play_edit, name="play-new"),
    path("plays/<int:pk>/", plays.play_detail, name="play"),
    path("plays/<int:pk>/edit/", plays.play_edit, name="play-edit"),
    path("plays/<int:pk>/verify/", plays.play_verify, name="play-verify"),
    path("plays/<int:pk>/retire/", plays.play_retire, name="play-retire"),
    path("plays/<int:pk>/apply/", plays.play_apply, name="play-apply"),
    path("plays/<int:pk>/outcome/refresh/", plays.play_outcome_refresh, name="play-refresh"),
    path("plays/promote/<int:session_pk>/", plays.play_promote, name="play-promote"),
    # news filtered downward
    path("news/", news_views.news, name="news"),
    path("news/new/", news_views.news_new, name="news-new"),
    path("news/<int:pk>/", news_views.news_detail, name="news-detail"),
    path("news/<int:pk>/relay/", news_views.news_relay, name="news-relay"),
    path("news/<int:pk>/read/", news_views.news_read, name="news-read"),
    # the weekly digest
    path("digest/", digest_views.this_week, name="digest"),
    path("digest/preferences/", digest_views.preferences, name="digest-preferences"),
    path("digest/schedule/", digest_views.schedule, name="digest-schedule"),
    path("digest/unsubscribe/<str:token>/", digest_views.unsubscribe, name="digest-unsubscribe"),
    # the cross-functional bench
    path("bench/", bench_views.bench, name="bench"),
    path("bench/people/", bench_views.bench_add, name="bench-add"),
    path("bench/deals/<int:deal_pk>/ask/", bench_views.ask_new, name="ask-new"),
    path("bench/deals/<int:deal_pk>/who-helped/", bench_views.who_helped, name="who-helped"),
    path("bench/asks/<int:pk>/", bench_views.ask_detail, name="ask-detail"),
    path("bench/asks/<int:pk>/answer/", bench_views.ask_answer, name="ask-answer"),
    path("bench/asks/<int:pk>/rate/", bench_views.ask_rate, name="ask-rate"),
]
