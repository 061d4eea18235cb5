"""How the command line words a failure: its words (flags, variables), its exit status.

Library errors speak Python (`overwrite=True`, `api_key=`, `aspect_ratio`); a CLI user typed
`--overwrite`, `LUMA_API_KEY`, `--aspect-ratio`. This module turns any `LumaError` into the line
a CLI user needs, with the command that helps next.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from . import _exceptions as errors
from ._invocation import cli_command

__all__ = ["EXIT_CODES", "CliError", "CliFailure", "describe"]

#: Exit status by outcome (documented in the CLI reference).
EXIT_CODES = {
    "ok": 0,
    "error": 1,
    "usage": 2,
    "auth": 3,
    "task_failed": 4,
    "timeout": 5,
    "unavailable": 6,
    "ambiguous": 7,
    "interrupted": 130,
}

_EXIT_BY_ERROR: tuple[tuple[type[errors.LumaError], str], ...] = (
    (errors.InvalidInputError, "usage"),
    (errors.DestinationError, "usage"),
    (errors.RedirectError, "usage"),
    (errors.AuthenticationError, "auth"),
    (errors.QuotaError, "auth"),
    (errors.TaskFailedError, "task_failed"),
    (errors.WaitTimeoutError, "timeout"),
    (errors.LumaConnectionError, "unavailable"),
    (errors.ServerError, "unavailable"),
    (errors.RateLimitError, "unavailable"),
    (errors.AmbiguousSubmitError, "ambiguous"),
)

#: Library argument names, as the CLI spells them.
FLAGS = {
    "aspect_ratio": "--aspect-ratio",
    "expand_prompt": "--expand-prompt",
    "loop": "--loop",
    "image_url": "--image",
    "image_end_url": "--end-image",
    "model_name": "--model",
    "duration": "--duration",
    "resolution": "--resolution",
    "notify_hook": "--notify-hook",
    "user_prompt": "PROMPT",
    "prompt": "PROMPT",
    "task_id": "TASK_ID",
    "api_key": "LUMA_API_KEY",
    "base_url": "LUMA_BASE_URL",
    "timeout": "--timeout",
}
# Python-isms in library hints, and what a CLI user types instead.
_REWORDINGS = (
    (re.compile(r"\(or api_key=\)|\(api_key=\)"), "(or --api-key)"),
    (re.compile(r"\(base_url=\)|\(or base_url=\)"), "(or --base-url)"),
    (
        re.compile(r"pass overwrite=True \(CLI: --overwrite\)|pass overwrite=True"),
        "pass --overwrite",
    ),
    (
        re.compile(r"Pass api_key=\.\.\. or set LUMA_API_KEY"),
        "Set LUMA_API_KEY (or pass --api-key)",
    ),
    (
        re.compile(r"Pass base_url='https://your-gateway' or set LUMA_BASE_URL"),
        "Set LUMA_BASE_URL (or pass --base-url) to your gateway's origin",
    ),
    (re.compile(r"\(CLI: (-[^)]+)\)"), r"(\1)"),
)


class CliError(Exception):
    """A failure already phrased for the user, with its exit status.

    Attributes:
        exit_code: The process exit status.
        task_id: The task concerned, when known.
    """

    def __init__(self, message: str, exit_code: int, *, task_id: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.task_id = task_id


@dataclass(frozen=True)
class CliFailure:
    """A failure worded for the command line.

    Attributes:
        message: The whole line (what happened, then what to do).
        exit_code: The process exit status.
        kind: The error class name, for `--json`.
        task_id: The task concerned, when known.
    """

    message: str
    exit_code: int
    kind: str
    task_id: str | None


def exit_code_for(exc: errors.LumaError) -> int:
    """The exit status for `exc`."""
    for kind, name in _EXIT_BY_ERROR:
        if isinstance(exc, kind):
            return EXIT_CODES[name]
    return EXIT_CODES["error"]


def _reword(text: str) -> str:
    for pattern, words in _REWORDINGS:
        text = pattern.sub(words, text)
    return text


def command(*words: str) -> str:
    """`luma-tools WORDS...` spelled so that it runs as printed, from where the user is."""
    return " ".join([cli_command(), *(shlex.quote(word) for word in words)])


def follow_command(task_id: str) -> str:
    """The command that follows a task again."""
    return command("wait", task_id)


def resume_command(task_id: str) -> str:
    """The command that waits for a journaled task and saves it where it was headed."""
    return command("resume", task_id)


def download_command(task_id: str, output: str | None) -> str:
    """The command that downloads a completed task's video."""
    return command("download", task_id, *(("-o", output) if output else ()))


def describe(
    exc: errors.LumaError,
    *,
    output: str | None = None,
    completed: bool = False,
    resumable: bool = False,
) -> CliFailure:
    """`exc` as a CLI user should read it.

    Args:
        exc: The error.
        output: The `-o` path of the command, for the hint that re-downloads.
        completed: The task had completed (so a failure was the download's, not the task's).
        resumable: The journal knows where the video was headed (`resume` saves it there).
    """
    task_id = exc.task_id
    message = exc.message
    hint = _reword(exc.hint)
    if isinstance(exc, errors.InvalidInputError):
        flag = FLAGS.get(exc.field, exc.field)
        problem = message.split(": ", 1)[-1]
        message = f"{flag}: {problem}"
    elif isinstance(exc, errors.AmbiguousSubmitError):
        job = str(exc.job) if exc.job is not None else "JOB"
        hint = (
            "The task may have been created and billed: do not run the command again. It is "
            f"recorded as ambiguous ({command('jobs', '--ambiguous')}); find it in your gateway's "
            f"task log, then: {command('jobs', 'attach', job)} TASK_ID"
        )
    elif isinstance(exc, errors.WaitTimeoutError | errors.WaitCancelledError) and task_id:
        hint = (
            f"It keeps running on the gateway; to wait for it and save the video: "
            f"{resume_command(task_id)}"
            if resumable
            else f"It keeps running on the gateway; follow it again with: {follow_command(task_id)}"
        )
    elif isinstance(exc, errors.TaskNotReadyError) and task_id:
        hint = f"Wait for it ({follow_command(task_id)}), then download it"
    elif completed and task_id and not isinstance(exc, errors.TaskFailedError):
        # The video exists; only saving it failed.
        fix = hint.rstrip(".") + ". " if hint else ""
        hint = f"{fix}The video is ready: {download_command(task_id, output)}"
    elif isinstance(exc, errors.TaskFailedError):
        hint = "Rephrase the prompt (or change the images) and run the command again"
    text = str(message)
    if exc.status_code is not None and f"HTTP {exc.status_code}" not in text:
        text = f"{text} (HTTP {exc.status_code})"
    if (
        isinstance(exc, errors.AmbiguousSubmitError)
        and exc.request_id
        and exc.request_id not in text
    ):
        text = f"{text} (gateway request id {exc.request_id})"
    if hint:
        text = f"{text}. {hint}"
    if task_id and task_id not in text:
        text = f"{text} [task {task_id}]"
    return CliFailure(text, exit_code_for(exc), type(exc).__name__, task_id)
