"""The widget-free model behind a task panel: follow a task, download it, report what happened.

[`TaskTracker`][luma_tools.widgets.TaskTracker] runs `LumaClient.wait` (and `download`) in
background threads and keeps the outcome in an immutable [`PanelView`][luma_tools.widgets.PanelView]
snapshot. It imports no ipywidgets, so all the logic (phases, ETA progress, error texts) is
testable without a kernel; the widgets only render snapshots.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._client import LumaClient, PollEvent
from .._exceptions import (
    AmbiguousSubmitError,
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    LumaError,
    NotFoundError,
    QuotaError,
    TaskFailedError,
    WaitCancelledError,
    WaitTimeoutError,
)
from .._models import Task, TaskState
from .._polling import PollPolicy

__all__ = [
    "PanelView",
    "Phase",
    "TaskTracker",
    "format_bytes",
    "format_seconds",
    "refollow_code",
]

#: While the ETA says the task should be done but it is not, the bar stays just short of full.
_OVERDUE_FRACTION = 0.95

#: Errors that following the task again cannot cure: a panel offers no Resume after them.
#: (An ambiguous create is among them: resuming could only mean sending a paid request twice.)
#: Signed video links expire; a preview that fails to play asks for a fresh one at most this
#: often (seconds), so a link that can never play does not become a stream of requests.
LINK_REFRESH_SECONDS = 30.0

_HOPELESS = (
    AuthenticationError,
    QuotaError,
    NotFoundError,
    InvalidInputError,
    BadRequestError,
    AmbiguousSubmitError,
)


def refollow_code(task_id: str | None) -> str:
    """The one line of Python that follows `task_id` again in a new cell.

    Panels show it when their kernel is gone, and their saved text carries it, so a task id
    is never lost. It is declared once, here, so that every panel and the docs say the same.
    [`TaskPanel.resume`][luma_tools.widgets.TaskPanel.resume] follows the task with what the
    job journal knows of it (prompt, options, destination, saved file).

    Example:
        ```python
        from luma_tools.widgets import refollow_code

        assert refollow_code("9d4b7516") == 'TaskPanel.resume(client, "9d4b7516")'
        ```
    """
    # json.dumps quotes and escapes like a Python string literal for any printable id.
    return f"TaskPanel.resume(client, {json.dumps(task_id or '<task id>')})"


class Phase:
    """The phases a panel shows. The first five mirror `TaskState`; the rest are the panel's own."""

    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    STOPPED = "stopped"
    TIMED_OUT = "timed out"
    ERROR = "error"

    #: Phases in which nothing is being polled any more.
    FINAL = frozenset({COMPLETED, FAILED, STOPPED, TIMED_OUT, ERROR})


