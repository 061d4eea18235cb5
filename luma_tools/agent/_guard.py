"""The spend guard: a cap on the paid calls (creates and extends) of one toolkit or server.

A model that loops, or obeys a prompt injection, can order videos faster than anyone reads
the bill. The guard counts every call that *may* have been billed (a success, and any outcome
that does not prove the gateway refused) and refuses more than `max_creates`, telling the
model to ask the user. A price per video, when the user gives one, turns counts into cost
estimates; there is no built-in price, because every gateway prices its own way.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from .. import _exceptions as errors
from ._names import EXTEND_TOOL
from ._text import quote

__all__ = ["SpendGuard", "SpendLimitError", "describe_paid_call", "paid_calls"]

# Replies that prove the gateway refused the request, so nothing was created or billed.
# Anything else (success, a lost reply, a 5xx, an unforeseen error) may have been billed.
_REFUSALS: tuple[type[BaseException], ...] = (
    errors.InvalidInputError,
    errors.BadRequestError,
    errors.AuthenticationError,
    errors.QuotaError,
    errors.RateLimitError,
    errors.NotFoundError,
    errors.LumaConnectionError,  # raised for a paid request only when it was never sent
    errors.RedirectError,  # raised for a paid request only for a permanent redirect
    ValidationError,
)


def paid_calls(count: int) -> str:
    """`"1 paid call"`, `"3 paid calls"`."""
    return f"{count} paid call{'' if count == 1 else 's'}"


class SpendLimitError(errors.LumaError):
    """The spend guard refused a paid call: `max_creates` calls may already have been billed.

    Attributes:
        limit: The guard's `max_creates`.
        used: Paid calls so far that may have been billed.
        cost: The estimated cost of those calls (e.g. `"1.20 USD"`), when a price is set.
    """

    def __init__(self, limit: int, used: int, cost: str | None) -> None:
        self.limit = limit
        self.used = used
        self.cost = cost
        spent = f" (about {cost})" if cost else ""
        super().__init__(
            f"Spend limit reached: {paid_calls(used)}{spent} of at most {limit}",
            hint="Ask the user before making more videos; only they can raise the limit",
        )


class SpendGuard:
    """Counts paid calls and refuses those past `max_creates`; thread-safe.

    Parallel tool calls are counted as they start, so several calls in one model turn cannot
    overshoot the limit together.

    Args:
        max_creates: The most creates and extends that may be billed in this guard's life;
            None for no limit.
        price_per_video: What one create or extend costs on your gateway, for the estimates
            in approval requests and results; None to leave costs out.
        currency: The unit of `price_per_video`, as it should be shown.

    Raises:
        InvalidInputError: A negative or non-finite number, or a blank currency.

    Example:
        ```python
        from luma_tools.agent import SpendGuard

        guard = SpendGuard(max_creates=2, price_per_video=0.4)
        with guard.paid_call():
            pass  # the create request goes here
        assert (guard.used, guard.remaining, guard.estimate(guard.used)) == (1, 1, "0.40 USD")
        ```
    """

    def __init__(
        self,
        max_creates: int | None = None,
        *,
        price_per_video: float | None = None,
        currency: str = "USD",
    ) -> None:
        if max_creates is not None and (isinstance(max_creates, bool) or max_creates < 0):
            raise errors.InvalidInputError(
                "max_creates", f"must be 0 or more, not {max_creates!r}", hint="Or None: no limit"
            )
        if price_per_video is not None and not (
            math.isfinite(price_per_video) and price_per_video >= 0
        ):
            raise errors.InvalidInputError(
                "price_per_video", f"must be a price of 0 or more, not {price_per_video!r}"
            )
        if not currency.strip():
            raise errors.InvalidInputError("currency", "is blank", hint='e.g. "USD"')
        self.max_creates = max_creates
        self.price_per_video = price_per_video
        self.currency = currency.strip()
        self._lock = threading.Lock()
        self._used = 0
        self._in_flight = 0

    def __repr__(self) -> str:
        return f"SpendGuard(max_creates={self.max_creates!r}, used={self._used})"

    @property
    def used(self) -> int:
        """Paid calls so far that may have been billed."""
        return self._used

    @property
    def remaining(self) -> int | None:
        """Paid calls still allowed (calls in flight count as made), or None without a limit."""
        if self.max_creates is None:
            return None
        with self._lock:
            return max(self.max_creates - self._used - self._in_flight, 0)

    def estimate(self, videos: int = 1) -> str | None:
        """The cost of `videos` paid calls (`"0.80 USD"`), or None without a price."""
        if self.price_per_video is None:
            return None
        return f"{self.price_per_video * videos:.2f} {self.currency}"

    @contextmanager
    def paid_call(self) -> Iterator[None]:
        """Wrap one paid request: refuse it past the limit, count it unless it was refused.

        Raises:
            SpendLimitError: Before anything is sent, when the limit is reached.
        """
        with self._lock:
            if self.max_creates is not None and self._used + self._in_flight >= self.max_creates:
                raise SpendLimitError(self.max_creates, self._used, self.estimate(self._used))
            self._in_flight += 1
        billed = True
        try:
            yield
        except BaseException as exc:
            billed = not isinstance(exc, _REFUSALS)
            raise
        finally:
            with self._lock:
                self._in_flight -= 1
                self._used += billed


def describe_paid_call(name: str, arguments: Mapping[str, Any], guard: SpendGuard) -> str:
    """What a person approving a paid tool call reads: the prompt, the options, the cost.

    Example:
        ```python
        from luma_tools.agent import SpendGuard, describe_paid_call

        text = describe_paid_call(
            "luma_create_video",
            {"prompt": "a red fox in snow", "aspect_ratio": "9:16"},
            SpendGuard(max_creates=3, price_per_video=0.4),
        )
        assert "a red fox in snow" in text and "0.40 USD" in text
        ```
    """
    lines = [f"A paid Luma video: {name}"]
    if name == EXTEND_TOOL:
        lines.append(f"Continues task: {quote(arguments.get('task_id', '?'), 128)}")
    lines.append(f"Prompt: {quote(arguments.get('prompt', ''), 600)}")
    options = [
        f"{key}={quote(value, 200)}"
        for key, value in arguments.items()
        if key not in ("prompt", "task_id") and value is not None
    ]
    lines.append(f"Options: {', '.join(options) if options else 'the gateway defaults'}")
    cost = guard.estimate()
    if cost:
        lines.append(f"Estimated cost: {cost} (your price per video)")
    spent = guard.estimate(guard.used) if guard.used else None
    so_far = f"{paid_calls(guard.used)} so far" + (f" (about {spent})" if spent else "")
    if guard.max_creates is not None:
        so_far += f", limit {guard.max_creates}"
    lines.append(so_far)
    lines.append("Approve to send it once; edit to change it first; reject to stop it.")
    return "\n".join(lines)
