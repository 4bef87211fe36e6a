"""Fetches a URL a customer gave us without letting it reach our own network.

A customer's URL (an ``image`` to upscale, a webhook that receives the result) is
attacker-controlled input that makes *our* server open a connection, so this module is the
SSRF boundary of the service:

* Each hop's host is resolved exactly once and every address it resolves to is checked;
  the TCP connection then goes to a checked address, never to a second DNS answer, so a
  DNS-rebinding host cannot swap in 127.0.0.1 between the check and the connection.
* TLS still verifies the certificate against the URL's host name (SNI and
  ``check_hostname``), and the ``Host`` header is that name, so pinning is invisible to
  the server.
* Redirects are followed by hand, each one checked like the first URL.
* One deadline covers the whole download and the body is capped while it streams, so a
  slow or endless answer cannot hold a worker or fill its memory.

``http.client`` is used directly: it reads no proxy settings from the environment and
keeps no cookies, which is what we want here.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import queue
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import TracebackType
from urllib.parse import quote, urljoin, urlsplit

__all__ = ["FetchError", "ResponseTooLarge", "check", "describe_size", "fetch", "is_public_address", "post"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
AddressPolicy = Callable[[IPAddress], bool]

USER_AGENT = "Artnex/1.0"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_SIZE = 64 * 1024

BAD_URL = "URL is not a valid URL"
HTTPS_ONLY = "URL must use https"
HTTP_OR_HTTPS = "URL must use http or https"
HAS_CREDENTIALS = "URL must not contain a user name or password"
UNRESOLVABLE = "URL host could not be resolved"
REFUSED_ADDRESS = "URL resolves to a private or reserved address"
UNREACHABLE = "URL could not be reached"
TIMED_OUT = "URL did not answer in time"
BAD_CERTIFICATE = "URL's TLS certificate could not be verified"
TLS_FAILED = "URL's TLS handshake failed"
BAD_HTTP = "URL did not answer valid HTTP"
TOO_MANY_REDIRECTS = "URL redirected too many times"
EMPTY_BODY = "URL answered an empty body"
TRUNCATED_BODY = "URL closed the connection before the answer was complete"

# Ranges a customer's URL must never reach. Most are also caught by ``is_global`` and
# friends, but spelling them out keeps the policy readable and independent of the
# Python version's idea of "global".
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches localhost on Linux
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, home of cloud metadata (169.254.169.254)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, including broadcast 255.255.255.255
        "::/8",  # reserved: unspecified, loopback, IPv4-compatible and -translated forms
        "64:ff9b:1::/48",  # NAT64 local-use prefix: translates into private networks
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, including Teredo (2001::/32)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: a relay would carry us to the embedded IPv4 address
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment identifiers
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
# Inside ::/8 too, but a public IPv4 address behind DNS64/NAT64 is a legitimate host, so
# this prefix is judged by the IPv4 address it carries, before the list above applies.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

# A host name whose last label is a number is an IPv4 address in disguise (2130706433,
# 0x7f.1, 0177.0.0.1): resolvers accept these forms, and no real domain looks like one.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


class FetchError(Exception):
    """The URL was refused or did not answer usable HTTP; the message is safe to show the caller."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ResponseTooLarge(Exception):
    """The answer is over ``max_bytes``; nothing past the cap was read."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"the answer is larger than {describe_size(max_bytes)}")


class _Timeout(Exception):
    """The whole-download deadline passed (kept apart from socket time-outs for clarity)."""


def is_public_address(address: IPAddress) -> bool:
    """Whether a customer's URL may make us connect to ``address``."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    if any(address in network for network in _REFUSED_NETWORKS):
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches, where the kernel or NAT64 unwraps it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _allow_any_address(address: IPAddress) -> bool:
    return True


@dataclass(frozen=True)
class _Options:
    max_bytes: int
    allow_http: bool
    is_allowed_address: AddressPolicy
    resolver: Resolver
    ssl_context: ssl.SSLContext
    connect_timeout: float
    read_timeout: float
    max_redirects: int
    accept: str
    user_agent: str


@dataclass(frozen=True)
class _Target:
    """One hop's URL, split into what the connection needs."""

    scheme: str
    host: str  # ASCII host name or IP literal: sent as SNI and in the Host header
    port: int
    path: str  # request target: path and query, never the fragment