@dataclass(frozen=True)
class PanelView:
    """An immutable snapshot of everything a panel displays.

    Attributes:
        version: Grows by one on every change; renderers skip versions they have drawn.
        phase: One of the [`Phase`][luma_tools.widgets.Phase] values.
        task_id: The task followed (None while the create request is in flight).
        raw_state: The gateway's own state word, when it sent one.
        prompt: The task's prompt, when known.
        polls: Polls made so far (over all resumes).
        elapsed: Seconds followed so far (frozen once the task is finished).
        seconds_left: Seconds left according to the gateway's estimate, if any.
        progress: 0..1 from the estimate, or None while there is none (indeterminate).
        last_error: The last transient poll error (it was retried), if any.
        message: Why the task failed / stopped / could not be followed.
        hint: What to try next.
        video_url: The hosted video, once completed.
        downloading: A download is in progress.
        download_done: Bytes downloaded so far.
        download_total: Size of the download, when the server said.
        download_path: Where the video was saved.
        download_size: Size of the saved file in bytes.
        download_error: Why the last download failed, with a hint.
        active: A poll or download thread is running.
        retryable: Following the task again can help (Resume is offered). False after an
            error that would only repeat itself (bad key, no quota, unknown task) and after a
            create whose outcome is unknown.
        ambiguous: The create request may have reached the gateway but no reply came back:
            a task may exist and be billed although its id is unknown.
        stopping: Stop was pressed while the create request was in flight; the panel stops
            once the gateway answers with the task id.
        details: (label, value) pairs describing the request: aspect ratio, images, the task
            an extension continues.
    """

    version: int = 0
    phase: str = Phase.SUBMITTING
    task_id: str | None = None
    raw_state: str | None = None
    prompt: str | None = None
    polls: int = 0
    elapsed: float = 0.0
    seconds_left: float | None = None
    progress: float | None = None
    last_error: str | None = None
    message: str | None = None
    hint: str | None = None
    video_url: str | None = None
    downloading: bool = False
    download_done: int = 0
    download_total: int | None = None
    download_path: str | None = None
    download_size: int | None = None
    download_error: str | None = None
    active: bool = False
    retryable: bool = False
    ambiguous: bool = False
    stopping: bool = False
    details: tuple[tuple[str, str], ...] = ()

    @property
    def is_final(self) -> bool:
        """Nothing is being polled any more (completed, failed, stopped, timed out, error)."""
        return self.phase in Phase.FINAL

    @property
    def resumable(self) -> bool:
        """Resume makes sense: the task id is known and following it again can help."""
        return self.retryable and self.task_id is not None and self.phase in _RESUMABLE

    def task_line(self) -> str:
        """Which task this is: its id, or what became of the create request."""
        if self.task_id:
            return f"task {self.task_id}"
        if self.ambiguous:
            return "task id unknown: a task may have been created and billed"
        if self.phase == Phase.SUBMITTING:
            return "creating the task…"
        return "no task was created"

    def status_line(self) -> str:
        """One line of plain text: elapsed time, polls and time left."""
        polls = "1 poll" if self.polls == 1 else f"{self.polls} polls"
        parts = [f"{format_seconds(self.elapsed)} elapsed", polls]
        if self.phase in (Phase.QUEUED, Phase.RUNNING, Phase.UNKNOWN):
            if self.seconds_left is None:
                parts.append("no estimate yet")
            elif self.seconds_left > 0:
                parts.append(f"about {format_seconds(self.seconds_left)} left")
            else:
                parts.append("should finish any moment")
        return " · ".join(parts)

    def text(self) -> str:
        """A multi-line plain-text rendering (the fallback where widgets cannot render).

        It names the task, its state and what became of it, never a video link: links are
        signed and expire, and this text gets saved into notebooks.
        """
        lines = [f"Luma task {self.task_id or '(no id)'}: {self.phase}"]
        if not self.task_id and self.phase != Phase.SUBMITTING:
            lines.append(f"  {self.task_line()}")
        if self.prompt:
            lines.append(f"  prompt: {self.prompt}")
        for label, value in self.details:
            lines.append(f"  {label}: {value}")
        lines.append(f"  {self.status_line()}")
        if self.message:
            lines.append(f"  {self.message}")
        if self.hint:
            lines.append(f"  what to try: {self.hint}")
        if self.last_error and not self.is_final:
            lines.append(f"  last error: {self.last_error}")
        if self.download_path:
            lines.append(f"  saved: {self.download_path} ({format_bytes(self.download_size or 0)})")
        if self.task_id and self.phase not in (Phase.COMPLETED, Phase.FAILED):
            lines.append(f"  follow it again: {refollow_code(self.task_id)}")
        return "\n".join(lines)


#: Phases in which Resume can follow the task again (if the error allows it).
_RESUMABLE = frozenset({Phase.STOPPED, Phase.TIMED_OUT, Phase.ERROR})


def format_seconds(seconds: float) -> str:
    """`"42 s"`, `"3 min 05 s"` or `"1 h 02 min"`.

    Example:
        ```python
        from luma_tools.widgets import format_seconds

        assert format_seconds(185) == "3 min 05 s"
        assert format_seconds(3720) == "1 h 02 min"
        ```
    """
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(size: int) -> str:
    """`"812 B"`, `"120.5 kB"`, `"3.2 MB"` (decimal units, like file managers).

    Example:
        ```python
        from luma_tools.widgets import format_bytes

        assert format_bytes(123_427) == "123.4 kB"
        assert format_bytes(812) == "812 B"
        ```
    """
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


