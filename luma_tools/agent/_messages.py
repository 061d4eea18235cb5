"""The text a model reads: short, exact, and always ending with what to do next.

Content goes into the model's context on every later turn, so it stays under
`MAX_CONTENT_CHARS` and never carries base64 or a wall of URL; the full task goes into the
structured result, where code and widgets can use it. Whatever the gateway said is quoted
through `quote` (one line, no control characters, capped); a paid call that may have gone
through is never followed by an invitation to send it again.
"""

from __future__ import annotations

from pydantic import ValidationError

from .. import _exceptions as errors
from .._models import Task, TaskState
from ._guard import SpendLimitError
from ._names import (
    CREATE_TOOL,
    DOWNLOAD_TOOL,
    EXTEND_TOOL,
    MAX_WAIT_SECONDS,
    PAID_TOOLS,
    QUERY_TOOL,
)
from ._text import fit, quote

__all__ = [
    "describe_error",
    "describe_task",
    "describe_unexpected",
    "describe_unknown_tool",
    "describe_validation_error",
    "next_step",
    "task_ref",
]

#: Longer links (presigned URLs run to 1-2 KB) stay in the structured result only.
_MAX_URL_IN_CONTENT = 300
_MAX_ID = 128  # the longest task id the client accepts
_MAX_STATE = 40
_MAX_REASON = 300
_MAX_DETAIL = 240

_TASK_LOG = (
    "tell the user to look for it in the gateway's task log (by the time and prompt), "
    f"then follow it with {QUERY_TOOL} and its id"
)


def task_ref(task_id: str | None) -> str:
    """A task id as quoted in a message: `"9d4b..."`."""
    return f'"{quote(task_id or "?", _MAX_ID)}"'


def describe_task(task: Task) -> str:
    """One line: id, state (with the gateway's own word when it differs) and what is known."""
    state = task.state.value
    raw = quote(task.raw_state or "", _MAX_STATE)
    if raw and raw.lower() != state:
        state = f"{state} (gateway: {raw})"
    text = f"Task {task_ref(task.id)} is {state}."
    if task.state is TaskState.FAILED:
        text += f" Reason: {quote(task.failure_reason or 'none given', _MAX_REASON)}."
    elif task.state is TaskState.COMPLETED:
        text += f" {_video_link(task)}"
    elif task.estimate_wait_seconds and 0 < task.estimate_wait_seconds < 86_400:
        text += f" About {task.estimate_wait_seconds:.0f} s left."
    return text


def next_step(task: Task, *, wait_seconds: int = MAX_WAIT_SECONDS) -> str:
    """What the model should do next for a task in this state."""
    ref = task_ref(task.id)
    if task.state is TaskState.COMPLETED:
        if task.video_url is None:
            return (
                f"Next: call {QUERY_TOOL} with task_id={ref} and wait_seconds={wait_seconds}; "
                "the gateway is still publishing the video link."
            )
        share = ", or give the user the link" if _shown_link(task) else ""
        return f"Next: call {DOWNLOAD_TOOL} with task_id={ref} to save the MP4{share}."
    if task.state is TaskState.FAILED:
        return (
            f"Next: rephrase the prompt (or change the images) and call {CREATE_TOOL} again; "
            "do not retry it unchanged."
        )
    return (
        f"Next: call {QUERY_TOOL} with task_id={ref} and wait_seconds={wait_seconds} "
        "(it waits for the next state change)."
    )


def _shown_link(task: Task) -> str | None:
    """The video URL if it is short and plain enough to put in front of the model."""
    url = task.video_url
    if url is None or len(url) > _MAX_URL_IN_CONTENT or quote(url, _MAX_URL_IN_CONTENT) != url:
        return None
    return url if url.startswith(("https://", "http://")) else None


def _video_link(task: Task) -> str:
    if task.video_url is None:
        return "Its video link is not published yet."
    url = _shown_link(task)
    if url is not None:
        return f"Video: {url}"
    return "Its video link is long and is kept in the structured result."


def describe_error(exc: errors.LumaError, *, tool: str) -> str:
    """The error result a `LumaError` becomes: what happened and what to do next.

    Known classes get their own advice; any other `LumaError` (a class added later) gets its
    message and hint, and on a paid tool a warning not to send the call again.
    """
    return fit(_describe_error(exc, tool))


