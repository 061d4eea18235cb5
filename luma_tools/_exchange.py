"""What to make of each reply to an API call: return it, try again, follow it, or fail how.

Free of I/O: a driver (the blocking client, or the asyncio one) sends with
`_transport.send_once`, hands each reply or wire error to [`Judge`][luma_tools._exchange.Judge]
and does what it says. So both drivers retry, follow redirects and classify errors identically.

The rules:

* **Reads** (GET) are retried on connection errors, timeouts, 429 and 5xx (urllib3's `Retry`
  keeps the count and the exponential backoff with jitter; `Retry-After` is honoured, seconds or
  HTTP date, and a malformed one ignored). A few redirects are followed, over http(s) only, never
  from https to http, never from a public gateway to a private address.
* **Paid requests** (create, extend) are sent again only when nothing went out (a refused
  connection, a failed TLS handshake). A redirect is never followed. A reply that does not prove
  the gateway refused the request (see `_errors.REFUSAL_STATUSES`) makes the outcome ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from ._errors import business_error, error_from_status, parse_json_leniently, proves_refusal
from ._exceptions import (
    AmbiguousSubmitError,
    LumaConnectionError,
    LumaError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    ServerError,
)
from ._text import clean_text, preview
from ._transport import Reply, ReplyTooLarge, WireError
from ._urls import UnsafeURLError, check_followable

__all__ = ["Call", "Done", "Follow", "Judge", "Wait", "build_retry"]

#: GET statuses retried: rate limiting, server errors, and Cloudflare's origin errors.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
#: Redirects an API read follows at most.
MAX_READ_REDIRECTS = 3
_PERMANENT_REDIRECTS = frozenset({301, 307, 308})  # "it lives elsewhere": nothing was done here


def build_retry(max_retries: int) -> Retry:
    """The retry policy of one client: counts, backoff and `Retry-After` handling."""
    return Retry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=MAX_READ_REDIRECTS,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        backoff_max=8.0,
        backoff_jitter=0.5,
        respect_retry_after_header=True,
        retry_after_max=30,
        raise_on_status=False,
        raise_on_redirect=False,
    )


@dataclass(frozen=True)
class Call:
    """One logical API call.

    Attributes:
        method: `GET` or `POST`.
        url: The full URL.
        body: The JSON body of a POST.
        operation: `"create"` or `"extend"` for a paid request, else None.
        task_id: The task the call concerns (the one extended, for an extend).
        prompt: The prompt of a paid request, for messages.
        sent_at: When a paid request was first sent (UTC).
    """

    method: str
    url: str
    body: dict[str, Any] | None = None
    operation: str | None = None
    task_id: str | None = None
    prompt: str | None = None
    sent_at: datetime | None = None

    @property
    def paid(self) -> bool:
        return self.operation is not None


@dataclass(frozen=True)
class Done:
    """The call succeeded: `data` is the parsed JSON of the reply."""

    data: Any
    reply: Reply


@dataclass(frozen=True)
class Wait:
    """Send again after `seconds`; if there is no time left for that, raise `error`."""

    seconds: float
    error: LumaError


@dataclass(frozen=True)
class Follow:
    """Send the same call to `url` (a redirect of a read)."""

    url: str


Decision = Done | Wait | Follow


def ambiguous(call: Call, reason: str, *, reply: Reply | None = None) -> AmbiguousSubmitError:
    """The error for a paid request whose outcome is unknown, saying all that is known."""
    prompt = clean_text(call.prompt or "", 60)
    when = f" at {call.sent_at:%H:%M:%S} UTC" if call.sent_at is not None else ""
    request_id = reply.request_id if reply is not None else None
    if request_id is None and reply is not None:
        data = parse_json_leniently(reply.text)
        if isinstance(data, dict) and isinstance(data.get("request_id"), str | int):
            request_id = clean_text(str(data["request_id"]), 80) or None
    return AmbiguousSubmitError(
        f"The {call.operation} request (prompt {prompt!r}) was sent{when} but {reason}",
        operation=call.operation or "create",
        prompt=call.prompt,
        sent_at=call.sent_at,
        request_id=request_id,
        extends=call.task_id if call.operation == "extend" else None,
        status_code=reply.status if reply is not None else None,
    )


class Judge:
    """The decisions of one call, reply after reply (see the module docstring).

    Args:
        call: The call.
        retry: The client's retry policy (a fresh copy is used).
        base_url: The gateway origin, for messages.
        allow_private: Whether redirects may lead to private addresses.
    """

    def __init__(self, call: Call, *, retry: Retry, base_url: str, allow_private: bool) -> None:
        self.call = call
        self.url = call.url
        self._retry = retry.new()
        self._base_url = base_url
        self._allow_private = allow_private
        self._redirects = 0

    # -- wire errors -------------------------------------------------------------------------

    def on_wire_error(self, error: WireError) -> Wait:
        """A send that got no complete reply: wait and retry, or raise the final error."""
        call = self.call
        if isinstance(error, ReplyTooLarge):
            if call.paid:
                raise ambiguous(call, f"the gateway sent {error.what}, which is not a task")
            raise ServerError(
                f"The gateway sent {error.what}; a task is a few kB",
                task_id=self._task_for_errors(),
            )
        if call.paid and error.sent:
            what = "its deadline passed" if error.deadline else error.what
            raise ambiguous(call, f"no reply came back ({what})")
        final = LumaConnectionError(
            f"Could not reach {self._base_url} ({error.what})", task_id=self._task_for_errors()
        )
        if error.deadline:
            raise final
        counted: Exception = ProtocolError(error.what) if error.sent else ConnectTimeoutError()
        try:
            self._retry = self._retry.increment(call.method, self.url, error=counted)
        except (MaxRetryError, ProtocolError, ConnectTimeoutError):
            raise final from None
        return Wait(self._retry.get_backoff_time(), final)

    # -- replies -----------------------------------------------------------------------------

    def on_reply(self, reply: Reply) -> Decision:
        """A complete reply: the call's result, or what to do next."""
        status = reply.status
        if 300 <= status < 400:
            return self._redirect(reply)
        if status >= 400:
            return self._error_reply(reply)
        data = parse_json_leniently(reply.text)
        if data is None:
            reason = f"the reply is not JSON: {preview(reply.text)}"
            if self.call.paid:
                raise ambiguous(self.call, reason, reply=reply)
            raise ServerError(
                f"The gateway sent a reply that is not JSON: {preview(reply.text)}",
                status_code=status,
                task_id=self._task_for_errors(),
            )
        error = business_error(data, task_id=self._task_for_errors())
        if error is not None:
            if self.call.paid and not proves_refusal(error):
                raise ambiguous(
                    self.call, f"the gateway reported an error: {error.message}", reply=reply
                )
            raise self._refined(error)
        return Done(data, reply)

    def _error_reply(self, reply: Reply) -> Decision:
        call = self.call
        retry_after = self._retry_after(reply)
        error = error_from_status(
            reply.status, reply.text, retry_after=retry_after, task_id=self._task_for_errors()
        )
        if call.paid:
            if proves_refusal(error):
                raise self._refined(error)
            raise ambiguous(
                call,
                f"the gateway answered HTTP {reply.status} ({error.message}), which does not "
                "prove it refused the request",
                reply=reply,
            )
        if reply.status not in RETRY_STATUSES:
            raise error
        try:
            self._retry = self._retry.increment(call.method, self.url, response=reply.raw)
        except MaxRetryError:
            raise error from None
        delay = self._retry.get_backoff_time()
        if retry_after is not None:
            delay = max(delay, retry_after)
        return Wait(delay, error)

    def _retry_after(self, reply: Reply) -> float | None:
        value = reply.headers.get("Retry-After")
        if not value:
            return None
        try:
            seconds = self._retry.parse_retry_after(value.strip())
        except (InvalidHeader, ValueError, OverflowError):
            return None  # a malformed header is not a reason to fail
        return min(seconds, float(self._retry.retry_after_max))

    def _refined(self, error: LumaError) -> LumaError:
        """The error with the hint that fits the call (a 404 on create is a base URL problem)."""
        if isinstance(error, NotFoundError) and self.call.operation == "create":
            return NotFoundError(
                f"{self._base_url} has no Luma create endpoint (POST /luma/generations "
                f"answered 404: {error.message})",
                status_code=error.status_code,
                hint="Check LUMA_BASE_URL (base_url=): it should be the gateway's origin, "
                "e.g. https://api.example.com",
            )
        if isinstance(error, RateLimitError) and self.call.paid:
            error.hint = (
                f"{error.hint}. The gateway refused the request, so nothing was created or billed"
            )
        return error

    def _redirect(self, reply: Reply) -> Decision:
        call = self.call
        location = reply.location
        shown = clean_text(location or "(no Location header)", 200)
        if call.paid:
            if reply.status in _PERMANENT_REDIRECTS and location:
                raise RedirectError(
                    f"The gateway answered the {call.operation} request with a redirect "
                    f"(HTTP {reply.status}) to {shown}; it was not sent there",
                    location=shown,
                    status_code=reply.status,
                    hint="Nothing was created. If that address is your gateway, set "
                    "LUMA_BASE_URL (base_url=) to it",
                )
            raise ambiguous(
                call, f"the gateway redirected it to {shown} (HTTP {reply.status})", reply=reply
            )
        if not location:
            raise ServerError(
                f"The gateway answered HTTP {reply.status} without saying where to go",
                status_code=reply.status,
                task_id=self._task_for_errors(),
            )
        target = urljoin(self.url, location)
        self._redirects += 1
        if self._redirects > MAX_READ_REDIRECTS:
            raise RedirectError(
                f"The gateway redirected more than {MAX_READ_REDIRECTS} times (last to {shown})",
                location=shown,
                status_code=reply.status,
                task_id=self._task_for_errors(),
            )
        try:
            check_followable(target, came_from=self.url, allow_private=self._allow_private)
        except UnsafeURLError as exc:
            raise RedirectError(
                f"The gateway redirected to {shown}, which luma-tools will not follow: {exc}",
                location=shown,
                status_code=reply.status,
                task_id=self._task_for_errors(),
            ) from None
        self.url = target
        return Follow(target)

    def _task_for_errors(self) -> str | None:
        return None if self.call.operation == "create" else self.call.task_id
