"""Prompt-to-video runnables: one prompt, a batch of hundreds, or a chain of extensions.

Both runnables compose with any LangChain runnable that produces a prompt, e.g. an LLM that
rewrites a rough idea into a detailed shot description:

```python
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

rewrite_prompt = ChatPromptTemplate.from_template("Describe one cinematic shot of: {idea}")
video = rewrite_prompt | llm | StrOutputParser() | VideoChain(client, output_dir="videos")
video.invoke({"idea": "a fox in snow"})  # llm: any chat model
```

They need the `[langchain]` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict

from ._extras import missing_extra

try:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable, RunnableConfig
    from langchain_core.runnables.config import get_config_list
except ImportError as exc:
    raise missing_extra("langchain", "luma_tools.chains", exc) from exc

from ._aio import LoopCalls
from ._async_client import AsyncLumaClient
from ._batch import item_key, plan_item
from ._client import GenerationOptions, LumaClient, PollEvent
from ._destination import check_destination, check_file_name
from ._exceptions import AmbiguousSubmitError, InvalidInputError, LumaError
from ._models import Task
from .tools._events import areport_progress, report_progress

__all__ = ["ExtendChain", "ExtendResult", "VideoChain", "VideoInput", "VideoResult"]

#: A prompt, a chat message holding one, or a dict of create options with a `prompt` key
#: (and optionally a `filename`).
VideoInput = str | BaseMessage | Mapping[str, Any]

log = logging.getLogger("luma_tools")


class VideoResult(BaseModel):
    """One finished video.

    Attributes:
        prompt: The prompt it was made from.
        task: The completed task (id, video URL...).
        path: Where the MP4 was saved.
        extends: The id of the task this one continues, for extensions.
    """

    model_config = ConfigDict(frozen=True)

    prompt: str
    task: Task
    path: Path
    extends: str | None = None


class ExtendResult(BaseModel):
    """The steps of an extend chain, in order: the first video, then each continuation.

    Attributes:
        results: One `VideoResult` per step.
    """

    model_config = ConfigDict(frozen=True)

    results: list[VideoResult]

    @property
    def tasks(self) -> list[Task]:
        """The completed tasks, in order."""
        return [result.task for result in self.results]

    @property
    def paths(self) -> list[Path]:
        """The saved files, in order."""
        return [result.path for result in self.results]


class _VideoRunnable(Runnable[Any, Any]):
    """Create (or extend), wait and download, with the client and settings shared by both."""

    def __init__(
        self,
        client: LumaClient,
        *,
        output_dir: str | os.PathLike[str] = ".",
        timeout: float = 900,
        overwrite: bool = False,
        run: str | None = None,
    ) -> None:
        self.client = client
        self.output_dir = Path(output_dir).expanduser()
        self.timeout = timeout
        self.overwrite = overwrite
        self.run = run
        if run is not None and client.journal is None:
            raise InvalidInputError(
                "run",
                "a named run needs the job journal",
                hint="Create the client with journal=True",
            )
        self._occurrences: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client={self.client!r}, output_dir={str(self.output_dir)!r})"

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any | None,
    ) -> list[Any]:
        """Run many inputs at once, `max_concurrency` (from `config`) at a time."""
        first = config[0] if isinstance(config, list) and config else config
        wanted = (first or {}).get("max_concurrency") if isinstance(first, dict) else None
        if wanted is not None and wanted > self.client.max_connections and len(inputs) > 1:
            log.warning(
                "max_concurrency=%d exceeds the client's max_connections=%d: connections will be "
                "opened and dropped; create the LumaClient with max_connections=%d",
                wanted,
                self.client.max_connections,
                wanted,
            )
        return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any | None,
    ) -> list[Any]:
        """Like `batch`, natively async: `max_concurrency` jobs at once, all waiting in the
        event loop (no thread is held between polls, whatever the number of jobs)."""
        configs = get_config_list(config, len(inputs))
        limit = configs[0].get("max_concurrency") if configs else None
        gate = asyncio.Semaphore(limit or max(1, len(inputs)))

        async def one(item: Any, item_config: RunnableConfig) -> Any:
            async with gate:
                try:
                    return await self.ainvoke(item, item_config)
                except Exception as exc:
                    if return_exceptions:
                        return exc
                    raise

        return list(
            await asyncio.gather(*(one(i, c) for i, c in zip(inputs, configs, strict=True)))
        )

    @property
    def _aio(self) -> AsyncLumaClient:
        return AsyncLumaClient.for_client(self.client)

    def _progress(self, task: Task, event: PollEvent) -> dict[str, Any]:
        state = event.task.state.value if event.task is not None else "unknown"
        return {
            "chain": self.get_name(),
            "task_id": task.id,
            "state": state,
            "polls": event.polls,
            "message": f"task {task.id}: {state}",
        }

    def _finish(
        self, task: Task, prompt: str, filename: str | None, extends: str | None
    ) -> VideoResult:
        """Wait for `task` and download it; errors keep the task id."""

        def on_poll(event: PollEvent) -> None:
            if event.task is not None:
                report_progress(self._progress(task, event))

        with _naming(task):
            done = self.client.wait(task, timeout=self.timeout, on_poll=on_poll)
            path = self._save(done, filename)
        return VideoResult(prompt=prompt, task=done, path=path, extends=extends)

    async def _afinish(
        self, task: Task, prompt: str, filename: str | None, extends: str | None
    ) -> VideoResult:
        """`_finish`, waiting in the event loop."""
        reports = LoopCalls(asyncio.get_running_loop())

        def on_poll(event: PollEvent) -> None:
            if event.task is not None:
                reports.submit(areport_progress(self._progress(task, event)))

        with _naming(task):
            try:
                done = await self._aio.wait(task, timeout=self.timeout, on_poll=on_poll)
            finally:
                await reports.flush()
            path = await self._aio.run_blocking(self._save, done, filename)
        return VideoResult(prompt=prompt, task=done, path=path, extends=extends)

    def _save(self, done: Task, filename: str | None) -> Path:
        target = self.output_dir / (filename or f"{done.id}.mp4")  # download makes the folder
        return self._saved_file(done, target) or self.client.download(
            done, target, overwrite=self.overwrite
        )

    def _saved_file(self, task: Task, target: Path) -> Path | None:
        """The file already saved for `task` at `target` (a resumed run), if there is one."""
        journal = self.client.journal
        if self.run is None or journal is None:
            return None
        job = journal.job(task.id)
        if job is not None and job.is_saved and job.file == str(target.absolute()):
            return target.absolute()
        return None


class VideoChain(_VideoRunnable):
    """Prompt in, finished MP4 out: create, wait, download; resumable with a run name.

    Input is a prompt string, a chat message (e.g. an LLM's answer), or a dict with `prompt`
    plus any create option (`aspect_ratio`, `loop`, `image_url`...) and an optional
    `filename`. The output is a [`VideoResult`][luma_tools.chains.VideoResult]. Errors are
    `LumaError`s that carry the task id.

    Args:
        client: The client (one client serves every concurrent job).
        output_dir: Folder for the videos (created when missing); files are `<task id>.mp4`
            unless the input names one.
        timeout: Seconds to wait for each job.
        overwrite: Replace existing files instead of failing.
        run: A name that makes the chain resumable: each input is recorded in the job journal
            under it, so running the same inputs again (after a crash, in a new process) follows
            the tasks already made, skips saved videos and creates only what was never sent. An
            input whose create had an unknown outcome is never sent again
            (`AmbiguousSubmitError`; see `luma-tools jobs --ambiguous`).

    Example:
        ```python
        from luma_tools.chains import VideoChain

        chain = VideoChain(client, output_dir="videos")
        result = chain.invoke("a hummingbird in slow motion")
        print(result.path)  # videos/<task id>.mp4
        results = chain.batch(
            ["a red kite over hills", {"prompt": "neon rain", "aspect_ratio": "9:16"}],
            config={"max_concurrency": 5},
            return_exceptions=True,  # one failed job does not sink the others
        )
        print([r if isinstance(r, Exception) else r.path for r in results])
        ```
    """

    def invoke(
        self, input: VideoInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> VideoResult:
        """Make one video (see the class docstring for the accepted inputs)."""
        result = self._call_with_config(self._make, input, config, run_type="chain")
        return cast(VideoResult, result)

    async def ainvoke(
        self, input: VideoInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> VideoResult:
        """`invoke`, natively async: the wait sleeps in the event loop."""
        result = await self._acall_with_config(self._amake, input, config, run_type="chain")
        return cast(VideoResult, result)

    def _make(self, input: VideoInput) -> VideoResult:
        task, prompt, filename = self._start(input)
        return self._finish(task, prompt, filename, extends=None)

    async def _amake(self, input: VideoInput) -> VideoResult:
        task, prompt, filename = await self._aio.run_blocking(self._start, input)
        return await self._afinish(task, prompt, filename, extends=None)

    def _start(self, input: VideoInput) -> tuple[Task, str, str | None]:
        """Check the input and the destination, then create (or resume) the task."""
        prompt, options, filename = _parse_input(input)
        # Before paying: a video that could not be saved is not worth making.
        dest = self.output_dir / filename if filename else f"{self.output_dir}{os.sep}"
        check_destination(dest, overwrite=self.overwrite)
        if self.run is None:
            task = self.client.create(prompt, dest=dest, **options)
        else:
            task = self._resumed_or_created(prompt, options, filename, dest)
        return task, prompt, filename

    def _resumed_or_created(
        self, prompt: str, options: GenerationOptions, filename: str | None, dest: str | Path
    ) -> Task:
        """This input's task in the named run: the one already made, or a new one."""
        assert self.run is not None
        assert self.client.journal is not None
        content = repr((prompt.strip(), sorted(options.items()), filename))
        with self._lock:
            self._occurrences[content] += 1
            occurrence = self._occurrences[content]
        key = item_key(prompt.strip(), options, filename, occurrence)
        job = self.client.journal.item(self.run, key, gateway=self.client.base_url)
        step = plan_item(job, retry_failed=False)
        if step == "create":
            attempt = job.attempt + 1 if job is not None else 1
            return self.client._submit(
                "create",
                "/generations",
                prompt,
                dict(options),
                dest=dest,
                item=(self.run, key, attempt),
            )
        assert job is not None
        if step in ("blocked", "busy"):
            raise AmbiguousSubmitError(
                f"The create for {prompt[:60]!r} in run {self.run!r} (job {job.number}) has an "
                "unknown outcome, so it is not sent again",
                operation="create",
                prompt=prompt,
                hint="Find the task in your gateway's task log and run luma-tools jobs attach "
                f"{job.number} TASK_ID (or dismiss {job.number}), then run again",
            )
        if job.task_id is None:  # dismissed before a task was known
            raise InvalidInputError("run", f"job {job.number} of this input was dismissed")
        return self.client.get(job.task_id)


class ExtendChain(_VideoRunnable):
    """A longer video in steps: a first prompt, then continuations, each extending the last.

    Input: `{"prompt": "...", "continuations": ["...", "..."]}` plus create options for the
    first step. Output: an [`ExtendResult`][luma_tools.chains.ExtendResult] with every task
    and file in order. If a step fails, the error carries that step's task id and a note
    listing the steps already finished.

    Example:
        ```python
        from luma_tools.chains import ExtendChain

        story = ExtendChain(client, output_dir="story").invoke(
            {"prompt": "a seed sprouts", "continuations": ["it grows into a tree"]}
        )
        print([task.id for task in story.tasks])  # the first video's id, then the extension's
        print(story.paths)  # one file per step, in order
        ```
    """

    def invoke(
        self, input: Mapping[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> ExtendResult:
        """Make the first video, then extend it once per continuation."""
        result = self._call_with_config(self._make, input, config, run_type="chain")
        return cast(ExtendResult, result)

    async def ainvoke(
        self, input: Mapping[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> ExtendResult:
        """`invoke`, natively async: every wait sleeps in the event loop."""
        result = await self._acall_with_config(self._amake, input, config, run_type="chain")
        return cast(ExtendResult, result)

    def _make(self, input: Mapping[str, Any]) -> ExtendResult:
        prompt, options, continuations = self._steps(input)
        results: list[VideoResult] = []
        with _finished_steps(results):
            results.append(self._finish(self.client.create(prompt, **options), prompt, None, None))
            for step in continuations:
                previous = results[-1].task.id
                task = self.client.extend(previous, step)
                results.append(self._finish(task, step, None, extends=previous))
        return ExtendResult(results=results)

    async def _amake(self, input: Mapping[str, Any]) -> ExtendResult:
        prompt, options, continuations = await self._aio.run_blocking(self._steps, input)
        results: list[VideoResult] = []
        with _finished_steps(results):
            first = await self._aio.create(prompt, **options)
            results.append(await self._afinish(first, prompt, None, None))
            for step in continuations:
                previous = results[-1].task.id
                task = await self._aio.extend(previous, step)
                results.append(await self._afinish(task, step, None, extends=previous))
        return ExtendResult(results=results)

    def _steps(self, input: Mapping[str, Any]) -> tuple[str, GenerationOptions, list[str]]:
        """The first prompt, its options and the continuations, checked (and the folder)."""
        if not isinstance(input, Mapping):
            raise InvalidInputError(
                "input", "expected a dict", hint='Pass {"prompt": ..., "continuations": [...]}'
            )
        continuations = input.get("continuations", [])
        if isinstance(continuations, str) or not all(
            isinstance(step, str) and step.strip() for step in continuations
        ):
            raise InvalidInputError(
                "continuations", "must be a list of non-empty prompts", hint='e.g. ["then ..."]'
            )
        prompt, options, _ = _parse_input({k: v for k, v in input.items() if k != "continuations"})
        check_destination(f"{self.output_dir}{os.sep}")
        return prompt, options, list(continuations)


@contextlib.contextmanager
def _naming(task: Task) -> Iterator[None]:
    """Errors raised after `task` was created carry its id."""
    try:
        yield
    except LumaError as exc:
        exc.task_id = exc.task_id or task.id
        raise


@contextlib.contextmanager
def _finished_steps(results: list[VideoResult]) -> Iterator[None]:
    """An error in a chain of steps lists the steps already finished."""
    try:
        yield
    except LumaError as exc:
        if results:
            exc.add_note(
                "Finished steps: " + ", ".join(f"{r.task.id} -> {r.path}" for r in results)
            )
        raise


def _parse_input(input: VideoInput) -> tuple[str, GenerationOptions, str | None]:
    """(prompt, create options, filename) from any accepted input."""
    if isinstance(input, BaseMessage):
        return input.text, {}, None
    if isinstance(input, str):
        return input, {}, None
    if not isinstance(input, Mapping):
        raise InvalidInputError(
            "input",
            f"expected a prompt or a dict, got {type(input).__name__}",
            hint='Pass "a prompt" or {"prompt": "...", "aspect_ratio": "16:9"}',
        )
    options = dict(input)
    prompt = options.pop("prompt", None)
    filename = options.pop("filename", None)
    if not isinstance(prompt, str):
        raise InvalidInputError("prompt", "missing", hint='Pass {"prompt": "..."}')
    if filename is not None:
        filename = check_file_name("filename", filename)
    return prompt, cast(GenerationOptions, options), filename
