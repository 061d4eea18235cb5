"""Turn a start/end image argument into something a gateway accepts.

Gateways take an http(s) URL or a `data:image/<fmt>;base64,...` URI. Users also have local files,
so a path is read, sniffed and inlined as a data URI.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from ._exceptions import InvalidInputError

__all__ = ["MAX_IMAGE_BYTES", "resolve_image"]

#: Largest local image inlined as a data URI. Base64 adds a third, and gateways cap request bodies.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

_DATA_URI = re.compile(r"^data:image/([a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_HINT = "Pass an http(s) URL, a data:image/...;base64,... URI, or the path of a PNG/JPEG/WebP/GIF"


def _sniff_image_type(head: bytes) -> str | None:
    """Return the image subtype from a file's first bytes, or None if it is not an image."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    return None


def _check_data_uri(field: str, value: str) -> str:
    match = _DATA_URI.match(value)
    if match is None:
        raise InvalidInputError(
            field, "a data URI must look like data:image/png;base64,<base64 data>", hint=_HINT
        )
    try:
        base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(
            field, "the data URI's base64 payload is not valid base64", hint=_HINT
        ) from None
    return value


def _check_url(field: str, value: str, *, hint: str = _HINT) -> str:
    """Return `value` if it is an absolute http(s) URL, else raise `InvalidInputError`."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise InvalidInputError(field, f"{value[:80]!r} is not an http(s) URL", hint=hint)
    if scheme.lower() not in ("http", "https"):
        raise InvalidInputError(field, f"unsupported URL scheme {scheme!r}", hint=hint)
    if not rest or rest.startswith("/") or any(c.isspace() for c in value):
        raise InvalidInputError(field, f"{value[:80]!r} is not a valid URL", hint=hint)
    return value


def _read_local_image(field: str, value: str, max_bytes: int) -> str:
    path = Path(value).expanduser()
    if not path.exists():
        raise InvalidInputError(field, f"file {str(path)!r} does not exist", hint=_HINT)
    if not path.is_file():
        raise InvalidInputError(field, f"{str(path)!r} is not a file", hint=_HINT)
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidInputError(
            field,
            f"{path.name!r} is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB",
            hint="Resize or compress the image, or host it and pass its URL",
        )
    data = path.read_bytes()
    subtype = _sniff_image_type(data[:16])
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
        return _check_url(field, value)
    return _read_local_image(field, value, max_bytes)
