"""The portal's upscale pages (namespace ``portal``)."""

from django.urls import path

from . import dashboard, docs, history, tryit

app_name = "portal"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("try/", tryit.try_it, name="try"),
    path("history/", history.history, name="history"),
    path("history/<str:request_id>/", history.detail, name="detail"),
    path("history/<str:request_id>/preview", history.preview, name="preview"),
    path("history/<str:request_id>/download", history.download, name="download"),
    path("docs/", docs.api_docs, name="docs"),
    path("docs/reference/", docs.api_reference, name="reference"),
]
