"""`luma-tools jobs`, `resume` and `batch`: the command line over the job journal."""

from __future__ import annotations

import argparse
import csv
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ._batch import BatchReport, BatchRunner, ItemResult, read_batch_file
from ._cli_errors import EXIT_CODES, CliError, command, describe
from ._client import LumaClient
from ._exceptions import InvalidInputError, LumaError, TaskFailedError, WaitTimeoutError
from ._journal import Job, Journal, default_journal
from ._text import clean_text

__all__ = ["register"]

MANIFEST = "manifest.csv"


class _Out(Protocol):
    as_json: bool

    def result(self, text: str, data: dict[str, Any]) -> None: ...

    def note(self, text: str) -> None: ...


def _age(when: datetime) -> str:
    seconds = max(0.0, (datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _table(rows: list[list[str]], widths: list[int]) -> str:
    lines = []
    for row in rows:
        cells = [
            clean_text(cell, width).ljust(width) for cell, width in zip(row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _journal_for(args: argparse.Namespace) -> Journal:
    journal = default_journal()
    if not journal.path.exists():
        raise CliError(
            f"no jobs yet: the journal {journal.path} does not exist (it is written by "
            "create, generate and batch)",
            EXIT_CODES["ok"],
        )
    return journal


# ---------------------------------------------------------------------------------------------
# jobs


def cmd_jobs(args: argparse.Namespace, out: _Out) -> None:
    action = getattr(args, "jobs_action", None)
    if action == "attach":
        journal = default_journal()
        job = journal.attach(args.job, args.task_id)
        out.result(
            f"Job {job.number} is now task {job.task_id}. Finish it with: "
            f"{command('resume', str(job.task_id))}",
            job.summary(),
        )
        return
    if action == "dismiss":
        job = default_journal().dismiss(args.job)
        out.result(f"Job {job.number} dismissed.", job.summary())
        return
    try:
        journal = _journal_for(args)
    except CliError as empty:
        out.result(str(empty), {"journal": str(default_journal().path), "jobs": []})
        return
    jobs = journal.jobs(unfinished=args.unfinished, ambiguous=args.ambiguous, limit=args.limit)
    data = {"journal": str(journal.path), "jobs": [job.summary() for job in jobs]}
    if not jobs:
        out.result("No jobs match.", data)
        return
    rows = [["JOB", "TASK", "STATE", "AGE", "PROMPT", "FILE"]]
    for job in jobs:
        rows.append(
            [
                str(job.number),
                job.task_id or "-",
                job.label,
                _age(job.created_at),
                job.prompt,
                job.file or job.dest or "",
            ]
        )
    out.result(_table(rows, [6, 38, 11, 7, 40, 60]), data)
    ambiguous = [job for job in jobs if job.is_ambiguous]
    if ambiguous:
        out.note(
            f"{len(ambiguous)} job(s) may have been created and billed, but their task id is "
            f"unknown. Find the task in your gateway's task log, then: {command('jobs', 'attach')} "
            f"JOB TASK_ID (or {command('jobs', 'dismiss')} JOB if it was never created)."
        )


# ---------------------------------------------------------------------------------------------
# resume


def _resume_one(client: LumaClient, job: Job, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of finishing one job: wait, then download to where it was headed."""
    assert job.task_id is not None
    dest = job.dest or f"{job.task_id}.mp4"
    if job.gateway != client.base_url:
        # Its id means nothing to another gateway (and would go there with this key).
        return "other gateway", f"made on {job.gateway}: set LUMA_BASE_URL to it to resume it"
    completed = False
    try:
        task = client.wait(job.task_id, timeout=timeout)
        completed = True
        path = client.download(task, dest, overwrite=False)
    except TaskFailedError as exc:
        return "failed", exc.failure_reason or "no reason given"
    except WaitTimeoutError as exc:
        return "running", f"{exc.message}; later: {command('resume', job.task_id)}"
    except LumaError as exc:
        return "error", describe(exc, output=dest, completed=completed).message
    return "saved", str(path)


def cmd_resume(args: argparse.Namespace, out: _Out, make_client: Callable[[], LumaClient]) -> None:
    journal = _journal_for(args)
    if args.ids:
        jobs = []
        for ref in args.ids:
            job = journal.job(ref)
            if job is None:
                raise InvalidInputError(
                    "ID", f"no job or task {ref!r} in the journal {journal.path}"
                )
            jobs.append(job)
    else:
        jobs = journal.jobs(unfinished=True) + journal.jobs(ambiguous=True)
    results: list[dict[str, Any]] = []
    todo = [job for job in jobs if job.is_unfinished]
    for job in jobs:
        if not job.is_unfinished:
            word = (
                "ambiguous: never sent again" if job.is_ambiguous else f"{job.label}: nothing to do"
            )
            results.append(
                {
                    **job.summary(),
                    "outcome": "ambiguous" if job.is_ambiguous else "skipped",
                    "detail": word,
                }
            )
    if todo:
        with make_client() as client:
            lock = threading.Lock()

            def work(job: Job) -> None:
                outcome, detail = _resume_one(client, job, args.timeout)
                with lock:
                    results.append({**job.summary(), "outcome": outcome, "detail": detail})
                    out.note(f"job {job.number} ({job.task_id}): {outcome} {detail}")

            threads = [threading.Thread(target=work, args=(job,), daemon=True) for job in todo]
            for index in range(0, len(threads), max(1, args.concurrency)):
                batch = threads[index : index + max(1, args.concurrency)]
                for thread in batch:
                    thread.start()
                for thread in batch:
                    thread.join()
    counts = Counter(result["outcome"] for result in results)
    summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "nothing to resume"
    out.result(f"Resumed: {summary}.", {"results": results, "counts": dict(counts)})
    if counts["ambiguous"]:
        out.note(
            "Ambiguous jobs are never sent again: find each in your gateway's task log and run "
            f"{command('jobs', 'attach')} JOB TASK_ID, or {command('jobs', 'dismiss')} JOB if "
            "it is not there."
        )
    _exit_for(counts)


def _exit_for(counts: Counter[str]) -> None:
    if counts["ambiguous"]:
        raise CliError("some jobs are ambiguous", EXIT_CODES["ambiguous"])
    if counts["failed"]:
        raise CliError("some tasks failed", EXIT_CODES["task_failed"])
    if counts["error"] or counts["not created"] or counts["other gateway"]:
        raise CliError("some items could not be finished", EXIT_CODES["error"])
    if counts["running"] or counts["busy"]:
        raise CliError("some tasks are still running", EXIT_CODES["timeout"])


# ---------------------------------------------------------------------------------------------
# batch


class _BatchDisplay:
    """Live counts while a batch runs: a tqdm bar on a terminal, a line now and then elsewhere."""

    _FINAL = frozenset({"saved", "failed", "ambiguous", "skipped", "not created", "error", "busy"})

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.quiet = quiet
        self.started = time.monotonic()
        self._outcomes: dict[str, str] = {}
        # Kept up to date change by change: counting every outcome again on each change made
        # a batch of 10,000 spend seconds in here, holding the lock the workers wait for.
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._last_line = 0.0
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, unit="video", dynamic_ncols=True)

    def changed(self, result: ItemResult) -> None:
        with self._lock:
            previous = self._outcomes.get(result.item.key)
            if previous is not None:
                self._counts[previous] -= 1
                if not self._counts[previous]:
                    del self._counts[previous]
            self._outcomes[result.item.key] = result.outcome
            self._counts[result.outcome] += 1
            counts = self._counts
            done = sum(n for word, n in counts.items() if word in self._FINAL)
            text = " · ".join(f"{word} {n}" for word, n in sorted(counts.items()))
            if self._bar is not None:
                self._bar.n = done
                self._bar.set_postfix_str(text, refresh=True)
            elif not self.quiet and (time.monotonic() - self._last_line >= 5 or done == self.total):
                self._last_line = time.monotonic()
                elapsed = time.monotonic() - self.started
                rate = done / elapsed if elapsed > 0 else 0
                left = (
                    f", about {(self.total - done) / rate:.0f} s left"
                    if rate and done < self.total
                    else ""
                )
                print(
                    f"[{elapsed:5.0f} s] {done}/{self.total} done: {text}{left}",
                    file=sys.stderr,
                    flush=True,
                )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _write_manifest(folder: Path, report: BatchReport) -> Path:
    path = folder / MANIFEST
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "prompt", "outcome", "task_id", "file", "job", "message"])
        for r in report.results:
            writer.writerow(
                [
                    r.item.line,
                    r.item.prompt,
                    r.outcome,
                    r.task_id or "",
                    r.file or "",
                    r.job or "",
                    r.message or "",
                ]
            )
    return path


def _confirm(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def cmd_batch(args: argparse.Namespace, out: _Out, make_client: Callable[[], LumaClient]) -> None:
    items = read_batch_file(args.file)
    folder = Path(args.output).expanduser()
    run = args.name or f"{Path(args.file).resolve()} -> {folder.resolve()}"
    if args.price is not None and not (args.price >= 0):
        raise InvalidInputError("--price", "must be a number of dollars >= 0")
    with make_client() as client:
        display = _BatchDisplay(len(items), quiet=out.as_json)
        runner = BatchRunner(
            client,
            items,
            out_dir=folder,
            run=run,
            concurrency=args.concurrency,
            max_tasks=args.max_tasks,
            retry_failed=args.retry_failed,
            overwrite=args.overwrite,
            timeout=args.timeout,
            on_change=display.changed,
        )
        plan = runner.plan()
        creates = runner.creates_planned()
        words = (
            f"{len(items)} items: {creates} to create, {plan['follow']} to follow, "
            f"{plan['skip']} done or skipped"
        )
        if plan["blocked"]:
            words += f", {plan['blocked']} ambiguous (never sent again)"
        out.note(f"Batch {run!r}: {words}.")
        if args.price is not None and creates:
            cost = creates * args.price
            out.note(f"Estimated cost: {creates} videos x ${args.price:.2f} = ${cost:.2f}")
        ask = creates and sys.stdin.isatty() and not args.yes and not out.as_json
        if ask and not _confirm(f"Create {creates} paid video(s)?"):
            raise CliError("nothing was sent (not confirmed)", EXIT_CODES["ok"])
        try:
            report = runner.run()
        finally:
            display.close()
    manifest = _write_manifest(folder, report)
    counts = Counter(report.counts)
    rows = [["LINE", "OUTCOME", "TASK", "FILE / MESSAGE", "PROMPT"]]
    for r in report.results:
        rows.append(
            [
                str(r.item.line),
                r.outcome,
                r.task_id or "-",
                r.file or r.message or "",
                r.item.prompt,
            ]
        )
    summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
    text = (
        f"{_table(rows, [5, 11, 38, 50, 40])}\n\n{summary}; {report.created} created this run; "
        f"manifest: {manifest}"
    )
    out.result(text, {**report.summary(), "manifest": str(manifest)})
    if report.ambiguous:
        out.note(
            f"{len(report.ambiguous)} item(s) may have been created and billed but their task id "
            "is unknown; they are never sent again. Find them in the gateway's task log and run "
            f"{command('jobs', 'attach')} JOB TASK_ID (see {command('jobs', '--ambiguous')}), then "
            "run the batch again."
        )
    if report.interrupted:
        raise CliError(
            "interrupted: run the same command again to resume (nothing is created twice)",
            EXIT_CODES["interrupted"],
        )
    _exit_for(counts)


# ---------------------------------------------------------------------------------------------
# Registration


def register(commands: Any, common: argparse.ArgumentParser) -> dict[str, Any]:
    """Add the journal commands to the CLI's subparsers; return their runners by name."""

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        return parser

    sub = command("jobs", "List the job journal: every create and extend, and what became of it.")
    sub.add_argument(
        "--unfinished", action="store_true", help="only jobs still to wait for or download"
    )
    sub.add_argument("--ambiguous", action="store_true", help="only jobs whose outcome is unknown")
    sub.add_argument("--limit", type=int, default=None, metavar="N", help="at most N jobs")
    actions = sub.add_subparsers(dest="jobs_action", metavar="ACTION")
    attach = actions.add_parser(
        "attach",
        parents=[common],
        help="give an ambiguous job the task id found in the gateway's log",
    )
    attach.add_argument("job", type=int, metavar="JOB")
    attach.add_argument("task_id", metavar="TASK_ID")
    dismiss = actions.add_parser(
        "dismiss", parents=[common], help="set a job aside (e.g. an ambiguous one never created)"
    )
    dismiss.add_argument("job", type=int, metavar="JOB")

    sub = command("resume", "Wait for and download unfinished jobs (never creates anything).")
    sub.add_argument(
        "ids",
        nargs="*",
        metavar="ID",
        help="task ids or job numbers (default: every unfinished job)",
    )
    sub.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="wait at most this long per task",
    )
    sub.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="jobs finished at once (default: 4)"
    )

    sub = command(
        "batch",
        "Make a video per prompt of FILE; run it again to resume (nothing is created twice).",
    )
    sub.add_argument(
        "file",
        metavar="FILE",
        help=".txt (a prompt a line), .jsonl or .csv (prompt, options, filename)",
    )
    sub.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="folder for the videos and the manifest",
    )
    sub.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="tasks in flight on the gateway at once (default: 4)",
    )
    sub.add_argument(
        "--retry-failed", action="store_true", help="create again the items whose task failed"
    )
    sub.add_argument(
        "--max-tasks",
        type=int,
        default=None,
        metavar="N",
        help="create at most N tasks in this run",
    )
    sub.add_argument(
        "--price",
        type=float,
        default=None,
        metavar="USD",
        help="price per video, for a cost estimate before anything is sent",
    )
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation on a terminal")
    sub.add_argument("--overwrite", action="store_true", help="replace existing files")
    sub.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="wait at most this long per task",
    )
    sub.add_argument(
        "--name",
        default=None,
        metavar="RUN",
        help="the run's name in the journal (default: FILE -> DIR)",
    )
    return {"jobs": cmd_jobs, "resume": cmd_resume, "batch": cmd_batch}
