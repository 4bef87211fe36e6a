"""Signed, expiring links, built on ``django.core.signing``.

A link carries its expiry in clear and a signature over (what it opens, when it expires), so
neither can be changed without the secret key. Each kind of link has its own salt: a
signature made for one purpose never validates for another.
"""

from __future__ import annotations

from django.core import signing
from django.utils.crypto import constant_time_compare

RESULT_LINK_SALT = "artnex.result-link"


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt, algorithm="sha256")


def sign(value: str, expires: int, *, salt: str = RESULT_LINK_SALT) -> str:
    """The signature of ``value`` until the Unix time ``expires`` (the caller checks the time)."""
    return _signer(salt).signature(f"{value}\n{expires}")


def is_valid(value: str, expires: int, signature: str, *, salt: str = RESULT_LINK_SALT) -> bool:
    """Whether ``signature`` was made by :func:`sign` for exactly this value, expiry and salt,
    with ``SECRET_KEY`` or one of ``SECRET_KEY_FALLBACKS`` (``unsign`` tries each), so that an
    operator can rotate the secret key without breaking the links already handed out."""
    signer = _signer(salt)
    message = f"{value}\n{expires}"
    try:
        return constant_time_compare(signer.unsign(f"{message}{signer.sep}{signature}"), message)
    except signing.BadSignature:
        return False
