"""The exceptions luma-tools raises.

Every error derives from [`LumaError`][luma_tools.LumaError], so `except LumaError` catches
everything the client raises on purpose. Each class says what went wrong *and* what to do about
it (`hint`), because the same text reaches CLI users and LLM agents.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Task, TaskState

__all__ = [
    "AmbiguousSubmitError",
    "AuthenticationError",
    "BadRequestError",
    "DestinationError",
    "DestinationExistsError",
    "InvalidInputError",
    "LumaConnectionError",
    "LumaError",
    "NotFoundError",
    "QuotaError",
    "RateLimitError",
    "RedirectError",
    "ServerError",
    "SubmitInterrupted",
    "TaskFailedError",
    "TaskNotReadyError",
    "WaitCancelledError",
    "WaitTimeoutError",
]


class LumaError(Exception):
    """Base class of every error raised by luma-tools.

    Attributes:
        message: What went wrong, in one line (the server's own words when it gave any).
        hint: What to do next, in one line.
        status_code: The HTTP status, when the error came from a response.
        task_id: The task concerned, when known. It is never dropped: a timeout or a failed
            download still tells you which task to come back to.
    """

    default_hint = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        task_id: str | None = None,
    ) -> None:
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        self.status_code = status_code
        self.task_id = task_id
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.message
        if self.status_code is not None:
            text = f"{text} (HTTP {self.status_code})"
        if self.hint:
            text = f"{text}. {self.hint}"
        return text

    def __reduce__(self) -> tuple[object, ...]:  # keep pickling working despite kw-only args
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[LumaError], state: dict[str, object]) -> LumaError:
    error = cls.__new__(cls)
    Exception.__init__(error)
    error.__dict__.update(state)
    return error


class InvalidInputError(LumaError, ValueError):
    """An argument is invalid; raised before any request is sent.

    Attributes:
        field: The name of the offending argument (`user_prompt`, `image_url`, `task_id`...).
    """

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", hint=hint)


class AuthenticationError(LumaError):
    """The gateway rejected the API key (HTTP 401/403)."""

    default_hint = "Check LUMA_API_KEY (or api_key=) and that it belongs to this gateway"


class QuotaError(LumaError):
    """The account has no balance or quota left (HTTP 402, or a quota message)."""

    default_hint = "Top up the gateway account or use another key; retrying will not help"


class NotFoundError(LumaError):
    """The gateway does not know this task id (HTTP 404)."""

    default_hint = "Check the task id: use the exact id returned by create"


class BadRequestError(LumaError):
    """The gateway refused the request as invalid (HTTP 400/422 or a business error code)."""

    default_hint = "Fix the request; sending it again unchanged will fail the same way"


class RateLimitError(LumaError):
    """Too many requests (HTTP 429), still refused after the client's own retries.

    Attributes:
        retry_after: Seconds the gateway asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        status_code: int | None = 429,
        task_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        if hint is None:
            wait = f"{retry_after:g} s" if retry_after else "a little while"
            hint = f"Wait {wait}, then try again"
        super().__init__(message, hint=hint, status_code=status_code, task_id=task_id)


class ServerError(LumaError):
    """The gateway failed (HTTP 5xx), still failing after the client's own retries.

    Attributes:
        retry_after: Seconds the gateway asked us to wait (`Retry-After` on a 503), if it said.
    """

    default_hint = "The gateway is having trouble; try again in a minute"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        status_code: int | None = None,
        task_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint=hint, status_code=status_code, task_id=task_id)


class LumaConnectionError(LumaError):
    """The gateway could not be reached, or did not answer in time."""

    default_hint = "Check LUMA_BASE_URL and your network, then try again"


