"""`luma_query_task`: a task's state, waiting a bounded time for it to change."""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.tools import ToolException
from pydantic import BaseModel, Field

from .._client import PollEvent
from .._exceptions import TaskFailedError, WaitCancelledError, WaitTimeoutError
from .._models import Task
from ._base import LumaTool
from ._events import report_progress
from ._fields import TaskIdArg
from ._messages import MAX_WAIT_SECONDS, QUERY_TOOL, describe_error, describe_task, next_step

__all__ = ["LumaQueryTask", "LumaQueryTaskInput"]


class LumaQueryTaskInput(BaseModel):
    """Arguments of `luma_query_task` (the field descriptions are what the model reads)."""

    task_id: TaskIdArg
    wait_seconds: int = Field(
        default=30,
        ge=0,
        description=f"Seconds to wait for the state to change before answering (0 to "
        f"{MAX_WAIT_SECONDS}; larger values are capped). Use {MAX_WAIT_SECONDS} while the "
        "task is queued or running instead of calling again right away.",
    )


class LumaQueryTask(LumaTool):
    """Report a task's state; while it runs, wait up to `wait_seconds` for it to change.

    The bounded wait keeps an agent from spinning on back-to-back status calls, and stays
    below common tool-call timeouts. Whatever happens, the answer carries the task id and its
    last known state.

    Example:
        ```python
        from luma_tools.tools import LumaQueryTask

        tool = LumaQueryTask(client=client)
        task = client.create("a paper boat on a stream")
        print(tool.invoke({"task_id": task.id, "wait_seconds": 10}))  # waits for a change
        ```
    """

    name: str = QUERY_TOOL
    description: str = (
        "Get the state of a Luma video task (queued, running, completed or failed). While it "
        "is unfinished it waits up to wait_seconds (max 45) for the state to change, so call "
        "it with wait_seconds=45 and repeat until completed; no need to pause in between. "
        "When completed it gives the video link; then call luma_download_video to save it."
    )
    args_schema: type[BaseModel] = LumaQueryTaskInput
    max_wait_seconds: float = MAX_WAIT_SECONDS
    """The cap on `wait_seconds`, whatever the model asks for."""

    def _call(
        self, run_manager: CallbackManagerForToolRun | None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        started = time.monotonic()
        task = self.client.get(arguments["task_id"])
        budget = min(float(arguments.get("wait_seconds", 30)), self.max_wait_seconds)
        if budget > 0 and not task.is_finished:
            task = self._wait_for_change(task, budget, run_manager)
        if task.state.value == "failed":
            raise ToolException(describe_error(TaskFailedError(task), tool=self.name))
        waited = time.monotonic() - started
        waited_text = f" (checked for {waited:.0f} s)" if waited >= 1 else ""
        content = f"{describe_task(task)}{waited_text} {next_step(task)}"
        return content, task.summary()

    def _wait_for_change(
        self, task: Task, budget: float, run_manager: CallbackManagerForToolRun | None
    ) -> Task:
        """Poll (sparingly) until the task's phase changes or `budget` seconds pass."""
        phase = (task.state, task.is_finished)
        changed = threading.Event()

        def on_update(current: Task) -> None:
            if (current.state, current.is_finished) != phase:
                changed.set()

        def on_poll(event: PollEvent) -> None:
            state = event.task.state.value if event.task else "unknown"
            report_progress(
                {
                    "tool": self.name,
                    "task_id": task.id,
                    "state": state,
                    "polls": event.polls,
                    "elapsed": round(event.elapsed, 1),
                    "message": f"task {task.id}: {state} after {event.elapsed:.0f} s",
                },
                run_manager,
            )

        try:
            return self.client.wait(
                task, timeout=budget, on_update=on_update, on_poll=on_poll, cancel=changed
            )
        except (WaitCancelledError, WaitTimeoutError) as stopped:
            return stopped.task or task
        except TaskFailedError as failed:
            return failed.task
