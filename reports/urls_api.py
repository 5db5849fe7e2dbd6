from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api

urlpatterns = [
    path("api/v1/", api.index, name="api-index"),
    path("api/v1/resolutions/", api.resolutions, name="api-resolutions"),
    path(
        "api/v1/resolutions/<int:resolution_id>/",
        api.resolution,
        name="api-resolution",
    ),
    path("api/v1/indicators/", api.indicators, name="api-indicators"),
    path("api/v1/targets/", api.targets, name="api-targets"),
    path("api/v1/periods/", api.periods, name="api-periods"),
    path(
        "api/v1/periods/<int:period_id>/figures/",
        api.period_figures,
        name="api-period-figures",
    ),
    path("api/v1/figures/", api.figures, name="api-figures"),
    path("api/v1/progress/", api.progress, name="api-progress"),
    path(
        "api/schema/",
        login_not_required(SpectacularAPIView.as_view()),
        name="api-schema",
    ),
    path(
        "api/docs/",
        login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]
