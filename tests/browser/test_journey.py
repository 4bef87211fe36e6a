"""A customer's whole journey in a real browser, and two customers kept apart."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request

import pytest
from django.core import mail
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.images import data_uri, image_bytes

pytestmark = pytest.mark.browser
PASSWORD = "a long browser passphrase 1"


def sign_up(page, email: str) -> None:
    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()


def picture() -> bytes:
    """A small scene with edges and colour, so the before/after screenshot shows something."""
    image = Image.new("RGB", (96, 64), (34, 58, 110))
    draw = ImageDraw.Draw(image)
    for y in range(64):
        draw.line([(0, y), (95, y)], fill=(40 + y * 2, 70 + y, 140 - y))
    draw.ellipse([(58, 8), (84, 34)], fill=(250, 210, 90))
    draw.polygon([(0, 63), (30, 30), (55, 63)], fill=(30, 90, 60))
    draw.polygon([(35, 63), (70, 24), (95, 63)], fill=(20, 70, 50))
    draw.rectangle([(8, 50), (20, 63)], fill=(120, 60, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def call_api(base_url: str, key: str) -> tuple[int, dict]:
    body = json.dumps({"image": data_uri(image_bytes("PNG", (20, 14))), "scale": 2}).encode()
    request = urllib.request.Request(f"{base_url}/v1/upscale", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_whole_journey(new_page, screenshot, live_server, settings, tmp_path) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto("/")
    screenshot(page, "01-landing")
    page.get_by_role("link", name="Create a free account").click()
    screenshot(page, "02-sign-up")
    sign_up(page, "journey@example.com")

    # Verification is mandatory here: no dashboard before the emailed link is followed.
    page.wait_for_url("**/accounts/confirm-email/")
    screenshot(page, "03-verify-email-sent")
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(link.group(1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator(".stat-value").first.inner_text() == f"{settings.ARTNEX_SIGNUP_CREDITS:,}"
    screenshot(page, "04-dashboard-new")

    # An API key, shown once, with a copy button.
    nav(page, "API keys")
    screenshot(page, "05-keys-empty")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").input_value()
    assert re.fullmatch(r"ax_live_[A-Za-z0-9]{8}_[A-Za-z0-9]{32}", key)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator(".copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "06-key-created")

    # Try it: the same pipeline and price as the API.
    nav(page, "Try it")
    screenshot(page, "07-try-it")
    source = tmp_path / "photo.png"
    source.write_bytes(picture())
    page.get_by_label("Upload an image").set_input_files(str(source))
    page.get_by_label("Scale").select_option("2")
    page.get_by_role("button", name=re.compile("Upscale for")).click()
    page.wait_for_url("**/history/req_ups_*/")
    request_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.locator(".badge-ok").first.inner_text() == "succeeded"
    page.locator(".compare-after").evaluate("img => img.decode()")
    slider = page.get_by_label("Position of the before/after divider")
    slider.focus()
    page.keyboard.press("Home")
    assert page.locator("[data-compare]").evaluate("e => e.style.getPropertyValue('--pos')") == "0%"
    slider.fill("60")
    screenshot(page, "08-detail-before-after")

    # The same key works from code, then shows up in the history too.
    status, body = call_api(live_server.url, key)
    assert status == 200 and body["success"], body

    nav(page, "History")
    rows = page.locator("table.history tbody tr")
    assert rows.count() == 2
    assert request_id in rows.nth(1).inner_text()
    assert body["request_id"] in rows.nth(0).inner_text()
    page.locator("img.thumb").first.evaluate("img => img.decode()")
    screenshot(page, "09-history")
    with page.expect_download() as download_info:
        rows.nth(1).get_by_role("link", name=re.compile("Download")).click()
    saved = tmp_path / "result.png"
    download_info.value.save_as(saved)
    assert Image.open(io.BytesIO(saved.read_bytes())).size == (192, 128)

    nav(page, "Dashboard")
    assert "2 " in page.locator(".stat-value").nth(2).inner_text()
    screenshot(page, "10-dashboard-used")

    nav(page, "Docs")
    assert key[:16] in page.locator("#curl-example").inner_text()
    screenshot(page, "11-docs")
    # The OpenAPI reference: Redoc from this service's static files renders /v1/openapi.json.
    page.get_by_role("link", name="OpenAPI reference").first.click()
    expect(page.locator("#redoc h1").first).to_contain_text("Artnex API")
    expect(page.get_by_text("/v1/upscale").first).to_be_visible()
    screenshot(page, "11b-openapi-reference")

    nav(page, "Billing")
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    page.get_by_role("link", name="Buy credits or change plan").click()
    expect(page.get_by_text("Payments are not configured")).to_be_visible()  # no Stripe keys in tests
    screenshot(page, "11c-buy-credits")

    # Revoke, with a confirmation step; the key then gets 401 from the API.
    nav(page, "API keys")
    page.get_by_role("link", name=re.compile("Revoke")).click()
    screenshot(page, "12-revoke-confirm")
    page.get_by_role("button", name="Revoke key").click()
    assert page.get_by_text("is revoked").is_visible()
    assert call_api(live_server.url, key)[0] == 401

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    screenshot(page, "13-logged-out")
    page.goto("/dashboard/")
    assert "/accounts/login/" in page.url


def test_two_customers_are_kept_apart(new_page, screenshot, live_server) -> None:
    from accounts.models import Account
    from tests.portal import make_request

    alice, bob = new_page(), new_page(width=390, height=844)  # Bob is on a phone
    sign_up(alice, "alice@example.com")
    alice.wait_for_url("**/dashboard/")
    sign_up(bob, "bob@example.com")
    bob.wait_for_url("**/dashboard/")
    screenshot(bob, "20-dashboard-phone")

    bobs_request = make_request(Account.objects.get(user__email="bob@example.com"))
    bob.goto("/keys/")
    bob.get_by_label("Key name").fill("bob's server")
    bob.get_by_role("button", name="Create key").click()
    bobs_key_id = Account.objects.get(user__email="bob@example.com").api_keys.get().pk

    bob.goto("/history/")
    assert bobs_request.request_id in bob.locator("table.history").inner_text()
    screenshot(bob, "21-history-phone")
    for path in ("/dashboard/", "/history/", "/keys/", "/try/", "/docs/"):
        bob.goto(path)
        # Responsive: wide tables scroll inside their card, the page itself never scrolls sideways.
        assert bob.evaluate("document.documentElement.scrollWidth") <= 390, path

    alice.goto("/history/")
    assert alice.get_by_text("Nothing here yet").is_visible()
    screenshot(alice, "22-history-empty")
    alice.goto("/keys/")
    assert "bob's server" not in alice.content()
    for path in (f"/history/{bobs_request.request_id}/", f"/history/{bobs_request.request_id}/download",
                 f"/history/{bobs_request.request_id}/preview", f"/keys/{bobs_key_id}/revoke/"):
        response = alice.goto(path)
        assert response.status == 404, path
    screenshot(alice, "23-not-found")


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus: it is in the page's tab
    order, as a keyboard user moves. Fails if it is never reached."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with the Tab key")


def focus_is_visible(page) -> bool:
    """The focused element shows it (an outline or a focus ring), as WCAG 2.4.7 asks."""
    return bool(page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    }"""))


