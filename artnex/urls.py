from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("upscale.portal.urls")),
    path("", include("upscale.urls")),
]

handler404 = "artnex.views.not_found"
handler500 = "artnex.views.server_error"