_PHASE_OF_STATE = {
    TaskState.QUEUED: Phase.QUEUED,
    TaskState.RUNNING: Phase.RUNNING,
    TaskState.COMPLETED: Phase.COMPLETED,
    TaskState.FAILED: Phase.FAILED,
    TaskState.UNKNOWN: Phase.UNKNOWN,
}


class TaskTracker:
    """Follow one task in background threads and publish [`PanelView`][luma_tools.widgets.PanelView]
    snapshots.

    Only the tracker's own threads call the client; every change bumps `version` and wakes
    whoever waits in [`wait_for_change`][luma_tools.widgets.TaskTracker.wait_for_change]. The
    tracker never touches widgets, so it is safe to use from any thread.

    Args:
        client: The client to poll and download with.
        task: The task (or its id) to follow. Leave it out and pass `submit` instead to have
            the tracker create the task itself, off the caller's thread.
        submit: Called once in the poll thread to create the task (e.g. `client.create`).
        prompt: The prompt to show until the gateway echoes one.
        timeout: Seconds to follow the task before giving up (it keeps running remotely).
        poll_policy: Overrides the client's poll policy for this task.
        on_activity: Called (from the calling thread) whenever a poll or download starts, so a
            renderer can wake up.
        details: (label, value) pairs shown with the task, e.g. `("aspect ratio", "9:16")`.
        saved: (path, size) of a video already saved for this task (the journal knows).

    Example:
        ```python
        from luma_tools.widgets import TaskTracker

        task = client.create("a kite above a beach")
        tracker = TaskTracker(client, task.id)
        tracker.start()  # polls in a background thread
        assert tracker.join(timeout=600)  # True once the task has finished
        print(tracker.snapshot().text())
        ```
    """

    def __init__(
        self,
        client: LumaClient,
        task: str | Task | None = None,
        *,
        submit: Callable[[], Task] | None = None,
        prompt: str | None = None,
        timeout: float = 3600,
        poll_policy: PollPolicy | None = None,
        on_activity: Callable[[], None] | None = None,
        details: Sequence[tuple[str, str]] = (),
        saved: tuple[str, int] | None = None,
    ) -> None:
        if (task is None) == (submit is None):
            raise ValueError("pass either a task (or task id) or a submit callable")
        self._client = client
        self._task: Task | None = task if isinstance(task, Task) else None
        self._submit = submit
        self._timeout = timeout
        self._poll_policy = poll_policy
        self._on_activity = on_activity
        self._changed = threading.Condition()
        task_id = task.id if isinstance(task, Task) else task
        if isinstance(task, Task) and task.prompt:
            prompt = task.prompt
        self._view = PanelView(
            phase=Phase.QUEUED if task_id else Phase.SUBMITTING,
            task_id=task_id,
            prompt=prompt,
            details=tuple((str(label), str(value)) for label, value in details),
            download_path=saved[0] if saved else None,
            download_size=saved[1] if saved else None,
        )
        self._cancel = threading.Event()
        self._threads: list[threading.Thread] = []
        self._jobs = 0
        # Time spent in earlier (stopped) waits, so elapsed and polls add up over resumes.
        self._base_elapsed = 0.0
        self._base_polls = 0
        self._started: float | None = None
        # The ETA: at `_eta_at` seconds into the wait the gateway said `_eta_left` seconds left.
        self._eta_at: float | None = None
        self._eta_left: float | None = None
        self._link_asked_at: float | None = None
        if isinstance(task, Task):
            self._note_estimate(task)

    # -- reading ----------------------------------------------------------------------------

    def snapshot(self) -> PanelView:
        """The current view, with elapsed time and ETA progress brought up to date."""
        with self._changed:
            return self._refreshed()

    def wait_for_change(self, version: int, timeout: float) -> PanelView:
        """Block until the view's version differs from `version` or `timeout` passes.

        Returns:
            The current view (elapsed time refreshed either way).
        """
        with self._changed:
            self._changed.wait_for(lambda: self._view.version != version, timeout=timeout)
            return self._refreshed()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no poll or download thread runs; True if they all finished in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            return self._changed.wait_for(
                lambda: self._jobs == 0,
                timeout=None if deadline is None else max(0.0, deadline - time.monotonic()),
            )

    @property
    def task(self) -> Task | None:
        """The task as last seen, or None before the first sight."""
        return self._task

    # -- commands ---------------------------------------------------------------------------

    def start(self) -> bool:
        """Start (or resume) following the task in a background thread.

        Returns:
            False (and does nothing) if the task is already followed or already finished.
        """
        with self._changed:
            view = self._view
            if self._is_polling():
                return False
            if view.phase in Phase.FINAL and not view.resumable:
                return False  # finished, or an error that another try would only repeat
            if view.task_id is None and self._submit is None:
                return False  # the create was sent (and may be billed): nothing to follow
            self._cancel = threading.Event()
            if view.phase in Phase.FINAL:  # resuming after stop / timeout / error
                phase = (
                    Phase.SUBMITTING
                    if view.task_id is None
                    else _PHASE_OF_STATE[self._task.state]
                    if self._task is not None
                    else Phase.QUEUED
                )
                self._update(phase=phase, message=None, hint=None, retryable=False)
            thread = threading.Thread(
                target=self._follow, args=(self._cancel,), name="luma-panel-poll", daemon=True
            )
            self._begin(thread)
        self._announce()
        return True

    def stop(self) -> None:
        """Stop polling (the task keeps running on the gateway; `start` resumes).

        While the create request is in flight it cannot be recalled (it may already be paid
        for): the tracker says so and stops as soon as the gateway answers with the task id.
        """
        with self._changed:
            self._cancel.set()
            if self._view.phase == Phase.SUBMITTING and self._is_polling():
                self._update(
                    stopping=True,
                    message=(
                        "Stopping: the create request is already on its way and cannot be "
                        "recalled. The panel stops following as soon as the gateway answers "
                        "with the task id."
                    ),
                )

    def download(
        self,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
    ) -> bool:
        """Download the completed video to `dest` (file or directory) in a background thread.

        Returns:
            False (and does nothing) if the task is not completed or a download is running.
        """
        with self._changed:
            task = self._task
            if task is None or self._view.phase != Phase.COMPLETED or self._view.downloading:
                return False
            self._update(downloading=True, download_done=0, download_error=None)
            thread = threading.Thread(
                target=self._download,
                args=(task, dest, overwrite),
                name="luma-panel-download",
                daemon=True,
            )
            self._begin(thread)
        self._announce()
        return True

    def refresh_link(self) -> bool:
        """Ask the gateway for a fresh video link in a background thread (links expire).

        Returns:
            False (and does nothing) unless the task is completed and no refresh was asked for
            in the last `LINK_REFRESH_SECONDS`.
        """
        with self._changed:
            task, now = self._task, time.monotonic()
            recent = (
                self._link_asked_at is not None and now - self._link_asked_at < LINK_REFRESH_SECONDS
            )
            if task is None or self._view.phase != Phase.COMPLETED or recent:
                return False
            self._link_asked_at = now
            thread = threading.Thread(
                target=self._refresh_link, args=(task.id,), name="luma-panel-link", daemon=True
            )
            self._begin(thread)
        self._announce()
        return True

    # -- threads ----------------------------------------------------------------------------

    def _refresh_link(self, task_id: str) -> None:
        changes: dict[str, object] = {}
        try:
            fresh = self._client.get(task_id)
            url = fresh.video_url
            if url is None and fresh.state is TaskState.COMPLETED:
                url = self._client.download_url(task_id)
                fresh = fresh.model_copy(update={"video_url": url, "download_url": url})
            if url is not None:
                with self._changed:
                    self._task = fresh
                changes["video_url"] = url
        except LumaError:
            pass  # the preview stays as it is; the task and a saved file are not affected
        finally:
            self._end(**changes)

    def _is_polling(self) -> bool:
        return any(t.name == "luma-panel-poll" and t.is_alive() for t in self._threads)

    def _begin(self, thread: threading.Thread) -> None:
        """Register and start a job thread (lock held)."""
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        self._jobs += 1
        self._update(active=True)
        thread.start()

    def _announce(self) -> None:
        if self._on_activity is not None:
            self._on_activity()

    def _end(self, **changes: object) -> None:
        """Publish a job's final changes and mark it finished, atomically."""
        with self._changed:
            self._jobs -= 1
            self._update(active=self._jobs > 0, **changes)

    def _follow(self, cancel: threading.Event) -> None:
        changes: dict[str, object] = {}
        try:
            if self._task is None and self._submit is not None:
                # A paid request: never sent twice, not even when it failed (its outcome may
                # be unknown) and the panel is resumed.
                submit, self._submit = self._submit, None
                task = submit()
                self._seen(task)
                if cancel.is_set():  # Stop was pressed while the create was in flight
                    raise WaitCancelledError(task.id, task)
            with self._changed:
                self._started = time.monotonic()
                # The task from create saves a request and carries the first estimate; after a
                # stop it is stale, so a resume polls the id at once instead.
                fresh = self._task is not None and self._base_polls == 0
                task_or_id: str | Task = (
                    self._task if fresh and self._task else str(self._view.task_id)
                )
            final = self._client.wait(
                task_or_id,
                timeout=self._timeout,
                on_update=self._seen,
                on_poll=self._polled,
                cancel=cancel,
                poll_policy=self._poll_policy,
            )
            self._seen(final)
            changes = {"phase": Phase.COMPLETED, "progress": 1.0, "seconds_left": None}
        except TaskFailedError as exc:
            self._seen(exc.task)
            changes = {
                "phase": Phase.FAILED,
                "message": exc.failure_reason or "The gateway gave no reason",
                "hint": exc.hint,
                "seconds_left": None,
            }
        except WaitCancelledError:
            changes = {
                "phase": Phase.STOPPED,
                "message": "Stopped following this task; it keeps running on the gateway.",
                "hint": "Resume follows it again",
                "retryable": True,
            }
        except WaitTimeoutError as exc:
            changes = {
                "phase": Phase.TIMED_OUT,
                "message": exc.message,
                "hint": "It keeps running on the gateway: Resume follows it again",
                "retryable": True,
            }
        except LumaError as exc:
            changes = self._error_changes(exc)
        except Exception as exc:  # a panel must show every failure, never die silently
            changes = {
                "phase": Phase.ERROR,
                "message": f"{type(exc).__name__}: {exc}",
                "hint": "This looks like a bug in luma-tools; please report it",
                "retryable": self._view.task_id is not None,
            }
        finally:
            with self._changed:
                if self._started is not None:
                    self._base_elapsed += time.monotonic() - self._started
                    self._started = None
                self._base_polls = self._view.polls
                changes["elapsed"] = self._base_elapsed
                changes["stopping"] = False
            self._end(**changes)

    def _error_changes(self, exc: LumaError) -> dict[str, object]:
        """The view of an error that stopped the follow: named by task, with a useful hint."""
        task_id = self._view.task_id
        message, hint = exc.message, exc.hint
        if isinstance(exc, AmbiguousSubmitError):
            # The one case where a task may exist that nobody knows the id of: say so, and
            # how to find it; never suggest sending the request again.
            message = f"{message}. A task may have been created and billed."
            hint = (
                "Do not generate it again: it is recorded as ambiguous in the job journal "
                "(luma-tools jobs --ambiguous). Look for the task in your gateway's task log "
                f"(by the time above), then follow it with {refollow_code(exc.task_id)}"
            )
        elif task_id is None:
            message = f"The create request failed, so no task was created: {message}"
        elif task_id not in message:
            message = f"Task {task_id}: {message}"
        return {
            "phase": Phase.ERROR,
            "message": message,
            "hint": hint,
            "ambiguous": isinstance(exc, AmbiguousSubmitError) and task_id is None,
            "retryable": task_id is not None and not isinstance(exc, _HOPELESS),
        }

    def _seen(self, task: Task) -> None:
        """`on_update`: a new state (or the first sight) of the task."""
        with self._changed:
            self._task = task
            phase = _PHASE_OF_STATE[task.state]
            if phase == Phase.COMPLETED and not task.is_finished:
                phase = Phase.RUNNING  # completed but the video URL is not there yet
            self._note_estimate(task)
            self._update(
                phase=phase,
                task_id=task.id,
                raw_state=task.raw_state,
                prompt=task.prompt or self._view.prompt,
                video_url=task.video_url if task.is_finished else None,
            )

    def _polled(self, event: PollEvent) -> None:
        """`on_poll`: count the poll, note the estimate or the transient error."""
        with self._changed:
            changes: dict[str, object] = {"polls": self._base_polls + event.polls}
            if event.error is not None:
                error = event.error
                status = f" (HTTP {error.status_code})" if error.status_code else ""
                delay = event.next_delay
                retry = (
                    "" if delay is None else f"; retrying in {delay:.{0 if delay >= 1 else 1}f} s"
                )
                changes["last_error"] = f"poll {event.polls}: {error.message}{status}{retry}"
            if event.task is not None:
                self._task = event.task
                self._note_estimate(event.task)
            self._update(**changes)

    def _note_estimate(self, task: Task) -> None:
        if task.estimate_wait_seconds is not None and not task.state.is_terminal:
            self._eta_at = self._elapsed_now()
            self._eta_left = task.estimate_wait_seconds

    def _download(self, task: Task, dest: str | os.PathLike[str], overwrite: bool) -> None:
        last = 0.0

        def progress(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            # Progress callbacks come per chunk; a snapshot per 0.1 s is plenty for a display.
            if now - last >= 0.1 or (total is not None and done >= total):
                last = now
                with self._changed:
                    self._update(download_done=done, download_total=total)

        try:
            path = self._client.download(task, dest, overwrite=overwrite, on_progress=progress)
            size = path.stat().st_size
        except LumaError as exc:
            text = exc.message + (f". {exc.hint}" if exc.hint else "")
            self._end(downloading=False, download_error=text)
        except OSError as exc:
            self._end(downloading=False, download_error=f"Could not save the file: {exc}")
        except Exception as exc:  # the job must end, or `join` and the button hang for good
            self._end(downloading=False, download_error=f"{type(exc).__name__}: {exc}")
        else:
            self._end(
                downloading=False,
                download_path=str(path.resolve()),
                download_size=size,
                download_done=size,
            )

    # -- bookkeeping (lock held) -------------------------------------------------------------

    def _elapsed_now(self) -> float:
        running = time.monotonic() - self._started if self._started is not None else 0.0
        return self._base_elapsed + running

    def _refreshed(self) -> PanelView:
        """The view with live fields (elapsed, ETA) recomputed, without bumping the version."""
        view = self._view
        if view.is_final:
            return view
        elapsed = self._elapsed_now()
        seconds_left = progress = None
        if self._eta_at is not None and self._eta_left is not None:
            seconds_left = max(0.0, self._eta_left - (elapsed - self._eta_at))
            total = self._eta_at + self._eta_left
            progress = min(_OVERDUE_FRACTION, elapsed / total) if total > 0 else _OVERDUE_FRACTION
        return dataclasses.replace(
            view, elapsed=elapsed, seconds_left=seconds_left, progress=progress
        )

    def _update(self, **changes: object) -> None:
        self._view = dataclasses.replace(
            self._view,
            version=self._view.version + 1,
            **changes,  # type: ignore[arg-type]
        )
        self._changed.notify_all()
