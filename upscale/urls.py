from django.urls import path

from . import downloads, views

app_name = "upscale"

urlpatterns = [
    path("v1/upscale", views.upscale, name="upscale"),
    path("v1/results/<str:request_id>/<str:filename>", downloads.download_result, name="result-download"),
]
