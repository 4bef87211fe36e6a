from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("buy/", views.buy, name="buy"),
    path("buy/<str:kind>/<slug:slug>/", views.start_checkout, name="checkout"),
    path("success/", views.success, name="success"),
    path("cancel/", views.cancel, name="cancel"),
    path("manage/", views.billing_portal, name="portal"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
