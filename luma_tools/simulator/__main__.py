"""``python -m luma_tools.simulator``: run the gateway simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from . import LumaSimulator


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the simulator, print where it listens, serve.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m luma_tools.simulator",
        description="Run a local Luma API gateway simulator until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--api-key", default=None, help="bearer token (default: random)")
    parser.add_argument(
        "--queue-seconds", type=float, default=0.2, help="virtual seconds in 'pending'"
    )
    parser.add_argument(
        "--run-seconds", type=float, default=0.6, help="virtual seconds in 'processing'"
    )
    parser.add_argument(
        "--no-estimate", action="store_true", help="report estimate_wait_seconds as null"
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="real seconds per virtual second"
    )
    args = parser.parse_args(argv)
    sim = LumaSimulator(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        estimate=not args.no_estimate,
        time_scale=args.time_scale,
    )
    sim.start()
    sys.stdout.write(f"Luma simulator listening on {sim.base_url}  api key: {sim.api_key}\n")
    sys.stdout.flush()
    sim.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
