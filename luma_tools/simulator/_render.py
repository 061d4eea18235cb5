"""Render tasks, task records and errors in the dialect chosen by `Shapes`."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from ._files import LinkSigner, VideoClips
from ._shapes import Shapes
from ._tasks import WRONG_ESTIMATE_SHARE, EstimateMode, GatewayState, Snapshot, Task

__all__ = ["MediaInfo", "Renderer", "json_response", "state_name"]

_PALETTE: Final = {
    "grid": "em9csKqXYUgqdHVmmqeZLB8YaFpLjVw2bmFTTElBHhMNTzgodD8eVzUeTDorRSkYYEQymV80e1M0ck0ug"
    "WVRwKCApWk0hF1BgmVP"
}
_ZERO_TIME: Final = "0001-01-01T00:00:00Z"
_OFFICIAL_STATES: Final[dict[str, str]] = {"pending": "queued", "processing": "dreaming"}
_RECORD_STATUS: Final[dict[str, str]] = {
    "pending": "NOT_START",
    "processing": "IN_PROGRESS",
    "completed": "SUCCESS",
    "failed": "FAILURE",
}
_OFFICIAL_MODELS: Final = {"ray-v1": "ray-1-6", "ray-v2": "ray-2", "ray-v3": "ray-3"}
_OPENAI_TYPES: Final = {
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    429: "rate_limit_error",
}
_OPENAI_CODES: Final = {
    400: "invalid_request",
    401: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limit_exceeded",
}


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Nominal media properties: the duration, and the size reported when a served file
    has no readable dimensions (a `video_path` that is not an MP4)."""

    width: int = 480
    height: int = 270
    duration: float = 4.0


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A compact JSON response, as a Go server would write it."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(
        body, status=status, headers=headers, content_type="application/json; charset=utf-8"
    )


def state_name(shapes: Shapes, state: GatewayState, *, official: bool = False) -> str:
    """``state`` in the vocabulary ``shapes`` selects (always the official one if ``official``)."""
    if official or shapes.states == "official":
        return _OFFICIAL_STATES.get(state, state)
    return state


