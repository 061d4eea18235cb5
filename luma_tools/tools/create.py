"""`luma_create_video`: start a text-to-video (or image-to-video) generation."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from ..agent import CREATE, LumaCreateVideoInput, ToolSpec
from ._base import LumaTool

__all__ = ["LumaCreateVideo", "LumaCreateVideoInput"]


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

    spec: ClassVar[ToolSpec] = CREATE
    name: str = CREATE.name
    description: str = CREATE.description
    args_schema: type[BaseModel] = LumaCreateVideoInput
