"""Create/extend body validation mirroring the strict Go proxy (gin ``BindJSON``).

Type errors use Go's ``encoding/json`` wording so a client sees exactly what a real
gateway in front of LumaAI-API/Luma-API would answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["ASPECT_RATIOS", "GenerationRequest", "ValidationError", "parse_generation_request"]

ASPECT_RATIOS: Final = ("1:1", "4:3", "3:4", "16:9", "9:16", "21:9", "9:21")
_STRING_FIELDS: Final = (
    "user_prompt",
    "aspect_ratio",
    "image_url",
    "image_end_url",
    "notify_hook",
    "model_name",
    "duration",
    "resolution",
)
_BOOL_FIELDS: Final = ("expand_prompt", "loop")
_DATA_URI = re.compile(r"data:image/([^;,]+);base64,(.*)", re.DOTALL)


class ValidationError(Exception):
    """The body was rejected; ``reason`` is the Go-style message."""

    def __init__(self, reason: str) -> None:
        """Create the error.

        Args:
            reason: Message reported to the client.
        """
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A validated create/extend body (empty strings mean "not given")."""

    user_prompt: str
    aspect_ratio: str
    expand_prompt: bool
    loop: bool
    image_url: str
    image_end_url: str
    notify_hook: str
    model_name: str
    duration: str
    resolution: str

    def echo(self) -> dict[str, Any]:
        """The fields a ``request`` echo shows (only those that were given)."""
        result: dict[str, Any] = {"prompt": self.user_prompt, "aspect_ratio": self.aspect_ratio}
        for name in ("expand_prompt", "loop"):
            if getattr(self, name):
                result[name] = True
        for name in ("image_url", "image_end_url", "model_name", "duration", "resolution"):
            value = getattr(self, name)
            if value:
                result[name] = value
        return result


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        raise ValidationError("EOF")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValidationError("invalid character in string literal") from exc
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()):
            raise ValidationError("unexpected end of JSON input") from exc
        char = exc.doc[exc.pos]
        raise ValidationError(f"invalid character {char!r} looking for beginning of value") from exc


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_image_ref(value: str) -> bool:
    if _is_http_url(value):
        return True
    match = _DATA_URI.fullmatch(value)
    if not match or not match.group(2):
        return False
    try:
        base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def parse_generation_request(raw: bytes) -> GenerationRequest:
    """Validate a create/extend body.

    Args:
        raw: The request body bytes.

    Returns:
        The validated request.

    Raises:
        ValidationError: With the message the Go proxy (or our stricter checks) gives.
    """
    body = _decode(raw)
    if body is None:
        body = {}  # Go: unmarshalling JSON null into a struct is a no-op
    if not isinstance(body, dict):
        raise ValidationError(
            f"json: cannot unmarshal {_go_type(body)} into Go value of type main.GenRequest"
        )
    for key, value in body.items():
        if value is None:
            continue
        want = "string" if key in _STRING_FIELDS else "bool" if key in _BOOL_FIELDS else None
        if want is not None and _go_type(value) != want:
            raise ValidationError(
                f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                f"GenRequest.{key} of type {want}"
            )
    fields: dict[str, Any] = {name: body.get(name) or "" for name in _STRING_FIELDS}
    if not fields["user_prompt"].strip():
        raise ValidationError("user_prompt is required")
    if not fields["aspect_ratio"]:
        fields["aspect_ratio"] = "16:9"
    elif fields["aspect_ratio"] not in ASPECT_RATIOS:
        raise ValidationError(
            f"invalid aspect_ratio {fields['aspect_ratio']!r}, "
            f"must be one of {', '.join(ASPECT_RATIOS)}"
        )
    for name in ("image_url", "image_end_url"):
        if fields[name] and not _is_image_ref(fields[name]):
            raise ValidationError(
                f"invalid {name}: must be an http(s) URL or a data:image/<fmt>;base64,<data> URI"
            )
    if fields["notify_hook"] and not _is_http_url(fields["notify_hook"]):
        raise ValidationError("invalid notify_hook: must be an http(s) URL")
    return GenerationRequest(
        expand_prompt=bool(body.get("expand_prompt")),
        loop=bool(body.get("loop")),
        **fields,
    )
