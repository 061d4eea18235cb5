"""`AsyncLumaClient`: the client for asyncio programs (agent servers, LangGraph, FastAPI).

It makes the same requests and the same decisions as [`LumaClient`][luma_tools.LumaClient]:
the retries, redirects and classification of `_exchange.Judge` and the waiting decisions of
`_waiting.WaitCore` are shared, only the driver differs. Every wait, backoff and
`Retry-After` sleeps in the event loop; a worker thread (of the client's own pool, never the
loop's small default executor) is held only for the duration of one HTTP exchange. So a
thousand agents waiting for their videos hold no threads between polls, and a quick tool call
from another agent is never stuck behind them.

Paid requests (create, extend) run start to finish in one worker thread: if the awaiting task
is cancelled, the request still completes and its outcome (the task id, or "ambiguous")
reaches the journal; nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, Unpack
from urllib.parse import quote

from pydantic import SecretStr

from ._client import _TRANSIENT, LumaClient, NotifyListenerLike, NotifyWatchLike, _check_seconds
from ._destination import check_destination
from ._download import ProgressCallback
from ._exceptions import LumaError, WaitCancelledError
from ._exchange import Call, Done, Follow
from ._ids import check_task_id
from ._models import GenerationOptions, Task
from ._polling import PollPolicy
from ._waiting import NotifySignal, PollEvent, Sleep, WaitCore

__all__ = ["AsyncLumaClient"]

_SHARED_LOCK = threading.Lock()
_P = ParamSpec("_P")
_R = TypeVar("_R")


class AsyncLumaClient:
    """A Luma gateway client for asyncio code.

    Args:
        api_key: As for [`LumaClient`][luma_tools.LumaClient].
        base_url: As for `LumaClient`.
        client: An existing `LumaClient` to share (its session, settings and journal); the
            async client then does not close it.
        max_threads: Worker threads for HTTP exchanges (default: twice the client's
            `max_connections`, at least 8). Each is held for one exchange at a time.
        **options: Any other `LumaClient` argument (`timeout`, `poll_policy`, `journal`...).

    Example:
        ```python
        import asyncio

        from luma_tools import AsyncLumaClient


        async def main() -> None:
            async with AsyncLumaClient() as client:  # LUMA_API_KEY, LUMA_BASE_URL
                task = await client.create("a lighthouse in a storm")
                task = await client.wait(task)  # sleeps in the event loop between polls
                path = await client.download(task, "lighthouse.mp4")
                print(path)


        asyncio.run(main())
        ```
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        client: LumaClient | None = None,
        max_threads: int | None = None,
        **options: Any,
    ) -> None:
        self.client = client if client is not None else LumaClient(api_key, base_url, **options)
        self._owns_client = client is None
        workers = max_threads or max(8, 2 * self.client.max_connections)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="luma-http")

    @classmethod
    def for_client(cls, client: LumaClient) -> AsyncLumaClient:
        """The one async client sharing `client` (made on first use, closed with `client`)."""
        with _SHARED_LOCK:
            shared = getattr(client, "_async_twin", None)
            if shared is None:
                shared = cls(client=client)
                client._async_twin = shared
            return shared

    def __repr__(self) -> str:
        return f"AsyncLumaClient(base_url={self.client.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Let running exchanges finish, then release the threads (and the client, if owned)."""
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._owns_client:
            self.client.close()

    @property
    def base_url(self) -> str:
        """The gateway origin."""
        return self.client.base_url

    async def run_blocking(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run a blocking call in the client's own worker threads (not the loop's executor)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    # ---------------------------------------------------------------------------------------
    # HTTP

    async def _call(self, call: Call, *, deadline: float | None = None) -> Any:
        """`LumaClient._call`, sleeping in the event loop between tries."""
        judge = self.client._judge(call)
        while True:
            decision = await self.run_blocking(self.client._exchange, call, judge, deadline)
            if isinstance(decision, Done):
                return decision.data
            if isinstance(decision, Follow):
                continue
            if deadline is not None and time.monotonic() + decision.seconds > deadline:
                raise decision.error
            await asyncio.sleep(decision.seconds)

    # ---------------------------------------------------------------------------------------
    # Endpoints

    async def create(
        self,
        prompt: str,
        *,
        notify: NotifyListenerLike | None = None,
        dest: str | os.PathLike[str] | None = None,
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Start generating a video (see [`LumaClient.create`][luma_tools.LumaClient.create]).

        The request runs to its end in a worker thread even if this coroutine is cancelled, so
        its outcome always reaches the journal.
        """
        create = functools.partial(self.client.create, prompt, notify=notify, dest=dest, **options)
        return await _shielded(self.run_blocking(create))

    async def extend(
        self,
        task_id: str,
        prompt: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        **options: Unpack[GenerationOptions],
    ) -> Task:
        """Continue a completed video (see [`LumaClient.extend`][luma_tools.LumaClient.extend])."""
        extend = functools.partial(self.client.extend, task_id, prompt, dest=dest, **options)
        return await _shielded(self.run_blocking(extend))

    async def get(self, task_id: str, *, deadline: float | None = None) -> Task:
        """Fetch a task's current state (see [`LumaClient.get`][luma_tools.LumaClient.get])."""
        check_task_id(task_id)
        call = self.client._read_call(f"/generations/{quote(task_id)}", task_id)
        data = await self._call(call, deadline=deadline)
        task = self.client._task_of_read(data, task_id)
        journal = self.client.journal
        if journal is not None and journal.is_news(task):  # a write: off the event loop
            await self.run_blocking(self.client._note_seen, task)
        return task

    async def download_url(self, task_id: str, *, deadline: float | None = None) -> str:
        """A fresh, unwatermarked download link (see `LumaClient.download_url`)."""
        check_task_id(task_id)
        call = self.client._read_call(f"/generations/{quote(task_id)}/download_video_url", task_id)
        data = await self._call(call, deadline=deadline)
        return self.client._link_of_read(data, task_id)

    async def download(
        self,
        task: str | Task,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        timeout: float = 1800,
        on_progress: ProgressCallback | None = None,
    ) -> Path:
        """Save a completed task's video (see `LumaClient.download`).

        The transfer is one long HTTP exchange: it holds one worker thread while it streams.
        """
        return await self.run_blocking(
            self.client.download,
            task,
            dest,
            overwrite=overwrite,
            timeout=timeout,
            on_progress=on_progress,
        )

    async def generate(
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
        """Create, wait and download (see `LumaClient.generate`)."""
        timeout = _check_seconds("timeout", timeout)
        await self.run_blocking(check_destination, dest, overwrite=overwrite)
        task = await self.create(prompt, dest=dest, **options)
        try:
            task = await self.wait(task, timeout=timeout, on_update=on_update, on_poll=on_poll)
            path = await self.download(task, dest, overwrite=overwrite, on_progress=on_progress)
        except LumaError as exc:
            exc.task_id = exc.task_id or task.id
            raise
        except asyncio.CancelledError as exc:
            exc.add_note(f"luma-tools: the task is {task.id}; it keeps running on the gateway")
            raise
        return task, path

    # ---------------------------------------------------------------------------------------
    # Waiting

    async def wait(
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
        """Poll until the task completes or fails, like `LumaClient.wait`.

        Makes the same polls at the same moments as the blocking `wait`; between them it
        sleeps in the event loop. To stop it, cancel the awaiting task (the `CancelledError`
        carries a note naming the task, which also stays in the journal), or set `cancel`
        (checked at each poll and wake-up; raises `WaitCancelledError`).
        """
        timeout = _check_seconds("timeout", timeout)
        task_id = task.id if isinstance(task, Task) else check_task_id(task)
        first = task if isinstance(task, Task) else None
        core = WaitCore(
            task_id,
            first,
            timeout=timeout,
            policy=poll_policy or self.client.poll_policy,
            now=time.monotonic(),
            safety_interval=listener.safety_interval if listener is not None else 0.0,
        )
        watch = listener.watch(task_id) if listener is not None else None
        try:
            return await self._wait(core, first, on_update, on_poll, cancel, watch)
        except asyncio.CancelledError as exc:
            exc.add_note(
                f"luma-tools: stopped waiting for task {task_id}; it keeps running on the gateway"
            )
            raise
        finally:
            if watch is not None:
                watch.close()

    async def _wait(
        self,
        core: WaitCore,
        first: Task | None,
        on_update: Callable[[Task], None] | None,
        on_poll: Callable[[PollEvent], None] | None,
        cancel: threading.Event | None,
        watch: NotifyWatchLike | None,
    ) -> Task:
        sleeper = _NotifySleeper(watch) if watch is not None else None
        if first is not None:
            if on_update is not None:
                on_update(first)
            if first.is_finished:
                return core.outcome(first)
        while True:
            if cancel is not None and cancel.is_set():
                raise WaitCancelledError(core.task_id, core.last)
            if watch is not None:
                core.proven = core.proven or watch.proven
            step = core.next_step(time.monotonic())
            if isinstance(step, Sleep):
                if sleeper is not None and core.listening:
                    signal = await sleeper.sleep(step.seconds)
                else:
                    await asyncio.sleep(step.seconds)
                    signal = "timeout"
                core.woke(signal, time.monotonic())
                continue
            try:
                current = await self.get(core.task_id, deadline=step.deadline)
                if core.needs_link(current):
                    current = await self._with_download_link(current, step.deadline)
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

    async def _with_download_link(self, task: Task, deadline: float) -> Task:
        try:
            url = await self.download_url(task.id, deadline=deadline)
        except LumaError:
            return task  # not there yet, or a hiccup: the next poll tries again
        return task.model_copy(update={"video_url": url, "download_url": url})


class _NotifySleeper:
    """Sleeps in the event loop until a callback for the task arrives (or the time is up)."""

    def __init__(self, watch: NotifyWatchLike) -> None:
        self._watch = watch
        self._event = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._event.set)

        watch.on_news(wake)

    async def sleep(self, seconds: float) -> NotifySignal:
        news = self._watch.take()
        if news is not None:
            return news
        self._event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        return self._watch.take() or "timeout"


async def _shielded(work: Awaitable[_R]) -> _R:
    """Await `work` (a future running in a worker thread) so that cancelling the caller does not
    abandon its result silently: the work goes on, and records its outcome itself."""
    future = asyncio.ensure_future(work)
    # Once nobody awaits it, its exception (already in the journal) must not be reported as
    # "never retrieved".
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError as exc:
        exc.add_note(
            "luma-tools: the paid request goes on in the background; its outcome (the task id, "
            "or 'ambiguous') is recorded in the job journal (luma-tools jobs)"
        )
        raise
