"""`LumaClient`: the one object that talks to a Luma API gateway."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, Unpack
from urllib.parse import quote

import requests
from pydantic import SecretStr

from ._closing import Closing
from ._destination import check_destination, target_path
from ._download import ProgressCallback, describe_os_error, stream_to_file
from ._exceptions import (
    AmbiguousSubmitError,
    BadRequestError,
    InvalidInputError,
    LumaConnectionError,
    LumaError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    ServerError,
    SubmitInterrupted,
    TaskFailedError,
    TaskNotReadyError,
    WaitCancelledError,
)
from ._exchange import Call, Decision, Done, Follow, Judge, ambiguous, build_retry
from ._ids import check_task_id
from ._journal import Journal, default_journal, journal_enabled
from ._models import GenerationOptions, GenerationRequest, Task, TaskState
from ._polling import PollPolicy
from ._text import Redactor, preview
from ._transport import (
    BearerAuth,
    WireError,
    build_session,
    last_request_sent,
    send_once,
    warn_if_cleartext,
)
from ._urls import Origin, is_private_host, normalise_base_url
from ._version import __version__
from ._waiting import PollEvent, Sleep, WaitCore

__all__ = ["GenerationOptions", "LumaClient", "PollEvent", "check_task_id"]

log = logging.getLogger("luma_tools")

API_KEY_ENV = "LUMA_API_KEY"
BASE_URL_ENV = "LUMA_BASE_URL"
#: Errors a wait rides out (the next poll may well succeed).
_TRANSIENT = (LumaConnectionError, ServerError, RateLimitError)


class NotifyWatchLike(Protocol):
    """One wait's subscription to a task's callbacks (see `luma_tools.webhooks.NotifyWatch`)."""

    @property
    def proven(self) -> bool: ...

    def wait(
        self, timeout: float, cancel: threading.Event | None = None
    ) -> Literal["final", "alive", "timeout", "closed", "cancelled"]: ...

    def take(self) -> Literal["final", "alive", "closed"] | None: ...

    def on_news(self, waker: Callable[[], None]) -> None: ...

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


def _resolve_base_url(base_url: str | None) -> str:
    value = (base_url or os.environ.get(BASE_URL_ENV) or "").strip()
    if not value:
        raise InvalidInputError(
            "base_url",
            "no gateway URL",
            hint=f"Pass base_url='https://your-gateway' or set {BASE_URL_ENV}",
        )
    return normalise_base_url(value)


def _resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    value = (api_key or os.environ.get(API_KEY_ENV) or "").strip()
    if not value:
        raise InvalidInputError(
            "api_key", "no API key", hint=f"Pass api_key=... or set {API_KEY_ENV}"
        )
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    for position, char in enumerate(value, 1):
        # An HTTP header cannot carry these; the key itself is never quoted back.
        if char.isspace() or not char.isprintable() or ord(char) > 0xFF:
            what = "a line break" if char in "\r\n" else f"an invalid character (U+{ord(char):04X})"
            raise InvalidInputError(
                "api_key",
                f"contains {what} at position {position} of {len(value)}",
                hint=f"Set {API_KEY_ENV} (or api_key=) to the key alone, on one line, "
                'e.g. export LUMA_API_KEY="$(head -n 1 key.txt)"',
            )
    return SecretStr(value)


def _check_seconds(field: str, value: float, *, allow_zero: bool = True) -> float:
    """`value` as a float if it is a finite number of seconds, else `InvalidInputError`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(field, f"{value!r} is not a number of seconds") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise InvalidInputError(
            field,
            f"{value!r} is not a usable number of seconds",
            hint="Pass a finite number above 0" if not allow_zero else "Pass a finite number >= 0",
        )
    return number