def fetch(
    url: str,
    *,
    max_bytes: int,
    allow_private: bool = False,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
    max_redirects: int = 3,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
    is_allowed_address: AddressPolicy | None = None,
    accept: str = "*/*",
    user_agent: str = USER_AGENT,
) -> bytes:
    """Download at most ``max_bytes`` from ``url`` and return them.

    ``allow_private`` (``ARTNEX_ALLOW_PRIVATE_URLS=1``, development and tests only) also
    allows plain http and any address. ``resolver``, ``ssl_context`` and
    ``is_allowed_address`` exist so tests can point real connections at local servers.

    Raises ``FetchError`` (a message fit for the customer) when the URL is refused or does
    not answer a complete 2xx body, and ``ResponseTooLarge`` when the body is over ``max_bytes``.
    """
    options = _Options(
        max_bytes=max_bytes,
        allow_http=allow_private,
        is_allowed_address=is_allowed_address or (_allow_any_address if allow_private else is_public_address),
        resolver=resolver or _system_resolver,
        ssl_context=ssl_context or _default_ssl_context(),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_redirects=max_redirects,
        accept=accept,
        user_agent=user_agent,
    )
    # Per-read time-outs alone let a server drip one byte just inside each of them.
    with _Deadline(connect_timeout + 2 * read_timeout) as deadline:
        try:
            return _download(url, options, deadline)
        except (OSError, http.client.HTTPException, _Timeout) as exc:
            raise _network_error(exc, deadline) from exc


@cache
def _default_ssl_context() -> ssl.SSLContext:
    # Verifies the chain and the host name; contexts are safe to share between threads.
    return ssl.create_default_context()


def check(url: str, *, allow_private: bool = False, timeout: float = 5.0, resolver: Resolver | None = None) -> None:
    """Refuse ``url`` as :func:`fetch` and :func:`post` would, without connecting: the scheme,
    credentials, and every address the host resolves to. For a URL kept now and used later
    (a webhook): that later use checks again, since DNS may answer differently by then."""
    options = _post_options(allow_private, timeout, resolver, None)
    with _Deadline(timeout) as deadline:
        try:
            _checked_addresses(_parse_url(url, options.allow_http), options, deadline)
        except (OSError, _Timeout) as exc:
            raise _network_error(exc, deadline) from exc


def post(
    url: str, body: bytes, *, headers: dict[str, str], allow_private: bool = False, timeout: float = 10.0,
    resolver: Resolver | None = None, ssl_context: ssl.SSLContext | None = None,
) -> int:
    """POST ``body`` (JSON) to ``url`` behind the same checks as :func:`fetch`; returns the status.

    Redirects are not followed: a POST that is redirected is not delivered, and following it
    would let the receiver point us at an address of its choosing.
    """
    options = _post_options(allow_private, timeout, resolver, ssl_context)
    with _Deadline(options.connect_timeout + timeout) as deadline:
        try:
            target = _parse_url(url, options.allow_http)
            connection = _PinnedConnection(target, _checked_addresses(target, options, deadline), options, deadline)
            try:
                connection.request("POST", target.path, body=body, headers={
                    "Content-Type": "application/json", "User-Agent": options.user_agent, "Connection": "close",
                    **headers,
                })
                response = connection.getresponse()
                response.read1(CHUNK_SIZE)  # the receiver's body is not ours to keep
                return response.status
            finally:
                connection.close()
                deadline.unwatch()
        except (OSError, http.client.HTTPException, _Timeout) as exc:
            raise _network_error(exc, deadline) from exc


def _post_options(allow_private: bool, timeout: float, resolver: Resolver | None,
                  ssl_context: ssl.SSLContext | None) -> _Options:
    return _Options(
        max_bytes=CHUNK_SIZE, allow_http=allow_private,
        is_allowed_address=_allow_any_address if allow_private else is_public_address,
        resolver=resolver or _system_resolver, ssl_context=ssl_context or _default_ssl_context(),
        connect_timeout=min(5.0, timeout), read_timeout=timeout, max_redirects=0, accept="*/*",
        user_agent=USER_AGENT,
    )


