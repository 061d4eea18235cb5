"""Many prompts to videos, resumable: what `luma-tools batch`, `resume` and chain runs share.

Each item of a batch has a **key** derived from its content (prompt, options, file name, and
which occurrence of that content it is), so the same file maps to the same keys however often it
is run, and reordering it changes nothing. The journal remembers, per run and key, the job that
was sent. Running again therefore:

* skips items already saved,
* follows (and downloads) items whose task exists,
* creates items never sent, and items the gateway refused (a refusal proves nothing was made),
* retries failed items only when asked,
* **never** sends an item whose outcome is unknown (ambiguous): it is reported until the user
  resolves it (`luma-tools jobs attach` or `dismiss`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from ._client import LumaClient
from ._destination import check_destination, check_file_name
from ._exceptions import (
    AmbiguousSubmitError,
    DestinationExistsError,
    InvalidInputError,
    LumaError,
    RateLimitError,
    TaskFailedError,
    WaitCancelledError,
    WaitTimeoutError,
)
from ._journal import Job, Journal
from ._models import GenerationOptions, GenerationRequest, Task

__all__ = [
    "BatchItem",
    "BatchReport",
    "BatchRunner",
    "ItemResult",
    "Step",
    "item_key",
    "plan_item",
    "read_batch_file",
]

log = logging.getLogger("luma_tools")

_OPTION_NAMES = frozenset(GenerationOptions.__optional_keys__)
_BOOLEAN_OPTIONS = frozenset({"expand_prompt", "loop"})
# A 429 on create proves nothing was created: back off and try again, this many times.
_MAX_RATE_LIMITED = 20


@dataclass(frozen=True)
class BatchItem:
    """One prompt of a batch.

    Attributes:
        prompt: What the video shows.
        options: Create options.
        filename: The file name to save as (in the batch's folder), or None for `<task id>.mp4`.
        key: The item's stable key (see the module docstring).
        line: Where it came from (the line, or row, of the file; 1-based).
    """

    prompt: str
    options: GenerationOptions = field(default_factory=lambda: cast(GenerationOptions, {}))
    filename: str | None = None
    key: str = ""
    line: int = 0


def item_key(prompt: str, options: Mapping[str, Any], filename: str | None, occurrence: int) -> str:
    """The stable key of an item: a digest of its content and which occurrence it is.

    Example:
        ```python
        from luma_tools._batch import item_key

        assert item_key("a fox", {}, None, 1) == item_key("a fox", {}, None, 1)
        assert item_key("a fox", {}, None, 1) != item_key("a fox", {}, None, 2)
        ```
    """
    content = json.dumps([prompt, dict(options), filename], sort_keys=True, ensure_ascii=False)
    return f"{hashlib.sha256(content.encode()).hexdigest()[:20]}-{occurrence}"


def _options_of(record: Mapping[str, Any], where: str) -> tuple[GenerationOptions, str | None]:
    options: dict[str, Any] = {}
    filename = None
    for name, value in record.items():
        if name == "prompt" or value is None or value == "":
            continue
        if name == "filename":
            filename = check_file_name(f"{where}: filename", str(value))
            if not filename.lower().endswith(".mp4"):
                filename += ".mp4"
            continue
        if name not in _OPTION_NAMES:
            known = ", ".join(sorted(_OPTION_NAMES | {"prompt", "filename"}))
            raise InvalidInputError(
                f"{where}: {name}", "is not a known column", hint=f"Known: {known}"
            )
        if name in _BOOLEAN_OPTIONS and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise InvalidInputError(f"{where}: {name}", f"{value!r} is not true or false")
            value = lowered in ("true", "1", "yes")
        options[name] = value
    return cast(GenerationOptions, options), filename


def _records(path: Path, text: str) -> Iterable[tuple[int, Mapping[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                yield number, {"prompt": line.strip()}
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise InvalidInputError(f"line {number}", f"is not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise InvalidInputError(f"line {number}", "must be a JSON object with a prompt")
            yield number, record
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or "prompt" not in reader.fieldnames:
            raise InvalidInputError("header", "a CSV batch needs a 'prompt' column")
        for number, row in enumerate(reader, 2):
            if any((value or "").strip() for value in row.values()):
                yield (
                    number,
                    {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k},
                )
    else:
        raise InvalidInputError(
            "FILE", f"{path.name!r} is not .txt, .jsonl or .csv", hint="Use one of those suffixes"
        )


def read_batch_file(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read a batch file: `.txt` (a prompt a line), `.jsonl` or `.csv` (`prompt`, any create
    option, an optional `filename`). Everything is validated before anything is sent.

    Raises:
        InvalidInputError: Naming the line and the column at fault.
    """
    source = Path(path).expanduser()
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError("FILE", f"cannot read {str(source)!r} ({exc})") from None
    items: list[BatchItem] = []
    seen: Counter[str] = Counter()
    names: dict[str, int] = {}
    for line, record in _records(source, text):
        where = f"line {line}"
        prompt = record.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidInputError(f"{where}: prompt", "is missing or blank")
        options, filename = _options_of(record, where)
        try:
            GenerationRequest.build(user_prompt=prompt, **options)
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"{where}: {exc.field}", exc.message.split(": ", 1)[-1], hint=exc.hint
            ) from None
        if filename is not None:
            if filename in names:
                raise InvalidInputError(
                    f"{where}: filename", f"{filename!r} is also the file of line {names[filename]}"
                )
            names[filename] = line
        content = json.dumps([prompt.strip(), dict(options), filename], sort_keys=True)
        seen[content] += 1
        key = item_key(prompt.strip(), options, filename, seen[content])
        items.append(BatchItem(prompt.strip(), options, filename, key, line))
    if not items:
        raise InvalidInputError("FILE", f"{source.name!r} holds no prompts")
    return items


