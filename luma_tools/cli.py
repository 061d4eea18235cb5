"""The `luma-tools` command line.

Every command prints one clear line on stderr and exits non-zero on failure; expected failures
(bad input, auth, quota, a failed task, a timeout) never print a traceback. `--json` prints one
JSON object on stdout instead of text, errors included (on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NoReturn, cast

from . import _exceptions as errors
from ._cli_errors import (
    EXIT_CODES,
    CliError,
    describe,
    download_command,
    follow_command,
    resume_command,
)
from ._cli_jobs import register as register_journal_commands
from ._client import GenerationOptions, LumaClient
from ._models import ASPECT_RATIOS, Task
from ._polling import PollPolicy
from ._version import __version__
from .mcp import _cli as mcp_command  # the `mcp` subcommand (it imports the SDK only to run)

__all__ = ["EXIT_CODES", "main"]

DEMO_PROMPT = "a paper boat drifting down a rain-soaked street at dusk, cinematic"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error under `--json` is a JSON object too."""

    def error(self, message: str) -> NoReturn:
        if "--json" in sys.argv[1:]:
            _print_json_error(message, EXIT_CODES["usage"], {"type": "UsageError"})
            raise SystemExit(EXIT_CODES["usage"])
        super().error(message)


# ---------------------------------------------------------------------------------------------
# Arguments


def _common_options() -> _Parser:
    # Shared by every subcommand, so `luma-tools status ID --json` works as well as
    # `luma-tools --json status ID`. SUPPRESS keeps a subcommand from resetting a value
    # given before it.
    common = _Parser(add_help=False)
    common.add_argument(
        "--base-url", default=argparse.SUPPRESS, help="gateway origin (default: $LUMA_BASE_URL)"
    )
    common.add_argument(
        "--api-key",
        default=argparse.SUPPRESS,
        help="gateway key (default: $LUMA_API_KEY; prefer the variable)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON object instead of text",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log HTTP requests to stderr",
    )
    return common


def _generation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation options")
    group.add_argument("--aspect-ratio", choices=ASPECT_RATIOS, help="frame shape")
    group.add_argument(
        "--expand-prompt",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the gateway rewrite the prompt in more detail",
    )
    group.add_argument(
        "--loop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make the end flow back into the start",
    )
    group.add_argument(
        "--image",
        dest="image_url",
        metavar="URL_OR_PATH",
        help="start frame: http(s) URL, data URI or local image file",
    )
    group.add_argument(
        "--end-image",
        dest="image_end_url",
        metavar="URL_OR_PATH",
        help="end frame: http(s) URL, data URI or local image file",
    )
    group.add_argument("--model", dest="model_name", help="model, e.g. ray-v2")
    group.add_argument("--duration", help='duration, e.g. "5s"')
    group.add_argument("--resolution", help='resolution, e.g. "720p"')
    group.add_argument("--notify-hook", metavar="URL", help="URL the gateway POSTs updates to")


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="give up waiting after this long (default: 600); the task keeps running",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    common = _common_options()
    parser = _Parser(
        prog="luma-tools",
        parents=[common],
        description="Generate Luma videos through an API gateway.",
        epilog="Configure with LUMA_API_KEY and LUMA_BASE_URL. Try `luma-tools demo` first: "
        "it runs end to end on an embedded simulator.",
    )
    parser.add_argument("--version", action="version", version=f"luma-tools {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        return sub

    sub = command("create", "Start generating a video; prints the new task id.")
    sub.add_argument("prompt", help="what the video shows")
    _generation_options(sub)

    sub = command("extend", "Continue a completed video with a new prompt (a new task).")
    sub.add_argument("task_id", help="the completed task to continue")
    sub.add_argument("prompt", help="what happens next")
    _generation_options(sub)

    sub = command("status", "Show a task's current state.")
    sub.add_argument("task_id")

    sub = command("wait", "Wait until a task completes or fails.")
    sub.add_argument("task_id")
    _wait_options(sub)

    sub = command("download", "Save a completed task's video.")
    sub.add_argument("task_id")
    sub.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="PATH",
        help="file or directory (default: ./<task id>.mp4)",
    )
    sub.add_argument("--overwrite", action="store_true", help="replace an existing file")

    sub = command("generate", "Create, wait (with live progress) and download in one go.")
    sub.add_argument("prompt", help="what the video shows")
    sub.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save it")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing file")
    _wait_options(sub)
    _generation_options(sub)

    sub = command("demo", "Run `generate` end to end on the embedded simulator (offline).")
    sub.add_argument(
        "-o",
        "--output",
        default="luma-demo.mp4",
        metavar="FILE",
        help="where to save the video (default: luma-demo.mp4, replaced)",
    )
    sub.add_argument("--prompt", default=DEMO_PROMPT, help="the prompt to 'generate'")

    simulator_help = "Serve the embedded gateway simulator until Ctrl-C."
    try:
        # The flags are the simulator's own, shared with `python -m luma_tools.simulator`.
        from .simulator._cli import add_arguments as add_simulator_arguments
    except ImportError:
        # No [simulator] extra, so its flags are unknown: take every argument as a plain word
        # (no option prefix can match), so the command reports what to install rather than
        # "unrecognized arguments".
        fallback = commands.add_parser(
            "simulator", help=simulator_help, prefix_chars="\0", add_help=False
        )
        fallback.add_argument("arguments", nargs="*")
    else:
        add_simulator_arguments(command("simulator", simulator_help), standalone=False)
    _JOURNAL_COMMANDS.update(register_journal_commands(commands, common))

    mcp_command.add_arguments(command("mcp", "Serve the video tools to MCP clients (stdio/HTTP)."))
    return parser


