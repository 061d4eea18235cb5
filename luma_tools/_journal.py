"""The job journal: every paid request, recorded before it is sent, so no task is ever lost.

A task id used to live only in memory and on the screen: a crashed script, a killed batch or a
restarted kernel orphaned paid tasks, and running again paid again. The journal records each
create and extend **before** the POST (what was asked, of which gateway, headed where), then
the task id, every state change seen and the saved file. A request whose outcome is unknown is
recorded as ambiguous and never sent again on its own; `luma-tools jobs` lists it, and you can
attach the task id you found in the gateway's log, or dismiss it.

It never stores the API key or a notify listener's token. It lives in `$LUMA_TOOLS_HOME` (else
the platform's user data folder) as `journal.sqlite3`, and is on by default: turn it off with
`LumaClient(journal=False)` or `LUMA_TOOLS_JOURNAL=off`.

Example:
    ```python
    from luma_tools import Journal

    journal = Journal()  # the default journal, the one LumaClient writes
    for job in journal.jobs(unfinished=True):
        print(job.number, job.task_id, job.label, job.prompt)
    ```
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ._exceptions import AmbiguousSubmitError, InvalidInputError, LumaError
from ._home import home_dir
from ._ids import check_task_id
from ._journal_sqlite import JournalError, SQLiteStore
from ._models import Task, TaskState
from ._text import clean_text

__all__ = [
    "JOURNAL_ENV",
    "Job",
    "Journal",
    "JournalError",
    "JournalStore",
    "default_journal",
    "journal_enabled",
]

log = logging.getLogger("luma_tools")

#: Set to `off` (or 0, false, no) to run without the journal.
JOURNAL_ENV = "LUMA_TOOLS_JOURNAL"
_OFF = frozenset({"0", "off", "false", "no", "none"})
_FILE = "journal.sqlite3"
# Data URIs can be megabytes: the journal keeps what identifies them, not the image.
_MAX_OPTION_CHARS = 300

#: Where a job stands: its request is on the wire, the gateway made a task, nobody knows,
#: the gateway refused it (nothing was created), or the user set it aside.
JobStatus = Literal["sending", "created", "ambiguous", "refused", "dismissed"]


def absolute_destination(dest: str | os.PathLike[str]) -> str:
    """`dest` as an absolute path, keeping a trailing slash (it means "this folder").

    A relative destination is relative to the folder the process ran in: `resume` from another
    folder must still save where the video was headed.

    Example:
        ```python
        import os
        from luma_tools._journal import absolute_destination

        assert absolute_destination("clips/") == os.path.join(os.getcwd(), "clips") + os.sep
        ```
    """
    text = os.fspath(dest)
    folder = text.endswith(("/", os.sep))
    absolute = str(Path(text).expanduser().absolute())
    return absolute + os.sep if folder and not absolute.endswith(os.sep) else absolute


class JournalStore(Protocol):
    """The storage a `Journal` needs: a narrow interface, so a shared store (Postgres, for
    several machines) can replace the local SQLite file."""

    def insert(self, fields: Mapping[str, Any], event: tuple[float, str, str | None]) -> int: ...

    def update(
        self,
        fields: Mapping[str, Any],
        event: tuple[float, str, str | None] | None,
        *,
        number: int | None = None,
        task_id: str | None = None,
    ) -> int: ...

    def select(
        self,
        *,
        number: int | None = None,
        task_id: str | None = None,
        run: str | None = None,
        item_key: str | None = None,
        gateway: str | None = None,
        statuses: list[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...

    def events(self, number: int) -> list[tuple[float, str, str | None]]: ...

    def close(self) -> None: ...


def _alive(pid: int | None, host: str | None) -> bool:
    """Whether the process that sent a request is still running (on this machine)."""
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Job:
    """One paid request and what became of it.

    Attributes:
        number: The job's number in this journal (what `jobs attach` and `dismiss` take).
        operation: `"create"` or `"extend"`.
        gateway: The gateway origin it was sent to.
        prompt: The prompt.
        options: The other options (images summarised, secrets removed).
        status: `sending`, `created`, `ambiguous`, `refused` or `dismissed`.
        created_at: When the request was recorded (just before it was sent).
        updated_at: The last change.
        task_id: The task, once known.
        state: The last state seen.
        failure_reason: Why the task failed, if it did.
        extends: For an extend, the task continued.
        dest: Where the video is headed, when known.
        file: Where it was saved.
        file_bytes: Its size.
        file_sha256: Its SHA-256 (hex), to recognise it later.
        error: Why the outcome is unknown, or why the gateway refused.
        run: The batch run it belongs to, if any.
        key: Its item's key in that run.
        attempt: 1, or more after `--retry-failed`.
    """

    number: int
    operation: str
    gateway: str
    prompt: str
    options: dict[str, Any]
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    task_id: str | None = None
    state: TaskState | None = None
    raw_state: str | None = None
    failure_reason: str | None = None
    extends: str | None = None
    dest: str | None = None
    file: str | None = None
    file_bytes: int | None = None
    file_sha256: str | None = field(default=None, repr=False)
    error: str | None = None
    run: str | None = None
    key: str | None = None
    attempt: int = 1
    pid: int | None = field(default=None, repr=False)
    host: str | None = field(default=None, repr=False)

    @classmethod
    def _from_row(cls, row: Mapping[str, Any]) -> Job:
        try:
            options = json.loads(row["options"] or "{}")
        except ValueError:
            options = {}
        return cls(
            number=int(row["number"]),
            operation=str(row["operation"]),
            gateway=str(row["gateway"]),
            prompt=str(row["prompt"]),
            options=options if isinstance(options, dict) else {},
            status=row["status"],
            created_at=datetime.fromtimestamp(float(row["created_at"]), UTC),
            updated_at=datetime.fromtimestamp(float(row["updated_at"]), UTC),
            task_id=row["task_id"],
            state=TaskState(row["state"]) if row["state"] in set(TaskState) else None,
            raw_state=row["raw_state"],
            failure_reason=row["failure_reason"],
            extends=row["extends"],
            dest=row["dest"],
            file=row["file"],
            file_bytes=row["file_bytes"],
            file_sha256=row["file_sha256"],
            error=row["error"],
            run=row["run"],
            key=row["item_key"],
            attempt=int(row["attempt"] or 1),
            pid=row["pid"],
            host=row["host"],
        )

    @property
    def in_flight(self) -> bool:
        """The request is on the wire right now (its process is alive)."""
        return self.status == "sending" and _alive(self.pid, self.host)

    @property
    def is_ambiguous(self) -> bool:
        """The task may exist and be billed, but nobody knows its id.

        True when the request's outcome was unknown, and for a request whose process died
        while it was on the wire.
        """
        return self.status == "ambiguous" or (self.status == "sending" and not self.in_flight)

    @property
    def is_saved(self) -> bool:
        """The video is on disk (still there, with the size it was saved with)."""
        if self.file is None:
            return False
        try:
            return Path(self.file).stat().st_size == self.file_bytes
        except OSError:
            return False

    @property
    def is_finished(self) -> bool:
        """Nothing is left to do: saved, failed, refused or dismissed."""
        if self.status in ("refused", "dismissed"):
            return True
        return self.state is TaskState.FAILED or (
            self.state is TaskState.COMPLETED and self.is_saved
        )

    @property
    def is_unfinished(self) -> bool:
        """A task exists and still needs waiting for or downloading (what `resume` finishes)."""
        return self.status == "created" and self.task_id is not None and not self.is_finished

    @property
    def label(self) -> str:
        """One word for where the job stands (`saved`, `running`, `ambiguous`, ...)."""
        if self.is_ambiguous:
            return "ambiguous"
        if self.status == "sending":
            return "sending"
        if self.status == "refused":
            return "not created"
        if self.status == "dismissed":
            return "dismissed"
        if self.state is TaskState.COMPLETED:
            return "saved" if self.is_saved else "completed"
        return self.state.value if self.state is not None else "created"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view, for `luma-tools jobs --json` and manifests."""
        return {
            "number": self.number,
            "task_id": self.task_id,
            "label": self.label,
            "status": self.status,
            "state": self.state.value if self.state is not None else None,
            "operation": self.operation,
            "prompt": self.prompt,
            "options": self.options,
            "extends": self.extends,
            "dest": self.dest,
            "file": self.file,
            "file_bytes": self.file_bytes,
            "failure_reason": self.failure_reason,
            "error": self.error,
            "gateway": self.gateway,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "run": self.run,
            "key": self.key,
            "attempt": self.attempt,
        }


