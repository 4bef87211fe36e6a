"""artnex.signing: a signature binds the value, the expiry and the purpose (salt)."""

from __future__ import annotations

from artnex import signing


def test_a_signature_validates_only_what_it_signed(settings) -> None:
    signature = signing.sign("results/req_ups_a/upscaled.png", 1_800_000_000)
    assert signing.is_valid("results/req_ups_a/upscaled.png", 1_800_000_000, signature)
    assert not signing.is_valid("results/req_ups_b/upscaled.png", 1_800_000_000, signature)
    assert not signing.is_valid("results/req_ups_a/upscaled.png", 1_800_000_001, signature)
    assert not signing.is_valid("results/req_ups_a/upscaled.png", 1_800_000_000, signature[:-1])
    assert not signing.is_valid("results/req_ups_a/upscaled.png", 1_800_000_000, "")


def test_salt_and_secret_key_separate_signatures(settings) -> None:
    signature = signing.sign("x", 1)
    assert not signing.is_valid("x", 1, signature, salt="artnex.webhook")
    settings.SECRET_KEY = "another secret key, long enough for the tests"
    assert not signing.is_valid("x", 1, signature)


def test_signatures_are_url_safe() -> None:
    assert all(char.isalnum() or char in "-_" for char in signing.sign("results/a b/c.png", 2))
