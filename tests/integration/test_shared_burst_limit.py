"""The short-burst limit counts in Redis (CACHE_URL), so every web process shares one count
per API key: a second process sees what the live server counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.integration import needs_services, post_upscale
from upscale import limits

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[2]
# Per hour, not per minute: the counting window starts at a fixed second per key, and a
# window boundary inside this test would restart the count.
RATE = "3/h"
# Another Python process, with the same settings, reads the counter without adding to it.
_READ_COUNT = """
import sys, types, django
django.setup()
from django_ratelimit.core import get_usage
pk = int(sys.argv[1])
request = types.SimpleNamespace(auth=types.SimpleNamespace(pk=pk), method="POST")
usage = get_usage(request, group="upscale-burst", key=lambda group, request: f"key:{request.auth.pk}",
                  rate=sys.argv[2], increment=False)
print(usage["count"])
"""


def test_burst_limit_is_counted_in_redis(live_server, make_customer, settings) -> None:
    from django.core.cache import cache

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.clear()
    settings.ARTNEX_BURST_RATE = RATE
    customer = make_customer(credits=0)
    # The subprocess below keys the counter the way the view does.
    request = SimpleNamespace(auth=SimpleNamespace(pk=customer.account.api_keys.get().pk))
    assert limits.burst_key("upscale-burst", request) == f"key:{request.auth.pk}"

    # No image: the limits are checked first, so these count without any credits or work.
    codes = [post_upscale(live_server.url, customer.key, {}).status for _ in range(4)]

    assert codes == [400, 400, 400, 429]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "artnex.settings"}
    done = subprocess.run([sys.executable, "-c", _READ_COUNT, str(request.auth.pk), RATE], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "4"
