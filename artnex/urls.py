from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from upscale import pages

from . import health, metrics

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", health.healthz, name="health"),
    path("readyz", health.readyz, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("billing/", include("billing.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("upscale.portal.urls")),
    path("", include("upscale.urls")),
]

handler404 = "artnex.views.not_found"
handler500 = "artnex.views.server_error"
