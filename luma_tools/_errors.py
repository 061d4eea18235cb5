"""Turn a gateway's error reply into the right `LumaError`.

Gateways wrap errors in at least five shapes (`{"error": {"message"}}`, `{"detail": {"reason"}}`,
`{"detail": "..."}`, `{"message": ...}`, HTML pages) and some send two JSON objects back to back.
This module finds the human message in any of them and picks the exception class.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    LumaError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    ServerError,
)

__all__ = ["business_error", "error_from_status", "extract_message", "parse_json_leniently"]

_MAX_MESSAGE = 300
_QUOTA = re.compile(
    r"quota|insufficient|balance|credit|billing|payment|余额|额度|欠费", re.IGNORECASE
)
_SUCCESS_CODES = {"0", "200", "success", "ok", "true"}
# Stateless, so one serves every thread; building one per reply costs more than the parse.
_DECODER = json.JSONDecoder()


def parse_json_leniently(text: str) -> Any:
    """Parse the first JSON value in `text`, decoding twice if it was JSON inside a string.

    Returns None when `text` holds no JSON at all.
    """
    text = text.strip()
    if not text:
        return None
    try:
        value, _ = _DECODER.raw_decode(text)
    except ValueError:
        return None
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        inner = parse_json_leniently(value)
        return value if inner is None else inner
    return value


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _from_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return html.unescape(title.group(1))
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _message_in(data: Any) -> str | None:
    """The message inside a parsed error body, trying the known places in order."""
    if isinstance(data, str):
        return data or None
    if isinstance(data, list):  # FastAPI 422: [{"loc": [...], "msg": "..."}]
        parts = [_message_in(item) for item in data]
        return "; ".join(p for p in parts if p) or None
    if not isinstance(data, Mapping):
        return None
    error = data.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    detail = data.get("detail")
    if isinstance(detail, Mapping) and detail.get("reason"):
        return str(detail["reason"])
    if isinstance(detail, str | list) and detail:
        return _message_in(detail)
    for key in ("message", "msg", "error_message", "errmsg"):
        if isinstance(data.get(key), str) and data[key]:
            return str(data[key])
    return None


def extract_message(text: str) -> str:
    """The most useful one-line message in an error body (JSON of any shape, HTML or text)."""
    return _message_of(text, parse_json_leniently(text))


def _message_of(text: str, data: Any) -> str:
    """`extract_message` of `text`, already parsed into `data`."""
    message = _message_in(data) if data is not None else None
    if message is None:
        message = _from_html(text) if "<" in text and ">" in text else text
    return _shorten(message) or "no error message"


def _error_code(data: Any) -> str:
    """The machine-readable code of an OpenAI-style error (`insufficient_user_quota`...)."""
    error = data.get("error") if isinstance(data, Mapping) else None
    if isinstance(error, Mapping):
        return f"{error.get('code') or ''} {error.get('type') or ''}"
    return ""


def error_from_status(
    status: int,
    text: str,
    *,
    retry_after: float | None = None,
    task_id: str | None = None,
) -> LumaError:
    """The exception for a non-2xx reply with body `text`."""
    data = parse_json_leniently(text)
    message = _message_of(text, data)
    quota_words = _QUOTA.search(f"{message} {_error_code(data)}")
    kwargs: dict[str, Any] = {"status_code": status, "task_id": task_id}
    if status == 402 or (status in (400, 403, 429) and quota_words):
        return QuotaError(message, **kwargs)
    if status in (401, 403):
        return AuthenticationError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServerError(message, **kwargs)
    return BadRequestError(message, **kwargs)


def business_error(data: Any, *, task_id: str | None = None) -> LumaError | None:
    """The error hidden in an HTTP 200 `{code, message, ...}` envelope, or None if it is a success.

    Some gateways answer every request with HTTP 200 and put the real outcome in `code`.
    """
    if not isinstance(data, Mapping) or "code" not in data:
        return None
    code = data["code"]
    if code is None or str(code).strip().lower() in _SUCCESS_CODES:
        return None
    text = json.dumps(data)
    if isinstance(code, int) and 400 <= code <= 599:
        return error_from_status(code, text, task_id=task_id)
    message = _message_in(data) or f"error code {code}"
    if _QUOTA.search(f"{message} {code}"):
        return QuotaError(_shorten(message), task_id=task_id)
    return BadRequestError(f"{_shorten(message)} (code {code})", task_id=task_id)
