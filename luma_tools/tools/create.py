"""`luma_create_video`: start a text-to-video (or image-to-video) generation."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from pydantic import BaseModel

from ._base import LumaTool, options_from
from ._events import report_progress
from ._fields import ImageArg, PromptArg, VideoOptions
from ._messages import CREATE_TOOL, describe_task, next_step

__all__ = ["LumaCreateVideo", "LumaCreateVideoInput"]


class _CreateTarget(BaseModel):
    prompt: PromptArg
    image_url: ImageArg = None


class LumaCreateVideoInput(VideoOptions, _CreateTarget):
    """Arguments of `luma_create_video` (the field descriptions are what the model reads)."""


class LumaCreateVideo(LumaTool):
    """Start a Luma video generation; returns at once with the task id.

    Setup:
        ```bash
        pip install "luma-tools[langchain]"
        export LUMA_API_KEY=sk-...  LUMA_BASE_URL=https://your-gateway.example.com
        ```

    Invoke directly:
        The content comes back; the artifact is dropped.

        ```python
        from luma_tools.tools import LumaCreateVideo

        tool = LumaCreateVideo(client=client)
        text = tool.invoke(
            {"prompt": "a paper boat drifting down a rainy street", "aspect_ratio": "9:16"}
        )
        print(text)  # Created. Task "<id>" is queued ... Next: call luma_query_task ...
        ```

    Invoke with a ToolCall:
        A `ToolMessage` comes back, whose `artifact` is the full task.

        ```python
        from luma_tools.tools import LumaCreateVideo

        tool = LumaCreateVideo(client=client)
        message = tool.invoke(
            {
                "name": "luma_create_video",
                "args": {"prompt": "a lighthouse at dawn"},
                "id": "call_1",
                "type": "tool_call",
            }
        )
        print(message.content)  # the text a model sees
        print(message.artifact["id"], message.artifact["state"])  # the task, as JSON
        ```
    """

    name: str = CREATE_TOOL
    description: str = (
        "Start generating a short AI video (about 5 s) from a text prompt, optionally with a "
        "start and/or end image. Returns at once with a task id; the video takes 1-5 minutes. "
        "Then call luma_query_task with that task_id and wait_seconds=45 until the state is "
        "completed, then luma_download_video. Each call is billed: never call it twice for the "
        "same request."
    )
    args_schema: type[BaseModel] = LumaCreateVideoInput

    def _call(
        self, run_manager: CallbackManagerForToolRun | None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        task = self.client.create(arguments["prompt"], **options_from(arguments, "prompt"))
        report_progress(
            {
                "tool": self.name,
                "task_id": task.id,
                "state": task.state.value,
                "message": f"created task {task.id}",
            },
            run_manager,
        )
        content = (
            f"Created. {describe_task(task)} Videos usually take 1-5 minutes. {next_step(task)}"
        )
        return content, task.summary()
