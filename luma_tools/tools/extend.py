"""`luma_extend_video`: continue a completed video with a new prompt."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from ..agent import EXTEND, LumaExtendVideoInput, ToolSpec
from ._base import LumaTool

__all__ = ["LumaExtendVideo", "LumaExtendVideoInput"]


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

    spec: ClassVar[ToolSpec] = EXTEND
    name: str = EXTEND.name
    description: str = EXTEND.description
    args_schema: type[BaseModel] = LumaExtendVideoInput