class AmbiguousSubmitError(LumaError):
    """A create or extend request may have reached the gateway, but its outcome is unknown.

    Raised when no reply came back (a dropped connection, a read timeout), and for every reply
    that does not prove the gateway refused the request: a proxy or CDN error page (500, 502,
    504, Cloudflare 520-524), a reply that is not JSON or holds no usable task. The task may
    exist and may be billed. luma-tools never re-sends such a request on its own, because each
    one costs money. Deliberately *not* a subclass of
    [`LumaConnectionError`][luma_tools.LumaConnectionError], so code that retries on connection
    errors does not resubmit by accident.

    Attributes:
        operation: `"create"` or `"extend"`.
        prompt: The prompt that was sent.
        sent_at: When the request was sent (UTC).
        request_id: The gateway's or proxy's request id (a header such as `X-Request-Id` or
            `CF-Ray`, or `request_id` in the body), to quote to the gateway's support.
        extends: For an extend, the task that was being continued.
        task_id: The new task's id, when the reply revealed one (rarely); else None.
        job: The request's number in the job journal, when it was recorded there: give it
            the task id found in the gateway's log with `luma-tools jobs attach JOB TASK_ID`.
    """

    default_hint = (
        "A task may have been created and billed: do not resubmit blindly. It is recorded as "
        "ambiguous in the job journal (luma-tools jobs --ambiguous); look for it in your "
        "gateway's task log, then follow it with its id"
    )

    def __init__(
        self,
        message: str,
        *,
        operation: str = "create",
        prompt: str | None = None,
        sent_at: datetime | None = None,
        request_id: str | None = None,
        extends: str | None = None,
        hint: str | None = None,
        status_code: int | None = None,
        task_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.prompt = prompt
        self.sent_at = sent_at
        self.request_id = request_id
        self.extends = extends
        self.job: int | None = None
        super().__init__(message, hint=hint, status_code=status_code, task_id=task_id)

    def __str__(self) -> str:
        text = super().__str__()
        if self.request_id and self.request_id not in text:
            text = f"{text} (gateway request id {self.request_id})"
        if getattr(self, "job", None) is not None:
            text = f"{text} [journal job {self.job}]"
        return text


class SubmitInterrupted(KeyboardInterrupt):
    """Ctrl-C arrived while a create or extend request was on the wire.

    It is still a `KeyboardInterrupt` (so it stops programs as usual), but it carries the
    [`AmbiguousSubmitError`][luma_tools.AmbiguousSubmitError] describing the request whose
    outcome is now unknown: the task may have been created and billed.

    Attributes:
        error: The ambiguous request.
    """

    def __init__(self, error: AmbiguousSubmitError) -> None:
        self.error = error
        super().__init__(str(error))


class RedirectError(LumaError):
    """The gateway answered with a redirect that luma-tools will not follow.

    A paid POST is never replayed to another address (it could be billed twice, and another
    host would receive the prompt and the key); GET redirects are followed only a few times,
    only over http(s), never from https to http, and never from a public gateway to a loopback
    or private address.

    Attributes:
        location: Where the gateway pointed (shortened, without secrets).
    """

    default_hint = "Check LUMA_BASE_URL (base_url=): use the address the gateway points to"

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        hint: str | None = None,
        status_code: int | None = None,
        task_id: str | None = None,
    ) -> None:
        self.location = location
        super().__init__(message, hint=hint, status_code=status_code, task_id=task_id)


class TaskFailedError(LumaError):
    """The task ended in the `failed` state.

    Attributes:
        task: The failed task as last seen.
        failure_reason: The gateway's reason, when it gave one.
    """

    def __init__(self, task: Task, *, hint: str | None = None) -> None:
        self.task = task
        self.failure_reason = task.failure_reason
        reason = task.failure_reason or "no reason given"
        super().__init__(
            f"Task {task.id} failed: {reason}",
            hint=hint
            if hint is not None
            else "Rephrase the prompt (or change the images) and create a new task",
            task_id=task.id,
        )


class WaitTimeoutError(LumaError):
    """`wait` gave up before the task finished. The task itself keeps running.

    Attributes:
        task_id: The task, so you can resume waiting on it later.
        last_state: The last state seen.
        task: The last task seen (None if no poll succeeded).
    """

    def __init__(
        self, task_id: str, last_state: TaskState | None, task: Task | None, *, waited: float
    ) -> None:
        self.last_state = last_state
        self.task = task
        state = last_state.value if last_state is not None else "unknown"
        super().__init__(
            f"Task {task_id} is still {state} after {waited:.0f} s",
            hint=f"It keeps running on the gateway: wait on {task_id} again later",
            task_id=task_id,
        )


class DestinationError(LumaError):
    """The video cannot be saved where asked (no permission, disk full, a file in the way...).

    Attributes:
        path: The path concerned.
    """

    default_hint = "Choose a folder you can write to (CLI: -o PATH)"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        hint: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.path = path
        super().__init__(message, hint=hint, task_id=task_id)


class DestinationExistsError(DestinationError, FileExistsError):
    """`download` refused to overwrite an existing file."""

    default_hint = "Choose another path or pass overwrite=True (CLI: --overwrite)"


class TaskNotReadyError(LumaError):
    """The task has not completed yet, so there is no video to download.

    Attributes:
        task: The task as last seen.
    """

    def __init__(self, task: Task) -> None:
        self.task = task
        super().__init__(
            f"Task {task.id} is {task.state.value}, not completed",
            hint="Wait for it to complete (wait()), then download",
            task_id=task.id,
        )


class WaitCancelledError(LumaError):
    """`wait` stopped because its `cancel` event was set. The task keeps running.

    Attributes:
        task: The last task seen (None if no poll succeeded).
    """

    def __init__(self, task_id: str, task: Task | None) -> None:
        self.task = task
        super().__init__(
            f"Stopped waiting for task {task_id}",
            hint=f"It keeps running on the gateway: wait on {task_id} again to resume",
            task_id=task_id,
        )