def _resolve_timeout(timeout: float | tuple[float, float]) -> tuple[float, float]:
    pair = (timeout, timeout) if isinstance(timeout, int | float) else tuple(timeout)
    if len(pair) != 2:
        raise InvalidInputError("timeout", "must be seconds, or a (connect, read) pair")
    return (
        _check_seconds("timeout", pair[0], allow_zero=False),
        _check_seconds("timeout", pair[1], allow_zero=False),
    )


class LumaClient(Closing):
    """A client for the Luma video API of an API gateway.

    One client holds one `requests.Session` (connection pooling) and is safe to share between
    threads. Use it as a context manager, or call `close()`.

    Args:
        api_key: The gateway key. Defaults to the `LUMA_API_KEY` environment variable.
            Stored as a `SecretStr`; it never appears in a repr, a log line or an error, and is
            redacted from everything the gateway sends back.
        base_url: The gateway origin, e.g. `https://api.example.com`. Defaults to
            `LUMA_BASE_URL`. Normalised the way `requests` sends URLs, so the key is attached
            whatever the spelling (`HTTPS://API.Example.com/`).
        timeout: Seconds for (connect, read), or one number for both.
        max_retries: Retries of a read (GET) on connection errors, timeouts, 429 and 5xx. A
            paid request (create, extend) is re-sent only when it provably never left.
        poll_policy: How `wait` spaces its polls.
        bool_as_string: Send `expand_prompt`/`loop` as `"true"`/`"false"` for the few gateways
            that insist on strings (most reject them).
        max_connections: Connections kept open per host; raise it for many concurrent jobs.
        verify: TLS verification: True, or the path of a CA bundle (a corporate proxy's).
        allow_private_urls: Whether redirects and video links may lead to loopback or private
            addresses. The default allows them only when the gateway itself is on one (a
            simulator, a gateway on your network).
        journal: Where paid requests are recorded before they are sent (see
            [`Journal`][luma_tools.Journal]): the default journal unless
            `LUMA_TOOLS_JOURNAL=off`; `False` for none, or a `Journal` of your own.

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
        verify: bool | str = True,
        allow_private_urls: bool | None = None,
        journal: Journal | bool | None = None,
    ) -> None:
        self.api_key = _resolve_api_key(api_key)
        self.base_url = _resolve_base_url(base_url)
        self.timeout = _resolve_timeout(timeout)
        self.poll_policy = poll_policy or PollPolicy()
        self.bool_as_string = bool_as_string
        self.max_connections = max_connections
        self.allow_private_urls = (
            is_private_host(Origin.of(self.base_url).host)
            if allow_private_urls is None
            else allow_private_urls
        )
        self._api = f"{self.base_url}/luma"
        self._auth = BearerAuth(self.api_key, self._api)
        self._retry = build_retry(max_retries)
        self._redact = Redactor()
        self._redact.add(self.api_key.get_secret_value())
        self._async_twin: Any = None  # the AsyncLumaClient.for_client(self), once made
        self._saved: dict[Path, str] = {}  # files this client saved, and from which task
        self._saved_lock = threading.Lock()
        if journal is None:
            journal = journal_enabled()
        self.journal: Journal | None = (
            journal if isinstance(journal, Journal) else default_journal() if journal else None
        )
        self._session = build_session(
            pool_size=max_connections,
            user_agent=f"luma-tools/{__version__} python-requests/{requests.__version__}",
            verify=verify,
        )
        warn_if_cleartext(self.base_url)

    def __repr__(self) -> str:
        return f"LumaClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close pooled connections (and the threads of an async client sharing this one)."""
        twin = getattr(self, "_async_twin", None)
        if twin is not None:
            twin._pool.shutdown(wait=False)
        self._session.close()

    def redact(self, text: str) -> str:
        """`text` with this client's secrets (the key, listener tokens) replaced by `<redacted>`."""
        return self._redact(text)

    # ---------------------------------------------------------------------------------------
    # HTTP

    def _judge(self, call: Call) -> Judge:
        return Judge(
            call, retry=self._retry, base_url=self.base_url, allow_private=self.allow_private_urls
        )

    def _exchange(self, call: Call, judge: Judge, deadline: float | None) -> Decision:
        """One send of `call` (to where `judge` points now), and what to make of it."""
        started = time.perf_counter()
        try:
            reply = send_once(
                self._session,
                call.method,
                judge.url,
                body=call.body,
                timeout=self.timeout,
                deadline=deadline,
                auth=self._auth,
                redact=self._redact,
            )
        except WireError as exc:
            log.debug("%s %s failed: %s", call.method, judge.url, exc.what)
            return judge.on_wire_error(exc)
        log.debug(
            "%s %s -> %d in %.0f ms",
            call.method,
            judge.url,
            reply.status,
            (time.perf_counter() - started) * 1000,
        )
        return judge.on_reply(reply)

    def _call(self, call: Call, *, deadline: float | None = None) -> Any:
        """Make `call`, retrying and following as `Judge` says; return the reply's JSON."""
        judge = self._judge(call)
        while True:
            decision = self._exchange(call, judge, deadline)
            if isinstance(decision, Done):
                return decision.data
            if isinstance(decision, Follow):
                continue
            if deadline is not None and time.monotonic() + decision.seconds > deadline:
                raise decision.error  # no time left to wait for another try
            time.sleep(decision.seconds)

    def _submit(
        self,
        operation: str,
        path: str,
        prompt: str,
        options: dict[str, Any],
        *,
        task_id: str | None = None,
        dest: str | os.PathLike[str] | None = None,
        item: tuple[str, str, int] | None = None,
    ) -> Task:
        """Send a paid request once; its outcome is a task or a clear error, never a repeat.

        The journal records the request before it goes out (if it cannot, nothing is sent),
        then what became of it.
        """
        request = GenerationRequest.build(user_prompt=prompt, **options)
        body = request.to_body(bool_as_string=self.bool_as_string)
        call = Call(
            "POST",
            self._api + path,
            body,
            operation=operation,
            task_id=task_id,
            prompt=request.user_prompt,
            sent_at=datetime.now(UTC),
        )
        job = None
        if self.journal is not None:
            run, key, attempt = item if item is not None else (None, None, 1)
            job = self.journal.intent(
                operation=operation,
                gateway=self.base_url,
                body=body,
                redact=self._redact,
                extends=task_id,
                dest=dest,
                run=run,
                key=key,
                attempt=attempt,
            )
        try:
            data = self._call(call)
            task = self._task_of_reply(call, data)
        except KeyboardInterrupt:
            if not last_request_sent():
                self._record(job, "refused", LumaError("interrupted before it was sent"))
                raise
            error = ambiguous(call, "it was interrupted (Ctrl-C) before the reply came back")
            self._record(job, "ambiguous", error)
            raise SubmitInterrupted(error) from None
        except AmbiguousSubmitError as exc:
            self._record(job, "ambiguous", exc)
            raise
        except LumaError as exc:
            self._record(job, "refused", exc)
            raise
        self._record(job, "created", task)
        return task

    def _task_of_reply(self, call: Call, data: Any) -> Task:
        try:
            return Task.from_payload(data)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ambiguous(call, f"the reply holds no usable task ({exc})") from None

    def _record(self, job: int | None, outcome: str, what: Any) -> None:
        """Write a request's outcome to the journal; a failure to do so never loses the task."""
        if job is None or self.journal is None:
            return
        try:
            if outcome == "created":
                self.journal.created(job, what)
            elif outcome == "ambiguous":
                what.job = job
                self.journal.ambiguous(job, what)
            else:
                self.journal.refused(job, what)
        except LumaError as exc:
            log.warning("could not record job %s as %s in the journal: %s", job, outcome, exc)

    def _journal_write(self, write: Callable[[Journal], None]) -> None:
        """A journal update after the fact (a state seen, a file saved): never fatal."""
        if self.journal is None:
            return
        try:
            write(self.journal)
        except LumaError as exc:
            log.warning("could not update the journal: %s", exc)

    def _read_call(self, path: str, task_id: str) -> Call:
        return Call("GET", self._api + path, task_id=task_id)

    def _read(self, path: str, task_id: str, *, deadline: float | None = None) -> Any:
        return self._call(self._read_call(path, task_id), deadline=deadline)

    @staticmethod
    def _task_of_read(data: Any, task_id: str) -> Task:
        """The task in the reply to `GET /generations/{task_id}`."""
        try:
            # The reply is about the task asked for, whatever id it claims (`../../x` included).
            return Task.from_payload(data, task_id=task_id)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ServerError(
                f"The gateway's reply has no usable task ({exc})", task_id=task_id
            ) from None

    def _note_seen(self, task: Task) -> None:
        self._journal_write(lambda journal: journal.seen(task))

    @staticmethod
    def _link_of_read(data: Any, task_id: str) -> str:
        """The link in the reply to `GET /generations/{task_id}/download_video_url`."""
        for candidate in (data, data.get("data") if isinstance(data, dict) else None):
            values: list[Any] = [candidate] if isinstance(candidate, str) else []
            if isinstance(candidate, dict):
                values = [candidate.get(key) for key in ("url", "download_url", "video_url")]
            for value in values:
                if isinstance(value, str):
                    url = Task.from_payload({"id": task_id, "video_url": value}).video_url
                    if url is not None:
                        return url
        raise ServerError(
            f"The gateway's reply holds no usable download link: {preview(str(data)[:200])}",
            task_id=task_id,
        )

    # ---------------------------------------------------------------------------------------
    # Endpoints

    def create(
        self,
        prompt: str,
        *,
        notify: NotifyListenerLike | None = None,
        dest: str | os.PathLike[str] | None = None,
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Start generating a video. Returns at once with the new (queued) task.

        The request is sent once. If its outcome cannot be known (no reply, a proxy error page,
        an unusable reply) it raises `AmbiguousSubmitError` rather than risk a second, billed
        task; Ctrl-C while it is on the wire raises `SubmitInterrupted`, which says the same.

        Args:
            prompt: What the video shows.
            notify: A running [`NotifyListener`][luma_tools.webhooks.NotifyListener]: its URL
                becomes the `notify_hook`, so that `wait(task, listener=...)` can return as
                soon as the gateway calls back.
            dest: Where the video is headed, if you know: recorded in the journal so that
                `luma-tools resume` can finish the job after a crash (nothing is downloaded).
            **options: `aspect_ratio`, `expand_prompt`, `loop`, `image_url`, `image_end_url`
                (http(s) URL, data URI or local image path), `notify_hook`, `model_name`,
                `duration`, `resolution`.

        Raises:
            InvalidInputError: Before sending anything, for a bad argument.
            AmbiguousSubmitError: The task may exist and be billed; it is never re-sent.
            RedirectError: The gateway redirected the request (nothing was re-sent).

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
            # The token in the callback URL is a secret too, should a gateway echo it.
            self._redact.add(notify.url.rstrip("/").rsplit("/", 1)[-1])
        return self._submit("create", "/generations", prompt, dict(options), dest=dest)

    def extend(
        self,
        task_id: str,
        prompt: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Continue a completed video by about 5 seconds; returns the new task.

        Takes the same `**options` as [`create`][luma_tools.LumaClient.create] (there is no
        `notify=` here: pass `notify_hook=listener.url` to be called back), and is sent once,
        like it.
        """
        check_task_id(task_id)
        return self._submit(
            "extend",
            f"/generations/{quote(task_id)}/extend",
            prompt,
            dict(options),
            task_id=task_id,
            dest=dest,
        )

    def get(self, task_id: str, *, deadline: float | None = None) -> Task:
        """Fetch a task's current state.

        Args:
            task_id: The task's id.
            deadline: A `time.monotonic()` time by which to give up, retries included.

        Example:
            ```python
            task = client.get(task_id)  # an id from `create`, e.g. "9d4b7516-77e5-481a-..."
            print(task.state, task.video_url)  # the URL is None until the video is ready
            ```
        """
        check_task_id(task_id)
        data = self._read(f"/generations/{quote(task_id)}", task_id, deadline=deadline)
        task = self._task_of_read(data, task_id)
        self._note_seen(task)
        return task

    def download_url(self, task_id: str, *, deadline: float | None = None) -> str:
        """Ask the gateway for a fresh, unwatermarked download link (valid about an hour).

        Raises:
            BadRequestError: Most gateways answer 400 while the task is not completed.
        """
        check_task_id(task_id)
        data = self._read(
            f"/generations/{quote(task_id)}/download_video_url", task_id, deadline=deadline
        )
        return self._link_of_read(data, task_id)

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
        The wait ends by about `timeout` whatever the gateway does: requests, retries and
        `Retry-After` sleeps are all cut to the time left. A wait always looks at least once,
        so `timeout=0` reports a finished task.

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
        timeout = _check_seconds("timeout", timeout)
        task_id = task.id if isinstance(task, Task) else check_task_id(task)
        first = task if isinstance(task, Task) else None
        if listener is None:
            return self._wait(task_id, first, timeout, on_update, on_poll, cancel, poll_policy)
        with contextlib.closing(listener.watch(task_id)) as watch:
            return self._wait(
                task_id,
                first,
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
        task_id: str,
        first: Task | None,
        timeout: float,
        on_update: Callable[[Task], None] | None,
        on_poll: Callable[[PollEvent], None] | None,
        cancel: threading.Event | None,
        poll_policy: PollPolicy | None,
        watch: NotifyWatchLike | None = None,
        safety_interval: float = 0.0,
    ) -> Task:
        core = WaitCore(
            task_id,
            first,
            timeout=timeout,
            policy=poll_policy or self.poll_policy,
            now=time.monotonic(),
            safety_interval=safety_interval if watch is not None else 0.0,
        )
        sleeper = cancel or threading.Event()
        if first is not None:
            if on_update is not None:
                on_update(first)
            if first.is_finished:
                return core.outcome(first)
        while True:
            if watch is not None:
                core.proven = core.proven or watch.proven
            step = core.next_step(time.monotonic())
            if isinstance(step, Sleep):
                if watch is not None and core.listening:
                    signal = watch.wait(step.seconds, cancel)
                    if signal == "cancelled":
                        raise WaitCancelledError(task_id, core.last)
                    core.woke(signal, time.monotonic())
                else:
                    if sleeper.wait(step.seconds) and cancel is not None:
                        raise WaitCancelledError(task_id, core.last)
                    core.woke("timeout", time.monotonic())
                continue
            try:
                current = self.get(task_id, deadline=step.deadline)
                if core.needs_link(current):
                    current = self._with_download_link(current, deadline=step.deadline)
            except _TRANSIENT as exc:
                if time.monotonic() >= core.deadline:
                    raise core.timed_out() from exc
                event = core.poll_failed(exc, time.monotonic())
                if on_poll is not None:
                    on_poll(event)
                continue
            report = core.polled(current, time.monotonic())
            if report.update is not None and on_update is not None:
                on_update(report.update)
            if on_poll is not None:
                on_poll(report.event)
            if report.done is not None:
                return core.outcome(report.done)

    def _with_download_link(self, task: Task, *, deadline: float | None = None) -> Task:
        """`task` with its video URL filled from `download_video_url`, if the gateway has one."""
        try:
            url = self.download_url(task.id, deadline=deadline)
        except (BadRequestError, NotFoundError, RedirectError, *_TRANSIENT) as exc:
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
        timeout: float = 1800,
        on_progress: ProgressCallback | None = None,
    ) -> Path:
        """Save a completed task's video to `dest` (a file path, or a folder).

        The bytes go to a temporary file next to the destination (one per call), resumed with
        a Range request if the connection drops, re-linked if a presigned link expires, checked
        to be a whole MP4 or WebM, fsynced and moved into place: a file under the final name is
        always a complete video. Downloads to the same path wait for each other.

        Args:
            task: A task id, or a completed task (saves one request).
            dest: Target file, or a folder (an existing one, or a path ending in `/`, created
                if missing): the file is then `<folder>/<task id>.mp4`. Missing parent
                folders are created.
            overwrite: Replace an existing file instead of raising `DestinationExistsError`.
            timeout: The whole download gives up after this many seconds.
            on_progress: Called as `on_progress(bytes_done, bytes_total)`; total may be None.

        Returns:
            The path of the saved file.

        Raises:
            DestinationExistsError: The file exists (and is not this task's video saved by this
                client) and `overwrite` is false.
            DestinationError: The file cannot be written there; the message says why.

        Example:
            ```python
            task = client.wait(client.create("a kite above a beach"))
            path = client.download(task, "videos/", on_progress=lambda d, t: print(d, t))
            print(path)  # videos/<task id>.mp4
            ```
        """
        max_seconds = _check_seconds("timeout", timeout, allow_zero=False)
        current = task if isinstance(task, Task) else self.get(check_task_id(task))
        try:
            target = target_path(dest, current.id)
            if current.state is TaskState.FAILED:
                raise TaskFailedError(current)
            if current.state is not TaskState.COMPLETED:
                raise TaskNotReadyError(current)
            check_destination(target, overwrite=overwrite)
            self._journal_write(lambda journal: journal.headed(current.id, target))
            source = self._source_url(current)
            target.parent.mkdir(parents=True, exist_ok=True)
            path = stream_to_file(
                self._session,
                source,
                target,
                refresh_url=lambda: self.download_url(current.id),
                timeout=self.timeout,
                max_seconds=max_seconds,
                overwrite=overwrite,
                allow_private=self.allow_private_urls,
                already_saved=lambda path: self._already_saved(current.id, path),
                before_move=lambda path, size, sha: self._journal_write(
                    lambda journal: journal.saving(current.id, path, size, sha)
                ),
                on_progress=on_progress,
            )
        except LumaError as exc:
            exc.task_id = exc.task_id or current.id
            raise
        except OSError as exc:  # making the folder
            raise describe_os_error(exc, Path(dest), task_id=current.id) from None
        with self._saved_lock:
            self._saved[path] = current.id
        return path

    def _already_saved(self, task_id: str, path: Path) -> bool:
        """Whether `path` already holds this task's video (saved by this client, or recorded
        in the journal by any process)."""
        if self._saved.get(path) == task_id:
            return True
        if self.journal is None:
            return False
        try:
            return self.journal.holds(task_id, path)
        except (LumaError, OSError):
            return False

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

        The destination is checked first (a writable folder; the file absent unless
        `overwrite`), so nothing is paid for a video that could not be saved. Whatever fails
        after the task was created, the exception carries its `task_id`, so the (paid) task is
        never lost.

        Returns:
            The completed task and the path of the saved video.

        Example:
            ```python
            task, path = client.generate("waves at dusk", "waves.mp4", aspect_ratio="21:9")
            ```
        """
        timeout = _check_seconds("timeout", timeout)
        check_destination(dest, overwrite=overwrite)
        task = self.create(prompt, dest=dest, **options)
        try:
            task = self.wait(task, timeout=timeout, on_update=on_update, on_poll=on_poll)
            return task, self.download(task, dest, overwrite=overwrite, on_progress=on_progress)
        except LumaError as exc:
            exc.task_id = exc.task_id or task.id
            raise
        except Exception as exc:  # an unforeseen failure: the paid task is still named
            exc.add_note(f"luma-tools: the task is {task.id}; it keeps running on the gateway")
            raise
