"""The argument schemas of the four tools (what both the LangChain and the MCP tools accept).

The field descriptions are what a model reads; the class docstrings are not sent.
"""

from __future__ import annotations

from pydantic import BaseModel

from ._fields import (
    FilenameArg,
    ImageArg,
    OverwriteArg,
    PromptArg,
    TaskIdArg,
    VideoOptions,
    WaitSecondsArg,
)
from ._names import DEFAULT_WAIT_SECONDS

__all__ = [
    "LumaCreateVideoInput",
    "LumaDownloadVideoInput",
    "LumaExtendVideoInput",
    "LumaQueryTaskInput",
]


class _CreateTarget(BaseModel):
    prompt: PromptArg
    image_url: ImageArg = None


class LumaCreateVideoInput(VideoOptions, _CreateTarget):
    """Arguments of `luma_create_video` (the field descriptions are what the model reads)."""


class _ExtendTarget(BaseModel):
    task_id: TaskIdArg
    prompt: PromptArg


class LumaExtendVideoInput(VideoOptions, _ExtendTarget):
    """Arguments of `luma_extend_video` (the field descriptions are what the model reads)."""


class LumaQueryTaskInput(BaseModel):
    """Arguments of `luma_query_task` (the field descriptions are what the model reads)."""

    task_id: TaskIdArg
    wait_seconds: WaitSecondsArg = DEFAULT_WAIT_SECONDS


class LumaDownloadVideoInput(BaseModel):
    """Arguments of `luma_download_video` (the field descriptions are what the model reads)."""

    task_id: TaskIdArg
    filename: FilenameArg = None
    overwrite: OverwriteArg = False
