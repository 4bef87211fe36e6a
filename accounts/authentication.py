"""``Authorization: Bearer <key>`` for the API, as a DRF authentication class."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.request import Request

from artnex.errors import InvalidApiKey

from . import keys
from .models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            # No credentials offered: the view's permission turns this into a 401.
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not token.strip():
            raise InvalidApiKey("The Authorization header must be 'Bearer <api key>'.")
        api_key = keys.find_active_key(token.strip())
        if api_key is None or not api_key.account.user.is_active:
            raise InvalidApiKey()
        keys.touch(api_key)
        return api_key.account.user, api_key

    def authenticate_header(self, request: Request) -> str:
        # Present so DRF answers 401 (with WWW-Authenticate), never 403.
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes :class:`ApiKeyAuthentication` (registered by subclassing)."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: ax_live_<prefix>_<secret>."}
