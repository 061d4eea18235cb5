"""The HTTP plumbing under `LumaClient`: one exchange at a time, bounded and told apart.

[`send_once`][luma_tools._transport.send_once] makes exactly one HTTP exchange: no retries, no
redirects followed, a body read with a size cap and a deadline. The decisions that surround it
(retry, follow a redirect, give up, call a paid request ambiguous) live in `_exchange`, free of
I/O, so the blocking client and the asyncio client make the same ones.

Whether a request was *sent* is observed, not guessed: the connection classes record when the
first byte of a request goes out on the socket. A failure before that (refused connection, DNS,
a TLS handshake that failed, a connect timeout) provably sent nothing, so even a paid request may
be tried again; any failure after it leaves a create's outcome unknown.
"""

from __future__ import annotations

import ipaddress
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from ._urls import Origin

__all__ = [
    "BearerAuth",
    "InsecureKeyWarning",
    "Reply",
    "WireError",
    "build_session",
    "describe_network_error",
    "last_request_sent",
    "never_sent",
    "read_body",
    "send_once",
]

#: Largest API reply read (task JSON is a few kB; a 200 MB "reply" is an attack or a bug).
MAX_REPLY_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-oneapi-request-id",
    "request-id",
    "cf-ray",
    "x-amzn-trace-id",
)


class InsecureKeyWarning(UserWarning):
    """The API key is about to travel unencrypted (plain http:// to a host that is not local)."""


# ---------------------------------------------------------------------------------------------
# Knowing whether a request went out

_WIRE = threading.local()


def last_request_sent() -> bool:
    """Whether the last request of this thread wrote any byte of itself to a socket."""
    return bool(getattr(_WIRE, "sent", False))


class _TrackedSending:
    """Mixin for urllib3 connections: mark the thread's request as sent at its first byte."""

    _luma_connecting = False

    def connect(self) -> None:
        # A proxy tunnel (CONNECT) is written from inside connect(): not the request itself.
        self._luma_connecting = True
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self._luma_connecting = False

    def send(self, data: Any) -> None:
        if getattr(self, "sock", None) is None:
            self.connect()
        if not self._luma_connecting:
            _WIRE.sent = True
        super().send(data)  # type: ignore[misc]


class _TrackedHTTPConnection(_TrackedSending, HTTPConnection):
    pass


class _TrackedHTTPSConnection(_TrackedSending, HTTPSConnection):
    pass


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