def _summarise(options: Mapping[str, Any], redact: Any) -> dict[str, Any]:
    """The options as the journal keeps them: no image bytes, no secrets."""
    kept: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, str):
            if value.startswith("data:"):
                digest = hashlib.sha256(value.encode()).hexdigest()[:16]
                value = f"{value[:30]}... ({len(value)} characters, sha256 {digest})"
            value = redact(clean_text(value, _MAX_OPTION_CHARS, one_line=False))
        kept[name] = value
    return kept


class Journal:
    """The job journal (see the module docstring).

    Args:
        path: The SQLite file; default `$LUMA_TOOLS_HOME/journal.sqlite3` (or the platform's
            user data folder).
        store: Another storage behind the same interface (a shared one, for several machines).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, store: JournalStore | None = None
    ) -> None:
        self.path = Path(path) if path is not None else home_dir() / _FILE
        self._store_given = store
        self._store: JournalStore | None = store
        self._open_lock = threading.Lock()
        # The last state written per task, so repeated polls of an unchanged task cost nothing.
        self._last_seen: dict[str, tuple[str, str | None, str | None]] = {}

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @property
    def store(self) -> JournalStore:
        """The storage, opened on first use."""
        if self._store is None:
            with self._open_lock:
                if self._store is None:
                    self._store = SQLiteStore(self.path)
        return self._store

    def close(self) -> None:
        """Close the storage (it reopens on next use)."""
        with self._open_lock:
            if self._store is not None and self._store_given is None:
                self._store.close()
                self._store = None

    # -- written by the client ---------------------------------------------------------------

    def intent(
        self,
        *,
        operation: str,
        gateway: str,
        body: Mapping[str, Any],
        redact: Any = str,
        extends: str | None = None,
        dest: str | os.PathLike[str] | None = None,
        run: str | None = None,
        key: str | None = None,
        attempt: int = 1,
    ) -> int:
        """Record a paid request about to be sent; return the job number.

        Raises:
            JournalError: It cannot be recorded (the request must then not be sent).
        """
        now = time.time()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        options = {k: v for k, v in body.items() if k != "user_prompt"}
        fields = {
            "created_at": now,
            "updated_at": now,
            "operation": operation,
            "gateway": gateway,
            "prompt": redact(str(body.get("user_prompt", ""))),
            "options": json.dumps(_summarise(options, redact), ensure_ascii=False),
            "digest": hashlib.sha256(canonical.encode()).hexdigest(),
            "extends": extends,
            "dest": absolute_destination(dest) if dest is not None else None,
            "status": "sending",
            "run": run,
            "item_key": key,
            "attempt": attempt,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        return self.store.insert(fields, (now, "sending", None))

    def created(self, number: int, task: Task) -> None:
        """The gateway made the task."""
        now = time.time()
        self.store.update(
            {
                "status": "created",
                "task_id": task.id,
                "state": task.state.value,
                "raw_state": task.raw_state,
                "updated_at": now,
            },
            (now, "created", task.id),
            number=number,
        )
        self._last_seen[task.id] = (task.state.value, task.raw_state, None)

    def ambiguous(self, number: int, error: AmbiguousSubmitError) -> None:
        """The request's outcome is unknown: the task may exist."""
        now = time.time()
        text = clean_text(error.message, 500)
        self.store.update(
            {"status": "ambiguous", "error": text, "updated_at": now},
            (now, "ambiguous", text),
            number=number,
        )

    def refused(self, number: int, error: LumaError) -> None:
        """The gateway refused the request: nothing was created."""
        now = time.time()
        text = clean_text(str(error), 500)
        self.store.update(
            {"status": "refused", "error": text, "updated_at": now},
            (now, "refused", text),
            number=number,
        )

    def is_news(self, task: Task) -> bool:
        """Whether `seen(task)` would write anything (its state changed since the last one)."""
        return self._last_seen.get(task.id) != (
            task.state.value,
            task.raw_state,
            task.failure_reason,
        )

    def seen(self, task: Task) -> None:
        """A task's state as just seen; written only when it changed."""
        current = (task.state.value, task.raw_state, task.failure_reason)
        if self._last_seen.get(task.id) == current:
            return
        now = time.time()
        self.store.update(
            {
                "state": current[0],
                "raw_state": current[1],
                "failure_reason": current[2],
                "updated_at": now,
            },
            (now, "state", current[0]),
            task_id=task.id,
        )
        self._last_seen[task.id] = current

    def headed(self, task_id: str, dest: str | os.PathLike[str]) -> None:
        """Where the task's video is going (when it was not known at create time)."""
        self.store.update(
            {"dest": absolute_destination(dest), "updated_at": time.time()}, None, task_id=task_id
        )

    def saving(self, task_id: str, path: Path, size: int, sha256: str) -> None:
        """The task's video is complete and about to get its name at `path`.

        Written before the file is moved into place, so that a crash right after the move
        still leaves a record that recognises the file (`holds`).
        """
        now = time.time()
        self.store.update(
            {"file": str(path), "file_bytes": size, "file_sha256": sha256, "updated_at": now},
            (now, "saved", str(path)),
            task_id=task_id,
        )

    def holds(self, task_id: str, path: Path) -> bool:
        """Whether the file at `path` is the video this journal saved there for `task_id`."""
        rows = self.store.select(task_id=task_id)
        for job in (Job._from_row(row) for row in rows):
            if job.file == str(path) and job.file_sha256 and job.is_saved:
                digest = hashlib.sha256()
                with Path(path).open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                return digest.hexdigest() == job.file_sha256
        return False

    # -- what a user does ----------------------------------------------------------------------

    def attach(self, number: int, task_id: str) -> Job:
        """Give an ambiguous job the task id found in the gateway's log; it is then followed
        like any other.

        Raises:
            InvalidInputError: No such job, a job that is not ambiguous, or a bad task id.
        """
        check_task_id(task_id)
        job = self._job_or_fail(number)
        if not job.is_ambiguous:
            raise InvalidInputError(
                "job",
                f"job {number} is {job.label}, not ambiguous",
                hint="Only an ambiguous job takes a task id",
            )
        now = time.time()
        self.store.update(
            {"status": "created", "task_id": task_id, "updated_at": now},
            (now, "attached", task_id),
            number=number,
        )
        return self._job_or_fail(number)

    def dismiss(self, number: int) -> Job:
        """Set a job aside (an ambiguous one you checked was never created, say).

        Raises:
            InvalidInputError: No such job, or it is finished (there is nothing to set aside).
        """
        job = self._job_or_fail(number)
        if not (job.is_ambiguous or job.is_unfinished):
            raise InvalidInputError(
                "job",
                f"job {number} is {job.label}: only an ambiguous or unfinished job is dismissed",
                hint="See which with: luma-tools jobs --ambiguous (or --unfinished)",
            )
        now = time.time()
        self.store.update(
            {"status": "dismissed", "updated_at": now}, (now, "dismissed", None), number=number
        )
        return self._job_or_fail(number)

    # -- reading -----------------------------------------------------------------------------

    def jobs(
        self,
        *,
        unfinished: bool = False,
        ambiguous: bool = False,
        run: str | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs, newest first.

        Args:
            unfinished: Only jobs with a task still to wait for or download.
            ambiguous: Only jobs whose outcome is unknown.
            run: Only the jobs of this batch run.
            limit: At most this many (after filtering).
        """
        jobs = [Job._from_row(row) for row in self.store.select(run=run)]
        if unfinished or ambiguous:
            jobs = [
                j
                for j in jobs
                if (unfinished and j.is_unfinished) or (ambiguous and j.is_ambiguous)
            ]
        return jobs[:limit] if limit is not None else jobs

    def job(self, ref: int | str) -> Job | None:
        """The job with this number, or the latest one of this task id."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and len(ref) < 10):
            rows = self.store.select(number=int(ref), limit=1)
            if rows or isinstance(ref, int):
                return Job._from_row(rows[0]) if rows else None
        rows = self.store.select(task_id=str(ref), limit=1)
        return Job._from_row(rows[0]) if rows else None

    def item(self, run: str, key: str, *, gateway: str | None = None) -> Job | None:
        """The latest attempt of a batch item (sent to `gateway`, when given: the same run
        name against another gateway is new work, whose tasks that gateway does not know)."""
        rows = self.store.select(run=run, item_key=key, gateway=gateway, limit=1)
        return Job._from_row(rows[0]) if rows else None

    def events(self, number: int) -> list[tuple[datetime, str, str | None]]:
        """What happened to a job, oldest first: (when, what, detail)."""
        return [
            (datetime.fromtimestamp(at, UTC), kind, detail)
            for at, kind, detail in self.store.events(number)
        ]

    def _job_or_fail(self, number: int) -> Job:
        job = self.job(int(number))
        if job is None:
            raise InvalidInputError(
                "job", f"there is no job {number}", hint="See the numbers with: luma-tools jobs"
            )
        return job


_DEFAULTS: dict[Path, Journal] = {}
_DEFAULTS_LOCK = threading.Lock()


def journal_enabled() -> bool:
    """Whether the journal is on by default (`LUMA_TOOLS_JOURNAL` is not `off`)."""
    return os.environ.get(JOURNAL_ENV, "").strip().lower() not in _OFF


def default_journal() -> Journal:
    """The process's journal for the current `LUMA_TOOLS_HOME` (one per file)."""
    path = home_dir() / _FILE
    with _DEFAULTS_LOCK:
        journal = _DEFAULTS.get(path)
        if journal is None:
            journal = _DEFAULTS[path] = Journal(path)
        return journal
