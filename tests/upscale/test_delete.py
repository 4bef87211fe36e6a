"""DELETE /v1/upscale/{id}: the result is gone at once, the request stays in the history."""

from __future__ import annotations

import pytest

from tests.images import data_uri, image_bytes
from upscale import services, storage
from upscale.models import UpscaleRequest

from .conftest import path_of

pytestmark = pytest.mark.django_db(transaction=True)
IMAGE = data_uri(image_bytes())


def test_delete_removes_the_result_now(v1, client, customer) -> None:
    body = v1.post({"image": IMAGE}, customer.key).json()
    row = UpscaleRequest.objects.get(request_id=body["request_id"])
    assert storage.exists(row.result_file)

    response = v1.delete(f"/v1/upscale/{body['request_id']}", customer.key)
    assert response.status_code == 200, response.content
    deleted = response.json()
    assert deleted["status"] == "succeeded" and deleted["image_url"] is None and deleted["result_deleted_at"]
    assert not storage.exists(row.result_file)
    assert client.get(path_of(body["image_url"])).status_code == 404
    # Still visible, without a link; a second DELETE is harmless.
    assert v1.get(f"/v1/upscale/{body['request_id']}", customer.key).json()["image_url"] is None
    assert v1.delete(f"/v1/upscale/{body['request_id']}", customer.key).status_code == 200
    assert customer.refresh().credits == 900  # a delivered result stays paid


def test_delete_of_a_running_request_is_refused(v1, customer, monkeypatch) -> None:
    monkeypatch.setattr(services.process_upscale, "apply_async", lambda args, **options: None)
    accepted = v1.post({"image": IMAGE, "async": True}, customer.key).json()
    response = v1.delete(f"/v1/upscale/{accepted['request_id']}", customer.key)
    assert response.status_code == 409 and response.json()["error"]["code"] == "request_in_progress"
