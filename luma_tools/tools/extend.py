"""`luma_extend_video`: continue a completed video with a new prompt."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from pydantic import BaseModel

from ._base import LumaTool, options_from
from ._events import report_progress
from ._fields import PromptArg, TaskIdArg, VideoOptions
from ._messages import EXTEND_TOOL, describe_task, next_step

__all__ = ["LumaExtendVideo", "LumaExtendVideoInput"]


class _ExtendTarget(BaseModel):
    task_id: TaskIdArg
    prompt: PromptArg


class LumaExtendVideoInput(VideoOptions, _ExtendTarget):
    """Arguments of `luma_extend_video` (the field descriptions are what the model reads)."""


class LumaExtendVideo(LumaTool):
    """Continue a completed Luma video by about 5 seconds; returns the new task at once.

    Example:
        ```python
        from luma_tools.tools import LumaExtendVideo

        tool = LumaExtendVideo(client=client)
        # `task` is a completed task (from `client.wait`, say):
        print(tool.invoke({"task_id": task.id, "prompt": "the boat sails into the harbour"}))
        ```
    """

    name: str = EXTEND_TOOL
    description: str = (
        "Continue a COMPLETED video (given by its task_id) with a new prompt describing what "
        "happens next; creates a new task of about 5 more seconds and returns its id at once. "
        "Then call luma_query_task with the NEW task_id and wait_seconds=45 until completed. "
        "Billed like luma_create_video: never call it twice for the same request."
    )
    args_schema: type[BaseModel] = LumaExtendVideoInput

    def _call(
        self, run_manager: CallbackManagerForToolRun | None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        source = arguments["task_id"]
        task = self.client.extend(
            source, arguments["prompt"], **options_from(arguments, "task_id", "prompt")
        )
        report_progress(
            {
                "tool": self.name,
                "task_id": task.id,
                "extends": source,
                "state": task.state.value,
                "message": f"extending {source} as task {task.id}",
            },
            run_manager,
        )
        content = f'Extension of "{source}" created. {describe_task(task)} {next_step(task)}'
        return content, {**task.summary(), "extends": source}
