"""`AgentTools`: the four tools as plain calls, for every agent framework to wrap.

One call validates the model's arguments, applies the folder rules and the spend guard, talks
to the gateway, and returns a `ToolResult`; it never raises for anything a model or a gateway
can cause. The LangChain tools and the MCP server are thin adapters over `AgentTools.run`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .._client import LumaClient, PollEvent
from .._exceptions import (
    LumaError,
    TaskFailedError,
    WaitCancelledError,
    WaitTimeoutError,
)
from .._ids import check_task_id
from .._models import Task, TaskState
from ._files import download_target, local_image
from ._guard import SpendGuard, paid_calls
from ._inputs import (
    LumaCreateVideoInput,
    LumaDownloadVideoInput,
    LumaExtendVideoInput,
    LumaQueryTaskInput,
)
from ._messages import (
    describe_error,
    describe_task,
    describe_unexpected,
    describe_unknown_tool,
    describe_validation_error,
    next_step,
    task_ref,
)
from ._names import CREATE_TOOL, DOWNLOAD_TOOL, EXTEND_TOOL, MAX_WAIT_SECONDS, QUERY_TOOL
from ._results import ProgressSink, ProgressUpdate, ToolResult, task_data
from ._specs import TOOL_SPECS, ToolSpec
from ._text import fit

__all__ = ["AgentTools"]

log = logging.getLogger("luma_tools")

_PROGRESS_EVERY = 1.0  # seconds between download progress reports
#: How long a bounded wait may overrun its bound (a slow reply, a Retry-After) before an
#: adapter that can stop waiting answers without it: 45 + 10 s stays under a 60 s timeout.
OVERRUN_GRACE = 10.0
_IMAGE_FIELDS = ("image_url", "image_end_url")


class AgentTools:
    """The four Luma tools as plain calls returning a `ToolResult`.

    Args:
        client: The gateway client (shared; thread-safe).
        output_dir: Where downloads are saved (default: the working directory at call time).
        image_dir: The only folder local start/end images may come from; None allows no
            local images (URLs and data URIs are always accepted).
        max_wait_seconds: The cap on `luma_query_task`'s `wait_seconds`.
        guard: The spend guard of create and extend (default: no limit, no price).

    Example:
        ```python
        from luma_tools.agent import AgentTools

        tools = AgentTools(client, output_dir="videos")
        created = tools.run("luma_create_video", {"prompt": "a paper boat on a stream"})
        print(created.content)  # Created. Task "..." is queued. ... Next: call luma_query_task ...
        task_id = created.data["id"]
        queried = tools.run("luma_query_task", {"task_id": task_id, "wait_seconds": 5})
        assert not queried.is_error and queried.data["id"] == task_id
        ```
    """

    def __init__(
        self,
        client: LumaClient,
        *,
        output_dir: str | Path | None = None,
        image_dir: str | Path | None = None,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        guard: SpendGuard | None = None,
    ) -> None:
        self.client = client
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.image_dir = None if image_dir is None else Path(image_dir)
        self.max_wait_seconds = max_wait_seconds
        self.guard = guard or SpendGuard()

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """The four tools' specs, in the order an agent uses them."""
        return TOOL_SPECS

    def run(
        self,
        name: str,
        arguments: Mapping[str, Any] | BaseModel,
        *,
        progress: ProgressSink | None = None,
        cancel: threading.Event | None = None,
    ) -> ToolResult:
        """Call tool `name` with the model's `arguments`; blocks at most about a minute.

        Args:
            name: A tool name from `specs`.
            arguments: The arguments as the model sent them (validated here).
            progress: Receives progress updates of a bounded wait or a download.
            cancel: Set it to end a bounded wait early (it answers with the last state seen).

        Returns:
            The result; `is_error` results say what to do next. Nothing a model or a gateway
            can cause raises.
        """
        spec = next((s for s in TOOL_SPECS if s.name == name), None)
        if spec is None:
            return ToolResult(describe_unknown_tool(name), is_error=True)
        raw = arguments.model_dump() if isinstance(arguments, BaseModel) else dict(arguments)
        try:
            args = spec.input_model.model_validate(raw)
        except ValidationError as exc:
            return ToolResult(describe_validation_error(exc), is_error=True)
        report = _safe(progress)
        try:
            if isinstance(args, LumaCreateVideoInput):
                return self._create(args, report)
            if isinstance(args, LumaExtendVideoInput):
                return self._extend(args, report)
            if isinstance(args, LumaQueryTaskInput):
                return self._query(args, report, cancel or threading.Event())
            assert isinstance(args, LumaDownloadVideoInput)
            return self._download(args, report)
        except LumaError as exc:
            return ToolResult(describe_error(exc, tool=name), is_error=True)
        except Exception as exc:
            # A bug or an unforeseen failure: log it for the developer, and give the model a
            # clean message instead of crashing the whole agent run.
            log.exception("%s failed unexpectedly", name)
            return ToolResult(describe_unexpected(name, exc), is_error=True)

    def time_limit(self, name: str, arguments: Mapping[str, Any]) -> float | None:
        """The most a call should take, for adapters that can stop waiting for it.

        Only `luma_query_task` has one: its bound plus `OVERRUN_GRACE`. A paid call is never
        abandoned (its reply carries the task id), and a download has a deadline of its own.
        """
        if name != QUERY_TOOL:
            return None
        try:
            args = LumaQueryTaskInput.model_validate(dict(arguments))
        except ValidationError:
            return None  # answered at once with the validation error
        return min(float(args.wait_seconds), self.max_wait_seconds) + OVERRUN_GRACE

    def overdue(
        self, arguments: Mapping[str, Any], last: ProgressUpdate | None, waited: float
    ) -> ToolResult:
        """The answer of a `luma_query_task` call stopped at its `time_limit`.

        Args:
            arguments: The call's arguments (they passed validation).
            last: The last progress update the call sent, if any (it names the state).
            waited: Seconds the call ran.
        """
        task_id = str(arguments["task_id"])
        state = str(last.data.get("state") or "unknown") if last is not None else "unknown"
        known = state if state != "unknown" else "in an unknown state"
        ref = task_ref(task_id)
        content = (
            f"Task {ref} is still {known}: the gateway did not answer within {waited:.0f} s. "
            f"Next: call {QUERY_TOOL} with task_id={ref} and wait_seconds={MAX_WAIT_SECONDS} "
            "(it waits for the next state change)."
        )
        try:
            data = task_data(Task(id=task_id, state=TaskState(state)))
        except ValueError:
            data = task_data(Task(id=task_id, state=TaskState.UNKNOWN))
        return ToolResult(fit(content), data)

    # ---------------------------------------------------------------------------------------
    # The four tools

    def _create(self, args: LumaCreateVideoInput, report: ProgressSink) -> ToolResult:
        options = self._options(args, "prompt")
        with self.guard.paid_call():
            task = self.client.create(args.prompt, **options)
        report(
            ProgressUpdate(
                f"created task {task.id}",
                1,
                1,
                {"tool": CREATE_TOOL, "task_id": task.id, "state": task.state.value},
            )
        )
        content = (
            f"Created. {describe_task(task)} Videos usually take 1-5 minutes.{self._cost()} "
            f"{next_step(task)}"
        )
        return ToolResult(fit(content), task_data(task))

    def _extend(self, args: LumaExtendVideoInput, report: ProgressSink) -> ToolResult:
        source = args.task_id
        options = self._options(args, "task_id", "prompt")
        with self.guard.paid_call():
            task = self.client.extend(source, args.prompt, **options)
        report(
            ProgressUpdate(
                f"extending {source} as task {task.id}",
                1,
                1,
                {
                    "tool": EXTEND_TOOL,
                    "task_id": task.id,
                    "extends": source,
                    "state": task.state.value,
                },
            )
        )
        content = (
            f"Extension of {task_ref(source)} created. {describe_task(task)}{self._cost()} "
            f"{next_step(task)}"
        )
        return ToolResult(fit(content), task_data(task, extends=source))

    def _query(
        self, args: LumaQueryTaskInput, report: ProgressSink, cancel: threading.Event
    ) -> ToolResult:
        started = time.monotonic()
        budget = min(float(args.wait_seconds), self.max_wait_seconds)
        task, problem = self._wait_for_change(args.task_id, budget, report, cancel)
        waited = time.monotonic() - started
        if task is None:  # not one answer within the bound
            if problem is not None:
                raise problem  # what the gateway kept saying: rate limited, down...
            return self.overdue(args.model_dump(), None, waited)
        if task.state is TaskState.FAILED:
            raise TaskFailedError(task)
        waited_text = f" (checked for {waited:.0f} s)" if waited >= 1 else ""
        content = f"{describe_task(task)}{waited_text} {next_step(task)}"
        return ToolResult(fit(content), task_data(task))

    def _download(self, args: LumaDownloadVideoInput, report: ProgressSink) -> ToolResult:
        task_id = check_task_id(args.task_id)
        output_dir = self.output_dir if self.output_dir is not None else Path.cwd()
        target = download_target(output_dir, args.filename, task_id)
        last_report = 0.0

        def on_progress(done: int, total: int | None) -> None:
            nonlocal last_report
            now = time.monotonic()
            if now - last_report < _PROGRESS_EVERY and done != total:
                return
            last_report = now
            share = f" of {total}" if total else ""
            report(
                ProgressUpdate(
                    f"task {task_id}: {done}{share} bytes",
                    done,
                    total,
                    {"tool": DOWNLOAD_TOOL, "task_id": task_id, "bytes": done, "total": total},
                )
            )

        task = self.client.get(task_id)
        path = self.client.download(
            task, target, overwrite=args.overwrite, on_progress=on_progress
        ).resolve()
        size = path.stat().st_size
        content = (
            f"Saved the video of task {task_ref(task_id)} to {path} ({size / 1e6:.1f} MB). "
            "Next: tell the user where the file is."
        )
        data = {"task": task_data(task), "path": str(path), "bytes": size}
        return ToolResult(fit(content), data, file=path)

    # ---------------------------------------------------------------------------------------
    # Helpers

    def _options(self, args: BaseModel, *skip: str) -> dict[str, Any]:
        """The create/extend options the model set (None means "leave it to the gateway"),
        local images checked against `image_dir`."""
        options = {k: v for k, v in args.model_dump().items() if v is not None and k not in skip}
        for field in _IMAGE_FIELDS:
            if field in options:
                options[field] = local_image(field, options[field], self.image_dir)
        return options

    def _cost(self) -> str:
        spent = self.guard.estimate(self.guard.used)
        if spent is None:
            return ""
        return f" Estimated cost so far: {spent} for {paid_calls(self.guard.used)}."

    def _wait_for_change(
        self, task_id: str, budget: float, report: ProgressSink, stop: threading.Event
    ) -> tuple[Task | None, LumaError | None]:
        """Look at the task, then poll (sparingly) until its phase changes, `budget` seconds
        pass or `stop` is set. The client's wait holds the bound whatever the gateway does.

        Returns:
            The last task seen (None if no look succeeded), and the last transient error.
        """
        phase: tuple[TaskState, bool] | None = None
        problem: LumaError | None = None

        def on_update(current: Task) -> None:
            nonlocal phase
            if phase is None:  # first sight: what a change is measured against
                phase = (current.state, current.is_finished)
                if budget > 0 and not current.is_finished:
                    report(
                        ProgressUpdate(
                            f"task {task_id}: {current.state.value}, waiting up to "
                            f"{budget:.0f} s for a change",
                            0,
                            budget,
                            {"tool": QUERY_TOOL, "task_id": task_id, "state": current.state.value},
                        )
                    )
            elif (current.state, current.is_finished) != phase:
                stop.set()

        def on_poll(event: PollEvent) -> None:
            nonlocal problem
            problem = event.error or problem
            state = event.task.state.value if event.task else "unknown"
            report(
                ProgressUpdate(
                    f"task {task_id}: {state} after {event.elapsed:.0f} s",
                    round(event.elapsed, 1),
                    budget,
                    {
                        "tool": QUERY_TOOL,
                        "task_id": task_id,
                        "state": state,
                        "polls": event.polls,
                        "elapsed": round(event.elapsed, 1),
                    },
                )
            )

        try:
            task = self.client.wait(
                task_id, timeout=budget, on_update=on_update, on_poll=on_poll, cancel=stop
            )
            return task, None
        except (WaitCancelledError, WaitTimeoutError) as stopped:
            return stopped.task, problem
        except TaskFailedError as failed:
            return failed.task, None


def _safe(progress: ProgressSink | None) -> ProgressSink:
    """`progress` made harmless: progress is a courtesy and must not break the call."""

    def report(update: ProgressUpdate) -> None:
        if progress is None:
            return
        try:
            progress(update)
        except Exception:
            log.debug("progress listener failed", exc_info=True)

    return report
