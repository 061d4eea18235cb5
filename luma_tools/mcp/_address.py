"""Where the HTTP transport listens: parsing `HOST:PORT` and telling loopback apart."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "parse_http_address"]


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    bare = host.strip("[]")
    if bare.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def parse_http_address(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `[::1]:PORT` or `PORT` as (host, port); the host defaults to 127.0.0.1.

    Raises:
        ValueError: Not an address with a port from 0 to 65535.
    """
    host, sep, port_text = value.strip().rpartition(":")
    if not sep:
        host, port_text = "", value.strip()
    host = host.strip() or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--http {value!r}: give HOST:PORT with a port from 0 to 65535")
    return host, int(port_text)
