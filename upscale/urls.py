from django.urls import path

from artnex.disconnect import disconnect_aware

from . import account_views, downloads, request_views, views
from .webhooks import views as webhook_views

app_name = "upscale"

urlpatterns = [
    path("v1/upscale", disconnect_aware(views.UpscaleView.as_view()), name="upscale"),
    path("v1/upscale/<str:request_id>", request_views.RequestStatusView.as_view(), name="request-status"),
    path("v1/account", account_views.AccountView.as_view(), name="account"),
    path("account/webhooks/", webhook_views.webhooks_page, name="webhooks"),
    path("v1/results/<str:request_id>/<str:filename>", downloads.download_result, name="result-download"),
]
