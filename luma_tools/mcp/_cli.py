"""`luma-tools mcp`: the command's options and runner (registered by `luma_tools.cli`).

Nothing here imports the `mcp` SDK until the command runs, so `luma-tools --help` works
without the `[mcp]` extra, and the command without it says how to install it.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import Any

from .._cli_errors import EXIT_CODES, CliError
from .._extras import missing_extra
from ._address import is_loopback, parse_http_address

__all__ = ["TOKEN_ENV", "add_arguments", "run"]

#: The environment variable holding the bearer token (safer than --token: `ps` shows flags).
TOKEN_ENV = "LUMA_MCP_TOKEN"
_MIN_TOKEN_CHARS = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `luma-tools mcp`."""
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio "
        "(HOST defaults to 127.0.0.1; PORT 0 picks a free one)",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        default=None,
        help=f"bearer token HTTP clients must send (default: ${TOKEN_ENV}); required for a "
        "host other than loopback",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="where luma_download_video saves videos (default: the current directory)",
    )
    parser.add_argument(
        "--image-dir",
        type=Path,
        metavar="DIR",
        help="the only folder local start/end images may come from (default: none; "
        "image URLs are always accepted)",
    )
    parser.add_argument(
        "--max-creates",
        type=int,
        metavar="N",
        help="refuse creates and extends past N in this server's life (default: no limit)",
    )
    parser.add_argument(
        "--price-per-video",
        type=float,
        metavar="PRICE",
        help="what one create or extend costs on your gateway, for cost estimates",
    )
    parser.add_argument("--currency", default="USD", help="unit of --price-per-video")
    parser.add_argument(
        "--no-resource-links",
        dest="resource_links",
        action="store_false",
        help="leave the link to the saved file out of download results (for clients that "
        "hand links to the model as files, such as langchain-mcp-adapters)",
    )
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="serve against an embedded gateway simulator (offline try-out; nothing billed)",
    )


def _usage(message: str) -> Exception:
    return CliError(message, EXIT_CODES["usage"])


def _token(args: argparse.Namespace, host: str) -> str | None:
    token = (args.token or os.environ.get(TOKEN_ENV) or "").strip() or None
    if token is not None and (
        len(token) < _MIN_TOKEN_CHARS or any(c.isspace() or not c.isprintable() for c in token)
    ):
        raise _usage(
            f"the bearer token must be at least {_MIN_TOKEN_CHARS} visible characters; "
            "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if token is None and not is_loopback(host):
        raise _usage(
            f"--http {host} is reachable from other machines, and every create is billed to "
            f"your gateway account: set {TOKEN_ENV} (or pass --token) so that only your "
            "clients can call the tools"
        )
    return token


def _folders(args: argparse.Namespace) -> tuple[Path, Path | None]:
    output_dir = (args.output_dir or Path.cwd()).expanduser().resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise _usage(f"--output-dir {output_dir} is not a folder")
    image_dir = args.image_dir.expanduser().resolve() if args.image_dir else None
    if image_dir is not None and not image_dir.is_dir():
        raise _usage(f"--image-dir {image_dir} is not an existing folder")
    return output_dir, image_dir


def _guard(args: argparse.Namespace) -> Any:
    from ..agent import SpendGuard

    if args.max_creates is not None and args.max_creates < 0:
        raise _usage("--max-creates must be 0 or more")
    price = args.price_per_video
    if price is not None and not (price >= 0 and price != float("inf")):
        raise _usage("--price-per-video must be a price of 0 or more")
    if not args.currency.strip():
        raise _usage("--currency is blank")
    return SpendGuard(args.max_creates, price_per_video=price, currency=args.currency)


def run(args: argparse.Namespace, out: Any) -> None:
    """Run `luma-tools mcp` until the client disconnects (stdio) or Ctrl-C (HTTP)."""
    # Check the settings first: a refusal needs no SDK, and comes at once.
    address = None
    if args.http:
        try:
            address = parse_http_address(args.http)
        except ValueError as exc:
            raise _usage(str(exc)) from None
    token = _token(args, address[0]) if address else None
    output_dir, image_dir = _folders(args)
    guard = _guard(args)
    try:
        import anyio

        from ._server import build_server
        from ._transports import serve_http, serve_stdio
    except ImportError as exc:
        raise _usage(str(missing_extra("mcp", "luma-tools mcp", exc))) from None
    from .._client import LumaClient
    from ..agent import AgentTools

    simulator = _start_simulator() if args.simulator else None
    try:
        if simulator is not None:
            client = LumaClient(simulator.api_key, simulator.base_url)
        else:
            client = LumaClient(getattr(args, "api_key", None), getattr(args, "base_url", None))
        with client:
            tools = AgentTools(client, output_dir=output_dir, image_dir=image_dir, guard=guard)
            server = build_server(tools, resource_links=args.resource_links)
            if address is None:
                anyio.run(serve_stdio, server)
            else:
                host, port = address
                try:
                    anyio.run(
                        lambda: serve_http(server, host, port, token=token, on_ready=_announce)
                    )
                except OSError as exc:
                    raise _usage(_listen_error(host, port, exc)) from None
    except KeyboardInterrupt:
        sys.stderr.write("luma-tools mcp: stopped\n")
    finally:
        if simulator is not None:
            simulator.stop()


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """Why `--http HOST:PORT` cannot listen, and what to pass instead."""
    if exc.errno == errno.EADDRINUSE:
        return f"--http: {host}:{port} is in use; pass another port (port 0 picks a free one)"
    if exc.errno == errno.EACCES:
        return f"--http: not allowed to listen on port {port}; use a port above 1023"
    return f"--http: cannot listen on {host}:{port}: {exc.strerror or exc}"


def _announce(url: str) -> None:
    sys.stderr.write(f"luma-tools MCP server at {url} (Ctrl-C to stop)\n")
    sys.stderr.flush()


def _start_simulator() -> Any:
    try:
        from ..simulator import LumaSimulator
    except ImportError:
        raise _usage(
            "--simulator needs the simulator extra: pip install 'luma-tools[mcp,simulator]'"
        ) from None
    simulator = LumaSimulator(queue_seconds=3, run_seconds=10)  # the pace of a fast gateway
    simulator.start()
    sys.stderr.write(f"luma-tools mcp: offline, on a simulator at {simulator.base_url}\n")
    return simulator
