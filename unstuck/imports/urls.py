from django.urls import path

from unstuck.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("new/", views.import_new, name="new"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/mapping/", views.import_mapping, name="mapping"),
    path("<int:pk>/mapping.toml", views.import_mapping_toml, name="mapping-toml"),
    path("<int:pk>/preview/", views.import_preview, name="preview"),
    path("<int:pk>/discard/", views.import_discard, name="discard"),
    path("<int:pk>/repeat/", views.import_repeat, name="repeat"),
    path("<int:pk>/invite-owners/", views.import_invite_owners, name="invite-owners"),
    path("<int:pk>/rejected.csv", views.import_rejected_csv, name="rejected-csv"),
]
