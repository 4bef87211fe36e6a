"""The base of every /v1/ view: each call gets a request id before authentication, so that
even a 401 answers in the contract's shape with an id to quote to support."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework.views import APIView

from artnex.ids import attach, bound

from .ids import new_request_id


class ApiView(APIView):
    request_id: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Kept on the Django request, where the error handlers find it, and bound for the log
        # lines and the task this request queues.
        self.request_id = new_request_id()
        attach(request, self.request_id)
        with bound(self.request_id):
            return super().dispatch(request, *args, **kwargs)
