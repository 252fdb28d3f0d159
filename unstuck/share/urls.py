from django.urls import URLPattern

app_name = "share"
urlpatterns: list[URLPattern] = []
