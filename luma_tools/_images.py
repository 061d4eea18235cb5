"""Turn a start/end image argument into something a gateway accepts.

Gateways take an http(s) URL or a `data:image/<fmt>;base64,...` URI. Users also have local files,
so a path is read, sniffed and inlined as a data URI.
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
from pathlib import Path

from ._exceptions import InvalidInputError
from ._urls import check_http_url

__all__ = ["MAX_IMAGE_BYTES", "resolve_image", "sniff_image_type"]

#: Largest local image inlined as a data URI. Base64 adds a third, and gateways cap request bodies.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

_DATA_URI = re.compile(r"^data:image/([a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_HINT = "Pass an http(s) URL, a data:image/...;base64,... URI, or the path of a PNG/JPEG/WebP/GIF"
# Enough base64 to decode the first bytes of any supported image header.
_SNIFF_BASE64_CHARS = 44


def sniff_image_type(head: bytes) -> str | None:
    """The image subtype (`png`, `jpeg`, `gif`, `webp`) from a file's first 32 bytes, or None.

    Each format's signature is checked in full (PNG's 8-byte signature and IHDR chunk, JPEG's
    SOI and marker, GIF's version, WebP's RIFF container and VP8 chunk), so a text file that
    merely starts with the right letters is not taken for an image.

    Example:
        ```python
        from luma_tools._images import sniff_image_type

        assert sniff_image_type(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") == "png"
        assert sniff_image_type(b"BM is not a bitmap") is None
        ```
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return "png"
    if len(head) >= 4 and head.startswith(b"\xff\xd8\xff") and head[3] >= 0xC0:
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:15] == b"VP8":
        return "webp"
    return None


def _check_data_uri(field: str, value: str) -> str:
    match = _DATA_URI.match(value)
    if match is None:
        raise InvalidInputError(
            field, "a data URI must look like data:image/png;base64,<base64 data>", hint=_HINT
        )
    payload = match.group(2)
    try:
        base64.b64decode(payload, validate=True)
        head = base64.b64decode(payload[:_SNIFF_BASE64_CHARS])
    except (binascii.Error, ValueError):
        raise InvalidInputError(
            field, "the data URI's base64 payload is not valid base64", hint=_HINT
        ) from None
    if sniff_image_type(head) is None:
        raise InvalidInputError(
            field, "the data URI does not hold a PNG, JPEG, WebP or GIF image", hint=_HINT
        )
    return value


def _read_local_image(field: str, value: str, max_bytes: int) -> str:
    if "\x00" in value:
        raise InvalidInputError(field, "the path contains a NUL byte", hint=_HINT)
    path = Path(value).expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidInputError(
            field, f"file {str(path)[:200]!r} does not exist", hint=_HINT
        ) from None
    except (OSError, ValueError) as exc:  # too long a name, no permission, ...
        raise InvalidInputError(
            field, f"cannot read {str(path)[:200]!r} ({exc.__class__.__name__})", hint=_HINT
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError(field, f"{str(path)[:200]!r} is not a file", hint=_HINT)
    if info.st_size > max_bytes:
        raise InvalidInputError(
            field,
            f"{path.name!r} is {info.st_size / 2**20:.1f} MiB; the limit is "
            f"{max_bytes / 2**20:.0f} MiB",
            hint="Resize or compress the image, or host it and pass its URL",
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInputError(
            field, f"cannot read {str(path)[:200]!r} ({exc.strerror or exc})", hint=_HINT
        ) from None
    subtype = sniff_image_type(data[:32])
    if subtype is None:
        raise InvalidInputError(
            field, f"{path.name!r} is not a PNG, JPEG, WebP or GIF image", hint=_HINT
        )
    return f"data:image/{subtype};base64,{base64.b64encode(data).decode('ascii')}"


def resolve_image(field: str, value: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> str:
    """Validate an image argument and return what goes into the request body.

    Args:
        field: The argument's name, used in error messages (`image_url` or `image_end_url`).
        value: An http(s) URL, a `data:image/...;base64,` URI, or a local file path.
        max_bytes: The largest local file accepted.

    Returns:
        The URL or data URI unchanged, or a local file inlined as a data URI.

    Raises:
        InvalidInputError: For a blank value, a bad URL or data URI, a missing file, a file that
            is not an image, or one larger than `max_bytes`.

    Example:
        ```python
        resolve_image("image_url", "https://example.com/cat.png")  # returned as is
        resolve_image("image_url", "~/cat.png")  # "data:image/png;base64,iVBORw0..."
        ```
    """
    value = value.strip()
    if not value:
        raise InvalidInputError(field, "is blank", hint=_HINT)
    if value[:5].lower() == "data:":
        return _check_data_uri(field, value)
    if _SCHEME.match(value):
        return check_http_url(field, value, hint=_HINT)
    return _read_local_image(field, value, max_bytes)
