"""Argument types of the tool schemas; each carries the description the model reads.

Arguments come from a model, so they are untrusted: a file name must stay a plain name, an
image path must be a path (no NUL byte), and every refusal names the field and the fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from .._destination import check_file_name
from .._exceptions import InvalidInputError
from ._names import MAX_WAIT_SECONDS, QUERY_TOOL

__all__ = [
    "AspectRatioArg",
    "DurationArg",
    "ExpandPromptArg",
    "FilenameArg",
    "ImageArg",
    "ImageEndArg",
    "LoopArg",
    "ModelNameArg",
    "NotifyHookArg",
    "OverwriteArg",
    "PromptArg",
    "ResolutionArg",
    "TaskIdArg",
    "VideoOptions",
    "WaitSecondsArg",
]


def _no_control_characters(value: str | None) -> str | None:
    # Before the folder rule resolves the path: a NUL byte would make that fail obscurely.
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("contains a NUL byte or another control character; pass a plain path")
    return value


def _plain_file_name(value: str | None) -> str | None:
    """A plain `.mp4` file name (the core's rule), or a ValueError saying what to pass."""
    if value is None:
        return None
    try:
        name = check_file_name("filename", value)
        return check_file_name("filename", name if name.lower().endswith(".mp4") else f"{name}.mp4")
    except InvalidInputError as exc:
        raise ValueError(f"{exc.message.split(': ', 1)[-1]}; {exc.hint.lower()}") from None


PromptArg = Annotated[
    str,
    Field(
        min_length=1,
        description="What the video shows: subject, action, setting, camera and style, in one "
        "or two sentences.",
    ),
]
TaskIdArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="The task id exactly as returned by luma_create_video or luma_extend_video.",
    ),
]
AspectRatioArg = Annotated[
    Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"] | None,
    Field(description="Frame shape. 16:9 landscape (the default), 9:16 vertical, 1:1 square."),
]
ExpandPromptArg = Annotated[
    bool | None,
    Field(description="Let the service enrich a short prompt with detail. Default true."),
]
LoopArg = Annotated[
    bool | None, Field(description="Make the last frame flow back into the first. Default false.")
]
ImageArg = Annotated[
    str | None,
    AfterValidator(_no_control_characters),
    Field(description="Optional start frame: an https image URL or a local image file path."),
]
ImageEndArg = Annotated[
    str | None,
    AfterValidator(_no_control_characters),
    Field(description="Optional end frame: an https image URL or a local image file path."),
]
ModelNameArg = Annotated[
    str | None, Field(description="Optional model name, e.g. ray-v2. Omit for the default.")
]
DurationArg = Annotated[
    str | None, Field(description='Optional clip length, e.g. "5s". Omit for the default.')
]
ResolutionArg = Annotated[
    str | None, Field(description='Optional resolution, e.g. "720p". Omit for the default.')
]
NotifyHookArg = Annotated[
    str | None,
    Field(
        description="Optional https URL the gateway POSTs to when the task changes state. "
        "Only set it if the user gave you one."
    ),
]
WaitSecondsArg = Annotated[
    int,
    Field(
        ge=0,
        description=f"Seconds to wait for the state to change before answering (0 to "
        f"{MAX_WAIT_SECONDS}; larger values are capped). Use {MAX_WAIT_SECONDS} while the "
        f"task is queued or running instead of calling {QUERY_TOOL} again right away.",
    ),
]
FilenameArg = Annotated[
    str | None,
    AfterValidator(_plain_file_name),
    Field(
        description="Optional file name such as 'fox.mp4' (a plain name, no folders). "
        "Default: '<task_id>.mp4'.",
    ),
]
OverwriteArg = Annotated[
    bool, Field(description="Replace an existing file of that name. Default false.")
]


class VideoOptions(BaseModel):
    """Optional settings shared by create and extend; None leaves the choice to the gateway.

    Input schemas list it *first* among their bases so that their own required fields come
    first in the schema the model reads (pydantic orders fields from the last base up).
    """

    aspect_ratio: AspectRatioArg = None
    expand_prompt: ExpandPromptArg = None
    loop: LoopArg = None
    image_end_url: ImageEndArg = None
    model_name: ModelNameArg = None
    duration: DurationArg = None
    resolution: ResolutionArg = None
    notify_hook: NotifyHookArg = None
