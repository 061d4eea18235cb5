"""Data models: the create/extend request, the task, and its state.

Gateways that resell the Luma API disagree on almost every detail of their replies, so
[`Task.from_payload`][luma_tools.Task.from_payload] accepts all the variants seen in the wild and
normalises them into one small, typed object. The original JSON is always kept in `Task.raw`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypedDict, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._exceptions import InvalidInputError
from ._ids import usable_task_id
from ._images import resolve_image
from ._text import clean_text
from ._urls import check_http_url

__all__ = [
    "ASPECT_RATIOS",
    "AspectRatio",
    "GenerationOptions",
    "GenerationRequest",
    "Task",
    "TaskState",
]

log = logging.getLogger("luma_tools")
_T = TypeVar("_T")

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"]
#: The aspect ratios gateways accept.
ASPECT_RATIOS: tuple[str, ...] = get_args(AspectRatio)

#: Longest prompt accepted (the upstream Luma limit).
MAX_PROMPT_CHARS = 5000
#: Longest failure reason kept from a reply (one gateway sent 200,000 characters).
MAX_REASON_CHARS = 500
#: Longest URL kept from a reply (presigned links run to 1-2 KB).
MAX_URL_CHARS = 8192
_MAX_STATE_CHARS = 40


class TaskState(StrEnum):
    """The normalised state of a task.

    Gateways use several vocabularies (`pending`/`processing`, `queued`/`dreaming`,
    `IN_PROGRESS`/`SUCCESS`); they all map onto these five values. `UNKNOWN` is anything new and is
    treated as still running.
    """

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def from_raw(cls, raw: str | None) -> TaskState:
        """Map a gateway's state word (any case) onto a `TaskState`.

        Example:
            ```python
            from luma_tools import TaskState

            assert TaskState.from_raw("dreaming") is TaskState.RUNNING
            assert TaskState.from_raw("IN_PROGRESS") is TaskState.RUNNING
            assert TaskState.from_raw("SUCCESS") is TaskState.COMPLETED
            ```
        """
        if raw is None:
            return cls.QUEUED
        return _STATE_WORDS.get(raw.strip().lower(), cls.UNKNOWN)

    @property
    def is_terminal(self) -> bool:
        """True for `COMPLETED` and `FAILED`."""
        return self in (TaskState.COMPLETED, TaskState.FAILED)


_STATE_WORDS: dict[str, TaskState] = {
    **dict.fromkeys(
        ("pending", "queued", "submitted", "not_start", "not_started", "waiting", "created"),
        TaskState.QUEUED,
    ),
    **dict.fromkeys(
        ("processing", "dreaming", "in_progress", "running", "generating", "started"),
        TaskState.RUNNING,
    ),
    **dict.fromkeys(
        ("completed", "complete", "success", "succeeded", "succeed", "done", "finished"),
        TaskState.COMPLETED,
    ),
    **dict.fromkeys(
        ("failed", "failure", "fail", "error", "cancelled", "canceled"), TaskState.FAILED
    ),
}


# --------------------------------------------------------------------------------------------
# Reading lenient JSON


def _dig(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or None as soon as a step is missing or not an object."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any, limit: int = MAX_PROMPT_CHARS) -> str | None:
    """A non-empty, cleaned string, or None (gateways send "", null or numbers for missing values).

    Text from a reply is untrusted: control characters are dropped and its length is capped.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value) if isinstance(value, int) or math.isfinite(value) else ""
    if not isinstance(value, str):
        return None
    return clean_text(value, limit) or None


def _url(value: Any) -> str | None:
    """An http(s) URL, or None: a `file://`, `javascript:` or malformed link is dropped."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_URL_CHARS:
        return None
    try:
        return check_http_url("url", value)
    except InvalidInputError:
        return None


def _first_url(data: Mapping[str, Any], *paths: tuple[str, ...]) -> str | None:
    """The first usable URL among `paths`; an object found there yields its `url`."""
    for path in paths:
        value = _dig(data, *path)
        if isinstance(value, Mapping):
            value = value.get("url")
        url = _url(value)
        if url is not None:
            return url
    return None


def _number(value: Any) -> float | None:
    """A finite, non-negative number, or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "soon", or an integer too big for a float
        return None
    return number if math.isfinite(number) and number >= 0 else None