def _download(url: str, options: _Options, deadline: _Deadline) -> bytes:
    for _hop in range(options.max_redirects + 1):
        target = _parse_url(url, options.allow_http)
        addresses = _checked_addresses(target, options, deadline)
        connection = _PinnedConnection(target, addresses, options, deadline)
        try:
            response = _send_request(connection, target, options)
            location = response.getheader("Location") if response.status in REDIRECT_STATUSES else None
            if location:
                url = urljoin(url, location)
                continue
            return _read_body(response, options.max_bytes, deadline)
        finally:
            connection.close()
            deadline.unwatch()
    raise FetchError(TOO_MANY_REDIRECTS)


def _parse_url(url: str, allow_http: bool) -> _Target:
    # Whitespace and control characters are how request lines and headers get smuggled.
    if any(char <= " " or char == "\x7f" for char in url):
        raise FetchError(BAD_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(BAD_URL) from None
    allowed_schemes = ("http", "https") if allow_http else ("https",)
    if parts.scheme not in allowed_schemes:
        raise FetchError(HTTP_OR_HTTPS if allow_http else HTTPS_ONLY)
    if "@" in parts.netloc:
        raise FetchError(HAS_CREDENTIALS)
    host = _ascii_host(parts.hostname or "")
    if port == 0:
        raise FetchError(BAD_URL)
    path = _percent_encode_non_ascii(parts.path or "/")
    if parts.query:
        path += "?" + _percent_encode_non_ascii(parts.query)
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(parts.scheme, host, port or default_port, path)


def _ascii_host(hostname: str) -> str:
    """The host as it goes on the wire; refuses hosts that only some parsers agree on."""
    if not hostname:
        raise FetchError(BAD_URL)
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(hostname))
    try:
        host = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError(BAD_URL) from None
    if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        raise FetchError(BAD_URL)
    return host


def _percent_encode_non_ascii(text: str) -> str:
    # http.client sends the request line as ASCII; browsers encode the rest the same way.
    return "".join(char if char.isascii() else quote(char) for char in text)


def _checked_addresses(target: _Target, options: _Options, deadline: _Deadline) -> list[str]:
    """The addresses to connect to, every one of them allowed: one refused refuses the host."""
    if _is_ip_literal(target.host):
        answers = [target.host]
    else:
        timeout = min(options.connect_timeout, deadline.remaining())
        answers = _resolve(options.resolver, target.host, target.port, timeout)
    addresses = [_parse_address(answer) for answer in answers]
    if not addresses:
        raise FetchError(UNRESOLVABLE)
    if not all(options.is_allowed_address(address) for address in addresses):
        raise FetchError(REFUSED_ADDRESS)
    return answers


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse_address(answer: str) -> IPAddress:
    try:
        return ipaddress.ip_address(answer)
    except ValueError:
        raise FetchError(UNRESOLVABLE) from None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """Run the resolver, giving up after ``timeout``.

    getaddrinfo cannot be interrupted and a hostile name server can answer slowly, so the
    lookup runs in a daemon thread that we stop waiting for, rather than a blocked worker.
    """
    answers: queue.SimpleQueue[list[str] | Exception] = queue.SimpleQueue()

    def lookup() -> None:
        try:
            answers.put(resolver(host, port))
        except Exception as exc:  # handed to the caller: a thread's exception would be lost
            answers.put(exc)

    threading.Thread(target=lookup, name="artnex-fetch-dns", daemon=True).start()
    try:
        answer = answers.get(timeout=timeout)
    except queue.Empty:
        raise _Timeout from None
    if isinstance(answer, (OSError, UnicodeError, ValueError)):
        raise FetchError(UNRESOLVABLE) from answer
    if isinstance(answer, Exception):
        raise answer  # a bug in the resolver, not the client's doing
    return answer


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to addresses checked in advance, named by the URL's host."""

    def __init__(self, target: _Target, addresses: list[str], options: _Options, deadline: _Deadline) -> None:
        super().__init__(target.host, target.port, timeout=options.read_timeout)
        # Host header omits the port exactly when it is the scheme's default.
        self.default_port = 443 if target.scheme == "https" else 80
        self._addresses = addresses
        self._tls_context = options.ssl_context if target.scheme == "https" else None
        self._connect_timeout = options.connect_timeout
        self._deadline = deadline

    def connect(self) -> None:
        sock = self._connect_to_pinned_address()
        if self._tls_context is not None:
            # SNI and certificate verification use the name from the URL, not the address.
            sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.timeout)
        self.sock = sock

    def _connect_to_pinned_address(self) -> socket.socket:
        # Like socket.create_connection over several addresses, but over checked numeric
        # ones only: nothing here can trigger another DNS lookup.
        error: OSError = OSError("no address to connect to")
        for address in self._addresses:
            timeout = min(self._connect_timeout, self._deadline.remaining())
            try:
                sock = socket.create_connection((address, self.port), timeout=timeout)
            except OSError as exc:
                error = exc
                continue
            self._deadline.watch(sock)
            return sock
        raise error


