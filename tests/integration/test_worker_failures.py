"""A request the worker cannot finish is failed and refunded by the worker process itself,
in the same transaction, and the waiting web side sees it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accounts.models import ApiKey
from billing import ledger
from billing.models import LedgerEntry
from tests.images import image_bytes
from tests.integration import needs_services
from upscale import services, storage
from upscale.intake import ImageSource

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]
# A model the registry knows, whose weights are not installed and may not be downloaded here.
ABSENT_MODEL = "realesrgan-x2plus"


def test_missing_weights_fail_the_request_and_refund(worker, make_customer) -> None:
    assert os.environ.get("ARTNEX_ALLOW_MODEL_DOWNLOAD") == "0"
    assert not (Path(os.environ["ARTNEX_MODEL_DIR"]) / "RealESRGAN_x2plus.pth").exists()
    customer = make_customer(credits=1000)
    data = image_bytes("PNG", (16, 16))
    # Outside a transaction the task is queued at once, as after the API view's commit.
    row = services.submit(account=customer.account, api_key=ApiKey.objects.get(account=customer.account),
                          source=ImageSource(data, "data"), scale=2.0, model=ABSENT_MODEL)
    request_id, input_file = row.request_id, row.input_file
    row = services.wait_for_result(request_id)  # what the web process does: poll the row

    assert (row.status, row.error_code, row.credits_charged) == ("failed", "processing_failed", 0)
    assert ABSENT_MODEL in row.error_message
    kinds = sorted(LedgerEntry.objects.filter(request_id=request_id).values_list("kind", flat=True))
    assert kinds == ["charge", "refund"]
    assert customer.refresh().credits == 1000 == ledger.ledger_balance(customer.account.pk)
    assert not storage.exists(input_file)  # the worker cleans up its input even when it fails
