"""The API docs page, the OpenAPI reference viewer, and the layout's self-hosted assets."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.portal import login

pytestmark = pytest.mark.django_db


def test_docs_are_public_with_a_placeholder_key(client) -> None:
    response = client.get(reverse("portal:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "curl --request POST" in html and "requests.post(" in html
    assert "http://testserver/v1/upscale" in html
    assert "ax_live_…" in html
    assert reverse("account_signup") in html


def test_docs_use_the_customers_own_key_prefix(client, customer) -> None:
    prefix = customer.account.api_keys.get().prefix
    html = login(client, customer.account).get(reverse("portal:docs")).content.decode()
    assert f"ax_live_{prefix}_…" in html
    assert customer.key not in html  # never the whole key


def test_docs_without_a_key_say_how_to_get_one(client, customer) -> None:
    customer.account.api_keys.all().delete()
    html = login(client, customer.account).get(reverse("portal:docs")).content.decode()
    assert "no active API key" in html and reverse("accounts:keys") in html


def test_reference_renders_the_schema_with_a_locally_served_viewer(client) -> None:
    html = client.get(reverse("portal:reference")).content.decode()
    assert 'data-spec-url="/v1/openapi.json"' in html
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")


@pytest.mark.parametrize("name", ["home", "portal:docs", "portal:reference", "account_login", "account_signup"])
def test_pages_load_nothing_from_outside_the_service(client, name) -> None:
    html = client.get(reverse(name)).content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(asset), asset


def test_layout_nav_for_customers(client, customer) -> None:
    html = login(client, customer.account).get(reverse("portal:dashboard")).content.decode()
    for name in ("portal:dashboard", "portal:try", "portal:history", "accounts:keys", "upscale:webhooks",
                 "billing:overview", "portal:docs"):
        assert f'href="{reverse(name)}"' in html, name
    assert 'aria-current="page"' in html
    assert 'action="/accounts/logout/"' in html  # logging out is a POST form
    assert 'class="skip-link"' in html