def _describe_error(exc: errors.LumaError, tool: str) -> str:
    paid = tool in PAID_TOOLS
    task = f" (task {task_ref(exc.task_id)})" if exc.task_id else ""
    detail = quote(exc.message, _MAX_DETAIL)
    if isinstance(exc, SpendLimitError):
        return (
            f"{detail}. Do not call {CREATE_TOOL} or {EXTEND_TOOL} again: ask the user whether "
            "to make more videos; only they can raise the limit."
        )
    if isinstance(exc, errors.InvalidInputError):
        problem = quote(exc.message.split(": ", 1)[-1], _MAX_DETAIL)
        hint = quote(exc.hint, _MAX_DETAIL).rstrip(".")
        return (
            f"Invalid argument {quote(exc.field, 60)}: {problem}. "
            f"{hint + '. ' if hint else ''}Fix this argument and call the tool again."
        )
    if isinstance(exc, errors.AuthenticationError):
        return (
            "The gateway rejected the API key. Do not retry: tell the user to check "
            "LUMA_API_KEY and LUMA_BASE_URL."
        )
    if isinstance(exc, errors.QuotaError):
        return (
            "The gateway account is out of quota or balance. Do not retry: tell the user to "
            "top up the account or use another key."
        )
    if isinstance(exc, errors.RateLimitError):
        after = exc.retry_after
        wait = f"{after:.0f} s" if after and 0 < after < 3600 else "30 s"
        return f"The gateway is rate limiting requests{task}. Wait {wait}, then call {tool} again."
    if isinstance(exc, errors.NotFoundError):
        if exc.task_id is None:
            return (
                "The gateway answered 'not found' for this request, so its URL is probably "
                "wrong. Do not retry: tell the user to check LUMA_BASE_URL."
            )
        return (
            f"No task with id {task_ref(exc.task_id)}. Check the id: use the exact task_id "
            f"returned by {CREATE_TOOL} or {EXTEND_TOOL}."
        )
    if isinstance(exc, errors.TaskFailedError):
        return (
            f"Task {task_ref(exc.task.id)} failed: "
            f"{quote(exc.failure_reason or 'no reason given', _MAX_REASON)}. "
            f"Rephrase the prompt (or change the images) and call {CREATE_TOOL} again."
        )
    if isinstance(exc, errors.TaskNotReadyError):
        ref = task_ref(exc.task.id)
        return (
            f"Task {ref} is {exc.task.state.value}, so there is no video yet. Call "
            f"{QUERY_TOOL} with task_id={ref} and wait_seconds={MAX_WAIT_SECONDS} until it is "
            f"completed, then call {tool} again."
        )
    if isinstance(exc, errors.AmbiguousSubmitError):
        return _describe_ambiguous(exc, tool)
    if paid and isinstance(exc, errors.ServerError):  # no proof of refusal either
        return (
            f"The request may have reached the gateway, but no usable reply came back "
            f"({detail}){task}. A task may exist and be billed. Do NOT call {tool} again: "
            f"{_TASK_LOG}."
        )
    if isinstance(exc, errors.RedirectError):
        nothing = " Nothing was created." if paid else ""
        return (
            f"{detail}.{nothing} Do not retry: tell the user to check LUMA_BASE_URL (the "
            "gateway address)."
        )
    if isinstance(exc, errors.DestinationExistsError):
        return f"{detail}{task}. Pass overwrite=true or choose another filename."
    if isinstance(exc, errors.DestinationError):
        return (
            f"The video could not be saved{task}: {detail}. Do not retry: tell the user, who "
            "chose the folder the videos are saved in."
        )
    if isinstance(exc, errors.LumaConnectionError):
        sent = " Nothing was sent, so nothing was billed." if paid else ""
        return (
            f"The gateway could not be reached{task}: {detail}.{sent} Try {tool} again in a "
            "minute; if it keeps failing, tell the user."
        )
    if isinstance(exc, errors.ServerError):
        return (
            f"The gateway is not answering properly{task}: {detail}. Try {tool} again in a "
            "minute; if it keeps failing, tell the user."
        )
    if isinstance(exc, errors.BadRequestError):
        return (
            f"The gateway refused the request{task}: {detail}. Change the arguments before "
            f"calling {tool} again, or tell the user."
        )
    hint = quote(exc.hint, _MAX_DETAIL).rstrip(".")
    text = f"{detail}{task}. {hint + '.' if hint else 'Tell the user.'}"
    if paid:
        text += f" Do not call {tool} again before the user has looked into it."
    return text


def _describe_ambiguous(exc: errors.AmbiguousSubmitError, tool: str) -> str:
    """A paid request whose outcome is unknown: what was sent, how to find it, no retry."""
    found = "by the time and prompt"
    if exc.request_id:
        found += f", or the gateway request id {quote(exc.request_id, 80)}"
    if exc.task_id:  # the reply revealed the new task's id after all
        ref = task_ref(exc.task_id)
        follow = f"Its id may be {ref}: call {QUERY_TOOL} with task_id={ref} to follow it"
    else:
        follow = f"then follow it with {QUERY_TOOL} and its id"
    return (
        f"{quote(exc.message, _MAX_DETAIL)}. A task may exist and be billed. Do NOT call "
        f"{tool} again: tell the user to look for it in the gateway's task log ({found}); "
        f"{follow}."
    )


def describe_validation_error(exc: ValidationError | Exception) -> str:
    """The result for arguments that fail the schema: each field, and what to do."""
    if not isinstance(exc, ValidationError):
        return fit(
            f"Invalid arguments: {quote(exc, _MAX_DETAIL)}. Fix them and call the tool again."
        )
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        field = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{quote(field, 60)}: {quote(error['msg'], 200)}")
    return fit(f"Invalid arguments: {'; '.join(problems)}. Fix them and call the tool again.")


def describe_unexpected(tool: str, exc: BaseException) -> str:
    """The result for a bug or an unforeseen failure (its details go to the log)."""
    what = f"{tool} failed unexpectedly ({type(exc).__name__})."
    if tool in PAID_TOOLS:
        return (
            f"{what} The request may have been sent, so a task may exist and be billed. Do "
            f"NOT call {tool} again: {_TASK_LOG}; the details are in the application log."
        )
    return f"{what} Do not retry: tell the user, who can find the details in the application log."


def describe_unknown_tool(name: str) -> str:
    """The result for a call to a tool that does not exist."""
    tools = ", ".join((CREATE_TOOL, EXTEND_TOOL, QUERY_TOOL, DOWNLOAD_TOOL))
    return f"There is no tool named {quote(name, 60)!r}. The Luma tools are: {tools}."
