"""A local stand-in for api.stripe.com: answers the few endpoints Artnex calls in Stripe's
wire format (form-encoded requests, JSON objects with ``object`` and ``id``, Stripe's error
envelope), and records every request so tests can check what was sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0  # answer the next N calls with Stripe's 400 card/invalid-request error
    _ids: count = field(default_factory=lambda: count(1))

    def reset(self) -> None:
        for table in (self.calls, self.customers, self.products, self.prices, self.sessions, self.idempotent):
            table.clear()
        self.fail_next = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._ids):06d}"

    def posted(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == path]

    # --- endpoints -------------------------------------------------------------------
    def answer(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        self.calls.append(Call(method, path, params, headers))
        if self.fail_next:
            self.fail_next -= 1
            return 400, error("invalid_request_error", "parameter_invalid", "Something about this request is wrong.")
        key = headers.get("idempotency-key")
        if method == "POST" and key and key in self.idempotent:
            return 200, self.idempotent[key]
        status, body = self._route(method, path, params)
        if method == "POST" and key and status == 200:
            self.idempotent[key] = body
        return status, body

    def _route(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if method == "POST" and parts == ["customers"]:
            obj = {"id": self.new_id("cus"), "object": "customer", "email": p.get("email"),
                   "metadata": nested(p, "metadata"), "livemode": False}
            self.customers[obj["id"]] = obj
            return 200, obj
        if method == "POST" and parts == ["checkout", "sessions"]:
            sid = self.new_id("cs")
            obj = {"id": sid, "object": "checkout.session", "mode": p["mode"], "customer": p.get("customer"),
                   "client_reference_id": p.get("client_reference_id"), "metadata": nested(p, "metadata"),
                   "status": "open", "payment_status": "unpaid", "livemode": False,
                   "success_url": p["success_url"], "cancel_url": p["cancel_url"],
                   "url": f"https://checkout.stripe.com/c/pay/{sid}"}
            self.sessions[sid] = obj
            return 200, obj
        if method == "POST" and parts == ["billing_portal", "sessions"]:
            return 200, {"id": self.new_id("bps"), "object": "billing_portal.session", "customer": p["customer"],
                         "return_url": p.get("return_url"), "url": "https://billing.stripe.com/p/session/test"}
        if parts[:1] == ["products"]:
            return self._products(method, parts, p)
        if parts[:1] == ["prices"]:
            return self._prices(method, parts, p)
        return 404, error("invalid_request_error", "resource_missing", f"Unrecognized request URL ({method}: {path}).")

    def _products(self, method: str, parts: list[str], p: dict[str, str]) -> tuple[int, Any]:
        if method == "POST" and len(parts) == 1:
            obj = {"id": p["id"], "object": "product", "name": p["name"], "active": True,
                   "metadata": nested(p, "metadata")}
            self.products[obj["id"]] = obj
            return 200, obj
        product = self.products.get(parts[1])
        if product is None:
            return 404, error("invalid_request_error", "resource_missing", f"No such product: '{parts[1]}'")
        if method == "POST":
            product.update(name=p.get("name", product["name"]), active=p.get("active", "true") == "true")
        return 200, product

    def _prices(self, method: str, parts: list[str], p: dict[str, str]) -> tuple[int, Any]:
        if method == "GET" and len(parts) == 1:
            keys = {v for k, v in p.items() if k.startswith("lookup_keys[")}
            data = [x for x in self.prices.values() if x["lookup_key"] in keys and x["active"]]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/prices"}
        if method == "POST" and len(parts) == 1:
            if p.get("transfer_lookup_key") == "true":
                for other in self.prices.values():
                    if other["lookup_key"] == p["lookup_key"]:
                        other["lookup_key"] = None
            interval = p.get("recurring[interval]")
            obj = {"id": self.new_id("price"), "object": "price", "active": True, "product": p["product"],
                   "unit_amount": int(p["unit_amount"]), "currency": p["currency"], "lookup_key": p["lookup_key"],
                   "recurring": {"interval": interval, "interval_count": 1} if interval else None,
                   "type": "recurring" if interval else "one_time", "metadata": nested(p, "metadata")}
            self.prices[obj["id"]] = obj
            return 200, obj
        price = self.prices[parts[1]]
        if method == "POST" and "active" in p:
            price["active"] = p["active"] == "true"
        return 200, price


def nested(params: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix):-1]: v for k, v in params.items() if k.startswith(prefix) and k.count("[") == 1}


def error(kind: str, code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message}}


def serve() -> tuple[FakeStripe, ThreadingHTTPServer]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            split = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = dict(parse_qsl(split.query or body, keep_blank_values=True))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.answer(self.command, split.path, params, headers)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_fake")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
