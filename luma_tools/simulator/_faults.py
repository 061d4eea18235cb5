"""Fault injection: what goes wrong, on which route, how many times.

`Faults` is the public, arming side (``sim.faults``); `FaultBoard` is the consuming
side used by the server. Both share one lock-protected list of armed faults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from ._tasks import DEFAULT_FAILURE_REASON, Outcome

__all__ = [
    "ROUTES",
    "BusinessError",
    "DelayResponse",
    "FaultBoard",
    "Faults",
    "QuotaExhausted",
    "RateLimit",
    "ResetConnection",
    "ResponseFault",
    "ServerError",
    "SlowBody",
    "TruncateDownload",
]

ROUTES: Final = frozenset({"create", "extend", "query", "download_url", "batch", "file", "other"})


@dataclass(frozen=True, slots=True)
class RateLimit:
    """429 with ``Retry-After``."""

    retry_after: int


@dataclass(frozen=True, slots=True)
class ServerError:
    """A 5xx answer, optionally with an nginx HTML page."""

    status: int
    html: bool


@dataclass(frozen=True, slots=True)
class BusinessError:
    """HTTP 200 carrying ``{"code": code, "message": message, ...}``."""

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class QuotaExhausted:
    """402/403 ``insufficient_user_quota``."""

    status: int


@dataclass(frozen=True, slots=True)
class ResetConnection:
    """Perform the action, then reset the TCP connection without answering."""


@dataclass(frozen=True, slots=True)
class SlowBody:
    """Send headers at once and dribble the body over ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class DelayResponse:
    """Perform the action, then hold the whole response (headers too) for ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class TruncateDownload:
    """Send only ``fraction`` of a file body, then drop the connection."""

    fraction: float


ResponseFault: TypeAlias = RateLimit | ServerError | BusinessError | QuotaExhausted
Fault: TypeAlias = ResponseFault | ResetConnection | SlowBody | DelayResponse | TruncateDownload


@dataclass(slots=True)
class _Armed:
    fault: Fault
    remaining: int
    route: str | None


class FaultBoard:
    """Shared, thread-safe fault state (internal side)."""

    def __init__(self, on_expire_links: Callable[[], None]) -> None:
        """Create an empty board.

        Args:
            on_expire_links: Called by ``Faults.expire_links``.
        """
        self.lock = threading.Lock()
        self.armed: list[_Armed] = []
        self.next_outcome: tuple[Outcome, str | None] | None = None
        self.on_expire_links = on_expire_links

    def arm(self, fault: Fault, times: int, route: str | None) -> None:
        """Add a fault for the next ``times`` requests matching ``route``."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        if route is not None and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTES)}")
        with self.lock:
            self.armed.append(_Armed(fault, times, route))

    def _take(self, route: str, kinds: tuple[type, ...]) -> Fault | None:
        with self.lock:
            for entry in self.armed:
                if isinstance(entry.fault, kinds) and entry.route in (None, route):
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        self.armed.remove(entry)
                    return entry.fault
        return None

    def take_response_fault(self, route: str) -> ResponseFault | None:
        """Consume the first armed fault that replaces the response on ``route``."""
        fault = self._take(route, (RateLimit, ServerError, BusinessError, QuotaExhausted))
        return fault if isinstance(fault, ResponseFault) else None

    def take_reset(self, route: str) -> bool:
        """Consume a connection-reset fault for ``route``, if armed."""
        return self._take(route, (ResetConnection,)) is not None

    def take_slow_body(self, route: str) -> SlowBody | None:
        """Consume a slow-body fault for ``route``, if armed."""
        fault = self._take(route, (SlowBody,))
        return fault if isinstance(fault, SlowBody) else None

    def take_delay(self, route: str) -> DelayResponse | None:
        """Consume a delayed-response fault for ``route``, if armed."""
        fault = self._take(route, (DelayResponse,))
        return fault if isinstance(fault, DelayResponse) else None

    def take_truncate(self) -> TruncateDownload | None:
        """Consume a truncated-download fault, if armed."""
        fault = self._take("file", (TruncateDownload,))
        return fault if isinstance(fault, TruncateDownload) else None

    def take_outcome(self) -> tuple[Outcome, str | None]:
        """Consume the outcome override for the next created task."""
        with self.lock:
            outcome, self.next_outcome = self.next_outcome, None
        return outcome or ("completed", None)


