"""The simulator's command line: `luma-tools simulator` and `python -m luma_tools.simulator`.

Both entry points take their flags from `add_arguments` and run `run`, so they accept the same
flags with the same defaults, print the same lines and fail with the same one-line errors.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

from ._simulator import LumaSimulator

__all__ = ["DEFAULT_PORT", "SimulatorCliError", "add_arguments", "build_parser", "main", "run"]

#: A fixed default, so `LUMA_BASE_URL` stays valid from one run to the next.
DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
#: Exit status for a bad flag or an address that cannot be used: fix the command line.
USAGE_EXIT = 2


class SimulatorCliError(Exception):
    """A bad flag, or an address the simulator cannot listen on: one line saying what to change."""


def _number(args: argparse.Namespace, name: str, *, minimum: float, inclusive: bool) -> float:
    """The value of `--name` (read as text, so that every bad value gets this one-line error)."""
    text = str(getattr(args, name.replace("-", "_")))
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise SimulatorCliError(f"--{name} must be a number {bound}, got {text!r}")
    return value


def _port(args: argparse.Namespace) -> int:
    text = str(args.port)
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise SimulatorCliError(
            f"--port must be a port number from 0 to 65535 (0 picks a free one), got {text!r}"
        )
    return value


def _host(args: argparse.Namespace) -> str:
    host = str(args.host).strip()
    if not host or "/" in host or any(ch.isspace() for ch in host):
        raise SimulatorCliError(
            f"--host must be an interface address such as {DEFAULT_HOST} (not a URL), "
            f"got {args.host!r}"
        )
    return host


def add_arguments(parser: argparse.ArgumentParser, *, standalone: bool) -> None:
    """Add the simulator's flags to `parser`.

    Args:
        parser: The parser of `python -m luma_tools.simulator` or of `luma-tools simulator`.
        standalone: `True` for `python -m luma_tools.simulator`, which also needs `--json` and
            `--api-key`; `luma-tools` provides those to every subcommand.
    """
    # Values are read as text and checked by `run`: a bad one gets the same single line from
    # both entry points (argparse would add its usage block, and only in one of them).
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"interface to bind (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port",
        default=str(DEFAULT_PORT),
        help=f"port to bind (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    key_flags = ["--sim-api-key", "--api-key"] if standalone else ["--sim-api-key"]
    parser.add_argument(
        *key_flags,
        dest="sim_api_key",
        metavar="KEY",
        help="the key the simulator accepts (default: random sim-...)",
    )
    parser.add_argument(
        "--queue-seconds",
        default="3",
        metavar="SECONDS",
        help="how long a task stays pending (default: 3)",
    )
    parser.add_argument(
        "--run-seconds",
        default="10",
        metavar="SECONDS",
        help="how long a task stays processing (default: 10)",
    )
    parser.add_argument(
        "--time-scale",
        default="1",
        metavar="FACTOR",
        help="real seconds per simulated second (default: 1; 0.1 runs ten times faster)",
    )
    estimate = parser.add_mutually_exclusive_group()
    estimate.add_argument(
        "--no-estimate",
        action="store_true",
        help="report estimate_wait_seconds as null, like most gateways",
    )
    estimate.add_argument(
        "--wrong-estimate",
        choices=["stale", "early"],
        help="report a too short estimate: repeated on every reply (stale), or counted down "
        "to 0 before the task ends (early)",
    )
    if standalone:
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object instead of text"
        )


def build_parser(prog: str = "python -m luma_tools.simulator") -> argparse.ArgumentParser:
    """The parser of `python -m luma_tools.simulator`."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve the embedded gateway simulator until Ctrl-C."
    )
    add_arguments(parser, standalone=True)
    return parser


def _start_error(host: str, port: int, exc: OSError) -> SimulatorCliError:
    if exc.errno == errno.EADDRINUSE:
        message = (
            f"port {port} on {host} is in use; pass --port 0 for a free one, or another --port"
        )
    elif exc.errno == errno.EACCES:
        message = (
            f"not allowed to listen on port {port}; pass a port above 1023, "
            "or --port 0 for a free one"
        )
    elif isinstance(exc, socket.gaierror):
        message = (
            f"--host {host!r} is not an address this machine can resolve; "
            f"use an interface address such as {DEFAULT_HOST}"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        message = (
            f"--host {host!r} is not an address of this machine; "
            f"use an interface address such as {DEFAULT_HOST}"
        )
    else:
        message = f"cannot listen on {host} port {port}: {exc.strerror or exc}"
    return SimulatorCliError(message)


def run(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Start the simulator `args` describe, print where it listens, serve until Ctrl-C/SIGTERM.

    Args:
        args: Parsed by a parser that `add_arguments` set up.
        stdout: Where the address and key go (default: `sys.stdout`).

    Returns:
        0 once stopped by Ctrl-C, SIGTERM or `LumaSimulator.stop`.

    Raises:
        SimulatorCliError: If it cannot listen where asked.
    """
    out = stdout if stdout is not None else sys.stdout
    # luma-tools' own --api-key (every subcommand has it) names the simulator's key here.
    api_key = args.sim_api_key if args.sim_api_key is not None else getattr(args, "api_key", None)
    host, port = _host(args), _port(args)
    sim = LumaSimulator(
        api_key=api_key,
        host=host,
        port=port,
        queue_seconds=_number(args, "queue-seconds", minimum=0, inclusive=True),
        run_seconds=_number(args, "run-seconds", minimum=0, inclusive=True),
        estimate=args.wrong_estimate or not args.no_estimate,
        time_scale=_number(args, "time-scale", minimum=0, inclusive=False),
    )
    try:
        sim.start()
    except OSError as exc:
        raise _start_error(host, port, exc) from None
    try:
        if getattr(args, "json", False):
            out.write(json.dumps({"base_url": sim.base_url, "api_key": sim.api_key}) + "\n")
        else:
            out.write(
                f"Luma gateway simulator at {sim.base_url} (Ctrl-C to stop)\n"
                f"  export LUMA_BASE_URL={sim.base_url}\n"
                f"  export LUMA_API_KEY={sim.api_key}\n"
            )
        out.flush()
        sim.serve_forever()
    finally:
        sim.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m luma_tools.simulator`: parse, run, and turn failures into one line.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        The exit status: 0 after a clean stop, 2 for a bad flag or a busy port, 130 if
        interrupted while starting.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except SimulatorCliError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return USAGE_EXIT
    except KeyboardInterrupt:
        return 130
