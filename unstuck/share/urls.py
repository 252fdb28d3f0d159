from django.urls import path

from unstuck.share import news_views

app_name = "share"
urlpatterns = [
    # news filtered downward
    path("news/", news_views.news, name="news"),
    path("news/new/", news_views.news_new, name="news-new"),
    path("news/<int:pk>/", news_views.news_detail, name="news-detail"),
    path("news/<int:pk>/relay/", news_views.news_relay, name="news-relay"),
    # /news
]