class Faults:
    """Arm faults on a running simulator (``sim.faults``).

    One-shot faults apply to the next ``times`` requests matching ``route``
    (``route=None`` matches every route). Faults are consumed in the order they were
    armed. All methods are thread-safe.

    Example:
        ```python
        sim.faults.rate_limit(times=2, retry_after=1, route="query")
        sim.faults.reset_connection()  # next create succeeds server-side, reply lost
        sim.faults.fail_next_task("Frame moderation failed")
        ```
    """

    def __init__(self, board: FaultBoard) -> None:
        """Wrap the shared fault board.

        Args:
            board: The board the server consumes faults from.
        """
        self._board = board

    def rate_limit(self, times: int = 1, retry_after: int = 1, route: str | None = None) -> None:
        """Answer HTTP 429 with a ``Retry-After: <retry_after>`` header and a JSON error.

        Args:
            times: How many matching requests are affected.
            retry_after: Seconds sent in ``Retry-After``.
            route: Route name to match, or ``None`` for any.
        """
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        self._board.arm(RateLimit(int(retry_after)), times, route)

    def server_error(
        self, times: int = 1, status: int = 500, route: str | None = None, html: bool = False
    ) -> None:
        """Answer with a 5xx status.

        Args:
            times: How many matching requests are affected.
            status: HTTP status, 500-599.
            route: Route name to match, or ``None`` for any.
            html: Send an nginx-style HTML error page instead of the error shape.
        """
        if not 500 <= status <= 599:
            raise ValueError(f"status must be 5xx, got {status}")
        self._board.arm(ServerError(status, html), times, route)

    def reset_connection(self, times: int = 1, route: str | None = "create") -> None:
        """Perform the request, then reset the TCP connection without any response.

        The action happens (a create does create the task): this models a reply lost
        on the way back. The recorded request's ``status`` is ``None``.

        Args:
            times: How many matching requests are affected.
            route: Route name to match, or ``None`` for any.
        """
        self._board.arm(ResetConnection(), times, route)

    def truncate_download(self, times: int = 1, fraction: float = 0.5) -> None:
        """Send full headers but only ``fraction`` of a file body, then drop the connection.

        Args:
            times: How many file responses are affected.
            fraction: Share of the body that is sent, in ``[0, 1)``.
        """
        if not 0 <= fraction < 1:
            raise ValueError("fraction must be in [0, 1)")
        self._board.arm(TruncateDownload(fraction), times, "file")

    def expire_links(self) -> None:
        """Make every presigned link issued so far answer 403 "Request has expired".

        Links issued afterwards work normally.
        """
        self._board.on_expire_links()

    def slow_body(self, times: int = 1, seconds: float = 2.0, route: str | None = None) -> None:
        """Send headers at once, then dribble the body over ``seconds``.

        Args:
            times: How many matching requests are affected.
            seconds: How long the body takes.
            route: Route name to match, or ``None`` for any.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._board.arm(SlowBody(seconds), times, route)

    def delay_response(
        self, times: int = 1, seconds: float = 2.0, route: str | None = None
    ) -> None:
        """Do what the request asks, then send nothing for ``seconds`` before replying.

        A client with a shorter read timeout gives up although the server acted: the
        classic "did my create go through?" case.

        Args:
            times: How many matching requests are affected.
            seconds: How long the reply is held back.
            route: Route name to match, or ``None`` for any.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._board.arm(DelayResponse(seconds), times, route)

    def fail_next_task(self, reason: str = DEFAULT_FAILURE_REASON) -> None:
        """Make the next created task end ``failed`` with this ``failure_reason``.

        Args:
            reason: The reported failure reason.
        """
        with self._board.lock:
            self._board.next_outcome = ("failed", reason)

    def stall_next_task(self) -> None:
        """Make the next created task stay ``processing`` forever."""
        with self._board.lock:
            self._board.next_outcome = ("stall", None)

    def business_error(
        self,
        times: int = 1,
        code: int = 500,
        message: str = "upstream task submission failed",
        route: str | None = None,
    ) -> None:
        """Answer HTTP 200 with ``{"code": code, "message": message, "request_id", "data": null}``.

        Args:
            times: How many matching requests are affected.
            code: The business error code in the body.
            message: The message in the body.
            route: Route name to match, or ``None`` for any.
        """
        self._board.arm(BusinessError(code, message), times, route)

    def quota_exhausted(self, times: int = 1, status: int = 402, route: str | None = None) -> None:
        """Answer 402 (or 403) with an ``insufficient_user_quota`` error.

        Args:
            times: How many matching requests are affected.
            status: 402 or 403.
            route: Route name to match, or ``None`` for any.
        """
        if status not in (402, 403):
            raise ValueError("status must be 402 or 403")
        self._board.arm(QuotaExhausted(status), times, route)

    def clear(self) -> None:
        """Disarm all pending faults (links already expired stay expired)."""
        with self._board.lock:
            self._board.armed.clear()
            self._board.next_outcome = None