_TRACKED_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _TrackingAdapter(HTTPAdapter):
    """An adapter whose connections record when a request starts going out."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _TRACKED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own classes
            manager.pool_classes_by_scheme = _TRACKED_POOLS
        return manager


def never_sent(exc: BaseException) -> bool:
    """True if `exc` alone proves no connection was made (the fallback to `last_request_sent`)."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError | requests.ConnectTimeout):
            return True
        if isinstance(current, MaxRetryError):
            current = current.reason
            continue
        args = getattr(current, "args", ())
        nested = args[0] if args and isinstance(args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False


def describe_network_error(exc: BaseException) -> str:
    """A few words on what went wrong on the wire ("connection refused", "read timeout")."""
    text = repr(exc)
    for needle, words in (
        ("ConnectTimeout", "connect timeout"),
        ("ReadTimeout", "read timeout"),
        ("Read timed out", "read timeout"),
        ("out of time", "deadline reached"),
        ("Connection refused", "connection refused"),
        ("ConnectionRefused", "connection refused"),
        ("NameResolution", "host name not found"),
        ("RemoteDisconnected", "connection closed without a reply"),
        ("reset by peer", "connection reset"),
        ("ConnectionReset", "connection reset"),
        ("IncompleteRead", "reply cut short"),
        ("InvalidChunkLength", "reply cut short"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
        ("SSL", "TLS error"),
        ("ProxyError", "proxy error"),
    ):
        if needle in text:
            return words
    return type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Sessions and auth


class BearerAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer <key>` to requests for the gateway's API, and nothing else.

    The URL of each request is compared by scheme, host, port and path prefix with the API's
    own, after both went through the same normalisation, so `HTTPS://GW.example/` and
    `https://gw.example:443` match. Presigned download links live on storage hosts (sometimes
    under the gateway's origin); sending them the key would leak it.
    """

    def __init__(self, api_key: SecretStr, api_url: str) -> None:
        self._api_key = api_key
        self._origin = Origin.of(api_url)
        self._path = urllib3.util.parse_url(api_url).path or ""

    def covers(self, url: str) -> bool:
        """Whether `url` belongs to the gateway's API (and so gets the key)."""
        if Origin.of(url) != self._origin:
            return False
        path = urllib3.util.parse_url(url).path or ""
        return path == self._path or path.startswith(self._path.rstrip("/") + "/")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url is not None and self.covers(request.url):
            request.headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return f"BearerAuth(api_key=SecretStr('**********'), origin={self._origin!r})"


_WARNED: set[Origin] = set()
_WARNED_LOCK = threading.Lock()


def warn_if_cleartext(base_url: str) -> None:
    """Warn once per origin when the key would cross the network unencrypted."""
    origin = Origin.of(base_url)
    if origin.scheme != "http" or _is_loopback(origin.host):
        return
    with _WARNED_LOCK:
        if origin in _WARNED:
            return
        _WARNED.add(origin)
    warnings.warn(
        f"luma-tools: the API key will be sent unencrypted to http://{origin.host}; "
        "use the gateway's https:// address",
        InsecureKeyWarning,
        stacklevel=4,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_session(
    *, pool_size: int, user_agent: str, verify: bool | str = True
) -> requests.Session:
    """A session whose connections track sending, keep `pool_size` connections and never retry.

    Retries and redirects are decided above this layer (see the module docstring): urllib3's
    own retry would drain a hostile body before sleeping, and could not respect a deadline.
    """
    session = requests.Session()
    adapter = _TrackingAdapter(
        max_retries=Retry(total=0, read=False, redirect=False, raise_on_status=False),
        pool_connections=4,
        pool_maxsize=pool_size,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = verify
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    return session


# ---------------------------------------------------------------------------------------------
# One exchange


class WireError(Exception):
    """An exchange failed on the wire: no complete reply.

    Attributes:
        sent: Whether any byte of the request went out (False proves the server saw nothing).
        what: A few words for messages ("connection refused", "read timeout").
        deadline: True if it failed because the caller's deadline passed.
    """

    def __init__(self, what: str, *, sent: bool, deadline: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.sent = sent
        self.deadline = deadline


class ReplyTooLarge(WireError):
    """The reply body exceeded the cap; reading stopped there (a reply, but not a usable one)."""


@dataclass(frozen=True)
class Reply:
    """One complete HTTP reply, its body decoded and redacted.

    Attributes:
        status: The HTTP status.
        headers: The headers (case-insensitive keys).
        text: The body as text (empty for redirects, whose body is never read).
        url: The URL that answered.
        raw: The urllib3 response, for retry bookkeeping (its body is consumed).
    """

    status: int
    headers: Mapping[str, str]
    text: str
    url: str
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def location(self) -> str | None:
        """The redirect target, if the reply is a redirect."""
        value = self.headers.get("Location")
        return value.strip() if value else None

    @property
    def request_id(self) -> str | None:
        """The gateway's (or a proxy's) id for this request, from the usual headers."""
        for name in _REQUEST_ID_HEADERS:
            value = self.headers.get(name)
            if value:
                return value.strip()[:80]
        return None


def _time_left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _arm_read_timeout(raw: Any, read_timeout: float, deadline: float | None) -> None:
    """Make the next socket read give up by `read_timeout`, or by the deadline if sooner."""
    left = _time_left(deadline)
    if left is not None and left <= 0:
        raise WireError("out of time reading the reply", sent=True, deadline=True)
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(read_timeout if left is None else max(0.001, min(read_timeout, left)))


def read_body(
    raw: Any,
    *,
    limit: int,
    read_timeout: float,
    deadline: float | None,
    on_chunk: Callable[[bytes], None] | None = None,
    decode: bool = True,
    chunk_size: int = _READ_CHUNK,
) -> bytes:
    """Read a streamed urllib3 body as it arrives, at most `limit` bytes, by the deadline.

    A slow body (a byte every few seconds) passes every per-read timeout; the deadline is what
    bounds it. With `on_chunk`, chunks are handed over instead of collected (downloads).

    Raises:
        ReplyTooLarge: Past `limit` bytes.
        WireError: The connection broke, a read timed out, or the deadline passed.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        _arm_read_timeout(raw, read_timeout, deadline)
        try:
            chunk = raw.read1(chunk_size, decode_content=decode)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            timed_out = _time_left(deadline) is not None and (_time_left(deadline) or 0) <= 0
            raise WireError(
                "out of time reading the reply" if timed_out else describe_network_error(exc),
                sent=True,
                deadline=timed_out,
            ) from exc
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(f"a reply over {limit // 1024} KiB", sent=True)
        if on_chunk is None:
            chunks.append(chunk)
        else:
            on_chunk(chunk)
    return b"".join(chunks)


def _decode(content: bytes) -> str:
    # JSON is UTF-8 (RFC 8259); a stray byte must not make a whole reply unreadable.
    return content.decode("utf-8-sig", errors="replace")


def send_once(
    session: requests.Session,
    method: str,
    url: str,
    *,
    body: dict[str, Any] | None,
    timeout: tuple[float, float],
    deadline: float | None,
    auth: requests.auth.AuthBase | None,
    redact: Callable[[str], str],
    max_bytes: int = MAX_REPLY_BYTES,
) -> Reply:
    """Make one HTTP exchange (see the module docstring) and return its complete reply.

    Raises:
        WireError: No complete reply; `sent` says whether the request went out.
    """
    connect, read = timeout
    left = _time_left(deadline)
    if left is not None:
        if left <= 0:
            raise WireError("out of time before sending", sent=False, deadline=True)
        connect, read = min(connect, left), min(read, left)
    _WIRE.sent = False
    try:
        response = session.request(
            method,
            url,
            json=body,
            timeout=(connect, read),
            auth=auth,
            stream=True,
            allow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )
    except requests.RequestException as exc:
        sent = last_request_sent() and not never_sent(exc)
        out_of_time = deadline is not None and time.monotonic() >= deadline
        raise WireError(describe_network_error(exc), sent=sent, deadline=out_of_time) from exc
    try:
        headers = requests.structures.CaseInsensitiveDict(
            {name: redact(value) for name, value in response.headers.items()}
        )
        if response.is_redirect:
            return Reply(response.status_code, headers, "", url, response.raw)
        content = read_body(response.raw, limit=max_bytes, read_timeout=read, deadline=deadline)
    finally:
        response.close()
    return Reply(response.status_code, headers, redact(_decode(content)), url, response.raw)