def follow(page, selector: str, url: str) -> None:
    """Tab to a link, see the focus on it, press Enter and arrive at ``url``."""
    tab_to(page, selector)
    assert focus_is_visible(page), selector
    page.keyboard.press("Enter")
    page.wait_for_url(url)


def test_keyboard_alone_signs_up_creates_and_revokes_a_key(new_page, live_server) -> None:
    from accounts.models import ApiKey

    page = new_page()
    page.goto("/accounts/signup/")
    tab_to(page, "a.skip-link")
    assert focus_is_visible(page)
    for name, value in (("email", "keyboard@example.com"), ("password1", PASSWORD), ("password2", PASSWORD)):
        tab_to(page, f"input[name={name}]")
        assert focus_is_visible(page), name
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/")

    follow(page, "nav a[href='/keys/']", "**/keys/")
    tab_to(page, "input[name=name]")
    page.keyboard.type("typed only")
    page.keyboard.press("Enter")
    expect(page.locator("#new-key")).to_be_visible()
    assert ApiKey.objects.get(name="typed only").revoked_at is None

    follow(page, "a[href$='/revoke/']", "**/revoke/")
    tab_to(page, "button.button-danger")
    page.keyboard.press("Enter")
    expect(page.get_by_text("is revoked")).to_be_visible()
    assert ApiKey.objects.get(name="typed only").revoked_at is not None
