from django.urls import path

from unstuck.deals import views

app_name = "deals"
urlpatterns = [
    path("", views.pipeline, name="pipeline"),
    path("export.csv", views.pipeline_csv, name="pipeline-csv"),
    path("<int:pk>/", views.deal_detail, name="detail"),
    path("<int:pk>/move/", views.deal_move, name="move"),
    path("<int:pk>/stakeholders/new/", views.stakeholder_new, name="stakeholder-new"),
    path(
        "<int:pk>/stakeholders/<int:stakeholder_pk>/edit/",
        views.stakeholder_edit,
        name="stakeholder-edit",
    ),
    path(
        "<int:pk>/stakeholders/<int:stakeholder_pk>/delete/",
        views.stakeholder_delete,
        name="stakeholder-delete",
    ),
    path("<int:pk>/partners/", views.partner_invite, name="partner-invite"),
    path("<int:pk>/partners/<int:user_pk>/remove/", views.partner_remove, name="partner-remove"),
]
