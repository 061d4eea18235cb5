"""`LumaSimulator`: the public face of the embedded gateway simulator."""

from __future__ import annotations

import functools
import math
import os
import secrets
import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Final, Literal, Self

from ._faults import ROUTES, FaultBoard, Faults
from ._files import FileSource, LinkSigner, ServedVideo, VideoClips
from ._hooks import HookSender
from ._http import HTTPServerThread
from ._records import EventLog, HookDelivery, RecordedRequest
from ._render import MediaInfo, Renderer, state_name
from ._scheduler import Scheduler
from ._server import SimulatorApp
from ._shapes import Shapes
from ._tasks import EstimateMode, GatewayState, Task, TaskStore, Timing

__all__ = ["LumaSimulator"]

_STATE_ALIASES: Final[dict[str, GatewayState]] = {
    "pending": "pending",
    "queued": "pending",
    "processing": "processing",
    "dreaming": "processing",
    "completed": "completed",
    "failed": "failed",
}


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _catch_sigterm() -> bool:
    """Turn SIGTERM into KeyboardInterrupt if we may (main thread, default action).

    Raising (rather than setting an event) is safe even when the signal lands while
    the main thread holds a lock. Returns whether the handler was installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return True


class LumaSimulator:
    """A real HTTP server on localhost that behaves like a Luma API gateway.

    It speaks the gateway's ``/luma/...`` API (create, extend, query,
    download_video_url, batch query), serves the resulting video from presigned
    links, fires ``notify_hook`` callbacks, and can inject faults
    (``sim.faults``) and switch between the JSON dialects real gateways use
    (``sim.shapes``). Tasks move through pending → processing → completed on a
    clock you can speed up with ``time_scale``.

    Example:
        ```python
        import requests
        from luma_tools.simulator import LumaSimulator

        with LumaSimulator(queue_seconds=0.1, run_seconds=0.3) as sim:
            headers = {"Authorization": f"Bearer {sim.api_key}"}
            task = requests.post(
                f"{sim.base_url}/luma/generations",
                json={"user_prompt": "a cat surfing"},
                headers=headers,
            ).json()
            # ... poll f"{sim.base_url}/luma/generations/{task['id']}" until completed
        ```
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        queue_seconds: float = 0.2,
        run_seconds: float = 0.6,
        estimate: EstimateMode = True,
        url_delay_seconds: float = 0.0,
        time_scale: float = 1.0,
        video_path: str | os.PathLike[str] | None = None,
        link_ttl_seconds: float = 3600,
        vip_download_url: bool = True,
        log_requests: bool = False,
    ) -> None:
        """Configure a simulator (nothing listens until `start`).

        Args:
            api_key: Bearer token clients must send (default: random ``sim-…``).
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.
            queue_seconds: Virtual seconds a task stays ``pending``.
            run_seconds: Virtual seconds a task stays ``processing``.
            estimate: Report ``estimate_wait_seconds`` (virtual seconds left) while a
                task is unfinished; ``False`` reports ``null``; ``"stale"`` and ``"early"``
                are wrong in the ways real gateways are (see `EstimateMode`).
            url_delay_seconds: Virtual seconds a ``completed`` task still has
                ``video: null`` (a real gateway quirk).
            time_scale: Real seconds per virtual second (0.01 runs a 10-minute job
                in 6 s).
            video_path: File served as every task's video (streamed from disk);
                default: a packaged 4 s clip in the task's aspect ratio (all seven).
            link_ttl_seconds: Lifetime of presigned download links, in real seconds.
            vip_download_url: ``True``: completed tasks carry
                ``video.download_url`` (and ``video_raw``); ``False``:
                ``download_url`` is ``""``, ``video_raw`` is ``null`` and clients must
                call ``download_video_url``.
            log_requests: Let werkzeug log every request to stderr.

        Raises:
            ValueError: If a duration is negative or not finite, or
                ``time_scale``/``link_ttl_seconds`` is not positive.
            FileNotFoundError: If ``video_path`` does not exist.
        """
        for name, value in [
            ("queue_seconds", queue_seconds),
            ("run_seconds", run_seconds),
            ("url_delay_seconds", url_delay_seconds),
        ]:
            if not value >= 0 or math.isinf(value):  # `not >=` also catches nan
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not time_scale > 0 or math.isinf(time_scale):
            raise ValueError(f"time_scale must be a finite number > 0, got {time_scale}")
        if estimate not in (True, False, "stale", "early"):
            raise ValueError(f"estimate must be True, False, 'stale' or 'early', got {estimate!r}")
        if not link_ttl_seconds > 0:
            raise ValueError(f"link_ttl_seconds must be > 0, got {link_ttl_seconds}")
        self._api_key = api_key if api_key is not None else "sim-" + secrets.token_hex(16)
        self._host = host
        self._port = port
        self._estimate = estimate
        self._vip = vip_download_url
        self._log_requests = log_requests
        self._videos = VideoClips(
            FileSource(os.fspath(video_path)) if video_path is not None else None
        )
        self._thumbnail = FileSource.packaged("thumbnail.jpg")
        self._signer = LinkSigner(link_ttl_seconds)
        self._board = FaultBoard(self._signer.expire_all)
        self._faults = Faults(self._board)
        self._shapes = Shapes()
        self._store = TaskStore(Timing(queue_seconds, run_seconds, url_delay_seconds, time_scale))
        self._requests: EventLog[RecordedRequest] = EventLog()
        self._hooks: EventLog[HookDelivery] = EventLog()
        self._scheduler = Scheduler()
        self._hook_sender = HookSender(self._hooks)
        self._stop_event = threading.Event()
        self._lifecycle = threading.Lock()
        self._status: Literal["new", "running", "stopped"] = "new"
        self._http: HTTPServerThread | None = None
        self._renderer: Renderer | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and start serving (idempotent while running).

        Returns:
            The simulator itself.

        Raises:
            RuntimeError: If the simulator was already stopped (create a new one).
            OSError: If the address cannot be bound.
        """
        with self._lifecycle:
            if self._status == "running":
                return self
            if self._status == "stopped":
                raise RuntimeError("a stopped LumaSimulator cannot be restarted")
            self._http = HTTPServerThread(
                self._build_app, host=self._host, port=self._port, log_requests=self._log_requests
            )
            self._scheduler.start()
            self._hook_sender.start()
            self._http.start()
            self._status = "running"
        return self

    def stop(self) -> None:
        """Stop serving, end all connections and join every thread. Idempotent."""
        with self._lifecycle:
            if self._status != "running":
                self._status = "stopped"
                return
            self._status = "stopped"
            self._stop_event.set()
            assert self._http is not None
            self._http.stop()
            self._scheduler.stop()
            self._hook_sender.stop()

    def serve_forever(self) -> None:
        """Start (if needed) and block until Ctrl-C, SIGTERM or `stop`, then stop.

        Called on the main thread while SIGTERM has its default action, it treats
        SIGTERM like Ctrl-C (a clean stop instead of an abrupt kill) and restores the
        default action before stopping. Prints nothing; the caller announces
        ``base_url`` and ``api_key``.
        """
        self.start()
        handled = _catch_sigterm()
        try:
            while not self._stop_event.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if handled:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._http.base_url if self._http is not None else "not started"
        return f"<LumaSimulator {where} ({self._status})>"

    def _build_app(self, base_url: str) -> SimulatorApp:
        self._renderer = Renderer(
            shapes=self._shapes,
            signer=self._signer,
            base_url=base_url,
            estimate=self._estimate,
            vip_download_url=self._vip,
            media=MediaInfo(),
            clips=self._videos,
        )
        return SimulatorApp(
            api_key=self._api_key,
            store=self._store,
            board=self._board,
            renderer=self._renderer,
            signer=self._signer,
            videos=self._videos,
            thumbnail=self._thumbnail,
            requests_log=self._requests,
            on_task_created=self._schedule_hooks,
            stop=self._stop_event,
        )

    def _schedule_hooks(self, task: Task) -> None:
        if task.notify_hook is None:
            return
        for when in task.change_times():
            self._scheduler.call_at(when, functools.partial(self._fire_hook, task, when))

    def _fire_hook(self, task: Task, when: float) -> None:
        assert self._renderer is not None
        assert task.notify_hook is not None
        snap = task.snapshot(when)
        self._hook_sender.submit(
            url=task.notify_hook,
            task_id=task.id,
            state=snap.state,
            payload=self._renderer.hook_payload(task, snap),
        )

    # -- public state -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash); API paths are ``/luma/...``.

        Raises:
            RuntimeError: Before `start`.
        """
        if self._http is None:
            raise RuntimeError("LumaSimulator is not started; use start() or a with block")
        return self._http.base_url

    @property
    def api_key(self) -> str:
        """The bearer token the simulator accepts."""
        return self._api_key

    @property
    def video_sha256(self) -> str:
        """Hex SHA-256 of the video served for 16:9 tasks (computed once, streaming)."""
        return self._videos.for_ratio("16:9").sha256

    @property
    def video_size(self) -> int:
        """Size in bytes of the video served for 16:9 tasks."""
        return self._videos.for_ratio("16:9").size

    def video(self, aspect_ratio: str = "16:9") -> ServedVideo:
        """What a task of `aspect_ratio` downloads: size, SHA-256, width and height.

        Each aspect ratio has its own clip (16:9 is 480x270, 9:16 is 270x480, 1:1 is
        368x368...); with `video_path` every ratio gets that one file.

        Example:
            ```python
            from luma_tools.simulator import LumaSimulator

            sim = LumaSimulator()
            portrait = sim.video("9:16")
            assert (portrait.width, portrait.height) == (270, 480)
            assert sim.video().sha256 == sim.video_sha256
            ```
        """
        return self._videos.describe(aspect_ratio)

    @property
    def faults(self) -> Faults:
        """Fault injection switches; see `Faults`."""
        return self._faults

    @property
    def shapes(self) -> Shapes:
        """Response-dialect switches; see `Shapes`."""
        return self._shapes

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot copy of every request received so far, oldest first."""
        return self._requests.snapshot()

    @property
    def hooks(self) -> list[HookDelivery]:
        """A snapshot copy of every notify_hook attempt so far, oldest first."""
        return self._hooks.snapshot()

    def count(self, route: str, method: str | None = None) -> int:
        """How many requests hit ``route`` (optionally with this HTTP ``method``).

        Args:
            route: ``"create"``, ``"extend"``, ``"query"``, ``"download_url"``,
                ``"batch"``, ``"file"`` or ``"other"``.
            method: HTTP method to filter on, e.g. ``"GET"``.

        Returns:
            The number of matching recorded requests.

        Raises:
            ValueError: For an unknown route name.
        """
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTES)}")
        wanted = method.upper() if method is not None else None
        return sum(
            1
            for r in self._requests.snapshot()
            if r.route == route and (wanted is None or r.method == wanted)
        )

    def add_task(
        self,
        *,
        state: str = "completed",
        prompt: str = "A simulated task",
        failure_reason: str | None = None,
    ) -> str:
        """Insert a task directly, without HTTP.

        A ``"completed"`` task has its video ready at once; ``"pending"`` and
        ``"processing"`` tasks then progress on the normal clock; ``"failed"`` tasks
        report ``failure_reason`` (a default one if ``None``).

        Args:
            state: ``"pending"``, ``"processing"``, ``"completed"`` or ``"failed"``
                (``"queued"``/``"dreaming"`` are accepted too).
            prompt: The task's prompt.
            failure_reason: Reason for a failed task.

        Returns:
            The new task id.

        Raises:
            ValueError: For an unknown state.
        """
        if state not in _STATE_ALIASES:
            raise ValueError(f"unknown state {state!r}; expected one of {sorted(_STATE_ALIASES)}")
        task = self._store.insert(
            state=_STATE_ALIASES[state], prompt=prompt, failure_reason=failure_reason
        )
        return task.id

    def task_log(self) -> list[dict[str, str]]:
        """What a gateway's dashboard shows: every task made, oldest first.

        This is where a user looks up a create whose reply was lost (an ambiguous create):
        the prompt and the time identify the task, and its id can then be attached to the
        journal entry (`luma-tools jobs attach`).

        Returns:
            One dict per task: ``id``, ``prompt`` and ``state``.
        """
        now = time.monotonic()
        return [
            {"id": task.id, "prompt": task.prompt, "state": task.snapshot(now).state}
            for task in self._store.all()
        ]

    def task_state(self, task_id: str) -> str:
        """The task's current state, in the vocabulary the query endpoint uses now.

        Args:
            task_id: A task id.

        Returns:
            E.g. ``"processing"`` (or ``"dreaming"`` with official states).

        Raises:
            KeyError: For an unknown id.
        """
        task = self._store.get(task_id)
        if task is None:
            raise KeyError(task_id)
        state = task.snapshot(time.monotonic()).state
        return state_name(self._shapes, state, official=self._shapes.query == "official")
