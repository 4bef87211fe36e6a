"""The portal's Webhooks page: login required, the secret shown and rotated, own deliveries only."""

from __future__ import annotations

import pytest

from tests.images import data_uri, image_bytes
from upscale.webhooks.secret_store import secret_for

pytestmark = pytest.mark.django_db(transaction=True)
PAGE = "/account/webhooks/"


def test_login_required(client, db) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_secret_shown_and_rotated(client, customer) -> None:
    client.force_login(customer.account.user)
    page = client.get(PAGE)
    assert page.status_code == 200
    secret = secret_for(customer.account).secret
    assert secret in page.content.decode()
    assert b"No webhook deliveries yet" in page.content

    rotated = client.post(PAGE, follow=True)
    assert rotated.status_code == 200
    new_secret = secret_for(customer.account).secret
    assert new_secret != secret and new_secret in rotated.content.decode()
    assert b"previous one stays valid" in rotated.content


def test_rotation_needs_csrf(customer) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer.account.user)
    before = secret_for(customer.account).secret
    assert strict.post(PAGE).status_code == 403
    assert secret_for(customer.account).secret == before


def test_attempts_listed_for_the_owner_only(client, v1, make_customer, receiver) -> None:
    owner, other = make_customer(), make_customer()
    receiver.statuses = [500]
    request_id = v1.post({"image": data_uri(image_bytes()), "webhook_url": receiver.url}, owner.key).json()[
        "request_id"]
    client.force_login(owner.account.user)
    page = client.get(PAGE).content.decode()
    assert request_id in page and "HTTP 500" in page
    client.force_login(other.account.user)
    assert request_id not in client.get(PAGE).content.decode()


def test_admin_lists_deliveries_read_only(client, v1, customer, receiver, admin_user) -> None:
    v1.post({"image": data_uri(image_bytes()), "webhook_url": receiver.url}, customer.key)
    client.force_login(admin_user)
    listing = client.get("/admin/upscale/webhookdelivery/")
    assert listing.status_code == 200 and b"delivered" in listing.content.lower()
    assert client.get("/admin/upscale/webhookdelivery/add/").status_code == 403
