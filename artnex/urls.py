from django.contrib import admin
from django.urls import include, path

from . import health, metrics, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="health"),
    path("readyz", health.readyz, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("upscale.urls")),
]

handler404 = "artnex.views.not_found"
handler500 = "artnex.views.server_error"
