from django.urls import path

from artnex.disconnect import disconnect_aware

from . import downloads, views

app_name = "upscale"

urlpatterns = [
    path("v1/upscale", disconnect_aware(views.UpscaleView.as_view()), name="upscale"),
    path("v1/results/<str:request_id>/<str:filename>", downloads.download_result, name="result-download"),
]
