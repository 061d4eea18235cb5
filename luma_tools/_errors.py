"""Turn a gateway's error reply into the right `LumaError`.

Gateways wrap errors in at least five shapes (`{"error": {"message"}}`, `{"detail": {"reason"}}`,
`{"detail": "..."}`, `{"message": ...}`, HTML pages) and some send two JSON objects back to back.
This module finds the human message in any of them and picks the exception class.

For a paid request (create, extend) it also decides whether the reply *proves* the gateway
refused it. Only a few replies do: validation errors (400, 422), authentication (401, 403),
quota (402), rate limiting (429), an unknown route or task (404, 405) and an oversized body
(413, 415). Everything else, in particular a proxy or CDN that gave up after the origin may
have acted (500, 502, 503, 504, Cloudflare's 520-524, HTML error pages), leaves the outcome
unknown: [`AmbiguousSubmitError`][luma_tools.AmbiguousSubmitError].
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
from ._text import clean_text

__all__ = [
    "REFUSAL_STATUSES",
    "business_error",
    "error_from_status",
    "extract_message",
    "parse_json_leniently",
    "proves_refusal",
]

#: Replies to a create/extend that prove nothing was created (see the module docstring).
REFUSAL_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 413, 415, 422, 429})
_MAX_MESSAGE = 300
# Error bodies nest a message a few levels deep at most; deeper is hostile.
_MAX_DEPTH = 8
# Business error codes (HTTP 200 envelopes) whose words prove the gateway refused the request.
_REFUSAL_WORDS = re.compile(
    r"invalid|param|argument|required|missing|too (long|short)|unsupported|not (found|exist)|"
    r"auth|token|key|forbidden|permission|denied|quota|insufficient|balance|credit|limit|"
    r"too many|moderation|blacklist|sensitive|illegal|参数|无效|余额|额度|令牌|频繁|敏感",
    re.IGNORECASE,
)
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
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        inner = parse_json_leniently(value)
        return value if inner is None else inner
    return value


def _shorten(text: str) -> str:
    return clean_text(text, _MAX_MESSAGE)


def _from_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return html.unescape(title.group(1))
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _message_in(data: Any, depth: int = 0) -> str | None:
    """The message inside a parsed error body, trying the known places in order."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(data, str):
        return data[: _MAX_MESSAGE * 4] or None
    if isinstance(data, list):  # FastAPI 422: [{"loc": [...], "msg": "..."}]
        parts = [_message_in(item, depth + 1) for item in data[:5]]
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
        return _message_in(detail, depth + 1)
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
        # An error page can be megabytes; its title or first words are all we show.
        head = text[:65536]
        message = _from_html(head) if "<" in head and ">" in head else head
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
    return _error_for(status, _message_of(text, data), data, retry_after, task_id)


def _error_for(
    status: int, message: str, data: Any, retry_after: float | None, task_id: str | None
) -> LumaError:
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
        return ServerError(message, retry_after=retry_after, **kwargs)
    return BadRequestError(message, **kwargs)


def business_error(data: Any, *, task_id: str | None = None) -> LumaError | None:
    """The error hidden in an HTTP 200 `{code, message, ...}` envelope, or None if it is a success.

    Some gateways answer every request with HTTP 200 and put the real outcome in `code`.
    """
    if not isinstance(data, Mapping) or "code" not in data:
        return None
    code = data["code"]
    if code is None or isinstance(code, bool) or str(code).strip().lower() in _SUCCESS_CODES:
        return None
    message = _shorten(_message_in(data) or f"error code {code}")
    if isinstance(code, int) and 400 <= code <= 599:
        return _error_for(code, message, data, None, task_id)
    code_text = clean_text(str(code), 40)
    if _QUOTA.search(f"{message} {code_text}"):
        return QuotaError(message, task_id=task_id)
    return BadRequestError(f"{message} (code {code_text})", task_id=task_id)


def proves_refusal(error: LumaError) -> bool:
    """Whether `error`, raised for a reply to a create/extend, proves nothing was created.

    Example:
        ```python
        from luma_tools._errors import error_from_status, proves_refusal

        assert proves_refusal(error_from_status(429, '{"error": {"message": "slow down"}}'))
        assert not proves_refusal(error_from_status(502, "<html>Bad gateway</html>"))
        ```
    """
    status = error.status_code
    if isinstance(error, QuotaError | RateLimitError | AuthenticationError | BadRequestError):
        if status is None:  # a business error code on HTTP 200: trust only refusal words
            return bool(_REFUSAL_WORDS.search(error.message))
        return status in REFUSAL_STATUSES
    if isinstance(error, NotFoundError):
        return status in REFUSAL_STATUSES
    return False
