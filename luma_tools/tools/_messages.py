"""The text a model reads: short, exact, and always ending with what to do next.

Content goes into the model's context on every later turn, so it stays well under 1,000
characters and never carries base64 or a wall of URL; the full task goes into the tool
artifact, where code and widgets can use it.
"""

from __future__ import annotations

from .. import _exceptions as errors
from .._models import Task, TaskState

__all__ = [
    "CREATE_TOOL",
    "DOWNLOAD_TOOL",
    "EXTEND_TOOL",
    "MAX_WAIT_SECONDS",
    "QUERY_TOOL",
    "describe_error",
    "describe_task",
    "next_step",
]

CREATE_TOOL = "luma_create_video"
EXTEND_TOOL = "luma_extend_video"
QUERY_TOOL = "luma_query_task"
DOWNLOAD_TOOL = "luma_download_video"

#: The longest a single luma_query_task call blocks; below common agent/MCP call timeouts.
MAX_WAIT_SECONDS = 45
#: Longer links (presigned URLs run to 1-2 KB) stay in the artifact only.
_MAX_URL_IN_CONTENT = 300


def describe_task(task: Task) -> str:
    """One line: id, state (with the gateway's own word when it differs) and what is known."""
    state = task.state.value
    if task.raw_state and task.raw_state.lower() != state:
        state = f"{state} (gateway: {task.raw_state})"
    text = f'Task "{task.id}" is {state}.'
    if task.state is TaskState.FAILED:
        text += f" Reason: {task.failure_reason or 'none given'}."
    elif task.state is TaskState.COMPLETED:
        text += f" {_video_link(task)}"
    elif task.estimate_wait_seconds:
        text += f" About {task.estimate_wait_seconds:.0f} s left."
    return text


def next_step(task: Task, *, wait_seconds: int = MAX_WAIT_SECONDS) -> str:
    """What the model should do next for a task in this state."""
    if task.state is TaskState.COMPLETED:
        if task.video_url is None:
            return (
                f'Next: call {QUERY_TOOL} with task_id="{task.id}" and wait_seconds='
                f"{wait_seconds}; the gateway is still publishing the video link."
            )
        share = "" if len(task.video_url) > _MAX_URL_IN_CONTENT else ", or give the user the link"
        return f'Next: call {DOWNLOAD_TOOL} with task_id="{task.id}" to save the MP4{share}.'

    if task.state is TaskState.FAILED:
        return (
            f"Next: rephrase the prompt (or change the images) and call {CREATE_TOOL} again; "
            "do not retry it unchanged."
        )
    return (
        f'Next: call {QUERY_TOOL} with task_id="{task.id}" and wait_seconds={wait_seconds} '
        "(it waits for the next state change)."
    )


def _video_link(task: Task) -> str:
    url = task.video_url
    if url is None:
        return "Its video link is not published yet."
    if len(url) <= _MAX_URL_IN_CONTENT:
        return f"Video: {url}"
    return f"Its video link is long ({len(url)} characters) and is kept in the tool artifact."


def describe_error(exc: errors.LumaError, *, tool: str) -> str:
    """The message of the `ToolException` that a `LumaError` becomes: what and what next."""
    task = f' (task "{exc.task_id}")' if exc.task_id else ""
    if isinstance(exc, errors.InvalidInputError):
        return f"Invalid argument {exc.field}: {exc.message.split(': ', 1)[-1]}. {_fix(exc)}"
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
        wait = f"{exc.retry_after:.0f} s" if exc.retry_after else "30 s"
        return f"The gateway is rate limiting requests{task}. Wait {wait}, then call {tool} again."
    if isinstance(exc, errors.NotFoundError):
        return (
            f'No task with id "{exc.task_id or "?"}". Check the id: use the exact task_id '
            f"returned by {CREATE_TOOL} or {EXTEND_TOOL}."
        )
    if isinstance(exc, errors.TaskFailedError):
        return (
            f'Task "{exc.task.id}" failed: {exc.failure_reason or "no reason given"}. '
            f"Rephrase the prompt (or change the images) and call {CREATE_TOOL} again."
        )
    if isinstance(exc, errors.TaskNotReadyError):
        return (
            f'Task "{exc.task.id}" is {exc.task.state.value}, so there is no video yet. '
            f'Call {QUERY_TOOL} with task_id="{exc.task.id}" and wait_seconds='
            f"{MAX_WAIT_SECONDS} until it is completed, then call {tool} again."
        )
    if isinstance(exc, errors.AmbiguousSubmitError):
        return (
            "The request was sent but no reply came back, so a task may exist and be billed. "
            f"Do NOT call {tool} again: tell the user to look for the task in the gateway's "
            "task log."
        )
    if isinstance(exc, errors.DestinationExistsError):
        return f"{exc.message}{task}. Pass overwrite=true or choose another filename."
    if isinstance(exc, errors.LumaConnectionError | errors.ServerError):
        return (
            f"The gateway is not answering properly{task}: {exc.message}. Try {tool} again in "
            "a minute; if it keeps failing, tell the user."
        )
    return f"{exc.message}{task}. {exc.hint or 'Tell the user.'}"


def _fix(exc: errors.InvalidInputError) -> str:
    hint = exc.hint.rstrip(".") + ". " if exc.hint else ""
    return f"{hint}Fix this argument and call the tool again."