# Epoch numbers bigger than these are in milli-, micro- or nanoseconds (1e11 s is year 5138).
_EPOCH_DIVISORS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))
# A task's timestamps fall between these (2000-01-01 and 2100-01-01 UTC); others are garbage.
_PLAUSIBLE_EPOCH = (946684800.0, 4102444800.0)


def _timestamp(value: Any) -> datetime | None:
    """Parse ISO-8601 text or an epoch number (s, ms, us or ns); anything else gives None.

    Go's zero time ("0001-01-01T00:00:00Z") means unset; absurd values (`1e20`, negative,
    NaN) are dropped rather than raised: a bad field never costs the task.
    """
    number = _number(value) if not isinstance(value, str) or value.strip().isdigit() else None
    if number is not None:
        for limit, divisor in _EPOCH_DIVISORS:
            if number >= limit:
                number /= divisor
                break
        if not _PLAUSIBLE_EPOCH[0] <= number < _PLAUSIBLE_EPOCH[1]:
            return None
        return datetime.fromtimestamp(number, UTC)
    text = _text(value, 64)
    if text is None:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.year <= 1:  # Go's zero time
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _reply_id(*candidates: Any) -> str:
    """The first id a reply offers, checked as strictly as a user's (never cleaned up)."""
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            problem = usable_task_id(value.strip())
            if problem is not None:
                raise ValueError(f"the reply's task id {problem}")
            return value.strip()
    raise ValueError("the reply holds no task id")


def _guarded(parse: Callable[[], _T], field: str) -> _T | None:
    """`parse()`, or None if the gateway's value for `field` makes it fail in any way."""
    try:
        return parse()
    except (ValueError, TypeError, OverflowError, OSError, RecursionError) as exc:
        log.debug("ignoring the reply's unusable %s (%s)", field, type(exc).__name__)
        return None


def _unwrap(payload: Any) -> dict[str, Any]:
    """Find the task object inside any envelope a gateway wraps it in."""
    for _ in range(5):  # envelopes nest at most a couple of levels deep
        if isinstance(payload, list):
            if not payload:
                raise ValueError("the gateway returned an empty list")
            payload = payload[0]
            continue
        if not isinstance(payload, Mapping):
            raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
        inner = payload.get("data")
        if "task_id" in payload and isinstance(inner, Mapping) and "id" in payload:
            # A gateway task record: {"id": 13917, "task_id": "...", "status": ..., "data": task}
            merged = dict(inner)
            merged.setdefault("id", payload["task_id"])
            merged.setdefault("state", payload.get("status"))
            merged.setdefault("failure_reason", payload.get("fail_reason"))
            return merged
        if "id" not in payload and "state" not in payload and isinstance(inner, Mapping | list):
            payload = inner  # {"code":..., "data": task} or {"data": [task]}
            continue
        return dict(payload)
    raise ValueError("the task is nested too deeply")


# --------------------------------------------------------------------------------------------
# Task

# Unwatermarked files first, in the order the gateway reference recommends.
_DOWNLOAD_PATHS: tuple[tuple[str, ...], ...] = (
    ("video", "download_url"),
    ("video_raw", "url"),
    ("artifact", "video", "download_url"),
    ("artifact", "video_raw", "url"),
    ("assets", "video"),
)
# Where the video is when no unwatermarked file is (looked at after _DOWNLOAD_PATHS).
_WATERMARKED_PATHS: tuple[tuple[str, ...], ...] = (
    ("video", "url"),
    ("artifact", "video", "url"),
    ("video",),
    ("video_url",),
    ("output", "video_url"),
)
_THUMBNAIL_PATHS: tuple[tuple[str, ...], ...] = (
    ("thumbnail",),
    ("artifact", "thumbnail"),
    ("video", "thumbnail"),
    ("assets", "image"),
    ("output", "cover_url"),
)
_LAST_FRAME_PATHS: tuple[tuple[str, ...], ...] = (("last_frame",), ("artifact", "last_frame"))


