"""Browser tests: Debian's Chromium driven by the PyPI ``playwright`` package.

Playwright's own browser download cannot run here, so the tests use the system Chromium
(``apt-get install -y chromium``). Without it they are skipped locally with the install
command as the reason; in CI (``CI=true``) a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ARTNEX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = "Chromium is not installed at {path}: run `apt-get install -y chromium` to run the browser tests"
SCREENSHOTS = Path(os.environ.get("ARTNEX_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots"))



def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one module's tests; stopped afterwards, so later tests run without it."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(INSTALL_HINT.format(path=CHROMIUM))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is missing: run `make install`")
    # Playwright's sync API keeps an event loop running in this thread; Django refuses ORM calls
    # (the tests' own, the database flush) from it unless told this thread is synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh browser contexts (separate cookies: separate customers)."""
    contexts = []

    def open_page(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url,
                                      accept_downloads=True)
        context.set_default_timeout(60_000)  # an upscale on a busy CPU runs inside one navigation
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot as a test artifact (var/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _plans_and_clean_limits(transactional_db) -> None:
    from django.core.cache import cache

    from accounts.models import Plan
    from accounts.plans import seed_plans

    seed_plans(Plan)  # live_server tests flush the database, the seeded plans included
    cache.clear()
