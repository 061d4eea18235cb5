"""`luma_download_video`: save a completed task's MP4 to local disk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from pydantic import BaseModel, Field, field_validator

from ._base import LumaTool
from ._events import report_progress
from ._fields import TaskIdArg
from ._messages import DOWNLOAD_TOOL

__all__ = ["LumaDownloadVideo", "LumaDownloadVideoInput"]

_PROGRESS_EVERY = 1.0  # seconds between progress reports


class LumaDownloadVideoInput(BaseModel):
    """Arguments of `luma_download_video` (the field descriptions are what the model reads)."""

    task_id: TaskIdArg
    filename: str | None = Field(
        default=None,
        description="Optional file name such as 'fox.mp4' (a plain name, no folders). "
        "Default: '<task_id>.mp4'.",
    )
    overwrite: bool = Field(
        default=False, description="Replace an existing file of that name. Default false."
    )

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
            raise ValueError("use a plain file name such as 'fox.mp4', without folders")
        return name if name.lower().endswith(".mp4") else f"{name}.mp4"


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

    name: str = DOWNLOAD_TOOL
    description: str = (
        "Save the MP4 of a COMPLETED Luma task to local disk and return its path and size. "
        "If the task is not completed yet it says so; then call luma_query_task with "
        "wait_seconds=45 first."
    )
    args_schema: type[BaseModel] = LumaDownloadVideoInput
    output_dir: Path = Field(default_factory=Path.cwd)
    """Folder the videos are saved in (created when missing)."""

    def _call(
        self, run_manager: CallbackManagerForToolRun | None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        task_id = arguments["task_id"]
        # `client.download` creates the folder (and refuses to overwrite unless told to).
        target = self.output_dir.expanduser() / (arguments.get("filename") or f"{task_id}.mp4")
        last_report = 0.0

        def on_progress(done: int, total: int | None) -> None:
            nonlocal last_report
            now = time.monotonic()
            if now - last_report < _PROGRESS_EVERY and done != total:
                return
            last_report = now
            share = f" of {total}" if total else ""
            report_progress(
                {
                    "tool": self.name,
                    "task_id": task_id,
                    "bytes": done,
                    "total": total,
                    "message": f"task {task_id}: {done}{share} bytes",
                },
                run_manager,
            )

        task = self.client.get(task_id)
        path = self.client.download(
            task, target, overwrite=bool(arguments.get("overwrite")), on_progress=on_progress
        ).resolve()
        size = path.stat().st_size
        content = (
            f'Saved the video of task "{task_id}" to {path} ({size / 1e6:.1f} MB). '
            "Next: tell the user where the file is."
        )
        return content, {"task": task.summary(), "path": str(path), "bytes": size}
