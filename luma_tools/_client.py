"""`LumaClient`: the one object that talks to a Luma API gateway."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict, Unpack
from urllib.parse import quote

import requests
from pydantic import SecretStr

from ._closing import Closing
from ._download import ProgressCallback, stream_to_file
from ._errors import business_error, error_from_status, parse_json_leniently
from ._exceptions import (
    AmbiguousSubmitError,
    BadRequestError,
    DestinationExistsError,
    InvalidInputError,
    LumaConnectionError,
    LumaError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotReadyError,
    WaitCancelledError,
    WaitTimeoutError,
)
from ._images import _check_url
from ._models import AspectRatio, GenerationRequest, Task, TaskState
from ._polling import PollPolicy, PollSchedule
from ._transport import BearerAuth, build_session, never_sent
from ._version import __version__

__all__ = ["GenerationOptions", "LumaClient", "PollEvent"]

log = logging.getLogger("luma_tools")

API_KEY_ENV = "LUMA_API_KEY"
BASE_URL_ENV = "LUMA_BASE_URL"
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_MAX_TASK_ID = 128
# Polls that may see "completed" without a video URL before asking download_video_url directly.
_URL_GRACE_POLLS = 3
# Consecutive transient errors (network, 5xx, 429) that `wait` rides out before giving up.
_MAX_WAIT_ERRORS = 5


class NotifyWatchLike(Protocol):
    """One wait's subscription to a task's callbacks (see `luma_tools.webhooks.NotifyWatch`)."""

    @property
    def proven(self) -> bool: ...

    def wait(
        self, timeout: float, cancel: threading.Event | None = None
    ) -> Literal["final", "alive", "timeout", "closed", "cancelled"]: ...

    def close(self) -> None: ...


class NotifyListenerLike(Protocol):
    """What `create(notify=)` and `wait(listener=)` need of a callback listener.

    `luma_tools.webhooks.NotifyListener` is the implementation; the client only knows this
    shape, so it never imports the web server.
    """

    @property
    def url(self) -> str: ...

    @property
    def safety_interval(self) -> float: ...

    def watch(self, task_id: str) -> NotifyWatchLike: ...


class GenerationOptions(TypedDict, total=False):
    """Optional settings of a create or extend request (all passed through to the gateway)."""

    aspect_ratio: AspectRatio
    expand_prompt: bool
    loop: bool
    image_url: str
    image_end_url: str
    notify_hook: str
    model_name: str
    duration: str
    resolution: str


@dataclass(frozen=True)
class PollEvent:
    """What one poll of `wait` saw, for progress displays.

    Attributes:
        task: The task as polled, or None if the poll failed.
        error: The transient error of a failed poll (it will be retried), else None.
        polls: Polls made so far, this one included.
        elapsed: Seconds since `wait` started.
        next_delay: Seconds until the next poll, or None if this was the last one.
    """

    task: Task | None
    error: LumaError | None
    polls: int
    elapsed: float
    next_delay: float | None


def check_task_id(task_id: str) -> str:
    """Return `task_id` if it is safe to put in a URL path, else raise `InvalidInputError`."""
    if not isinstance(task_id, str):
        raise InvalidInputError("task_id", f"must be a string, not {type(task_id).__name__}")
    if not task_id:
        raise InvalidInputError("task_id", "is empty", hint="Pass the id returned by create")
    if len(task_id) > _MAX_TASK_ID:
        raise InvalidInputError(
            "task_id",
            f"is {len(task_id)} characters long; ids are at most {_MAX_TASK_ID}",
            hint="Pass the id returned by create, not a URL or a message",
        )
    if not _TASK_ID.fullmatch(task_id):
        raise InvalidInputError(
            "task_id",
            f"{task_id[:40]!r} contains characters a task id never has (/, ?, #, whitespace, ...)",
            hint="Pass the id exactly as returned by create",
        )
    return task_id


def _describe_network_error(exc: BaseException) -> str:
    """A few words on what went wrong on the wire ("connection refused", "read timeout")."""
    text = repr(exc)
    for needle, words in (
        ("ConnectTimeout", "connect timeout"),
        ("ReadTimeout", "read timeout"),
        ("Connection refused", "connection refused"),
        ("ConnectionRefused", "connection refused"),
        ("NameResolution", "host name not found"),
        ("RemoteDisconnected", "connection closed without a reply"),
        ("reset by peer", "connection reset"),
        ("ConnectionReset", "connection reset"),
        ("SSL", "TLS error"),
    ):
        if needle in text:
            return words
    return type(exc).__name__


def _resolve_base_url(base_url: str | None) -> str:
    value = (base_url or os.environ.get(BASE_URL_ENV) or "").strip()
    if not value:
        raise InvalidInputError(
            "base_url",
            "no gateway URL",
            hint=f"Pass base_url='https://your-gateway' or set {BASE_URL_ENV}",
        )
    value = _check_url(
        "base_url", value, hint="Pass the gateway origin, e.g. https://api.example.com"
    ).rstrip("/")
    # People paste the endpoint instead of the origin; the paths are ours to add.
    for suffix in ("/luma/generations", "/luma"):
        if value.endswith(suffix):
            value = value[: -len(suffix)]
    return value


def _resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    value = (api_key or os.environ.get(API_KEY_ENV) or "").strip()
    if not value:
        raise InvalidInputError(
            "api_key", "no API key", hint=f"Pass api_key=... or set {API_KEY_ENV}"
        )
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return SecretStr(value)


class LumaClient(Closing):
    """A client for the Luma video API of an API gateway.

    One client holds one `requests.Session` (connection pooling, retries) and is safe to share
    between threads. Use it as a context manager, or call `close()`.

    Args:
        api_key: The gateway key. Defaults to the `LUMA_API_KEY` environment variable.
            Stored as a `SecretStr`; it never appears in a repr, a log line or an error.
        base_url: The gateway origin, e.g. `https://api.example.com`. Defaults to
            `LUMA_BASE_URL`.
        timeout: Seconds for (connect, read), or one number for both.
        max_retries: Retries of a GET on connection errors, timeouts, 429 and 5xx.
        poll_policy: How `wait` spaces its polls.
        bool_as_string: Send `expand_prompt`/`loop` as `"true"`/`"false"` for the few gateways
            that insist on strings (most reject them).
        max_connections: Connections kept open per host; raise it for many concurrent jobs.

    Example:
        ```python
        from luma_tools import LumaClient

        with LumaClient() as client:  # LUMA_API_KEY and LUMA_BASE_URL from the environment
            task = client.create("a red fox running through snow", aspect_ratio="16:9")
            task = client.wait(task.id)
            path = client.download(task, "fox.mp4")
        ```
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        max_retries: int = 3,
        poll_policy: PollPolicy | None = None,
        bool_as_string: bool = False,
        max_connections: int = 10,
    ) -> None:
        self.api_key = _resolve_api_key(api_key)
        self.base_url = _resolve_base_url(base_url)
        self.timeout = (
            (float(timeout), float(timeout))
            if isinstance(timeout, int | float)
            else (float(timeout[0]), float(timeout[1]))
        )
        self.poll_policy = poll_policy or PollPolicy()
        self.bool_as_string = bool_as_string
        self.max_connections = max_connections
        self._api = f"{self.base_url}/luma"
        self._auth = BearerAuth(self.api_key, self._api + "/")
        self._session = build_session(
            max_retries=max_retries,
            pool_size=max_connections,
            user_agent=f"luma-tools/{__version__} python-requests/{requests.__version__}",
        )

    def __repr__(self) -> str:
        return f"LumaClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # ---------------------------------------------------------------------------------------
    # HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        task_id: str | None = None,
        submit: str | None = None,
    ) -> Any:
        """Send one API request and return its parsed JSON, or raise the right `LumaError`.

        `submit` names a paid request ("create", "extend"): if it may have reached the gateway
        without an answer coming back, `AmbiguousSubmitError` is raised instead of retrying.
        """
        started = time.perf_counter()
        sent_at = datetime.now(UTC)
        try:
            response = self._session.request(
                method, self._api + path, json=body, timeout=self.timeout, auth=self._auth
            )
            text = response.content.decode("utf-8", errors="replace")
        except requests.RequestException as exc:
            log.debug("%s %s failed: %s", method, path, _describe_network_error(exc))
            raise self._network_error(exc, submit, sent_at, body, task_id) from exc
        log.debug(
            "%s %s -> %d in %.0f ms",
            method,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 400:
            raise error_from_status(
                response.status_code,
                text,
                task_id=task_id,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        data = parse_json_leniently(text)
        if data is None:
            message = f"The gateway sent a reply that is not JSON: {text[:120]!r}"
            if submit:
                raise AmbiguousSubmitError(
                    message, status_code=response.status_code, task_id=task_id
                )
            raise ServerError(message, status_code=response.status_code, task_id=task_id)
        error = business_error(data, task_id=task_id)
        if error is not None:
            raise error
        return data

    def _network_error(
        self,
        exc: requests.RequestException,
        submit: str | None,
        sent_at: datetime,
        body: dict[str, Any] | None,
        task_id: str | None,
    ) -> LumaError:
        what = _describe_network_error(exc)
        if submit and not never_sent(exc):
            prompt = str((body or {}).get("user_prompt", ""))[:60]
            return AmbiguousSubmitError(
                f"The {submit} request (prompt {prompt!r}) was sent at "
                f"{sent_at:%H:%M:%S} UTC but no reply came back ({what})",
                task_id=task_id,
            )
        return LumaConnectionError(f"Could not reach {self.base_url} ({what})", task_id=task_id)

    def _task(self, data: Any, *, task_id: str | None = None, submit: str | None = None) -> Task:
        try:
            return Task.from_payload(data)
        except ValueError as exc:
            message = f"The gateway's reply has no usable task ({exc}): {str(data)[:120]}"
            if submit:
                raise AmbiguousSubmitError(message, task_id=task_id) from None
            raise ServerError(message, task_id=task_id) from None

    # ---------------------------------------------------------------------------------------
    # Endpoints

    def create(
        self,
        prompt: str,
        *,
        notify: NotifyListenerLike | None = None,
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Start generating a video. Returns at once with the new (queued) task.

        Args:
            prompt: What the video shows.
            notify: A running [`NotifyListener`][luma_tools.webhooks.NotifyListener]: its URL
                becomes the `notify_hook`, so that `wait(task, listener=...)` can return as
                soon as the gateway calls back.
            **options: `aspect_ratio`, `expand_prompt`, `loop`, `image_url`, `image_end_url`
                (http(s) URL, data URI or local image path), `notify_hook`, `model_name`,
                `duration`, `resolution`.

        Raises:
            InvalidInputError: Before sending anything, for a bad argument.
            AmbiguousSubmitError: The request may have reached the gateway but no reply came
                back; it is never re-sent automatically (it would be billed twice).

        Example:
            ```python
            task = client.create("a paper boat on a stream", aspect_ratio="9:16", loop=True)
            print(task.id, task.state)
            ```
        """
        if notify is not None:
            if options.get("notify_hook"):
                raise InvalidInputError(
                    "notify", "conflicts with notify_hook", hint="Pass one or the other"
                )
            options["notify_hook"] = notify.url
        request = GenerationRequest.build(user_prompt=prompt, **options)
        data = self._request(
            "POST",
            "/generations",
            body=request.to_body(bool_as_string=self.bool_as_string),
            submit="create",
        )
        return self._task(data, submit="create")

    def extend(self, task_id: str, prompt: str, **options: Unpack[GenerationOptions]) -> Task:
        """Continue a completed video by about 5 seconds; returns the new task.

        Takes the same `**options` as [`create`][luma_tools.LumaClient.create] (there is no
        `notify=` here: pass `notify_hook=listener.url` to be called back).
        """
        check_task_id(task_id)
        request = GenerationRequest.build(user_prompt=prompt, **options)
        data = self._request(
            "POST",
            f"/generations/{quote(task_id)}/extend",
            body=request.to_body(bool_as_string=self.bool_as_string),
            task_id=task_id,
            submit="extend",
        )
        return self._task(data, task_id=task_id, submit="extend")

    def get(self, task_id: str) -> Task:
        """Fetch a task's current state.

        Example:
            ```python
            task = client.get(task_id)  # an id from `create`, e.g. "9d4b7516-77e5-481a-..."
            print(task.state, task.video_url)  # the URL is None until the video is ready
            ```
        """
        check_task_id(task_id)
        data = self._request("GET", f"/generations/{quote(task_id)}", task_id=task_id)
        return self._task(data, task_id=task_id)

    def download_url(self, task_id: str) -> str:
        """Ask the gateway for a fresh, unwatermarked download link (valid about an hour).

        Raises:
            BadRequestError: Most gateways answer 400 while the task is not completed.
        """
        check_task_id(task_id)
        data = self._request(
            "GET", f"/generations/{quote(task_id)}/download_video_url", task_id=task_id
        )
        for candidate in (data, _get(data, "data")):
            if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
                return candidate
            for key in ("url", "download_url", "video_url"):
                value = _get(candidate, key)
                if isinstance(value, str) and value:
                    return value
        raise ServerError(
            f"The gateway's reply holds no download link: {str(data)[:120]}", task_id=task_id
        )

    # ---------------------------------------------------------------------------------------
    # Waiting

    def wait(
        self,
        task: str | Task,
        *,
        timeout: float = 600,
        on_update: Callable[[Task], None] | None = None,
        on_poll: Callable[[PollEvent], None] | None = None,
        cancel: threading.Event | None = None,
        poll_policy: PollPolicy | None = None,
        listener: NotifyListenerLike | None = None,
    ) -> Task:
        """Poll until the task completes or fails, and return it.

        The first poll comes after the gateway's `estimate_wait_seconds` when given, otherwise
        after a short delay; then the gaps grow exponentially (with jitter) up to a cap (see
        [`PollPolicy`][luma_tools.PollPolicy]). Network errors, 5xx and 429 are ridden out.

        Args:
            task: A task id, or a task returned by `create` (saves one request).
            timeout: Give up after this many seconds (the task keeps running on the gateway).
            on_update: Called with the task on every state change (and first sight).
            on_poll: Called after every poll, successful or not, with a `PollEvent`.
            cancel: Set this event to stop waiting (raises `WaitCancelledError`).
            poll_policy: Overrides the client's policy for this wait.
            listener: The [`NotifyListener`][luma_tools.webhooks.NotifyListener] the task was
                created with (`create(..., notify=listener)`). A callback claiming the task
                finished triggers one confirming poll at once; once callbacks for the task have
                arrived, polling slows to the listener's `safety_interval`. If the listener
                stops, waiting falls back to ordinary polling.

        Returns:
            The completed task, with its video URL.

        Raises:
            TaskFailedError: The task failed (its `failure_reason` says why).
            WaitTimeoutError: `timeout` passed first; it carries the task id and last state.
            WaitCancelledError: `cancel` was set.

        Example:
            ```python
            task = client.create("a koi pond in the rain")
            task = client.wait(task.id, timeout=900, on_update=lambda t: print(t.state))
            print(task.state, task.video_url)  # completed (a failure raises TaskFailedError)
            ```
        """
        task_id = task.id if isinstance(task, Task) else check_task_id(task)
        if listener is None:
            return self._wait(task, task_id, timeout, on_update, on_poll, cancel, poll_policy)
        with contextlib.closing(listener.watch(task_id)) as watch:
            return self._wait(
                task,
                task_id,
                timeout,
                on_update,
                on_poll,
                cancel,
                poll_policy,
                watch,
                listener.safety_interval,
            )

    def _wait(
        self,
        task: str | Task,
        task_id: str,
        timeout: float,
        on_update: Callable[[Task], None] | None,
        on_poll: Callable[[PollEvent], None] | None,
        cancel: threading.Event | None,
        poll_policy: PollPolicy | None,
        watch: NotifyWatchLike | None = None,
        safety_interval: float = 0.0,
    ) -> Task:
        last = task if isinstance(task, Task) else None
        policy = poll_policy or self.poll_policy
        schedule = PollSchedule(policy)
        safety = safety_interval * policy.time_scale

        def next_delay(seen: Task | None) -> float:
            # Once callbacks for the task arrive, polling is only a safety net against a lost
            # final callback: slow, and without the estimate (the callback will say when).
            delay = schedule.next_delay(seen)
            if watch is not None and watch.proven:
                if seen is not None and seen.state is TaskState.COMPLETED:
                    return delay  # completed, waiting for the URL: no callback may follow
                return max(delay, safety)
            return delay

        started = time.monotonic()
        deadline = started + timeout
        sleeper = cancel or threading.Event()
        seen_state: TaskState | None = None
        polls = errors = completed_without_url = 0
        delay = 0.0
        if last is not None:
            seen_state = last.state
            if on_update is not None:
                on_update(last)
            delay = next_delay(last)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(task_id, seen_state, last, waited=timeout)
            if watch is not None:
                signal = watch.wait(min(delay, remaining), cancel)
                if signal == "cancelled":
                    raise WaitCancelledError(task_id, last)
                if signal == "alive":
                    # A progress callback: the gateway reaches us, so restart the safety net.
                    delay = next_delay(last)
                    continue
                if signal == "closed":
                    log.debug("notify listener closed; waiting on %s by polling", task_id)
                    watch = None  # poll now, then on the ordinary schedule
            elif sleeper.wait(min(delay, remaining)) and cancel is not None:
                raise WaitCancelledError(task_id, last)
            polls += 1
            try:
                current = self.get(task_id)
            except (LumaConnectionError, ServerError, RateLimitError) as exc:
                errors += 1
                if errors > _MAX_WAIT_ERRORS:
                    raise
                delay = next_delay(None)
                if isinstance(exc, RateLimitError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                if on_poll is not None:
                    on_poll(PollEvent(None, exc, polls, time.monotonic() - started, delay))
                continue
            errors = 0
            if current.state is TaskState.COMPLETED and current.video_url is None:
                completed_without_url += 1
                if completed_without_url >= _URL_GRACE_POLLS:
                    current = self._with_download_link(current)
            last = current
            if current.state is not seen_state:
                seen_state = current.state
                if on_update is not None:
                    on_update(current)
            delay = next_delay(current)
            if on_poll is not None:
                on_poll(
                    PollEvent(
                        current,
                        None,
                        polls,
                        time.monotonic() - started,
                        None if current.is_finished else delay,
                    )
                )
            if current.is_finished:
                if current.state is TaskState.FAILED:
                    raise TaskFailedError(current)
                return current

    def _with_download_link(self, task: Task) -> Task:
        """`task` with its video URL filled from `download_video_url`, if the gateway has one."""
        try:
            url = self.download_url(task.id)
        except (
            BadRequestError,
            NotFoundError,
            ServerError,
            LumaConnectionError,
            RateLimitError,
        ) as exc:
            # Not there yet, or a passing hiccup: `wait` polls again on its schedule.
            log.debug("task %s completed without a URL; download_video_url: %s", task.id, exc)
            return task
        return task.model_copy(update={"video_url": url, "download_url": url})

    # ---------------------------------------------------------------------------------------
    # Downloading

    def download(
        self,
        task: str | Task,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> Path:
        """Save a completed task's video to `dest` (a file path, or a directory).

        The file is streamed to `<dest>.part`, resumed with a Range request if the connection
        drops, re-linked if a presigned link expires, checked against Content-Length, fsynced
        and renamed into place: a file under the final name is always complete.

        Args:
            task: A task id, or a completed task (saves one request).
            dest: Target file, or a folder (an existing one, or a path ending in `/`, created
                if missing): the file is then `<folder>/<task id>.mp4`. Missing parent
                folders are created.
            overwrite: Replace an existing file instead of raising `DestinationExistsError`.
            on_progress: Called as `on_progress(bytes_done, bytes_total)`; total may be None.

        Returns:
            The path of the saved file.

        Example:
            ```python
            task = client.wait(client.create("a kite above a beach"))
            path = client.download(task, "videos/", on_progress=lambda d, t: print(d, t))
            print(path)  # videos/<task id>.mp4
            ```
        """
        current = task if isinstance(task, Task) else self.get(check_task_id(task))
        target = _destination(dest, current.id)
        if target.exists() and not overwrite:
            raise DestinationExistsError(f"{target} already exists", task_id=current.id)
        if current.state is TaskState.FAILED:
            raise TaskFailedError(current)
        if current.state is not TaskState.COMPLETED:
            raise TaskNotReadyError(current)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            return stream_to_file(
                self._session,
                self._source_url(current),
                target,
                refresh_url=lambda: self.download_url(current.id),
                timeout=self.timeout,
                on_progress=on_progress,
            )
        except LumaError as exc:
            exc.task_id = exc.task_id or current.id
            raise

    def _source_url(self, task: Task) -> str:
        """The task's own unwatermarked link, else a fresh one, else the watermarked one."""
        if task.download_url:
            return task.download_url
        try:
            return self.download_url(task.id)
        except (BadRequestError, NotFoundError) as exc:
            if task.video_url is None:
                raise
            log.warning("download_video_url failed (%s); falling back to the task's video URL", exc)
            return task.video_url

    # ---------------------------------------------------------------------------------------
    # All together

    def generate(
        self,
        prompt: str,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        timeout: float = 600,
        on_update: Callable[[Task], None] | None = None,
        on_poll: Callable[[PollEvent], None] | None = None,
        on_progress: ProgressCallback | None = None,
        **options: Unpack[GenerationOptions],
    ) -> tuple[Task, Path]:
        """Create, wait and download in one call.

        Whatever fails after the task was created, the exception carries its `task_id`, so the
        (paid) task is never lost.

        Returns:
            The completed task and the path of the saved video.

        Example:
            ```python
            task, path = client.generate("waves at dusk", "waves.mp4", aspect_ratio="21:9")
            ```
        """
        target = Path(dest).expanduser()
        if not _names_a_folder(dest) and target.is_file() and not overwrite:
            raise DestinationExistsError(f"{target} already exists")
        task = self.create(prompt, **options)
        try:
            task = self.wait(task, timeout=timeout, on_update=on_update, on_poll=on_poll)
            return task, self.download(task, dest, overwrite=overwrite, on_progress=on_progress)
        except LumaError as exc:
            exc.task_id = exc.task_id or task.id
            raise
        except Exception as exc:  # e.g. an OSError from the disk: the paid task is still named
            exc.add_note(f"luma-tools: the task is {task.id}; it keeps running on the gateway")
            raise


def _names_a_folder(dest: str | os.PathLike[str]) -> bool:
    """Whether `dest` means "into this folder": an existing folder, or a path ending in a slash."""
    raw = os.fspath(dest)
    return raw.endswith(("/", os.sep)) or Path(raw).expanduser().is_dir()


def _destination(dest: str | os.PathLike[str], task_id: str) -> Path:
    """The file a download goes to (`<folder>/<task id>.mp4` when `dest` names a folder)."""
    target = Path(dest).expanduser()
    return target / f"{task_id}.mp4" if _names_a_folder(dest) else target


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
