"""The base of every /v1/ view: each call gets a request id before authentication, so that
even a 401 answers in the contract's shape with an id to quote to support."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.views import APIView

from artnex.ids import attach

from .ids import new_request_id


class ApiView(APIView):
    request_id: str

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.request_id = new_request_id()
        attach(request, self.request_id)
        # Kept on the Django request too, where the 500 handler finds it.
        attach(request._request, self.request_id)
        super().initial(request, *args, **kwargs)
