"""Results on S3 (django-storages), with moto standing in for S3 at the network edge."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.utils import timezone
from moto import mock_aws

from upscale import storage


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="artnex-results")
        settings.ARTNEX_S3_BUCKET = "artnex-results"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": "artnex-results", "region_name": "us-east-1", "querystring_auth": True,
                            "querystring_expire": settings.RESULT_TTL_SECONDS, "file_overwrite": True,
                            "signature_version": "s3v4"},
            },
        }
        yield boto3.client("s3", region_name="us-east-1")


def test_results_round_trip_through_s3(s3) -> None:
    name = storage.save(storage.result_name("req_ups_s3test", "png"), b"\x89PNG fake")
    assert s3.get_object(Bucket="artnex-results", Key=name)["Body"].read() == b"\x89PNG fake"
    assert storage.read(name) == b"\x89PNG fake"
    storage.delete(name)
    assert not storage.exists(name)


def test_result_url_is_presigned_for_the_remaining_life(s3) -> None:
    name = storage.save(storage.result_name("req_ups_s3test", "jpg"), b"jpeg")
    url = storage.result_url("req_ups_s3test", name, timezone.now() + timedelta(hours=6), "http://ignored/")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc.startswith("artnex-results.s3") and parts.path.endswith("/upscaled.jpg")
    assert "X-Amz-Signature" in query
    assert 6 * 3600 - 5 <= int(query["X-Amz-Expires"][0]) <= 6 * 3600


def test_a_second_write_replaces_the_object_under_the_same_name(s3) -> None:
    """A retried or repeated write lands under the name its link signs, in one PUT."""
    name = storage.result_name("req_ups_s3again", "png")
    assert storage.save(name, b"first") == name
    assert storage.save(name, b"second") == name
    listed = s3.list_objects_v2(Bucket="artnex-results", Prefix="results/req_ups_s3again/")["Contents"]
    assert [item["Key"] for item in listed] == [name]
    assert storage.read(name) == b"second"
