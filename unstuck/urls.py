from django.urls import include, path

from unstuck.api import api

urlpatterns = [
    path("", include("unstuck.core.urls")),
    path("w/<slug:slug>/deals/", include("unstuck.deals.urls")),
    path("w/<slug:slug>/thinking/", include("unstuck.thinking.urls")),
    path("w/<slug:slug>/imports/", include("unstuck.imports.urls")),
    path("w/<slug:slug>/investigate/", include("unstuck.investigate.urls")),
    path("w/<slug:slug>/cocreate/", include("unstuck.cocreate.urls")),
    path("w/<slug:slug>/share/", include("unstuck.share.urls")),
    path("w/<slug:slug>/insights/", include("unstuck.insights.urls")),
    path("api/v1/", api.urls),
]