#: What to do for an item, given what the journal knows about it.
Step = Literal["create", "follow", "skip", "blocked", "busy"]


def plan_item(job: Job | None, *, retry_failed: bool) -> Step:
    """The step for an item whose latest job is `job` (None: never sent)."""
    if job is None or job.status == "refused":
        return "create"  # never sent, or refused: nothing exists
    if job.in_flight:
        return "busy"  # another process is sending it right now
    if job.is_ambiguous:
        return "blocked"  # may exist and be billed: never sent again on our own
    if job.status == "dismissed":
        return "skip"
    if job.state is not None and job.state.value == "failed":
        return "create" if retry_failed else "skip"
    if job.is_saved:
        return "skip"
    return "follow"


@dataclass
class ItemResult:
    """What became of one item in this run.

    Attributes:
        item: The item.
        outcome: `saved`, `failed`, `ambiguous`, `skipped`, `busy`, `not created` or `error`.
        job: Its journal job number.
        task_id: Its task, when known.
        file: The saved file.
        message: A failure reason or an error, in one line.
    """

    item: BatchItem
    outcome: str = "pending"
    job: int | None = None
    task_id: str | None = None
    file: str | None = None
    message: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "line": self.item.line,
            "key": self.item.key,
            "prompt": self.item.prompt,
            "outcome": self.outcome,
            "job": self.job,
            "task_id": self.task_id,
            "file": self.file,
            "message": self.message,
        }


@dataclass
class BatchReport:
    """A whole run: every item's result.

    Attributes:
        run: The run's name (its journal label).
        results: One per item, in file order.
        created: Creates sent in this run.
        seconds: How long the run took.
    """

    run: str
    results: list[ItemResult]
    created: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(result.outcome for result in self.results))

    @property
    def ambiguous(self) -> list[ItemResult]:
        return [r for r in self.results if r.outcome == "ambiguous"]

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "counts": self.counts,
            "created": self.created,
            "seconds": round(self.seconds, 1),
            "items": [r.summary() for r in self.results],
        }


