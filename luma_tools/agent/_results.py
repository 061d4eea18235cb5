"""What a tool call gives back: short text for the model, structured data for code.

The structured data is the LangChain tool's artifact and the MCP tool's `structuredContent`;
`TaskData` and `DownloadData` are its schemas (MCP's `outputSchema`). Gateway text in it is
cleaned and capped too: some MCP hosts show structured content to the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .._models import MAX_PROMPT_CHARS, Task, TaskState
from ._text import quote

__all__ = [
    "DownloadData",
    "ProgressSink",
    "ProgressUpdate",
    "TaskData",
    "ToolResult",
    "task_data",
]

_MAX_URL = 4096  # presigned links run to 1-2 KB; anything far longer is not a link
_MAX_TEXT = 2000


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call, as both adapters hand it on.

    Attributes:
        content: What the model reads (at most 1,000 characters, ending with the next step).
        data: The structured result (a `TaskData` or `DownloadData` dump); None for errors.
        is_error: True when the call failed; `content` then says what to do.
        file: The saved video, for a download.
    """

    content: str
    data: dict[str, Any] | None = None
    is_error: bool = False
    file: Path | None = None


@dataclass(frozen=True)
class ProgressUpdate:
    """One progress report of a long call (a bounded wait, a download).

    Attributes:
        message: One line for people, e.g. `task 9d4b...: running after 12 s`.
        progress: A number that grows with every update (seconds waited, bytes saved).
        total: What `progress` grows towards, when known.
        data: The same as JSON-ready fields (`tool`, `task_id`, `state`, `bytes`...).
    """

    message: str
    progress: float
    total: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


#: Receives progress updates; must return quickly and never raise.
ProgressSink = Callable[[ProgressUpdate], None]


class TaskData(BaseModel):
    """A task as the tools report it (the structured result of create, extend and query)."""

    id: str = Field(description="The task id; pass it to the other tools.")
    state: TaskState = Field(description="queued, running, completed, failed or unknown.")
    raw_state: str | None = Field(default=None, description="The gateway's own state word.")
    prompt: str | None = Field(default=None, description="The prompt, as the gateway echoed it.")
    created_at: str | None = Field(default=None, description="When it was created (ISO 8601).")
    video_url: str | None = Field(default=None, description="The video, once completed.")
    download_url: str | None = Field(default=None, description="An unwatermarked file URL.")
    thumbnail_url: str | None = Field(default=None, description="A thumbnail image.")
    last_frame_url: str | None = Field(default=None, description="The video's last frame.")
    failure_reason: str | None = Field(default=None, description="Why it failed.")
    estimate_wait_seconds: float | None = Field(
        default=None, description="The gateway's estimate of the seconds left."
    )
    extends: str | None = Field(default=None, description="The task this one continues.")


class DownloadData(BaseModel):
    """The structured result of a download."""

    task: TaskData = Field(description="The task whose video was saved.")
    path: str = Field(description="The saved MP4, as an absolute path.")
    bytes: int = Field(description="Its size in bytes.")


def _url(value: str | None) -> str | None:
    if value is None or len(value) > _MAX_URL or not value.startswith(("https://", "http://")):
        return None
    return value if quote(value, _MAX_URL) == value else None


def _text(value: str | None, limit: int = _MAX_TEXT) -> str | None:
    return None if value is None else quote(value, limit)


def task_data(task: Task, *, extends: str | None = None) -> dict[str, Any]:
    """`task` as a `TaskData` dump, gateway text cleaned and capped, odd links dropped."""
    summary = TaskData(
        id=task.id,
        state=task.state,
        raw_state=_text(task.raw_state, 64),
        prompt=_text(task.prompt, MAX_PROMPT_CHARS),
        created_at=task.created_at.isoformat() if task.created_at else None,
        video_url=_url(task.video_url),
        download_url=_url(task.download_url),
        thumbnail_url=_url(task.thumbnail_url),
        last_frame_url=_url(task.last_frame_url),
        failure_reason=_text(task.failure_reason),
        estimate_wait_seconds=task.estimate_wait_seconds,
        extends=extends,
    )
    return summary.model_dump(mode="json", exclude_none=True)
