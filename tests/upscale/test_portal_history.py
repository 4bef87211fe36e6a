"""History, detail, preview and download pages: newest first, filters, expiry, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from tests.images import image_bytes
from tests.portal import login, make_request
from upscale import previews, storage
from upscale.models import UpscaleRequest
from upscale.portal.history import PAGE_SIZE

pytestmark = pytest.mark.django_db
Status = UpscaleRequest.Status


def test_pages_need_a_login(client) -> None:
    for name, args in (("portal:history", []), ("portal:detail", ["req_ups_x"]), ("portal:preview", ["req_ups_x"]),
                       ("portal:download", ["req_ups_x"])):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("account_login"))


def test_empty_history(client, customer) -> None:
    response = login(client, customer.account).get(reverse("portal:history"))
    assert response.status_code == 200
    assert b"Nothing here yet" in response.content


def test_newest_first_with_sizes_scale_model_status_and_credits(client, customer) -> None:
    older = make_request(customer.account, scale=4.0, input_width=100, input_height=50,
                         output_width=400, output_height=200)
    UpscaleRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    failed = make_request(customer.account, status=Status.FAILED, error_code="processing_failed",
                          credits_charged=0, expires_at=None, output_bytes=None)
    response = login(client, customer.account).get(reverse("portal:history"))
    items = response.context["items"]
    assert [item.row.request_id for item in items] == [failed.request_id, older.request_id]
    html = response.content.decode()
    times = "\N{MULTIPLICATION SIGN}"
    assert f"100{times}50" in html and f"400{times}200" in html and f"4{times}" in html
    assert "realesr-animevideov3" in html
    assert "processing_failed" in html
    assert reverse("portal:download", args=[older.request_id]) in html
    assert reverse("portal:download", args=[failed.request_id]) not in html


def test_filter_by_status_and_its_empty_state(client, customer) -> None:
    ok = make_request(customer.account)
    bad = make_request(customer.account, status=Status.FAILED, error_code="upscale_timeout", credits_charged=0)
    login(client, customer.account)
    failed_only = client.get(reverse("portal:history"), {"status": "failed"})
    assert [item.row for item in failed_only.context["items"]] == [bad]
    assert [item.row for item in client.get(reverse("portal:history"), {"status": "succeeded"}).context["items"]] \
        == [ok]
    queued = client.get(reverse("portal:history"), {"status": "queued"})
    assert b"No queued requests" in queued.content
    # An unknown status is ignored rather than an error.
    assert len(client.get(reverse("portal:history"), {"status": "bogus"}).context["items"]) == 2


def test_paginated(client, customer) -> None:
    for _ in range(PAGE_SIZE + 3):
        make_request(customer.account)
    login(client, customer.account)
    first = client.get(reverse("portal:history"))
    assert len(first.context["items"]) == PAGE_SIZE
    assert b"Page 1 of 2" in first.content
    second = client.get(reverse("portal:history"), {"page": 2})
    assert len(second.context["items"]) == 3
    assert client.get(reverse("portal:history"), {"page": "nonsense"}).status_code == 200


def test_results_show_expired_after_24_hours(client, customer) -> None:
    row = make_request(customer.account)
    login(client, customer.account)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        response = client.get(reverse("portal:history"))
        item = response.context["items"][0]
        assert not item.available and item.expired
        assert b"expired" in response.content
        assert reverse("portal:download", args=[row.request_id]).encode() not in response.content
        assert client.get(reverse("portal:download", args=[row.request_id])).status_code == 410
        assert b"has expired" in client.get(reverse("portal:detail", args=[row.request_id])).content


def test_download_redirects_to_the_expiring_link_and_serves_the_file(client, customer) -> None:
    row = make_request(customer.account)
    storage.default_storage.save(row.result_file, ContentFile(image_bytes("PNG", (48, 32))))
    login(client, customer.account)
    response = client.get(reverse("portal:download", args=[row.request_id]))
    assert response.status_code == 302
    assert "/v1/results/" in response["Location"] and "signature=" in response["Location"]
    served = client.get(response["Location"].replace("http://testserver", ""))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_download_of_a_failed_request_is_404(client, customer) -> None:
    row = make_request(customer.account, status=Status.FAILED, error_code="processing_failed", credits_charged=0,
                       result_file="")
    assert login(client, customer.account).get(reverse("portal:download", args=[row.request_id])).status_code == 404


def test_detail_has_a_before_after_slider_while_available(client, customer) -> None:
    row = make_request(customer.account)
    response = login(client, customer.account).get(reverse("portal:detail", args=[row.request_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-compare" in html and 'type="range"' in html
    assert reverse("portal:preview", args=[row.request_id]) in html
    assert "/v1/results/" in html


def test_detail_of_a_failed_request_explains_it(client, customer) -> None:
    row = make_request(customer.account, status=Status.FAILED, error_code="upscale_timeout",
                       error_message="no worker finished", credits_charged=0, result_file="")
    html = login(client, customer.account).get(reverse("portal:detail", args=[row.request_id])).content.decode()
    assert "upscale_timeout" in html and "No credits were taken" in html
    assert "data-compare" not in html


def test_preview_is_served_while_the_result_lives(client, customer) -> None:
    row = make_request(customer.account)
    login(client, customer.account)
    placeholder = client.get(reverse("portal:preview", args=[row.request_id]))
    assert placeholder["Content-Type"] == "image/svg+xml"  # no preview stored (yet)
    assert previews.save_preview(row.request_id, image_bytes("PNG", (40, 30)))
    response = client.get(reverse("portal:preview", args=[row.request_id]))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_another_customers_requests_are_404_everywhere(client, make_customer) -> None:
    alice, bob = make_customer(), make_customer()
    bobs = make_request(bob.account)
    previews.save_preview(bobs.request_id, image_bytes("PNG", (40, 30)))
    login(client, alice.account)
    assert bobs.request_id.encode() not in client.get(reverse("portal:history")).content
    for name in ("portal:detail", "portal:preview", "portal:download"):
        assert client.get(reverse(name, args=[bobs.request_id])).status_code == 404, name
    missing = client.get(reverse("portal:detail", args=["req_ups_doesnotexist"]))
    assert missing.status_code == 404
    assert b"Page not found" in missing.content  # the portal's own page, not a bare error
