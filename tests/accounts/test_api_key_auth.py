"""401 invalid_api_key in every way a key can be wrong."""

from __future__ import annotations

import pytest

from accounts import keys
from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.django_db

BODY = {"image": data_uri(image_bytes())}


def assert_invalid_key(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "invalid_api_key"
    assert body["request_id"].startswith("req_ups_")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_missing_key(api) -> None:
    assert_invalid_key(api.upscale(BODY))


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token ax_live_x", "garbage"])
def test_malformed_header(api, header) -> None:
    assert_invalid_key(api.upscale(BODY, HTTP_AUTHORIZATION=header))


def test_unknown_key(api, customer) -> None:
    wrong = customer.key[:-4] + ("aaaa" if not customer.key.endswith("aaaa") else "bbbb")
    assert_invalid_key(api.upscale(BODY, key=wrong))


def test_revoked_key(api, customer) -> None:
    keys.revoke(keys.find_active_key(customer.key))
    assert_invalid_key(api.upscale(BODY, key=customer.key))


def test_inactive_user(api, customer) -> None:
    customer.account.user.is_active = False
    customer.account.user.save()
    assert_invalid_key(api.upscale(BODY, key=customer.key))


def test_keys_are_stored_hashed(customer) -> None:
    api_key = keys.find_active_key(customer.key)
    assert api_key is not None
    assert customer.key not in api_key.key_hash
    assert customer.key.startswith("ax_live_" + api_key.prefix + "_")
    assert len(api_key.key_hash) == 64


def test_auth_failure_charges_nothing(api, customer) -> None:
    api.upscale(BODY, key=customer.key + "x")
    assert customer.refresh().credits == 1000