def _send_request(
    connection: http.client.HTTPConnection, target: _Target, options: _Options
) -> http.client.HTTPResponse:
    connection.request(
        "GET",
        target.path,
        # http.client adds Host (the URL's host) and Accept-Encoding: identity: we want
        # the body's own bytes, never a compressed stream to inflate.
        headers={"Accept": options.accept, "User-Agent": options.user_agent, "Connection": "close"},
    )
    return connection.getresponse()


def _read_body(response: http.client.HTTPResponse, max_bytes: int, deadline: _Deadline) -> bytes:
    if not 200 <= response.status < 300:
        raise FetchError(f"URL answered HTTP {response.status}")
    # http.client ignores Content-Length when the body is chunked, so this only trusts it
    # to refuse early; the cap below is what actually holds.
    if response.length is not None and response.length > max_bytes:
        raise ResponseTooLarge(max_bytes)
    body = _read_capped(response, max_bytes)
    # A deadline shutdown looks like a clean end of a body without Content-Length.
    deadline.check()
    if response.length:
        raise FetchError(TRUNCATED_BODY)
    if not body:
        raise FetchError(EMPTY_BODY)
    return body


def _read_capped(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        # read1 makes at most one socket read, so a chunk never waits to fill up, and
        # asking for one byte past the cap is enough to know the body is too large.
        chunk = response.read1(min(CHUNK_SIZE, max_bytes + 1 - len(body)))
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(max_bytes)


def describe_size(size: int) -> str:
    # The contract counts 10 MB as 10 * 1024 * 1024 bytes.
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def _network_error(exc: BaseException, deadline: _Deadline) -> FetchError:
    """A message that helps the client without describing our network to it."""
    if deadline.expired or isinstance(exc, (_Timeout, TimeoutError)):
        return FetchError(TIMED_OUT)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(BAD_CERTIFICATE)
    if isinstance(exc, ssl.SSLError):
        return FetchError(TLS_FAILED)
    if isinstance(exc, http.client.HTTPException):
        return FetchError(BAD_HTTP)
    return FetchError(UNREACHABLE)


class _Deadline:
    """The time limit of one whole download, redirects included.

    Socket time-outs bound each read, but not their sum. When the time is spent, a timer
    thread shuts the current connection down, which wakes the blocked read with an end of
    stream; ``expired`` then tells that end apart from a genuine one.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._expires_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        self.unwatch()

    def remaining(self) -> float:
        left = self._expires_at - time.monotonic()
        if left <= 0:
            self.expired = True
            raise _Timeout
        return left

    def check(self) -> None:
        if self.expired:
            raise _Timeout

    def watch(self, sock: socket.socket) -> None:
        """Make ``sock`` the connection to cut when the time is up."""
        with self._lock:
            self._forget_watched()
            # Our own descriptor for the same connection: shutting it down ends the
            # connection for the reader too, and no other thread can close it under us.
            self._watched = sock.dup()
            if self.expired:
                self._shut_down_watched()

    def unwatch(self) -> None:
        # Our descriptor keeps the connection open: drop it once the hop is done with it.
        with self._lock:
            self._forget_watched()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down_watched()

    def _shut_down_watched(self) -> None:
        if self._watched is not None:
            with contextlib.suppress(OSError):
                self._watched.shutdown(socket.SHUT_RDWR)

    def _forget_watched(self) -> None:
        if self._watched is not None:
            self._watched.close()
            self._watched = None
