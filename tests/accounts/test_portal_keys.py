"""The API keys page: create (shown once), list, revoke with confirmation, only one's own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import keys
from accounts.models import ApiKey
from tests.portal import login

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_login(client) -> None:
    for url in (reverse("accounts:keys"), reverse("accounts:revoke", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_empty_state_when_there_are_no_keys(client, customer) -> None:
    ApiKey.objects.filter(account=customer.account).delete()
    response = login(client, customer.account).get(reverse("accounts:keys"))
    assert response.status_code == 200
    assert b"No API keys yet" in response.content


def test_create_shows_the_key_once_and_it_works(client, customer) -> None:
    login(client, customer.account)
    response = client.post(reverse("accounts:keys"), {"name": "staging server"})
    assert response.status_code == 200
    plain = response.context["new_key"]
    assert plain.startswith("ax_live_")
    assert plain.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    created = keys.find_active_key(plain)
    assert created is not None and created.account == customer.account and created.name == "staging server"
    # The list shows its prefix only; a second visit never shows the key again.
    again = client.get(reverse("accounts:keys"))
    assert plain.encode() not in again.content
    assert created.prefix.encode() in again.content
    assert b"staging server" in again.content


def test_create_needs_a_name(client, customer) -> None:
    login(client, customer.account)
    before = ApiKey.objects.count()
    response = client.post(reverse("accounts:keys"), {"name": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not response.context["new_key"]
    assert ApiKey.objects.count() == before


def test_forms_carry_csrf_protection(customer) -> None:
    from django.test import Client

    client = login(Client(enforce_csrf_checks=True), customer.account)
    assert client.post(reverse("accounts:keys"), {"name": "x"}).status_code == 403
    api_key = customer.account.api_keys.get()
    assert client.post(reverse("accounts:revoke", args=[api_key.pk])).status_code == 403
    page = client.get(reverse("accounts:keys"))
    assert b"csrfmiddlewaretoken" in page.content


def test_revoke_asks_for_confirmation_then_revokes(client, customer) -> None:
    login(client, customer.account)
    api_key = customer.account.api_keys.get()
    confirm = client.get(reverse("accounts:revoke", args=[api_key.pk]))
    assert confirm.status_code == 200
    assert b"Revoke key" in confirm.content
    api_key.refresh_from_db()
    assert api_key.is_active  # looking at the confirmation changes nothing
    response = client.post(reverse("accounts:revoke", args=[api_key.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:keys")
    api_key.refresh_from_db()
    assert not api_key.is_active
    assert keys.find_active_key(customer.key) is None
    assert b"is revoked" in response.content
    # Revoking again is harmless and the confirmation page says so.
    assert client.post(reverse("accounts:revoke", args=[api_key.pk])).status_code == 302
    assert b"already revoked" in client.get(reverse("accounts:revoke", args=[api_key.pk])).content


def test_revoked_key_gets_401_from_the_api(client, api, customer) -> None:
    login(client, customer.account)
    api_key = customer.account.api_keys.get()
    client.post(reverse("accounts:revoke", args=[api_key.pk]))
    response = api.upscale({"image": "https://example.com/x.png"}, key=customer.key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_another_customers_keys_are_invisible_and_404(client, make_customer) -> None:
    alice, bob = make_customer(), make_customer()
    bobs_key = bob.account.api_keys.get()
    login(client, alice.account)
    page = client.get(reverse("accounts:keys"))
    assert bobs_key.prefix.encode() not in page.content
    assert client.get(reverse("accounts:revoke", args=[bobs_key.pk])).status_code == 404
    assert client.post(reverse("accounts:revoke", args=[bobs_key.pk])).status_code == 404
    bobs_key.refresh_from_db()
    assert bobs_key.is_active


def test_a_login_without_customer_account_gets_404(client, django_user_model) -> None:
    operator = django_user_model.objects.create_user("ops", "ops@example.com", "x")
    client.force_login(operator)
    assert client.get(reverse("accounts:keys")).status_code == 404
