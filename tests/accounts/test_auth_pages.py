"""Sign-up, email verification, login (rate-limited), logout and password reset (allauth)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Account
from billing import ledger
from billing.models import LedgerEntry

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery 9"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth counts attempts in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plans(db) -> None:
    from accounts.models import Plan
    from accounts.plans import seed_plans

    seed_plans(Plan)


def sign_up(client, email: str = "new@example.com", **extra):
    return client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD,
                                                   **extra})


def link_in_last_mail(pattern: str) -> str:
    match = re.search(rf"https?://testserver(/\S*{pattern}\S*)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_sign_up_page_has_a_csrf_protected_form(client) -> None:
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b'name="email"' in response.content and b'name="password1"' in response.content


def test_sign_up_opens_a_free_account_with_the_starting_grant(client, plans, settings) -> None:
    settings.ARTNEX_SIGNUP_CREDITS = 300
    response = sign_up(client)
    # Verification is optional by default: the new customer lands on the dashboard at once.
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    account = Account.objects.get(user__email="new@example.com")
    assert account.plan.slug == "free"
    assert account.user.username == "new@example.com"  # opened by billing.onboarding, like every customer
    assert account.user.check_password(PASSWORD)
    assert account.credits == 300
    grant = LedgerEntry.objects.get(account=account)
    assert grant.kind == "grant" and grant.amount == 300
    assert ledger.ledger_balance(account.pk) == 300
    assert client.get(reverse("portal:dashboard")).status_code == 200
    # ...and is sent a verification link all the same.
    assert len(mail.outbox) == 1 and "new@example.com" in mail.outbox[0].to
    assert mail.outbox[0].subject.startswith("[Artnex] ") and "Hello from Artnex" in mail.outbox[0].body


def test_sign_up_refuses_a_taken_email_and_a_weak_password(client, plans, make_customer) -> None:
    taken = make_customer().account.user.email
    response = sign_up(client, taken)
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    weak = client.post(reverse("account_signup"), {"email": "b@example.com", "password1": "123", "password2": "123"})
    assert weak.context["form"].errors
    assert not Account.objects.filter(user__email="b@example.com").exists()


def test_mandatory_verification_blocks_login_until_the_link_is_followed(client, plans, settings) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("portal:dashboard")).status_code == 302  # not logged in
    login = client.post(reverse("account_login"), {"login": "new@example.com", "password": PASSWORD})
    assert login["Location"] == reverse("account_email_verification_sent")
    confirm_url = link_in_last_mail("confirm-email")
    assert client.get(confirm_url).status_code == 200  # a page with a button: GET changes nothing
    response = client.post(confirm_url)
    assert response.status_code == 302
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_login_and_logout(client, plans, make_customer) -> None:
    user = make_customer().account.user
    user.set_password(PASSWORD)
    user.save()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    # Logging out is a POST (with CSRF); a GET only asks.
    assert client.get(reverse("account_logout")).status_code == 200
    assert client.get(reverse("portal:dashboard")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_failed_logins_are_rate_limited(client, plans, make_customer) -> None:
    user = make_customer().account.user
    user.set_password(PASSWORD)
    user.save()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
        assert b"Too many" not in response.content
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    # Even the right password is refused until the window passes.
    assert response.status_code in (200, 429)
    assert b"Too many failed login attempts" in response.content
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_password_reset_by_email(client, plans, make_customer) -> None:
    user = make_customer().account.user
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    reset_url = link_in_last_mail("password/reset/key")
    form_page = client.get(reset_url, follow=True)
    assert form_page.status_code == 200
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset_url
    new = "a brand new passphrase 7"
    done = client.post(action, {"password1": new, "password2": new})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_unknown_email_for_password_reset_reveals_nothing(client, plans) -> None:
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response.status_code == 302  # the same answer as for a customer's address


def test_an_operator_without_customer_account_is_sent_to_the_admin(client, plans, django_user_model) -> None:
    django_user_model.objects.create_user("ops", "ops@example.com", PASSWORD, is_staff=True)
    response = client.post(reverse("account_login"), {"login": "ops@example.com", "password": PASSWORD})
    assert response["Location"] == reverse("admin:index")


def test_account_settings_pages_render_in_the_portal(client, plans, make_customer) -> None:
    from tests.portal import login

    login(client, make_customer().account)
    for name in ("account_email", "account_change_password"):
        response = client.get(reverse(name))
        assert response.status_code in (200, 302), name
        if response.status_code == 200:
            assert b'aria-label="Account settings"' in response.content
            assert b"/static/portal/artnex.css" in response.content
