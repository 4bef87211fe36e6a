"""The image downloader: real local HTTP(S) servers, fake DNS only at the edge.

Every test that must not connect anywhere records connection attempts instead of trusting
the error message alone. The local servers live in this module (not a helper module) so the
tests import the same way whether or not ``tests`` becomes a package.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from artnex.errors import ImageTooLarge, InvalidImageFormat
from artnex.safe_http import is_public_address
from upscale.intake import fetch_image

IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # the bytes only need to come back intact
KB = 1024
QUICK = {"connect_timeout": 0.2, "read_timeout": 0.3}  # whole-download deadline: 0.8 s

Route = Callable[["_Handler"], None]


# ---------------------------------------------------------------- local servers


@dataclass
class SeenRequest:
    path: str
    headers: Message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    seen: list[SeenRequest]
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked answers need it
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(SeenRequest(self.path, self.headers))
        route = self.server.routes.get(self.path.split("?")[0], answer_status(404))
        # The client hanging up mid-answer is what several tests want it to do.
        with contextlib.suppress(OSError):
            route(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class LocalServer:
    """A real HTTP server on a loopback address, answering from ``routes``."""

    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)

    def __enter__(self) -> LocalServer:
        self._server = _Server((self.host, 0), _Handler)
        self._server.routes, self._server.seen = self.routes, self.seen
        self._server.stopping = threading.Event()
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str, host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"


def answer_image(body: bytes = IMAGE, *, declared_length: int | None = None) -> Route:
    def route(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(body) if declared_length is None else declared_length))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def answer_until_close(body: bytes) -> Route:
    """No Content-Length: the body ends when the server closes the connection."""

    def route(handler: _Handler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return route


def answer_chunked(body: bytes, *, declared_length: int | None = None) -> Route:
    def route(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        if declared_length is not None:  # a lie: chunked framing wins over Content-Length
            handler.send_header("Content-Length", str(declared_length))
        handler.end_headers()
        for start in range(0, len(body), 4 * KB):
            chunk = body[start : start + 4 * KB]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.wfile.write(b"0\r\n\r\n")

    return route


def answer_status(status: int) -> Route:
    def route(handler: _Handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def answer_redirect(location: str, status: int = 302) -> Route:
    def route(handler: _Handler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def answer_drip(*, interval: float, declared_length: int | None = None) -> Route:
    """One byte at a time, each well inside the read time-out, for as long as the client listens."""

    def route(handler: _Handler) -> None:
        handler.send_response(200)
        if declared_length is not None:
            handler.send_header("Content-Length", str(declared_length))
        handler.end_headers()
        handler.wfile.flush()
        while not handler.server.stopping.wait(interval):
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return route


def answer_nothing(handler: _Handler) -> None:
    handler.server.stopping.wait(5)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as local:
        yield local


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test", "internal.test", "127.0.0.2").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def tls_server(server_tls: ssl.SSLContext) -> Iterator[LocalServer]:
    with LocalServer(tls=server_tls) as local:
        yield local


# ---------------------------------------------------------------- fakes at the network edge


class FakeDNS:
    """A resolver that answers from a table and remembers every question."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.questions: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.questions.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the fetcher attempts, none of them actually made."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("tests forbid connections here")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def only_loopback_1(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A stand-in for the public internet: 127.0.0.1 is "public", everything else is not."""
    return address == ipaddress.ip_address("127.0.0.1")


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def fetch_from(server: LocalServer, path: str, **kwargs: object) -> bytes:
    options: dict[str, object] = {"max_bytes": 64 * KB, "allow_private": True, **QUICK}
    options.update(kwargs)
    return fetch_image(server.url(path), **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------- downloading


def test_downloads_an_image_over_http_when_private_urls_are_allowed(server: LocalServer) -> None:
    server.routes["/cat.png"] = answer_image()

    assert fetch_from(server, "/cat.png?size=large") == IMAGE

    [request] = server.seen
    assert request.path == "/cat.png?size=large"
    assert request.headers["Accept"] == "image/*"
    assert request.headers["User-Agent"] == "Artnex/1.0 (+image fetcher)"
    assert request.headers["Accept-Encoding"] == "identity"
    assert request.headers["Cookie"] is None


@pytest.mark.parametrize("route", [answer_chunked(IMAGE), answer_until_close(IMAGE)], ids=["chunked", "eof"])
def test_downloads_bodies_without_content_length(server: LocalServer, route: Route) -> None:
    server.routes["/cat.png"] = route

    assert fetch_from(server, "/cat.png") == IMAGE


def test_downloads_a_body_of_exactly_max_bytes(server: LocalServer) -> None:
    server.routes["/cat.png"] = answer_until_close(IMAGE)

    assert fetch_from(server, "/cat.png", max_bytes=len(IMAGE)) == IMAGE


def test_connects_to_the_resolved_address_and_sends_the_original_host(server: LocalServer) -> None:
    dns = FakeDNS({"made-up-name.test": ["127.0.0.1"]})
    server.routes["/cat.png"] = answer_image()

    body = fetch_image(
        f"http://made-up-name.test:{server.port}/cat.png", max_bytes=64 * KB, allow_private=True, resolver=dns
    )

    assert body == IMAGE
    assert dns.questions == [("made-up-name.test", server.port)]  # once: no second lookup to connect
    assert server.seen[0].headers["Host"] == f"made-up-name.test:{server.port}"


def test_ignores_proxy_settings_from_the_environment(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing answers there
    server.routes["/cat.png"] = answer_image()

    assert fetch_from(server, "/cat.png") == IMAGE


# ---------------------------------------------------------------- size cap


def test_refuses_a_body_over_the_cap_without_content_length(server: LocalServer) -> None:
    server.routes["/big.png"] = answer_until_close(b"x" * (3 * KB))

    with pytest.raises(ImageTooLarge, match=exactly("image is larger than 1 KB")):
        fetch_from(server, "/big.png", max_bytes=KB)


def test_refuses_a_chunked_body_over_the_cap_despite_a_small_content_length(server: LocalServer) -> None:
    server.routes["/big.png"] = answer_chunked(b"x" * (256 * KB), declared_length=10)

    with pytest.raises(ImageTooLarge):
        fetch_from(server, "/big.png", max_bytes=64 * KB)


def test_never_reads_past_a_content_length_smaller_than_the_body(server: LocalServer) -> None:
    server.routes["/cat.png"] = answer_image(IMAGE + b"x" * (256 * KB), declared_length=len(IMAGE))

    assert fetch_from(server, "/cat.png") == IMAGE


def test_refuses_a_content_length_over_the_cap_before_reading_the_body(server: LocalServer) -> None:
    # The body never comes: only the header can have decided, and well before any time-out.
    server.routes["/huge.png"] = answer_drip(interval=10, declared_length=10 * 1024 * 1024 + 1)

    started = time.monotonic()
    with pytest.raises(ImageTooLarge, match=exactly("image is larger than 10 MB")):
        fetch_from(server, "/huge.png", max_bytes=10 * 1024 * 1024)
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("max_bytes", "described"), [(10 * 1024 * 1024, "10 MB"), (1536, "1536 bytes"), (3 * KB, "3 KB")]
)
def test_describes_the_cap_in_the_message(server: LocalServer, max_bytes: int, described: str) -> None:
    server.routes["/big.png"] = answer_image(b"", declared_length=max_bytes + 1)

    with pytest.raises(ImageTooLarge) as raised:
        fetch_from(server, "/big.png", max_bytes=max_bytes)
    assert raised.value.message == f"image is larger than {described}"


# ---------------------------------------------------------------- answers that are not an image


@pytest.mark.parametrize("status", [404, 403, 500, 300, 304])
def test_refuses_a_non_2xx_answer(server: LocalServer, status: int) -> None:
    server.routes["/cat.png"] = answer_status(status)

    with pytest.raises(InvalidImageFormat, match=f"^image URL answered HTTP {status}$"):
        fetch_from(server, "/cat.png")


def test_refuses_an_empty_body(server: LocalServer) -> None:
    server.routes["/empty.png"] = answer_image(b"")

    with pytest.raises(InvalidImageFormat, match=exactly("image URL answered an empty body")):
        fetch_from(server, "/empty.png")


def test_refuses_a_body_shorter_than_its_content_length(server: LocalServer) -> None:
    def truncated(handler: _Handler) -> None:
        answer_image(IMAGE[:100], declared_length=len(IMAGE))(handler)
        handler.close_connection = True

    server.routes["/cut.png"] = truncated

    with pytest.raises(InvalidImageFormat, match="closed the connection before the answer was complete"):
        fetch_from(server, "/cut.png")


def test_refuses_an_answer_that_is_not_http() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def talk_nonsense() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        thread = threading.Thread(target=talk_nonsense)
        thread.start()
        with pytest.raises(InvalidImageFormat, match=exactly("image URL did not answer valid HTTP")):
            fetch_image(f"http://127.0.0.1:{listener.getsockname()[1]}/", max_bytes=KB, allow_private=True)
        thread.join()


def test_reports_a_refused_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

    with pytest.raises(InvalidImageFormat, match=exactly("image URL could not be reached")):
        fetch_image(f"http://127.0.0.1:{port}/", max_bytes=KB, allow_private=True, **QUICK)


# ---------------------------------------------------------------- time limits


def test_cuts_off_a_slow_drip_at_the_whole_download_deadline(server: LocalServer) -> None:
    # Each byte arrives well inside the read time-out; only the overall deadline can stop it.
    server.routes["/drip.png"] = answer_drip(interval=0.05)

    started = time.monotonic()
    with pytest.raises(InvalidImageFormat, match=exactly("image URL did not answer in time")):
        fetch_from(server, "/drip.png")
    assert time.monotonic() - started < 1.5


def test_times_out_a_server_that_never_answers(server: LocalServer) -> None:
    server.routes["/silent.png"] = answer_nothing

    started = time.monotonic()
    with pytest.raises(InvalidImageFormat, match=exactly("image URL did not answer in time")):
        fetch_from(server, "/silent.png")
    assert time.monotonic() - started < 1


def test_times_out_a_tls_handshake_that_never_happens(client_tls: ssl.SSLContext) -> None:
    # The kernel completes the TCP handshake for the backlog; nobody ever speaks TLS.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/"
        started = time.monotonic()
        with pytest.raises(InvalidImageFormat, match=exactly("image URL did not answer in time")):
            fetch_image(url, max_bytes=KB, allow_private=True, ssl_context=client_tls, **QUICK)
    assert time.monotonic() - started < 1


def test_gives_up_on_a_slow_name_server() -> None:
    def slow_dns(host: str, port: int) -> list[str]:
        time.sleep(1)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(InvalidImageFormat, match=exactly("image URL did not answer in time")):
        fetch_image("http://slow.test/", max_bytes=KB, allow_private=True, resolver=slow_dns, **QUICK)
    assert time.monotonic() - started < 0.5


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_follows_a_redirect(server: LocalServer, status: int) -> None:
    server.routes["/old.png"] = answer_redirect(server.url("/cat.png"), status)
    server.routes["/cat.png"] = answer_image()

    assert fetch_from(server, "/old.png") == IMAGE


def test_follows_three_redirects_with_relative_locations(server: LocalServer) -> None:
    server.routes["/a/1"] = answer_redirect("2")  # relative to the path
    server.routes["/a/2"] = answer_redirect("/b/3")  # relative to the host
    server.routes["/b/3"] = answer_redirect(f"//127.0.0.1:{server.port}/cat.png")  # relative to the scheme
    server.routes["/cat.png"] = answer_image()

    assert fetch_from(server, "/a/1") == IMAGE
    assert [request.path for request in server.seen] == ["/a/1", "/a/2", "/b/3", "/cat.png"]


def test_refuses_a_fourth_redirect(server: LocalServer) -> None:
    for hop in range(1, 5):
        server.routes[f"/{hop}"] = answer_redirect(f"/{hop + 1}")
    server.routes["/5"] = answer_image()

    with pytest.raises(InvalidImageFormat, match=exactly("image URL redirected too many times")):
        fetch_from(server, "/1")
    assert [request.path for request in server.seen] == ["/1", "/2", "/3", "/4"]


def test_max_redirects_zero_refuses_any_redirect(server: LocalServer) -> None:
    server.routes["/old.png"] = answer_redirect("/cat.png")

    with pytest.raises(InvalidImageFormat, match="redirected too many times"):
        fetch_from(server, "/old.png", max_redirects=0)


def test_treats_a_redirect_without_location_as_a_failed_answer(server: LocalServer) -> None:
    server.routes["/old.png"] = answer_status(302)

    with pytest.raises(InvalidImageFormat, match=exactly("image URL answered HTTP 302")):
        fetch_from(server, "/old.png")


# ---------------------------------------------------------------- TLS


def test_downloads_over_https_verifying_the_url_host(tls_server: LocalServer, client_tls: ssl.SSLContext) -> None:
    tls_server.routes["/cat.png"] = answer_image()

    body = fetch_image(
        tls_server.url("/cat.png", host="images.test"),
        max_bytes=64 * KB,
        resolver=FakeDNS({"images.test": ["127.0.0.1"]}),
        is_allowed_address=only_loopback_1,
        ssl_context=client_tls,
    )

    assert body == IMAGE
    assert tls_server.seen[0].headers["Host"] == f"images.test:{tls_server.port}"


def test_refuses_a_certificate_for_another_host(tls_server: LocalServer, client_tls: ssl.SSLContext) -> None:
    tls_server.routes["/cat.png"] = answer_image()

    with pytest.raises(InvalidImageFormat, match=exactly("image URL's TLS certificate could not be verified")):
        fetch_image(
            tls_server.url("/cat.png", host="other.test"),
            max_bytes=64 * KB,
            resolver=FakeDNS({"other.test": ["127.0.0.1"]}),
            is_allowed_address=only_loopback_1,
            ssl_context=client_tls,
        )
    assert tls_server.seen == []


def test_trusts_only_the_system_certificate_authorities_by_default(tls_server: LocalServer) -> None:
    with pytest.raises(InvalidImageFormat, match="TLS certificate could not be verified"):
        fetch_image(
            tls_server.url("/cat.png", host="images.test"),
            max_bytes=64 * KB,
            resolver=FakeDNS({"images.test": ["127.0.0.1"]}),
            is_allowed_address=only_loopback_1,
        )


# ---------------------------------------------------------------- SSRF: refused before any connection


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
    ],
)
def test_refuses_a_host_resolving_to_a_non_public_address(address: str, connections: list[tuple[str, int]]) -> None:
    dns = FakeDNS({"images.test": [address]})

    with pytest.raises(InvalidImageFormat, match=exactly("image URL resolves to a private or reserved address")):
        fetch_image("https://images.test/cat.png", max_bytes=KB, resolver=dns)
    assert connections == []


def test_refuses_a_host_with_one_public_and_one_private_address(connections: list[tuple[str, int]]) -> None:
    dns = FakeDNS({"images.test": ["93.184.216.34", "10.0.0.1"]})

    with pytest.raises(InvalidImageFormat, match="private or reserved address"):
        fetch_image("https://images.test/cat.png", max_bytes=KB, resolver=dns)
    assert connections == []


def test_connects_to_the_checked_address_of_a_public_host(connections: list[tuple[str, int]]) -> None:
    dns = FakeDNS({"images.test": ["93.184.216.34", "2606:4700::1"]})

    with pytest.raises(InvalidImageFormat, match=exactly("image URL could not be reached")):
        fetch_image("https://images.test:8443/cat.png", max_bytes=KB, resolver=dns)
    assert dns.questions == [("images.test", 8443)]
    assert connections == [("93.184.216.34", 8443), ("2606:4700::1", 8443)]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/cat.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3:8443/cat.png",
        "https://[::1]/cat.png",
        "https://[::ffff:127.0.0.1]/cat.png",
        "https://[::ffff:7f00:1]/cat.png",
        "https://[fe80::1%25eth0]/cat.png",
    ],
)
def test_refuses_a_literal_non_public_address(url: str, connections: list[tuple[str, int]]) -> None:
    dns = FakeDNS({})

    with pytest.raises(InvalidImageFormat, match="private or reserved address"):
        fetch_image(url, max_bytes=KB, resolver=dns)
    assert dns.questions == []
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",  # decimal 127.0.0.1
        "https://0x7f000001/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",  # octal
        "https://127.1/",
        "https://169.254.43518/",  # 169.254.169.254
        "https://images.test.0x0a/",
    ],
)
def test_refuses_ip_addresses_in_disguise(url: str, connections: list[tuple[str, int]]) -> None:
    # The system resolver would read these as IPv4 addresses; they never get that far.
    with pytest.raises(InvalidImageFormat, match=exactly("image URL is not a valid URL")):
        fetch_image(url, max_bytes=KB)
    assert connections == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://images.test/cat.png", "image URL must use https"),
        ("ftp://images.test/cat.png", "image URL must use https"),
        ("file:///etc/passwd", "image URL must use https"),
        ("gopher://images.test/", "image URL must use https"),
        ("images.test/cat.png", "image URL must use https"),
        ("https://user:secret@images.test/cat.png", "image URL must not contain a user name or password"),
        ("https://user@images.test/cat.png", "image URL must not contain a user name or password"),
        ("https://images.test@127.0.0.1/", "image URL must not contain a user name or password"),
        ("https:///cat.png", "image URL is not a valid URL"),
        ("https://images.test:99999/", "image URL is not a valid URL"),
        ("https://images.test:0/", "image URL is not a valid URL"),
        ("https://images.test:http/", "image URL is not a valid URL"),
        ("https://images .test/", "image URL is not a valid URL"),
        ("https://images.test/cat.png\r\nX-Injected: 1", "image URL is not a valid URL"),
        ("https://" + "a" * 64 + ".test/", "image URL is not a valid URL"),
        ("", "image URL must use https"),
    ],
)
def test_refuses_urls_it_must_not_fetch(url: str, message: str, connections: list[tuple[str, int]]) -> None:
    dns = FakeDNS({"images.test": ["93.184.216.34"]})

    with pytest.raises(InvalidImageFormat) as raised:
        fetch_image(url, max_bytes=KB, resolver=dns)
    assert raised.value.message == message
    assert dns.questions == []
    assert connections == []


@pytest.mark.parametrize("answer", [[], ["not-an-address"]])
def test_refuses_a_host_without_a_usable_address(answer: list[str]) -> None:
    with pytest.raises(InvalidImageFormat, match=exactly("image URL host could not be resolved")):
        fetch_image("https://images.test/", max_bytes=KB, resolver=FakeDNS({"images.test": answer}))


def test_refuses_an_unknown_host() -> None:
    with pytest.raises(InvalidImageFormat, match=exactly("image URL host could not be resolved")):
        fetch_image("https://nowhere.test/", max_bytes=KB, resolver=FakeDNS({}))


# ---------------------------------------------------------------- SSRF: redirects are checked too


@pytest.fixture
def internal_server(server_tls: ssl.SSLContext) -> Iterator[LocalServer]:
    """A server inside "our network": reachable on loopback, but on an address the policy refuses."""
    with LocalServer(host="127.0.0.2", tls=server_tls) as local:
        local.routes["/secret"] = answer_image(b"internal secrets")
        yield local


@pytest.mark.parametrize("internal_host", ["internal.test", "127.0.0.2"])
def test_refuses_a_redirect_to_a_non_public_address(
    tls_server: LocalServer, internal_server: LocalServer, client_tls: ssl.SSLContext, internal_host: str
) -> None:
    tls_server.routes["/cat.png"] = answer_redirect(internal_server.url("/secret", host=internal_host))
    dns = FakeDNS({"images.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]})

    with pytest.raises(InvalidImageFormat, match=exactly("image URL resolves to a private or reserved address")):
        fetch_image(
            tls_server.url("/cat.png", host="images.test"),
            max_bytes=64 * KB,
            resolver=dns,
            is_allowed_address=only_loopback_1,
            ssl_context=client_tls,
        )
    assert len(tls_server.seen) == 1
    assert internal_server.seen == []


def test_the_internal_server_is_reachable_when_the_policy_allows_it(
    tls_server: LocalServer, internal_server: LocalServer, client_tls: ssl.SSLContext
) -> None:
    # The control for the test above: its refusal is the policy's doing, not a broken server.
    tls_server.routes["/cat.png"] = answer_redirect(internal_server.url("/secret", host="internal.test"))
    dns = FakeDNS({"images.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]})

    body = fetch_image(
        tls_server.url("/cat.png", host="images.test"),
        max_bytes=64 * KB,
        resolver=dns,
        is_allowed_address=lambda address: address.is_loopback,
        ssl_context=client_tls,
    )

    assert body == b"internal secrets"
    assert dns.questions == [("images.test", tls_server.port), ("internal.test", internal_server.port)]


def test_refuses_a_redirect_from_https_to_http(
    tls_server: LocalServer, server: LocalServer, client_tls: ssl.SSLContext
) -> None:
    tls_server.routes["/cat.png"] = answer_redirect(server.url("/cat.png"))
    server.routes["/cat.png"] = answer_image()

    with pytest.raises(InvalidImageFormat, match=exactly("image URL must use https")):
        fetch_image(
            tls_server.url("/cat.png", host="images.test"),
            max_bytes=64 * KB,
            resolver=FakeDNS({"images.test": ["127.0.0.1"]}),
            is_allowed_address=only_loopback_1,
            ssl_context=client_tls,
        )
    assert server.seen == []


# ---------------------------------------------------------------- the address policy


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700::1", True),
        ("2a00:1450:4001:80b::200e", True),
        ("::ffff:93.184.216.34", True),  # IPv4-mapped: judged by the IPv4 address
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("169.254.169.254", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.0.0.1", False),
        ("192.0.2.1", False),
        ("192.88.99.1", False),
        ("192.168.0.1", False),
        ("198.18.0.1", False),
        ("198.51.100.1", False),
        ("203.0.113.1", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
        ("::1", False),
        ("::127.0.0.1", False),  # IPv4-compatible (deprecated)
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::ffff:0:7f00:1", False),  # IPv4-translated
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b:1::5db8:d822", False),  # NAT64 local-use prefix
        ("100::1", False),
        ("2001::5db8:d822", False),  # Teredo
        ("2001:db8::1", False),
        ("2002:5db8:d822::1", False),  # 6to4, even of a public address
        ("3fff::1", False),
        ("fc00::1", False),
        ("fd12:3456:789a::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fec0::1", False),
        ("ff02::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public