class Task(BaseModel):
    """A video generation task, normalised from whatever shape the gateway sent.

    Attributes:
        id: The task id; use it with `get`, `wait`, `extend` and `download`.
        state: The normalised state.
        raw_state: The gateway's own state word (`pending`, `dreaming`...), if it sent one.
        prompt: The prompt, as echoed by the gateway.
        created_at: When the task was created (timezone-aware), if known.
        video_url: The best URL of the video: unwatermarked when available.
        download_url: An unwatermarked file URL from the task itself (`video.download_url` and
            the like); None means "ask the gateway's `download_video_url` endpoint".
        thumbnail_url: A thumbnail image, when known.
        last_frame_url: The video's last frame as an image, when known.
        failure_reason: Why the task failed, when it did and the gateway said.
        estimate_wait_seconds: The gateway's estimate of the seconds left, when it gave one.
        raw: The JSON exactly as the gateway sent it, unknown fields included.

    Example:
        ```python
        from luma_tools import Task, TaskState

        task = Task.from_payload({"id": "9d4b7516", "state": "processing", "video": None})
        assert task.state is TaskState.RUNNING and task.raw_state == "processing"
        assert not task.is_finished
        ```
    """

    model_config = ConfigDict(frozen=True)

    id: str
    state: TaskState
    raw_state: str | None = None
    prompt: str | None = None
    created_at: datetime | None = None
    video_url: str | None = None
    download_url: str | None = None
    thumbnail_url: str | None = None
    last_frame_url: str | None = None
    failure_reason: str | None = None
    estimate_wait_seconds: float | None = None
    raw: Any = Field(default=None, repr=False)

    @classmethod
    def from_payload(cls, payload: Any, *, task_id: str | None = None) -> Task:
        """Build a task from any gateway reply: a flat object, a JSON array, `{task_id}`, a
        `{code, message, data}` envelope, `{"data": [...]}`, or a batch task record.

        Args:
            payload: The parsed JSON.
            task_id: The id the reply is known to be about (the one asked for); it wins over
                whatever id the reply itself carries.

        Raises:
            ValueError: When the reply holds no usable task id (and none was known): ids name
                files and URL paths, so `../../x` is refused, not cleaned up.
        """
        task = _unwrap(payload)
        data = task.get("data")
        hints: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if task_id is None:
            task_id = _reply_id(task.get("id"), task.get("task_id"), hints.get("task_id"))
        raw_state = (
            _text(task.get("state"), _MAX_STATE_CHARS)
            or _text(task.get("status"), _MAX_STATE_CHARS)
            or _text(hints.get("task_status"), _MAX_STATE_CHARS)
        )
        state = TaskState.from_raw(raw_state)
        failure = _text(task.get("failure_reason"), MAX_REASON_CHARS) or _text(
            task.get("fail_reason"), MAX_REASON_CHARS
        )
        if state is not TaskState.FAILED:
            failure = None  # some gateways send "" or a stale reason while running
        created = _guarded(lambda: _timestamp(task.get("created_at")), "created_at") or _guarded(
            lambda: _timestamp(_dig(task, "artifact", "created_at")), "artifact.created_at"
        )
        download_url = _first_url(task, *_DOWNLOAD_PATHS)
        return cls(
            id=task_id,
            state=state,
            raw_state=raw_state,
            prompt=_text(task.get("prompt"))
            or _text(_dig(task, "request", "prompt"))
            or _text(task.get("user_prompt")),
            created_at=created,
            video_url=download_url or _first_url(task, *_WATERMARKED_PATHS),
            download_url=download_url,
            thumbnail_url=_first_url(task, *_THUMBNAIL_PATHS),
            last_frame_url=_first_url(task, *_LAST_FRAME_PATHS),
            failure_reason=failure,
            estimate_wait_seconds=_number(task.get("estimate_wait_seconds")),
            raw=payload,
        )

    @property
    def is_finished(self) -> bool:
        """True when there is nothing left to wait for: failed, or completed *with* a video URL.

        Gateways sometimes report `completed` a moment before the video URL appears; such a task
        is not finished yet.
        """
        return self.state is TaskState.FAILED or (
            self.state is TaskState.COMPLETED and self.video_url is not None
        )

    def summary(self) -> dict[str, Any]:
        """A compact, JSON-ready view (no raw payload): what CLIs and tools print."""
        return self.model_dump(mode="json", exclude={"raw"}, exclude_none=True)


