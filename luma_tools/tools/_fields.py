"""Argument types shared by the tool schemas; each carries the description the model reads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AspectRatioArg",
    "DurationArg",
    "ExpandPromptArg",
    "ImageArg",
    "ImageEndArg",
    "LoopArg",
    "ModelNameArg",
    "NotifyHookArg",
    "PromptArg",
    "ResolutionArg",
    "TaskIdArg",
    "VideoOptions",
]

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
    Field(description="Optional start frame: an https image URL or a local image file path."),
]
ImageEndArg = Annotated[
    str | None,
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
