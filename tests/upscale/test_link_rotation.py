"""Rotating SECRET_KEY (the old one kept in SECRET_KEY_FALLBACKS) keeps live download links
working; API keys hash with their own pepper, untouched by the rotation."""

from __future__ import annotations

import pytest

from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.django_db(transaction=True)
OLD_KEY = "the secret key before the rotation, long enough to be a real one"
NEW_KEY = "the secret key after the rotation, long enough to be a real one too"


def test_links_survive_a_secret_key_rotation_and_die_when_the_old_key_is_dropped(
        api, customer, client, settings) -> None:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    answer = api.upscale({"image": data_uri(image_bytes())}, key=customer.key)
    assert answer.status_code == 200, answer.content
    link = answer.json()["image_url"].split("testserver", 1)[-1]

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert client.get(link).status_code == 200
    # The API key still authenticates: it is hashed with the pepper, not SECRET_KEY.
    assert api.upscale({}, key=customer.key).json()["error"]["code"] == "missing_image"

    settings.SECRET_KEY_FALLBACKS = []  # the rotation is over: links signed with the old key end
    assert client.get(link).status_code == 404
