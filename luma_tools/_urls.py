"""URLs: the gateway's origin, and whether a URL a gateway hands us may be followed.

The base URL is normalised exactly the way `requests` prepares every request URL (lower-case
scheme and host, IDNA host, dot segments removed, unreserved `%7e` unquoted, default port
dropped), so the Authorization header, which is only attached to the gateway's own API, is
attached to every request for it whatever the user typed.

URLs that come from a gateway (redirects, video links) are untrusted: only http(s) is followed,
https never downgrades to http, and a public gateway cannot point us at loopback or private
addresses (cloud metadata endpoints, the user's router, services on localhost).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.exceptions import InvalidURL, MissingSchema

from ._exceptions import InvalidInputError

__all__ = [
    "Origin",
    "UnsafeURLError",
    "check_followable",
    "check_http_url",
    "is_private_host",
    "normalise_base_url",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_HINT = "Pass an absolute http(s) URL"
# People paste the endpoint instead of the origin; the paths are ours to add.
_ENDPOINT_SUFFIXES = ("/luma/generations", "/luma")


class UnsafeURLError(ValueError):
    """A URL from a gateway that must not be followed (the reason is the message)."""


def check_http_url(field: str, value: str, *, hint: str = _URL_HINT) -> str:
    """Return `value` if it is an absolute http(s) URL, else raise `InvalidInputError`."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise InvalidInputError(field, f"{value[:80]!r} is not an http(s) URL", hint=hint)
    if scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidInputError(field, f"unsupported URL scheme {scheme[:20]!r}", hint=hint)
    if not rest or rest.startswith("/") or any(c.isspace() or ord(c) < 32 for c in value):
        raise InvalidInputError(field, f"{value[:80]!r} is not a valid URL", hint=hint)
    return value


def _prepared(url: str) -> str:
    """`url` as `requests` would send it."""
    prepared = requests.models.PreparedRequest()
    prepared.prepare_url(url, None)
    assert prepared.url is not None
    return prepared.url


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port of a URL, with the default port made explicit."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return cls(scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0))


def normalise_base_url(value: str) -> str:
    """The gateway origin (plus any path prefix) in the canonical form `requests` sends.

    Raises:
        InvalidInputError: For anything that is not an http(s) URL without query or fragment.

    Example:
        ```python
        from luma_tools._urls import normalise_base_url

        assert normalise_base_url("HTTPS://API.Example.com:443/./v1/%7euser/luma/") == (
            "https://api.example.com/v1/~user"
        )
        ```
    """
    hint = "Pass the gateway origin, e.g. https://api.example.com"
    check_http_url("base_url", value, hint=hint)
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise InvalidInputError("base_url", "must not have a ?query or #fragment", hint=hint)
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(
            "base_url",
            "must not contain a user name or password",
            hint="Pass the key as api_key (LUMA_API_KEY) and the bare origin as base_url",
        )
    try:
        prepared = _prepared(value)
    except (InvalidURL, MissingSchema, UnicodeError, ValueError) as exc:
        raise InvalidInputError(
            "base_url", f"is not a valid URL ({exc})"[:160], hint=hint
        ) from None
    parts = urlsplit(prepared)
    origin = Origin.of(prepared)
    netloc = origin.host if ":" not in origin.host else f"[{origin.host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[origin.scheme]:
        netloc = f"{netloc}:{parts.port}"
    path = parts.path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{origin.scheme}://{netloc}{path}"


def is_private_host(host: str) -> bool:
    """Whether `host` (a name or an IP literal) is loopback, private, link-local or reserved.

    Names are resolved; a name that does not resolve counts as not private (the request will
    fail on its own).
    """
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return any(_is_private(address) for address in addresses)


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or address.is_multicast
    )


def check_followable(url: str, *, came_from: str | None, allow_private: bool) -> str:
    """Return `url` if it may be requested, else raise `UnsafeURLError` saying why.

    Args:
        url: A URL a gateway gave us (a redirect target, a video link).
        came_from: The URL that pointed to it (for the https-to-http downgrade rule).
        allow_private: Whether loopback and private addresses are acceptable (true when the
            gateway itself is on one).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeURLError(f"it uses the {scheme[:20] or 'empty'!r} scheme, not http(s)")
    if not parts.hostname:
        raise UnsafeURLError("it names no host")
    if came_from is not None and Origin.of(came_from).scheme == "https" and scheme == "http":
        raise UnsafeURLError("it downgrades https to plain http")
    if not allow_private and is_private_host(parts.hostname):
        raise UnsafeURLError(
            f"it points to a loopback or private address ({parts.hostname[:60]}), "
            "which a public gateway has no business sending us to"
        )
    return url