class BatchRunner:
    """Run items to saved videos, at most `concurrency` tasks on the gateway at once.

    Args:
        client: The client (its journal must be on: a batch without it could not resume).
        items: What to make.
        out_dir: The folder the videos go to.
        run: The run's name in the journal; the same name resumes the same run.
        concurrency: Items worked on at once (each holds at most one task on the gateway).
        max_tasks: Creates allowed in this run (the rest are left for a later run).
        retry_failed: Create again the items whose task failed.
        overwrite: Replace existing files.
        timeout: Seconds to wait for each task.
        on_change: Called (from worker threads) whenever an item's outcome changes.
    """

    def __init__(
        self,
        client: LumaClient,
        items: list[BatchItem],
        *,
        out_dir: str | os.PathLike[str],
        run: str,
        concurrency: int = 4,
        max_tasks: int | None = None,
        retry_failed: bool = False,
        overwrite: bool = False,
        timeout: float = 3600,
        on_change: Callable[[ItemResult], None] | None = None,
    ) -> None:
        if client.journal is None:
            raise InvalidInputError(
                "journal",
                "a batch needs the job journal to be resumable",
                hint="Remove LUMA_TOOLS_JOURNAL=off (or pass journal=True)",
            )
        if concurrency < 1:
            raise InvalidInputError("concurrency", "must be at least 1")
        self.client = client
        self.journal: Journal = client.journal
        self.items = items
        self.out_dir = Path(out_dir).expanduser()
        self.run_name = run
        self.concurrency = concurrency
        self.max_tasks = max_tasks
        self.retry_failed = retry_failed
        self.overwrite = overwrite
        self.timeout = timeout
        self.on_change = on_change
        self._lock = threading.Lock()
        self._creates = 0
        self.stop = threading.Event()

    def plan(self) -> Counter[Step]:
        """What a run would do now, per step (nothing is sent)."""
        return Counter(
            plan_item(
                self.journal.item(self.run_name, item.key, gateway=self.client.base_url),
                retry_failed=self.retry_failed,
            )
            for item in self.items
        )

    def creates_planned(self) -> int:
        """How many creates a run would send now (the number a price estimate multiplies)."""
        creates = self.plan()["create"]
        return creates if self.max_tasks is None else min(creates, self.max_tasks)

    def run(self) -> BatchReport:
        """Work every item; return the report (never raises for one item's failure)."""
        started = time.monotonic()
        results = [ItemResult(item) for item in self.items]
        interrupted = False
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="luma-batch") as pool:
            try:
                for _ in pool.map(self._work, results):
                    pass
            except KeyboardInterrupt:
                # Waits stop at once; requests on the wire finish and are recorded; items not
                # started are left for the next run.
                interrupted = True
                self.stop.set()
        seconds = time.monotonic() - started
        return BatchReport(self.run_name, results, self._creates, seconds, interrupted)

    # -- one item ----------------------------------------------------------------------------

    def _set(self, result: ItemResult, outcome: str, **changes: Any) -> None:
        result.outcome = outcome
        for name, value in changes.items():
            setattr(result, name, value)
        if self.on_change is not None:
            self.on_change(result)

    def _work(self, result: ItemResult) -> None:
        if self.stop.is_set():
            return
        try:
            self._work_on(result)
        except LumaError as exc:
            self._set(result, "error", message=str(exc)[:300])
        except Exception as exc:  # one item's bug must not sink the batch
            log.exception("batch item %s failed unexpectedly", result.item.key)
            self._set(result, "error", message=f"{type(exc).__name__}: {exc}"[:300])

    def _work_on(self, result: ItemResult) -> None:
        item = result.item
        job = self.journal.item(self.run_name, item.key, gateway=self.client.base_url)
        step = plan_item(job, retry_failed=self.retry_failed)
        result.job = job.number if job is not None else None
        result.task_id = job.task_id if job is not None else None
        if step == "busy":
            self._set(result, "busy", message="another process is sending it right now")
            return
        if step == "blocked":
            self._set(result, "ambiguous", message=job.error if job else None)
            return
        if step == "skip":
            assert job is not None
            outcome = "saved" if job.is_saved else "skipped"
            if job.state is not None and job.state.value == "failed":
                outcome = "failed"
            self._set(result, outcome, file=job.file, message=job.failure_reason)
            return
        dest = self._destination(item, job)
        if step == "create":
            task = self._create(result, item, job, dest)
            if task is None:
                return
        else:
            assert job is not None
            assert job.task_id is not None
            task = self.client.get(job.task_id)
        self._finish(result, task, dest)

    def _destination(self, item: BatchItem, job: Job | None) -> str:
        if item.filename is not None:
            return str(self.out_dir / item.filename)
        return f"{self.out_dir}{os.sep}"

    def _create(
        self, result: ItemResult, item: BatchItem, job: Job | None, dest: str
    ) -> Task | None:
        with self._lock:
            if self.max_tasks is not None and self._creates >= self.max_tasks:
                self._set(result, "not created", message="over --max-tasks for this run")
                return None
            self._creates += 1
        attempt = job.attempt + 1 if job is not None else 1
        check_destination(dest, overwrite=self.overwrite)  # before paying
        for tries in range(1, _MAX_RATE_LIMITED + 1):
            try:
                task = self.client._submit(
                    "create",
                    "/generations",
                    item.prompt,
                    dict(item.options),
                    dest=dest,
                    item=(self.run_name, item.key, attempt),
                )
            except RateLimitError as exc:
                # Refused, so nothing exists: wait as told and send it again.
                attempt += 1
                delay = exc.retry_after or min(60.0, 2.0**tries)
                if tries == _MAX_RATE_LIMITED or self.stop.wait(delay):
                    self._set(result, "not created", message=exc.message)
                    return None
                continue
            except AmbiguousSubmitError as exc:
                self._set(result, "ambiguous", message=exc.message[:300])
                return None
            latest = self.journal.item(self.run_name, item.key, gateway=self.client.base_url)
            result.job = latest.number if latest is not None else None
            result.task_id = task.id
            self._set(result, "running")
            return task
        return None

    def _finish(self, result: ItemResult, task: Task, dest: str) -> None:
        try:
            done = self.client.wait(task, timeout=self.timeout, cancel=self.stop)
        except TaskFailedError as exc:
            self._set(result, "failed", message=exc.failure_reason or "no reason given")
            return
        except (WaitTimeoutError, WaitCancelledError) as exc:
            state = exc.task.state.value if exc.task is not None else "unknown"
            self._set(result, "running", message=f"still {state}; run again to follow it")
            return
        try:
            path = self.client.download(done, dest, overwrite=self.overwrite)
        except DestinationExistsError as exc:
            self._set(result, "error", message=str(exc)[:300])
            return
        self._set(result, "saved", file=str(path), message=None)
