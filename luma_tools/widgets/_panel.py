"""`TaskPanel`: a live status panel for one Luma task."""

from __future__ import annotations

import contextlib
import html
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from .._client import LumaClient
from .._models import Task
from .._polling import PollPolicy
from ._state import PanelView, Phase, TaskTracker, format_bytes

__all__ = ["TaskPanel"]

#: Files up to this size are previewed from the downloaded file (sent once through the kernel);
#: bigger ones keep streaming from their URL so that no large file crosses the websocket.
DEFAULT_PREVIEW_MAX_BYTES = 2_000_000

# Kernel→browser traffic is not throttled for us: at most this many renders per second...
_MIN_RENDER_INTERVAL = 0.2
# ...and one per second while nothing changes, so the elapsed time keeps ticking.
_TICK = 1.0

_COLOURS = {
    Phase.SUBMITTING: "#6b7280",
    Phase.QUEUED: "#2563eb",
    Phase.RUNNING: "#d97706",
    Phase.COMPLETED: "#16a34a",
    Phase.FAILED: "#dc2626",
    Phase.UNKNOWN: "#6b7280",
    Phase.STOPPED: "#6b7280",
    Phase.TIMED_OUT: "#b45309",
    Phase.ERROR: "#dc2626",
}
_BAR_STYLES = {
    Phase.COMPLETED: "success",
    Phase.FAILED: "danger",
    Phase.ERROR: "danger",
    Phase.TIMED_OUT: "warning",
    Phase.STOPPED: "warning",
}

# The indeterminate bar: ipywidgets has none, so a striped, moving fill stands in for it.
_STYLE = """<style>
.luma-panel .luma-indeterminate .progress-bar {
  background-image: linear-gradient(45deg, rgba(255,255,255,.35) 25%, transparent 25%,
    transparent 50%, rgba(255,255,255,.35) 50%, rgba(255,255,255,.35) 75%, transparent 75%);
  background-size: 28px 28px; animation: luma-stripes 1s linear infinite;
}
@keyframes luma-stripes { from { background-position: 28px 0; } to { background-position: 0 0; } }
.luma-panel .luma-task-id code { user-select: all; }
</style>"""


def _phase_class(phase: str) -> str:
    return "luma-phase-" + phase.replace(" ", "-")


