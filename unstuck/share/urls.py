from django.urls import path

from unstuck.share import bench_views, digest_views, news_views

app_name = "share"
urlpatterns = [
    # news filtered downward
    path("news/", news_views.news, name="news"),
    path("news/new/", news_views.news_new, name="news-new"),
    path("news/<int:pk>/", news_views.news_detail, name="news-detail"),
    path("news/<int:pk>/relay/", news_views.news_relay, name="news-relay"),
    # /news
    # the weekly digest
    path("digest/", digest_views.this_week, name="digest"),
    path("digest/preferences/", digest_views.preferences, name="digest-preferences"),
    path("digest/schedule/", digest_views.schedule, name="digest-schedule"),
    path("digest/unsubscribe/<str:token>/", digest_views.unsubscribe, name="digest-unsubscribe"),
    # /digest
    # the cross-functional bench
    path("bench/", bench_views.bench, name="bench"),
    path("bench/people/", bench_views.bench_add, name="bench-add"),
    path("bench/deals/<int:deal_pk>/ask/", bench_views.ask_new, name="ask-new"),
    path("bench/deals/<int:deal_pk>/who-helped/", bench_views.who_helped, name="who-helped"),
    path("bench/asks/<int:pk>/", bench_views.ask_detail, name="ask-detail"),
    path("bench/asks/<int:pk>/answer/", bench_views.ask_answer, name="ask-answer"),
    path("bench/asks/<int:pk>/rate/", bench_views.ask_rate, name="ask-rate"),
    # /bench
]