def _iso_micro(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_milli(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def request_id() -> str:
    """A random request id like gateways put in envelopes."""
    return uuid.uuid4().hex


class Renderer:
    """Turns task snapshots into JSON documents.

    Reads ``shapes`` on every call, so switching a shape takes effect immediately.
    """

    def __init__(
        self,
        *,
        shapes: Shapes,
        signer: LinkSigner,
        base_url: str,
        estimate: EstimateMode,
        vip_download_url: bool,
        media: MediaInfo,
        clips: VideoClips | None = None,
    ) -> None:
        """Create a renderer.

        Args:
            shapes: The live shape switches.
            signer: Presigns download links.
            base_url: ``http://host:port`` prefix of every URL.
            estimate: How ``estimate_wait_seconds`` is reported while unfinished (see
                `EstimateMode`).
            vip_download_url: Fill ``video.download_url`` (else it is ``""``).
            media: Nominal width/height/duration.
            clips: The served videos: each task reports its own clip's width and height.
        """
        self.shapes = shapes
        self.signer = signer
        self.base_url = base_url
        self.estimate = estimate
        self.vip = vip_download_url
        self.media = media
        self.clips = clips

    # -- URLs ---------------------------------------------------------------------------

    def download_url(self, task: Task) -> str:
        """A freshly presigned link to the task's video."""
        path = f"/files/{task.id}.mp4"
        return f"{self.base_url}{path}?{self.signer.sign(path)}"

    def _cdn(self, task: Task, name: str) -> str:
        return f"{self.base_url}/cdn/{task.id}/{name}"

    # -- building blocks ----------------------------------------------------------------

    def state_name(self, state: GatewayState, *, official: bool = False) -> str:
        """The state string in the active vocabulary."""
        return state_name(self.shapes, state, official=official)

    def _estimate(self, task: Task, snap: Snapshot) -> int | None:
        left = snap.estimate_seconds
        if left is None or self.estimate is False:
            return None
        if self.estimate is True:
            return left
        # Wrong gateways: they think the job is shorter than it is.
        total = task.timing.queue + task.timing.run
        guess = WRONG_ESTIMATE_SHARE * total
        if self.estimate == "stale":
            return math.ceil(guess)  # the same number on every reply
        return max(0, math.ceil(left - (total - guess)))  # "early": 0 before the end

    def _size(self, task: Task) -> dict[str, int]:
        """`width` and `height` of the video served for `task` (its aspect ratio's clip)."""
        found = self.clips.for_ratio(task.aspect_ratio).dimensions if self.clips else None
        width, height = found or (self.media.width, self.media.height)
        return {"width": width, "height": height}

    def _image(self, task: Task, url: str, *, palette: bool) -> dict[str, Any]:
        return {
            "url": url,
            **self._size(task),
            "palette": dict(_PALETTE) if palette else None,
            "media_type": "image",
        }

    def _video_raw(self, task: Task, url: str) -> dict[str, Any]:
        return {
            "url": url,
            **self._size(task),
            "duration": self.media.duration,
            "media_type": "video",
        }

    def _echo(self, task: Task) -> dict[str, Any]:
        return task.request or {"prompt": task.prompt, "aspect_ratio": task.aspect_ratio}

    # -- task flavours ------------------------------------------------------------------

    def flat_task(self, task: Task, snap: Snapshot) -> dict[str, Any]:
        """gpt-best "Example A": media objects at the top level."""
        video = thumbnail = video_raw = last_frame = None
        if snap.video_ready:
            download = self.download_url(task)
            thumb_url = self._cdn(task, "thumbnail.jpg")
            video = {
                "url": self._cdn(task, "video_watermarked.mp4"),
                **self._size(task),
                "thumbnail": thumb_url,
                "download_url": download if self.vip else "",
            }
            thumbnail = self._image(task, thumb_url, palette=True)
            video_raw = self._video_raw(task, download) if self.vip else None
            last_frame = self._image(task, self._cdn(task, "last_frame.jpg"), palette=False)
        return {
            "id": task.id,
            "liked": None,
            "state": self.state_name(snap.state),
            "video": video,
            "prompt": task.prompt,
            "user_id": "",
            "batch_id": task.batch_id,
            "thumbnail": thumbnail,
            "video_raw": video_raw,
            "created_at": _iso_micro(task.created_epoch),
            "last_frame": last_frame,
            "estimate_wait_seconds": self._estimate(task, snap),
            "failure_reason": task.failure_reason if snap.state == "failed" else None,
            "queue_state": None,
        }

    def artifact_task(self, task: Task, snap: Snapshot) -> dict[str, Any]:
        """v98store/kkiai "Example B": media under ``artifact``."""
        video = artifact = None
        if snap.video_ready:
            download = self.download_url(task)
            video = {
                "url": download if self.vip else self._cdn(task, "video_watermarked.mp4"),
                **self._size(task),
                "download_url": download if self.vip else "",
            }
            artifact = {
                "video": dict(video),
                "thumbnail": self._image(task, self._cdn(task, "thumbnail.jpg"), palette=True),
                "video_raw": self._video_raw(task, download) if self.vip else None,
                "created_at": _ZERO_TIME,
                "last_frame": self._image(task, self._cdn(task, "last_frame.jpg"), palette=False),
            }
        return {
            "id": task.id,
            "state": self.state_name(snap.state),
            "video": video,
            "request": self._echo(task),
            "artifact": artifact,
            "created_at": _iso_micro(task.created_epoch),
            "estimate_wait_seconds": self._estimate(task, snap),
            "failure_reason": task.failure_reason if snap.state == "failed" else None,
        }

    def official_task(self, task: Task, snap: Snapshot) -> dict[str, Any]:
        """The official Dream Machine ``Generation`` object."""
        echo = self._echo(task)
        model = _OFFICIAL_MODELS.get(str(echo.get("model_name", "")), "ray-2")
        request: dict[str, Any] = {
            "generation_type": "video",
            "prompt": task.prompt,
            "aspect_ratio": task.aspect_ratio,
            "loop": bool(echo.get("loop", False)),
            "model": model,
        }
        keyframes = {
            frame: {"type": "image", "url": echo[key]}
            for frame, key in (("frame0", "image_url"), ("frame1", "image_end_url"))
            if echo.get(key)
        }
        if task.extended_from:
            keyframes["frame0"] = {"type": "generation", "id": task.extended_from}
        if keyframes:
            request["keyframes"] = keyframes
        assets = None
        if snap.video_ready:
            assets = {
                "video": self.download_url(task),
                "image": self._cdn(task, "thumbnail.jpg"),
                "progress_video": None,
            }
        return {
            "id": task.id,
            "generation_type": "video",
            "state": self.state_name(snap.state, official=True),
            "failure_reason": task.failure_reason if snap.state == "failed" else None,
            "created_at": _iso_micro(task.created_epoch),
            "assets": assets,
            "model": model,
            "request": request,
        }

    def task_object(self, task: Task, snap: Snapshot) -> dict[str, Any]:
        """The bare task object in the flavour of the active query shape."""
        if self.shapes.query == "artifact":
            return self.artifact_task(task, snap)
        if self.shapes.query == "official":
            return self.official_task(task, snap)
        return self.flat_task(task, snap)

    # -- documents ----------------------------------------------------------------------

    def query_body(self, task: Task, snap: Snapshot) -> Any:
        """Body of ``GET /luma/generations/{id}``."""
        obj = self.task_object(task, snap)
        shape = self.shapes.query
        if shape == "envelope":
            return {"code": 200, "message": "ok", "data": obj}
        if shape == "data_list":
            return {"data": [obj]}
        if shape == "array":
            return [obj]
        return obj

    def create_body(self, task: Task, snap: Snapshot) -> Any:
        """Body of a successful create/extend."""
        obj = (
            self.official_task(task, snap)
            if self.shapes.query == "official"
            else self.flat_task(task, snap)
        )
        shape = self.shapes.create
        if shape == "array":
            return [obj]
        if shape == "task_id":
            return {"task_id": task.id}
        if shape == "envelope":
            return {"code": 0, "message": "success", "request_id": request_id(), "data": obj}
        if shape == "mixed":
            return {
                **obj,
                "code": 0,
                "message": "success",
                "request_id": request_id(),
                "data": {
                    "task_id": task.id,
                    "task_status": obj["state"],
                    "created_at": int(task.created_epoch),
                    "updated_at": int(snap.epoch),
                },
            }
        return obj

    def record(self, task: Task, snap: Snapshot) -> dict[str, Any]:
        """The gateway task record (one element of the batch endpoint's ``data``)."""
        updated = snap.finish_epoch or snap.start_epoch or task.created_epoch
        return {
            "id": task.record_id,
            "created_at": _iso_milli(task.created_epoch),
            "updated_at": _iso_milli(updated),
            "task_id": task.id,
            "platform": "luma",
            "action": "LUMA_EXTEND" if task.extended_from else "LUMA_VIDEO",
            "status": _RECORD_STATUS[snap.state],
            "fail_reason": (task.failure_reason or "") if snap.state == "failed" else "",
            "submit_time": int(task.created_epoch),
            "start_time": int(snap.start_epoch or 0),
            "finish_time": int(snap.finish_epoch or 0),
            "progress": f"{snap.progress}%",
            "data": self.flat_task(task, snap),
        }

    def batch_body(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Body of ``POST /luma/tasks``."""
        return {"code": "success", "message": "", "data": records}

    def hook_payload(self, task: Task, snap: Snapshot) -> Any:
        """Body POSTed to ``notify_hook``."""
        if self.shapes.notify == "record":
            return self.record(task, snap)
        return self.task_object(task, snap)

    # -- errors -------------------------------------------------------------------------

    def error(
        self,
        status: int,
        message: str,
        *,
        upstream: bool = False,
        code: str | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An error response in the active error shape.

        Args:
            status: HTTP status.
            message: Human-readable message.
            upstream: The error comes from the Go proxy (keeps its ``detail`` shape
                unless another shape than the default is selected).
            code: Machine code for the OpenAI shape.
            error_type: ``type`` for the OpenAI shape (default: one fitting the status).
            headers: Extra response headers.

        Returns:
            The response.
        """
        shape = self.shapes.errors
        if upstream and shape == "openai":
            shape = "detail"
        if shape == "html":
            return html_error(status, headers)
        if shape == "concatenated":
            first = json.dumps({"detail": message}, ensure_ascii=False)
            second = json.dumps({"detail": {"reason": message, "code": 1}}, ensure_ascii=False)
            return Response(
                first + second,
                status=status,
                headers=headers,
                content_type="application/json; charset=utf-8",
            )
        document: dict[str, Any]
        if shape == "detail":
            document = {"detail": {"reason": message, "code": 1}}
        elif shape == "detail_str":
            document = {"detail": message}
        elif shape == "message":
            document = {"message": message}
        else:
            default_type = "server_error" if status >= 500 else "invalid_request_error"
            document = {
                "error": {
                    "message": message,
                    "type": error_type or _OPENAI_TYPES.get(status, default_type),
                    "param": "",
                    "code": code or _OPENAI_CODES.get(status, default_type),
                }
            }
        return json_response(document, status, headers)


def html_error(status: int, headers: dict[str, str] | None = None) -> Response:
    """An nginx-style HTML error page."""
    title = f"{status} {HTTP_STATUS_CODES.get(status, 'Error')}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(body, status=status, headers=headers, content_type="text/html")