class TaskPanel(widgets.VBox):  # type: ignore[misc]
    """A live status panel for one Luma task.

    It shows the state (coloured), a progress bar (moving stripes while the gateway gives no
    estimate, filling up by the ETA when it does), elapsed time, poll count, the last transient
    error and the task id. A Stop button stops polling (and turns into Resume). When the task
    completes an inline video preview appears, with a Download button that saves the file and
    shows its path and size; a failed task shows the gateway's reason and what to try.

    Polling and rendering happen in background threads, so the kernel stays free for other
    cells and several panels can run at once. Create the panel on the main thread (as usual in
    a notebook cell); its threads then only change widget traits, in `hold_sync()` batches, at
    most five times a second.

    Args:
        client: The client to poll (and download) with.
        task_id: The task to follow (a `Task` from `client.create` saves one request).
        download_dir: Where Download saves `<task id>.mp4` (default: the working directory).
        timeout: Seconds to follow the task before giving up (it keeps running remotely).
        poll_policy: Overrides the client's poll policy for this panel.
        preview_max_bytes: After a download, files up to this size are previewed from disk;
            larger ones keep playing from their URL (so no large file goes through the kernel).
        autostart: Start polling at once (otherwise call `start()`).

    Example:
        ```python
        from luma_tools.widgets import TaskPanel

        task = client.create("a hummingbird in slow motion", aspect_ratio="16:9")
        panel = TaskPanel(client, task)
        panel  # the last expression of a cell displays the panel; it updates by itself
        ```
    """

    def __init__(
        self,
        client: LumaClient,
        task_id: str | Task | None = None,
        *,
        download_dir: str | os.PathLike[str] | None = None,
        timeout: float = 3600,
        poll_policy: PollPolicy | None = None,
        preview_max_bytes: int = DEFAULT_PREVIEW_MAX_BYTES,
        autostart: bool = True,
        _submit: Callable[[], Task] | None = None,
        _prompt: str | None = None,
    ) -> None:
        self._client = client
        self._download_dir = Path(download_dir) if download_dir is not None else None
        self._preview_max_bytes = preview_max_bytes
        self._tracker = TaskTracker(
            client,
            task_id,
            submit=_submit,
            prompt=_prompt,
            timeout=timeout,
            poll_policy=poll_policy,
            on_activity=self._ensure_rendering,
        )
        # Every widget is created here, on the caller's (main) thread; the render thread only
        # changes traits. (A widget created in a thread may display in whatever cell is current.)
        self._state_label = widgets.HTML(_STYLE).add_class("luma-state-label")
        self._task_id = widgets.HTML().add_class("luma-task-id")
        self._prompt = widgets.HTML().add_class("luma-prompt")
        self._bar = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="100%")
        ).add_class("luma-progress")
        self._stats = widgets.HTML().add_class("luma-stats")
        self._error = widgets.HTML().add_class("luma-last-error")
        self._message = widgets.HTML().add_class("luma-message")
        self._stop = widgets.Button(
            description="Stop", icon="stop", tooltip="Stop polling (the task keeps running)"
        ).add_class("luma-stop")
        self._download = widgets.Button(
            description="Download",
            icon="download",
            button_style="primary",
            tooltip="Save the video to a file",
            layout=widgets.Layout(display="none"),
        ).add_class("luma-download")
        self._saved = widgets.HTML().add_class("luma-saved")
        self._video = widgets.Video(
            value=b"",
            format="url",
            autoplay=False,
            loop=False,
            controls=True,
            layout=widgets.Layout(max_width="480px"),
        ).add_class("luma-video")
        self._preview = widgets.Box(layout=widgets.Layout(min_height="0")).add_class("luma-preview")
        self._stop.on_click(self._on_stop)
        self._download.on_click(self._on_download)
        super().__init__(
            children=[
                widgets.HBox([self._state_label, self._task_id]),
                self._prompt,
                self._bar,
                self._stats,
                self._error,
                self._message,
                self._preview,
                widgets.HBox([self._stop, self._download, self._saved]),
            ],
            layout=widgets.Layout(
                border="1px solid #d1d5db", padding="6px 10px", margin="4px 0", width="100%"
            ),
        )
        self.add_class("luma-panel")
        self._render_lock = threading.Lock()
        self._rendering = False
        self._closed = threading.Event()
        self._rendered = -1
        self._shown_video: tuple[str, str] | None = None
        self._render(self._tracker.snapshot())
        if autostart:
            self.start()

    # -- public API -------------------------------------------------------------------------

    @property
    def view(self) -> PanelView:
        """The current [`PanelView`][luma_tools.widgets.PanelView] snapshot (plain data)."""
        return self._tracker.snapshot()

    @property
    def task(self) -> Task | None:
        """The task as last seen."""
        return self._tracker.task

    def start(self) -> bool:
        """Start or resume polling; False if already polling or finished."""
        return self._tracker.start()

    def stop(self) -> None:
        """Stop polling. The task keeps running on the gateway; `start()` resumes."""
        self._tracker.stop()

    def download(
        self, dest: str | os.PathLike[str] | None = None, *, overwrite: bool = False
    ) -> bool:
        """Save the video (what the Download button does), in the background.

        Args:
            dest: A file or directory; default: the panel's `download_dir`, else the
                working directory.
            overwrite: Replace an existing file.

        Returns:
            False if the task is not completed or a download is already running.
        """
        if dest is None:
            # The panel's folder is a folder even before it exists: the trailing separator
            # says so, and the download (in its thread) creates it or reports why it cannot.
            dest = f"{self._download_dir or Path.cwd()}{os.sep}"
        return self._tracker.download(dest, overwrite=overwrite)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until polling/downloading ended and the panel shows the final state.

        Mostly for scripts and tests; in a notebook the panel updates by itself.

        Returns:
            True if everything finished within `timeout` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if not self._tracker.join(left()):
            return False
        with self._render_lock:
            thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(left())
            if thread.is_alive():
                return False
        return self._rendered == self._tracker.snapshot().version

    def close(self) -> None:
        """Stop polling and rendering, and close the panel's widgets."""
        self._tracker.stop()
        self._closed.set()
        _close_descendants(self)
        super().close()

    # -- text fallback -----------------------------------------------------------------------

    def __repr__(self) -> str:
        view = self._tracker.snapshot()
        return f"TaskPanel(task_id={view.task_id!r}, phase={view.phase!r}, polls={view.polls})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._tracker.snapshot().text())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # The text/plain part is what nbconvert and plain terminals show instead of the widget.
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._tracker.snapshot().text()
        return bundle

    # -- buttons (run on the kernel's main thread) -------------------------------------------

    def _on_stop(self, _button: widgets.Button) -> None:
        view = self._tracker.snapshot()
        if view.phase in (Phase.STOPPED, Phase.TIMED_OUT, Phase.ERROR):
            self.start()
        else:
            self.stop()

    def _on_download(self, _button: widgets.Button) -> None:
        self.download()

    # -- rendering --------------------------------------------------------------------------

    def _ensure_rendering(self) -> None:
        """Start the render thread unless it runs (called whenever a job starts)."""
        with self._render_lock:
            if self._rendering or self._closed.is_set():
                return
            self._rendering = True
            self._thread = threading.Thread(
                target=self._render_loop, name="luma-panel-render", daemon=True
            )
            self._thread.start()

    def _render_loop(self) -> None:
        """The only thread that changes the panel's traits while a job runs."""
        try:
            while not self._closed.is_set():
                view = self._tracker.wait_for_change(self._rendered, timeout=_TICK)
                self._render(view)
                with self._render_lock:
                    latest = self._tracker.snapshot()
                    if not latest.active and latest.version == self._rendered:
                        # Decided under the lock that `_ensure_rendering` takes, so a job
                        # starting right now either sees us running or starts a new thread.
                        self._rendering = False
                        return
                self._closed.wait(_MIN_RENDER_INTERVAL)
        finally:
            with self._render_lock:
                self._rendering = False

    def _render(self, view: PanelView) -> None:
        with self._held(
            self,
            self._state_label,
            self._task_id,
            self._prompt,
            self._bar,
            self._stats,
            self._error,
            self._message,
            self._stop,
            self._download,
            self._saved,
            self._video,
            self._preview,
        ):
            self._render_header(view)
            self._render_progress(view)
            self._render_messages(view)
            self._render_buttons(view)
            self._render_video(view)
        self._rendered = view.version

    def _render_header(self, view: PanelView) -> None:
        colour = _COLOURS.get(view.phase, "#6b7280")
        self._state_label.value = (
            f'{_STYLE}<span class="luma-state" data-state="{html.escape(view.phase)}" '
            f'style="background:{colour};color:white;border-radius:4px;padding:2px 8px;'
            f'font-weight:600">{html.escape(view.phase)}</span>'
        )
        raw = (
            f' <span style="color:#6b7280">({html.escape(view.raw_state)})</span>'
            if view.raw_state and view.raw_state.lower() != view.phase
            else ""
        )
        self._task_id.value = (
            f"&nbsp;task <code>{html.escape(view.task_id)}</code>{raw}"
            if view.task_id
            else "&nbsp;creating the task…"
        )
        self._prompt.value = (
            f'<span style="color:#374151">“{html.escape(view.prompt)}”</span>'
            if view.prompt
            else ""
        )
        for phase in _COLOURS:
            if phase != view.phase:
                self.remove_class(_phase_class(phase))
        self.add_class(_phase_class(view.phase))

    def _render_progress(self, view: PanelView) -> None:
        indeterminate = view.progress is None and not view.is_final
        if indeterminate:
            self._bar.add_class("luma-indeterminate")
        else:
            self._bar.remove_class("luma-indeterminate")
        if view.phase == Phase.COMPLETED:
            value = 1.0
        elif view.phase in (Phase.FAILED, Phase.ERROR) or indeterminate:
            value = 1.0  # a full bar: red for failures, striped while there is no estimate
        else:
            value = view.progress or 0.0
        self._bar.value = round(value, 3)
        self._bar.bar_style = _BAR_STYLES.get(view.phase, "info")
        self._stats.value = f'<span style="color:#4b5563">{html.escape(view.status_line())}</span>'

    def _render_messages(self, view: PanelView) -> None:
        self._error.value = (
            f'<span style="color:#b45309">last error: {html.escape(view.last_error)}</span>'
            if view.last_error and not view.is_final
            else ""
        )
        parts = []
        if view.message:
            title = {Phase.FAILED: "Failed: ", Phase.ERROR: "Error: "}.get(view.phase, "")
            parts.append(f"<b>{title}</b>{html.escape(view.message)}")
        if view.hint:
            parts.append(f"<i>What to try:</i> {html.escape(view.hint)}")
        self._message.value = "<br>".join(parts)

    def _render_buttons(self, view: PanelView) -> None:
        resumable = view.phase in (Phase.STOPPED, Phase.TIMED_OUT, Phase.ERROR) and bool(
            view.task_id
        )
        if resumable:
            self._stop.description, self._stop.icon = "Resume", "play"
            self._stop.tooltip = "Follow the task again"
        else:
            self._stop.description, self._stop.icon = "Stop", "stop"
            self._stop.tooltip = "Stop polling (the task keeps running)"
        self._stop.disabled = not resumable and view.is_final
        self._stop.layout.display = "none" if view.phase in (Phase.COMPLETED, Phase.FAILED) else ""
        completed = view.phase == Phase.COMPLETED
        self._download.layout.display = "" if completed else "none"
        self._download.disabled = view.downloading or view.download_path is not None
        if view.downloading:
            total = f" of {format_bytes(view.download_total)}" if view.download_total else ""
            self._saved.value = f"downloading… {format_bytes(view.download_done)}{total}"
        elif view.download_path:
            self._saved.value = (
                f"saved <code>{html.escape(view.download_path)}</code> "
                f"({format_bytes(view.download_size or 0)})"
            )
        elif view.download_error:
            self._saved.value = (
                f'<span style="color:#dc2626">{html.escape(view.download_error)}</span>'
            )
        else:
            self._saved.value = ""

    def _render_video(self, view: PanelView) -> None:
        source: tuple[str, str] | None = None
        if view.phase == Phase.COMPLETED:
            if (
                view.download_path
                and view.download_size is not None
                and view.download_size <= self._preview_max_bytes
            ):
                source = ("file", view.download_path)
            elif view.video_url:
                source = ("url", view.video_url)
        if source == self._shown_video:
            return
        if source is None:
            self._preview.children = ()
        elif source[0] == "url":
            # The browser fetches the URL itself: nothing goes through the kernel.
            self._video.format, self._video.value = "url", source[1].encode()
            self._preview.children = (self._video,)
        else:
            try:
                data = Path(source[1]).read_bytes()
            except OSError:
                return  # keep the URL preview if the file went away
            suffix = Path(source[1]).suffix.lstrip(".").lower() or "mp4"
            self._video.format, self._video.value = suffix, data
            self._preview.children = (self._video,)
        self._shown_video = source

    @contextlib.contextmanager
    def _held(self, *items: widgets.Widget) -> Iterator[None]:
        """Hold the sync of all `items` so each sends its changes in one message."""
        with contextlib.ExitStack() as stack:
            for item in items:
                stack.enter_context(item.hold_sync())
                stack.enter_context(item.layout.hold_sync())
            yield


def _close_descendants(root: widgets.Widget) -> None:
    """Close every widget inside `root` (not `root` itself).

    Containers left open would keep references to closed children, and a front end (or
    anything serialising every live widget) would trip over them.
    """
    pending = list(getattr(root, "children", ()))
    while pending:
        widget = pending.pop()
        pending.extend(getattr(widget, "children", ()))
        widget.close()
