"""The WSGI app: routing, auth, fault application and the endpoint handlers."""

from __future__ import annotations

import hmac
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, cast

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ._faults import (
    BusinessError,
    FaultBoard,
    QuotaExhausted,
    RateLimit,
    ResponseFault,
    ServerError,
)
from ._files import (
    FileSource,
    LinkSigner,
    VideoClips,
    file_response,
    held_back,
    paced,
    s3_error,
    truncated,
)
from ._http import RESET_KEY
from ._records import EventLog, RecordedRequest
from ._render import Renderer, html_error, json_response, request_id
from ._tasks import Task, TaskStore
from ._validation import ValidationError, parse_generation_request

__all__ = ["SimulatorApp"]

_URL_MAP: Final = Map(
    [
        Rule("/luma/generations", methods=["POST"], endpoint="create"),
        Rule("/luma/generations/", methods=["POST"], endpoint="create"),
        Rule("/luma/generations/<task_id>", methods=["GET"], endpoint="query"),
        Rule("/luma/generations/<task_id>/extend", methods=["POST"], endpoint="extend"),
        Rule(
            "/luma/generations/<task_id>/download_video_url",
            methods=["GET"],
            endpoint="download_url",
        ),
        Rule("/luma/tasks", methods=["POST"], endpoint="batch"),
        Rule("/files/<name>", methods=["GET"], endpoint="file_signed"),
        Rule("/cdn/<task_id>/<name>", methods=["GET"], endpoint="file_cdn"),
    ],
    # A real gateway answers "/luma//generations" with 404; werkzeug's default would
    # "redirect" it (a 308 without a Location, as we render it). Keep it a plain miss.
    merge_slashes=False,
)
_ROUTE_OF: Final = {"file_signed": "file", "file_cdn": "file"}
_CDN_FILES: Final = {
    "video_watermarked.mp4": ("video", "video/mp4"),
    "thumbnail.jpg": ("thumbnail", "image/jpeg"),
    "last_frame.jpg": ("thumbnail", "image/jpeg"),
}


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class SimulatorApp:
    """WSGI application of the simulated gateway."""

    def __init__(
        self,
        *,
        api_key: str,
        store: TaskStore,
        board: FaultBoard,
        renderer: Renderer,
        signer: LinkSigner,
        videos: VideoClips,
        thumbnail: FileSource,
        requests_log: EventLog[RecordedRequest],
        on_task_created: Callable[[Task], None],
        stop: threading.Event,
    ) -> None:
        """Wire the app to the simulator's state.

        Args:
            api_key: Expected bearer token.
            store: Task store.
            board: Fault board to consume faults from.
            renderer: Renders JSON documents.
            signer: Checks presigned links.
            videos: The served videos (one clip per aspect ratio).
            thumbnail: The served thumbnail / last frame.
            requests_log: Where each request is recorded.
            on_task_created: Called for each new task (schedules notify hooks).
            stop: Set at shutdown (ends slow bodies early).
        """
        self.api_key = api_key
        self.store = store
        self.board = board
        self.renderer = renderer
        self.signer = signer
        self.videos = videos
        self.thumbnail = thumbnail
        self.requests_log = requests_log
        self.on_task_created = on_task_created
        self.stop = stop

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Handle one request."""
        arrival = time.monotonic()
        request = Request(environ)
        routing_error: HTTPException | None = None
        try:
            endpoint, matched = _URL_MAP.bind_to_environ(environ).match()
            args = dict(matched)
        except HTTPException as exc:
            endpoint, args, routing_error = "other", {}, exc
        route = _ROUTE_OF.get(str(endpoint), str(endpoint))
        raw = request.get_data()  # always read the whole request first
        try:
            response = self._respond(request, route, str(endpoint), args, raw, routing_error)
        except ValidationError as exc:
            response = self.renderer.error(400, exc.reason, upstream=True)
        response = self._post_process(request, route, response)
        reset = bool(environ.get(RESET_KEY))
        self.requests_log.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                route=route,
                query={key: values[-1] for key, values in request.args.lists()},
                json=_parse_json(raw),
                headers=_redacted_headers(request),
                had_authorization="Authorization" in request.headers,
                status=None if reset else response.status_code,
                time=arrival,
            )
        )
        return response(environ, start_response)

    # -- dispatch -----------------------------------------------------------------------

    def _respond(
        self,
        request: Request,
        route: str,
        endpoint: str,
        args: dict[str, Any],
        raw: bytes,
        routing_error: HTTPException | None,
    ) -> Response:
        if route == "file":
            return self._file(request, endpoint, args)
        if request.path.startswith("/luma") and not self._authorized(request):
            return self.renderer.error(401, "Invalid token", code="invalid_api_key")
        fault = self.board.take_response_fault(route)
        if fault is not None:
            return self._fault_response(fault)
        if routing_error is not None:
            return self._routing_error(routing_error)
        if route in ("create", "extend"):
            return self._create(raw, args.get("task_id"))
        if route == "batch":
            return self._batch(raw)
        task = self.store.get(args["task_id"])
        if task is None:
            return self.renderer.error(404, "task not found", upstream=True)
        snap = task.snapshot(time.monotonic())
        if route == "query":
            return json_response(self.renderer.query_body(task, snap))
        if not snap.video_ready:  # download_url
            return self.renderer.error(
                400, f"video is not ready yet (task state: {snap.state})", upstream=True
            )
        return json_response({"url": self.renderer.download_url(task)})

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    def _post_process(self, request: Request, route: str, response: Response) -> Response:
        """Apply the faults that act after the action: truncation, slowness, reset."""
        if (
            route == "file"
            and request.method == "GET"
            and response.status_code in (200, 206)
            and (truncate := self.board.take_truncate()) is not None
        ):
            length = int(response.headers.get("Content-Length", "0"))
            body = cast(Iterable[bytes], response.response)
            response.response = truncated(body, int(length * truncate.fraction))
        if self.board.take_reset(route):
            sock = request.environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.environ[RESET_KEY] = True
            return response
        if (delay := self.board.take_delay(route)) is not None:
            body = cast(Iterable[bytes], response.response)
            response.response = held_back(body, delay.seconds, self.stop)
            response.direct_passthrough = True
        if (slow := self.board.take_slow_body(route)) is not None:
            total = int(response.headers.get("Content-Length", "0"))
            body = cast(Iterable[bytes], response.response)
            response.response = paced(body, total, slow.seconds, self.stop)
            response.direct_passthrough = True
        return response

    def _fault_response(self, fault: ResponseFault) -> Response:
        if isinstance(fault, RateLimit):
            return self.renderer.error(
                429,
                "Too many requests, please retry later",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(fault.retry_after)},
            )
        if isinstance(fault, ServerError):
            if fault.html:
                return html_error(fault.status)
            return self.renderer.error(fault.status, "upstream service error, please retry")
        if isinstance(fault, BusinessError):
            return json_response(
                {
                    "code": fault.code,
                    "message": fault.message,
                    "request_id": request_id(),
                    "data": None,
                }
            )
        assert isinstance(fault, QuotaExhausted)
        return self.renderer.error(
            fault.status,
            "insufficient user quota: remaining quota is not enough for this request",
            code="insufficient_user_quota",
            error_type="new_api_error",
        )

    def _routing_error(self, error: HTTPException) -> Response:
        if isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(error.valid_methods or ()))
            return self.renderer.error(405, "method not allowed", headers={"Allow": allowed})
        # Anything else (a miss, or a werkzeug redirect we do not offer) is a 404.
        return self.renderer.error(404, "Invalid URL (no such route)", code="not_found")

    # -- endpoints ----------------------------------------------------------------------

    def _create(self, raw: bytes, source_id: str | None) -> Response:
        body = parse_generation_request(raw)
        source = None
        if source_id is not None:
            source = self.store.get(source_id)
            if source is None:
                return self.renderer.error(404, "task not found", upstream=True)
            state = source.snapshot(time.monotonic()).state
            if state != "completed":
                return self.renderer.error(
                    400, f"can only extend a completed task (task state: {state})", upstream=True
                )
        request = body.echo()
        given = _parse_json(raw)
        if source is not None and not (isinstance(given, dict) and given.get("aspect_ratio")):
            request["aspect_ratio"] = source.aspect_ratio  # an extension keeps its shape
        outcome, reason = self.board.take_outcome()
        task = self.store.create(
            prompt=body.user_prompt,
            aspect_ratio=request["aspect_ratio"],
            request=request,
            notify_hook=body.notify_hook or None,
            outcome=outcome,
            failure_reason=reason,
            extended_from=source_id,
        )
        self.on_task_created(task)
        snap = task.snapshot(time.monotonic())
        return json_response(
            self.renderer.create_body(task, snap), self.renderer.shapes.create_status
        )

    def _batch(self, raw: bytes) -> Response:
        body = _parse_json(raw)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self.renderer.error(400, 'body must be {"ids": ["<task id>", ...]}')
        now = time.monotonic()
        records = [
            self.renderer.record(task, task.snapshot(now))
            for task in map(self.store.get, ids)
            if task is not None
        ]
        return json_response(self.renderer.batch_body(records))

    def _file(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        if "Authorization" in request.headers:
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed",
                ArgumentName="Authorization",
            )
        fault = self.board.take_response_fault("file")
        if fault is not None:
            return self._fault_response(fault)
        if endpoint == "file_signed":
            name = str(args["name"])
            task_id = name.removesuffix(".mp4")
            kind, content_type = "video", "video/mp4"
            problem = self._link_problem(request)
            if problem is not None:
                return problem
            if not name.endswith(".mp4"):
                task_id = ""
        else:
            task_id = str(args["task_id"])
            kind, content_type = _CDN_FILES.get(str(args["name"]), ("", ""))
        task = self.store.get(task_id) if kind else None
        if task is None or not task.snapshot(time.monotonic()).video_ready:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return file_response(
            source=self.videos.for_ratio(task.aspect_ratio) if kind == "video" else self.thumbnail,
            content_type=content_type,
            method=request.method,
            range_header=request.headers.get("Range"),
        )

    def _link_problem(self, request: Request) -> Response | None:
        args = request.args.to_dict()
        status = self.signer.check(request.path, args)
        if status == "ok":
            return None
        if status == "missing":
            return s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Signature, "
                "X-Amz-Date and X-Amz-Expires parameters",
            )
        if status == "invalid":
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        return s3_error(
            403,
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": args.get("X-Amz-Expires", "")},
            ServerTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )


def _redacted_headers(request: Request) -> dict[str, str]:
    """The request's headers, with credentials replaced so logs can be shown safely."""
    return {
        name: ("<redacted>" if name.lower() == "authorization" else value)
        for name, value in request.headers.items()
    }