#: The journal's commands (jobs, resume, batch), filled in by `build_parser`.
_JOURNAL_COMMANDS: dict[str, Any] = {}


# ---------------------------------------------------------------------------------------------
# Output


class Output:
    """Where results and progress go, text or JSON."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def result(self, text: str, data: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(data, ensure_ascii=False, default=str))
        else:
            print(text)

    def note(self, text: str) -> None:
        if not self.as_json:
            print(text, file=sys.stderr, flush=True)

    def progress(self) -> AbstractContextManager[Any]:
        if self.as_json:
            return nullcontext(None)
        from ._progress import TerminalProgress

        return TerminalProgress(sys.stderr)


def _task_text(task: Task) -> str:
    lines = [
        f"task:    {task.id}",
        f"state:   {task.state.value}"
        + (f" ({task.raw_state})" if task.raw_state and task.raw_state != task.state.value else ""),
    ]
    for label, value in (
        ("prompt", task.prompt),
        ("created", task.created_at),
        ("video", task.video_url),
        ("reason", task.failure_reason),
        ("eta", f"~{task.estimate_wait_seconds:.0f} s" if task.estimate_wait_seconds else None),
    ):
        if value:
            lines.append(f"{label + ':':<8} {value}")
    return "\n".join(lines)


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


# ---------------------------------------------------------------------------------------------
# Commands


def _client(args: argparse.Namespace, **kwargs: Any) -> LumaClient:
    return LumaClient(getattr(args, "api_key", None), getattr(args, "base_url", None), **kwargs)


def _options(args: argparse.Namespace) -> GenerationOptions:
    chosen = {
        name: value
        for name in GenerationOptions.__optional_keys__
        if (value := getattr(args, name, None)) is not None
    }
    return cast(GenerationOptions, chosen)


def cmd_create(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client:
        task = client.create(args.prompt, **_options(args))
    out.result(f"{task.id}", task.summary())
    out.note(
        f"Created task {task.id} ({task.state.value}). Follow it with: {follow_command(task.id)}"
    )


def cmd_extend(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client:
        task = client.extend(args.task_id, args.prompt, **_options(args))
    out.result(f"{task.id}", task.summary())
    out.note(
        f"Created task {task.id}, extending {args.task_id}. Follow it with: "
        f"{follow_command(task.id)}"
    )


def cmd_status(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client:
        task = client.get(args.task_id)
    out.result(_task_text(task), task.summary())


def _interrupted(task: Task, output: str | None = None, *, resumable: bool = False) -> CliError:
    if task.is_finished and task.state.value == "completed":
        step = f"the video is ready: {download_command(task.id, output)}"
    elif resumable:
        step = (
            "it keeps running on the gateway; to wait for it and save the video: "
            f"{resume_command(task.id)}"
        )
    else:
        step = f"it keeps running on the gateway; follow it with: {follow_command(task.id)}"
    return CliError(
        f"interrupted. Task {task.id}: {step}", EXIT_CODES["interrupted"], task_id=task.id
    )


def cmd_wait(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client, out.progress() as progress:
        try:
            task = client.wait(
                args.task_id,
                timeout=args.timeout,
                on_update=progress.on_update if progress else None,
                on_poll=progress.on_poll if progress else None,
            )
        except errors.SubmitInterrupted:
            raise
        except KeyboardInterrupt:
            raise CliError(
                f"interrupted. Task {args.task_id} keeps running on the gateway; follow it "
                f"with: {follow_command(args.task_id)}",
                EXIT_CODES["interrupted"],
                task_id=args.task_id,
            ) from None
    out.result(_task_text(task), task.summary())


def cmd_download(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client, out.progress() as progress:
        path = client.download(
            args.task_id,
            args.output,
            overwrite=args.overwrite,
            on_progress=progress.on_download if progress else None,
        )
    out.result(
        f"Saved {path} ({_size(path)})",
        {"task_id": args.task_id, "path": str(path), "bytes": path.stat().st_size},
    )


def _generate(
    client: LumaClient,
    args: argparse.Namespace,
    out: Output,
    prompt: str,
    options: GenerationOptions,
    *,
    overwrite: bool,
    timeout: float,
) -> None:
    seen: list[Task] = []  # remembers the task in case of Ctrl-C or a failed download
    resumable = client.journal is not None  # it records where the video is headed

    def on_update(task: Task) -> None:
        seen.append(task)
        if progress:
            progress.on_update(task)

    with out.progress() as progress:
        try:
            task, path = client.generate(
                prompt,
                args.output,
                overwrite=overwrite,
                timeout=timeout,
                on_update=on_update,
                on_poll=progress.on_poll if progress else None,
                on_progress=progress.on_download if progress else None,
                **options,
            )
        except errors.SubmitInterrupted:
            raise
        except KeyboardInterrupt:
            if not seen:
                raise
            raise _interrupted(seen[-1], args.output, resumable=resumable) from None
        except errors.LumaError as exc:
            completed = bool(seen) and seen[-1].state.value == "completed"
            raise _Described(
                exc, output=args.output, completed=completed, resumable=resumable
            ) from None
    out.result(
        f"Saved {path} ({_size(path)}) from task {task.id}",
        {"task": task.summary(), "path": str(path), "bytes": path.stat().st_size},
    )


def cmd_generate(args: argparse.Namespace, out: Output) -> None:
    with _client(args) as client:
        _generate(
            client,
            args,
            out,
            args.prompt,
            _options(args),
            overwrite=args.overwrite,
            timeout=args.timeout,
        )


def _load_simulator() -> Any:
    try:
        from .simulator import LumaSimulator
    except ImportError as exc:
        raise CliError(str(exc), EXIT_CODES["usage"]) from None
    return LumaSimulator


def cmd_demo(args: argparse.Namespace, out: Output) -> None:
    from ._invocation import cli_command

    simulator = _load_simulator()
    with simulator(queue_seconds=1.0, run_seconds=3.0) as sim:
        out.note(f"Embedded gateway simulator running at {sim.base_url} (offline, no cost)")
        out.note(f'Generating "{args.prompt}"')
        # The simulator runs a job in seconds, so poll ten times as often as for a real one.
        # No journal: the demo's task lives and dies with its simulator, so it must not sit in
        # the user's journal as a job that `resume` would look for on their real gateway.
        with LumaClient(
            sim.api_key, sim.base_url, poll_policy=PollPolicy().scaled(0.1), journal=False
        ) as client:
            try:
                _generate(
                    client,
                    args,
                    out,
                    args.prompt,
                    GenerationOptions(aspect_ratio="16:9"),
                    overwrite=True,
                    timeout=60,
                )
            except (CliError, KeyboardInterrupt) as exc:
                if isinstance(exc, CliError) and exc.exit_code != EXIT_CODES["interrupted"]:
                    raise
                # Its task cannot be followed: the simulator stops with the demo.
                raise CliError(
                    "interrupted. The demo's simulator stopped with it (nothing was billed); "
                    f"run it again: {cli_command()} demo",
                    EXIT_CODES["interrupted"],
                ) from None
    # The command as it will run from here: `luma-tools` is often not on PATH (an inactive venv).
    out.note(
        "Done. Next: set LUMA_BASE_URL and LUMA_API_KEY for your gateway, then run:\n"
        f'  {cli_command()} generate "your prompt" -o video.mp4'
    )


def cmd_simulator(args: argparse.Namespace, out: Output) -> None:
    _load_simulator()  # reports a missing [simulator] extra
    from .simulator import _cli as simulator_cli

    try:
        simulator_cli.run(args)
    except simulator_cli.SimulatorCliError as exc:
        raise CliError(str(exc), EXIT_CODES["usage"]) from None


COMMANDS: dict[str, Callable[[argparse.Namespace, Output], None]] = {
    "create": cmd_create,
    "extend": cmd_extend,
    "status": cmd_status,
    "wait": cmd_wait,
    "download": cmd_download,
    "generate": cmd_generate,
    "demo": cmd_demo,
    "simulator": cmd_simulator,
    "mcp": mcp_command.run,
}


# ---------------------------------------------------------------------------------------------
# Entry point


class _Described(Exception):
    """A `LumaError` with the context the CLI needs to word it (the -o path, the task's state)."""

    def __init__(
        self, error: errors.LumaError, *, output: str | None, completed: bool, resumable: bool
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.output = output
        self.completed = completed
        self.resumable = resumable


def _print_json_error(message: str, code: int, extra: dict[str, Any]) -> None:
    print(
        json.dumps({"error": {"message": message, "exit_code": code, **extra}}, ensure_ascii=False),
        file=sys.stderr,
    )


def _fail(out: Output, message: str, code: int, extra: dict[str, Any] | None = None) -> NoReturn:
    if out.as_json:
        _print_json_error(message, code, extra or {})
    else:
        print(f"luma-tools: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _fail_with(
    out: Output,
    exc: errors.LumaError,
    *,
    output: str | None = None,
    completed: bool = False,
    resumable: bool = False,
) -> NoReturn:
    failure = describe(exc, output=output, completed=completed, resumable=resumable)
    _fail(
        out, failure.message, failure.exit_code, {"type": failure.kind, "task_id": failure.task_id}
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (see `EXIT_CODES`)."""
    args = build_parser().parse_args(argv)
    out = Output(getattr(args, "json", False))
    verbose = getattr(args, "verbose", False)
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        if args.command in ("resume", "batch"):
            _JOURNAL_COMMANDS[args.command](args, out, lambda: _client(args))
        elif args.command == "jobs":
            _JOURNAL_COMMANDS["jobs"](args, out)
        else:
            COMMANDS[args.command](args, out)
    except errors.SubmitInterrupted as interrupted:
        # Ctrl-C with a paid request on the wire: the same words and status as a lost reply.
        _fail_with(out, interrupted.error)
    except _Described as described:
        _fail_with(
            out,
            described.error,
            output=described.output,
            completed=described.completed,
            resumable=described.resumable,
        )
    except errors.LumaError as exc:
        _fail_with(out, exc, output=getattr(args, "output", None))
    except CliError as exc:
        if exc.exit_code == EXIT_CODES["ok"]:
            out.note(str(exc))
            return EXIT_CODES["ok"]
        _fail(out, str(exc), exc.exit_code, {"type": "CliError", "task_id": exc.task_id})
    except KeyboardInterrupt:
        _fail(out, "interrupted", EXIT_CODES["interrupted"])
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CODES["error"]
    except Exception as exc:
        if verbose:
            raise
        # A bug, not an expected failure: one line, and how to see the details.
        _fail(
            out,
            f"unexpected {type(exc).__name__}: {str(exc)[:200]} (run with -v for the traceback, "
            "and please report it)",
            EXIT_CODES["error"],
            {"type": type(exc).__name__},
        )
    return EXIT_CODES["ok"]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
