"""`TaskPanel`: a live status panel for one Luma task (one anywidget model)."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._client import LumaClient
from .._models import Task
from .._polling import PollPolicy
from ._display import HIDE_FALLBACK_CSS, SavedText, bundle_of
from ._state import PanelView, Phase, TaskTracker, format_bytes, refollow_code

__all__ = ["TaskPanel", "front_end_state"]

_STATIC = Path(__file__).with_name("static")


def _asset(name: str) -> str:
    """A front-end file without comments and indentation.

    Every panel's model carries its module and style, and saved notebooks keep them once per
    panel. Only whole-line `//` comments (module) and `/* */` blocks (style sheet) go.
    """
    text = (_STATIC / name).read_text(encoding="utf-8")
    if name.endswith(".css"):
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


# Kernel→browser traffic is not throttled for us: at most this many renders per second...
_MIN_RENDER_INTERVAL = 0.2
# ...and one per second while nothing changes, so the elapsed time keeps ticking.
_TICK = 1.0

_BAR_KINDS = {
    Phase.COMPLETED: "success",
    Phase.FAILED: "danger",
    Phase.ERROR: "danger",
    Phase.TIMED_OUT: "warning",
    Phase.STOPPED: "warning",
}
_TITLES = {
    Phase.FAILED: "Failed",
    Phase.ERROR: "Error",
    Phase.STOPPED: "Stopped",
    Phase.TIMED_OUT: "Timed out",
}


def _current_kernel_id() -> str:
    """The id Jupyter gave the running kernel ("" outside a kernel).

    Jupyter names a kernel's connection file `kernel-<id>.json` after the id it knows the
    kernel by, which is also what a front end's kernel connection reports.
    """
    if "ipykernel" not in sys.modules:
        # Not in a kernel. Importing ipykernel here would replace the comm manager under the
        # widgets already made (their close() would then fail).
        return ""
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not in a kernel, or an ipykernel without connection files
        return ""
    match = re.fullmatch(r"kernel-([\w-]+)\.json", name)
    return match.group(1) if match else ""


def front_end_state(view: PanelView) -> dict[str, Any]:
    """What the panel's front end draws, as plain JSON: all wording is decided here.

    It never holds a video link (links are signed, expire, and synced state gets saved into
    notebooks); the front end receives the link in a message, live, and keeps it in memory.
    """
    indeterminate = view.progress is None and not view.is_final
    if view.phase in (Phase.COMPLETED, Phase.FAILED, Phase.ERROR) or indeterminate:
        value = 1.0  # full: green, red, or striped while there is no estimate
    elif view.phase in (Phase.STOPPED, Phase.TIMED_OUT):
        value = max(view.progress or 0.0, 0.05)  # amber, as far as it got (a sliver at least)
    else:
        value = view.progress or 0.0
    raw = view.raw_state if view.raw_state and view.raw_state.lower() != view.phase else None
    if view.stopping:
        stop = "stopping"
    elif view.resumable:
        stop = "resume"
    elif view.is_final:
        stop = None
    else:
        stop = "stop"
    if view.downloading:
        total = f" of {format_bytes(view.download_total)}" if view.download_total else ""
        download_note = f"downloading… {format_bytes(view.download_done)}{total}"
    else:
        download_note = None
    return {
        "phase": view.phase,
        "task_id": view.task_id,
        "task_line": view.task_line(),
        "raw_state": raw,
        "prompt": view.prompt,
        "details": [list(pair) for pair in view.details],
        "status": view.status_line(),
        "bar": "indeterminate" if indeterminate else _BAR_KINDS.get(view.phase, "info"),
        "progress": round(value, 3),
        "last_error": view.last_error if view.last_error and not view.is_final else None,
        "title": _TITLES.get(view.phase) if view.message else None,
        "message": view.message,
        "hint": view.hint,
        "ambiguous": view.ambiguous,
        "stop": stop,
        "download": (
            None
            if view.phase != Phase.COMPLETED
            else "running"
            if view.downloading
            else "done"
            if view.download_path
            else "ready"
        ),
        "download_note": download_note,
        "saved_path": view.download_path,
        "saved_size": format_bytes(view.download_size or 0) if view.download_path else None,
        "download_error": view.download_error,
        "refollow": refollow_code(view.task_id),
        "final": view.is_final,
    }


def _saved_key(view: PanelView) -> tuple[object, ...]:
    """What the saved text fallback depends on (not the ticking clock), to update it rarely."""
    return (
        view.phase,
        view.task_id,
        view.prompt,
        view.message,
        view.hint,
        view.download_path,
        view.download_error,
        view.ambiguous,
    )


class TaskPanel(anywidget.AnyWidget):
    """A live status panel for one Luma task.

    It shows the state, a progress bar (moving stripes while the gateway gives no estimate,
    filling up by the ETA when it does), elapsed time, polls, the last transient error and the
    task id. **Stop** stops polling (and turns into **Resume**). When the task completes an
    inline video preview appears with a **Download** button that saves the file and shows its
    path and size; a failed task shows the gateway's reason and what to try.

    It is one widget model (an [anywidget](https://anywidget.dev)) styled with JupyterLab's
    theme variables, so it reads well in light, dark and high-contrast themes and fits narrow
    windows. Polling and rendering happen in background threads, so the kernel stays free.

    When the kernel behind a panel goes away (a restart, a reopened notebook), the panel says
    so and shows the line that follows the task again in a new cell. What a saved notebook
    keeps is the task id, its state and the saved path, never the video bytes nor its signed
    (expiring) link: the preview plays only while the kernel that followed the task runs.

    Args:
        client: The client to poll (and download) with.
        task_id: The task to follow (a `Task` from `client.create` saves one request).
        download_dir: Where Download saves `<task id>.mp4` (default: the working directory).
        timeout: Seconds to follow the task before giving up (it keeps running remotely).
        poll_policy: Overrides the client's poll policy for this panel.
        autostart: Start polling at once (otherwise call `start()`).

    Example:
        ```python
        from luma_tools.widgets import TaskPanel

        task = client.create("a hummingbird in slow motion", aspect_ratio="16:9")
        panel = TaskPanel(client, task)
        panel  # the last expression of a cell displays the panel; it updates by itself
        ```
    """

    _esm = _asset("panel.js")
    _css = _asset("panel.css") + "\n" + HIDE_FALLBACK_CSS

    #: What the front end draws (see `front_end_state`): plain JSON, saved with the notebook.
    state = traitlets.Dict().tag(sync=True)
    #: Folded to its header line (the user's choice, kept by the front end).
    collapsed = traitlets.Bool(False).tag(sync=True)
    #: Offer a dismiss button (panels inside a studio).
    dismissable = traitlets.Bool(False).tag(sync=True)
    #: The kernel that follows the task: a front end whose notebook runs another kernel (a
    #: reopened notebook) knows that this panel's kernel is gone.
    kernel_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        client: LumaClient,
        task_id: str | Task | None = None,
        *,
        download_dir: str | os.PathLike[str] | None = None,
        timeout: float = 3600,
        poll_policy: PollPolicy | None = None,
        autostart: bool = True,
        _submit: Callable[[], Task] | None = None,
        _prompt: str | None = None,
        _details: Sequence[tuple[str, str]] = (),
        _on_dismiss: Callable[[TaskPanel], None] | None = None,
        _on_change: Callable[[], None] | None = None,
        _saved: tuple[str, int] | None = None,
    ) -> None:
        self._client = client
        self._download_dir = Path(download_dir) if download_dir is not None else None
        self._tracker = TaskTracker(
            client,
            task_id,
            submit=_submit,
            prompt=_prompt,
            timeout=timeout,
            poll_policy=poll_policy,
            on_activity=self._ensure_rendering,
            details=_details,
            saved=_saved,
        )
        self._on_dismiss = _on_dismiss
        self._on_change = _on_change
        # Live only: the signed video link goes to the browser in a message, never in state.
        self._video_url: str | None = None
        self._outputs = SavedText(self._repr_mimebundle_, self._saved_text)
        self._saved: tuple[object, ...] | None = None
        self._render_lock = threading.Lock()
        self._rendering = False
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._rendered = -1
        view = self._tracker.snapshot()
        super().__init__(
            state=front_end_state(view),
            dismissable=_on_dismiss is not None,
            kernel_id=_current_kernel_id(),
        )
        self._rendered = view.version
        self._saved = _saved_key(view)
        self.on_msg(self._on_front_end_message)
        if autostart:
            self.start()

    # -- public API -------------------------------------------------------------------------

    @classmethod
    def resume(cls, client: LumaClient, task_id: str, **options: Any) -> TaskPanel:
        """Follow a task again (after a kernel restart, say) with what the journal knows of it.

        The job journal (see [`Journal`][luma_tools.Journal]) supplies the prompt, the aspect
        ratio and images asked for, the task an extension continues, the folder the video was
        headed for and the file it was saved to. Without an entry (or with the journal off)
        the panel simply follows the id. Nothing is ever created or sent again.

        Args:
            client: The client to poll (and download) with.
            task_id: The task to follow.
            **options: Any other `TaskPanel` argument (`download_dir`, `timeout`...).

        Example:
            ```python
            from luma_tools.widgets import TaskPanel

            task = client.create("a lantern festival at night")
            # ... the kernel restarts; in a new cell, with a client again:
            panel = TaskPanel.resume(client, task.id)
            assert panel.view.prompt == "a lantern festival at night"
            panel.close()
            ```
        """
        job = None
        journal = getattr(client, "journal", None)
        if journal is not None:
            try:
                job = journal.job(task_id)
            except Exception:  # an unreadable journal must not stop the user following the task
                job = None
        if job is None or job.task_id != task_id:
            return cls(client, task_id, **options)
        details = []
        ratio = job.options.get("aspect_ratio")
        if ratio:
            details.append(("aspect ratio", str(ratio)))
        for key, label in (("image_url", "start image"), ("image_end_url", "end image")):
            if job.options.get(key):
                details.append((label, str(job.options[key])[:80]))
        if job.extends:
            details.append(("extends", job.extends))
        if "download_dir" not in options and job.dest:
            dest = Path(job.dest)
            options["download_dir"] = dest.parent if dest.suffix.lower() == ".mp4" else dest
        saved = (job.file, job.file_bytes or 0) if job.is_saved and job.file else None
        return cls(client, task_id, _prompt=job.prompt, _details=details, _saved=saved, **options)

    @property
    def view(self) -> PanelView:
        """The current [`PanelView`][luma_tools.widgets.PanelView] snapshot (plain data)."""
        return self._tracker.snapshot()

    @property
    def task(self) -> Task | None:
        """The task as last seen."""
        return self._tracker.task

    def start(self) -> bool:
        """Start or resume polling; False if already polling, finished, or hopeless."""
        return self._tracker.start()

    def stop(self) -> None:
        """Stop polling. The task keeps running on the gateway; `start()` resumes."""
        self._tracker.stop()
        self._ensure_rendering()

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
            thread = self._thread
        if thread is not None:
            thread.join(left())
            if thread.is_alive():
                return False
        return self._rendered == self._tracker.snapshot().version

    def close(self) -> None:
        """Stop polling and rendering, and close the widget."""
        self._tracker.stop()
        self._closed.set()
        super().close()

    # -- text fallback -----------------------------------------------------------------------

    def __repr__(self) -> str:
        view = self._tracker.snapshot()
        return f"TaskPanel(task_id={view.task_id!r}, phase={view.phase!r}, polls={view.polls})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._tracker.snapshot().text())

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        # text/plain is what front ends without widgets show instead of the panel.
        data, metadata = bundle_of(super()._repr_mimebundle_(**kwargs))
        data["text/plain"] = self._tracker.snapshot().text()
        return data, metadata

    def _ipython_display_(self) -> None:
        # In IPython: the panel, then its text in an output of its own that follows the task
        # (what GitHub, nbviewer and nbconvert show of a saved notebook).
        self._outputs.show()

    def _saved_text(self) -> str:
        return self._tracker.snapshot().text()

    # -- messages from the front end (kernel's main thread) ----------------------------------

    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "hello":
            self._send_video()
        elif kind == "stop":
            self.stop()
        elif kind == "resume":
            self.start()
        elif kind == "download":
            self.download()
        elif kind == "expired":  # the preview could not play its link: it may have expired
            self._tracker.refresh_link()
        elif kind == "dismiss" and self._on_dismiss is not None:
            self._on_dismiss(self)

    def _send_video(self) -> None:
        if self._video_url is not None:
            self.send({"kind": "video", "url": self._video_url})

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
        if self._closed.is_set():
            return
        state = front_end_state(view)
        if state != self.state:
            self.state = state
        url = view.video_url if view.phase == Phase.COMPLETED else None
        if url != self._video_url:
            self._video_url = url
            self._send_video()
        self._rendered = view.version
        key = _saved_key(view)
        if key != self._saved:
            self._saved = key
            self._outputs.refresh()
            if self._on_change is not None:
                self._on_change()
