"""`luma_download_video`: save a completed task's MP4 to local disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ..agent import DOWNLOAD, LumaDownloadVideoInput, ToolSpec
from ._base import LumaTool

__all__ = ["LumaDownloadVideo", "LumaDownloadVideoInput"]


class LumaDownloadVideo(LumaTool):
    """Download a completed task's video into `output_dir` (streamed, resumable, atomic).

    The model only chooses a plain file name: files always land in `output_dir`, so a
    prompt cannot make the tool write elsewhere.

    Example:
        ```python
        from luma_tools.tools import LumaDownloadVideo

        tool = LumaDownloadVideo(client=client, output_dir="videos")
        # `task` is a completed task (from `client.wait`, say):
        print(tool.invoke({"task_id": task.id, "filename": "boat.mp4"}))  # saved videos/boat.mp4
        ```
    """

    spec: ClassVar[ToolSpec] = DOWNLOAD
    name: str = DOWNLOAD.name
    description: str = DOWNLOAD.description
    args_schema: type[BaseModel] = LumaDownloadVideoInput
    output_dir: Path = Field(default_factory=Path.cwd)
    """Folder the videos are saved in (created when missing)."""

    def _core_options(self) -> dict[str, Any]:
        return {"output_dir": self.output_dir}