# --------------------------------------------------------------------------------------------
# Requests


class GenerationOptions(TypedDict, total=False):
    """Optional settings of a create or extend request (all passed through to the gateway).

    The keys are exactly the optional fields of
    [`GenerationRequest`][luma_tools.GenerationRequest], where each is described and validated
    (a test keeps the two in step).
    """

    aspect_ratio: AspectRatio
    expand_prompt: bool
    loop: bool
    image_url: str
    image_end_url: str
    notify_hook: str
    model_name: str
    duration: str
    resolution: str


class GenerationRequest(BaseModel):
    """The body of a create or extend request, validated before anything is sent.

    Unset fields are left out of the body. `image_url` and `image_end_url` accept an http(s)
    URL, a `data:image/...;base64,` URI, or a local image file (inlined as a data URI).

    Example:
        ```python
        from luma_tools import GenerationRequest

        body = GenerationRequest.build(user_prompt="a cat surfing", aspect_ratio="9:16").to_body()
        assert body == {"user_prompt": "a cat surfing", "aspect_ratio": "9:16"}
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_prompt: str = Field(description="What the video shows.")
    aspect_ratio: AspectRatio | None = Field(default=None, description="Frame shape.")
    expand_prompt: bool | None = Field(
        default=None, description="Let the gateway rewrite the prompt in more detail."
    )
    loop: bool | None = Field(default=None, description="Make the end flow back into the start.")
    image_url: str | None = Field(default=None, description="Start frame.")
    image_end_url: str | None = Field(default=None, description="End frame.")
    notify_hook: str | None = Field(default=None, description="URL the gateway POSTs updates to.")
    model_name: str | None = Field(default=None, description="e.g. ray-v2.")
    duration: str | None = Field(default=None, description='e.g. "5s".')
    resolution: str | None = Field(default=None, description='e.g. "720p".')

    @field_validator("user_prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the prompt is blank; describe the video to generate")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"the prompt has {len(value)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        return value

    @field_validator("image_url", "image_end_url")
    @classmethod
    def _image(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else resolve_image(info.field_name, value)

    @field_validator("notify_hook")
    @classmethod
    def _hook(cls, value: str | None) -> str | None:
        return (
            None
            if value is None
            else check_http_url(
                "notify_hook", value.strip(), hint="Pass the http(s) URL the gateway should call"
            )
        )

    @field_validator("model_name", "duration", "resolution", mode="before")
    @classmethod
    def _passthrough(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value.strip() or None
        return value

    @classmethod
    def build(cls, **fields: Any) -> GenerationRequest:
        """Validate `fields`; the first problem raises `InvalidInputError` naming the field."""
        try:
            return cls(**{k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:
            raise _input_error(exc) from None

    def to_body(self, *, bool_as_string: bool = False) -> dict[str, Any]:
        """The JSON body; booleans become `"true"`/`"false"` if `bool_as_string`."""
        body = self.model_dump(exclude_none=True)
        if bool_as_string:
            body = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in body.items()}
        return body


def _input_error(exc: ValidationError) -> InvalidInputError:
    """The first problem of a pydantic `ValidationError` as an `InvalidInputError`."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "request"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidInputError):
        return cause
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(GenerationRequest.model_fields)
        return InvalidInputError(field, "is not a known option", hint=f"Known options: {allowed}")
    if error["type"] == "literal_error" and field == "aspect_ratio":
        return InvalidInputError(
            field,
            f"{error['input']!r} is not supported",
            hint=f"Use one of {', '.join(ASPECT_RATIOS)}",
        )
    message = str(cause) if cause is not None else error["msg"]
    return InvalidInputError(field, message[0].lower() + message[1:])
