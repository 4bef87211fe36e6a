"""accounts.keys directly: the key's form, what is stored, lookup, revocation, last use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import keys
from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_and_stored_as_prefix_and_hash(customer) -> None:
    api_key, plain = keys.create_key(customer.account, "ci")
    assert re.fullmatch(r"ax_live_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}", plain)
    assert plain.split("_")[2] == api_key.prefix
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert plain not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == keys.hash_key(plain) and len(stored.key_hash) == 64
    assert keys.find_active_key(plain) == api_key


def test_keys_are_unguessable_and_distinct(customer) -> None:
    plains = {keys.create_key(customer.account)[1] for _ in range(20)}
    assert len(plains) == 20
    assert len({plain.split("_")[2] for plain in plains}) == 20


@pytest.mark.parametrize("mangle", [
    lambda plain: plain[:-1] + ("a" if plain[-1] != "a" else "b"),  # right prefix, wrong secret
    lambda plain: plain.upper(),
    lambda plain: plain + "x",
    lambda plain: plain.replace("ax_live_", "ax_test_"),
    lambda plain: "",
])
def test_anything_but_the_exact_key_finds_nothing(customer, mangle) -> None:
    assert keys.find_active_key(mangle(customer.key)) is None


def test_the_pepper_is_part_of_the_hash(customer, settings) -> None:
    settings.ARTNEX_API_KEY_PEPPER = "another pepper"
    assert keys.find_active_key(customer.key) is None


def test_a_revoked_key_is_refused_and_revoking_twice_keeps_the_first_time(customer) -> None:
    api_key = keys.find_active_key(customer.key)
    keys.revoke(api_key)
    assert keys.find_active_key(customer.key) is None
    first = ApiKey.objects.get(pk=api_key.pk).revoked_at
    keys.revoke(api_key)
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at == first


def test_last_use_is_written_at_most_once_a_minute(customer) -> None:
    api_key = keys.find_active_key(customer.key)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        keys.touch(api_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == now
    with time_machine.travel(now + timedelta(seconds=30), tick=False):
        keys.touch(api_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == now
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        keys.touch(api_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == now + timedelta(minutes=2)
