from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("keys/", views.api_keys, name="keys"),
    path("keys/<int:pk>/revoke/", views.revoke_key, name="revoke"),
]
