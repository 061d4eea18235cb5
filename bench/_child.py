"""The client side of the download, many-jobs and batch benchmarks, run in a child process.

Reads JSON arguments on stdin and prints one JSON line of results. Running apart from the
simulator (which stays in the parent) keeps its threads and memory out of the figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._common import reset_peak_rss, rss_status


def _download(args: dict[str, Any]) -> dict[str, Any]:
    import requests

    from luma_tools import LumaClient

    dest = Path(args["dest"])
    with LumaClient(args["api_key"], args["base_url"]) as client:
        task = client.get(args["task_id"])
        url = task.download_url
        before = rss_status()
        reset_peak_rss()
        started = time.perf_counter()
        if args["mode"] == "ours":
            client.download(task, dest, overwrite=True)
        else:  # the plain-requests reference: stream with 1 MiB chunks
            assert url is not None
            with (
                requests.Session() as session,
                session.get(url, stream=True, timeout=60) as response,
                dest.open("wb") as out,
            ):
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
        seconds = time.perf_counter() - started
        after = rss_status()
    return {
        "seconds": seconds,
        "bytes": dest.stat().st_size,
        "rss_before": before.get("VmRSS", 0),
        "peak_growth": after.get("VmHWM", 0) - before.get("VmRSS", 0),
    }


class _PeakThreads:
    """The most threads alive at once while it runs (sampled every 20 ms, itself not counted)."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, threading.active_count() - 1)

    def __enter__(self) -> _PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _many(args: dict[str, Any]) -> dict[str, Any]:
    from luma_tools import LumaClient, PollPolicy
    from luma_tools.chains import VideoChain

    concurrency = int(args["max_concurrency"])
    prompts = [f"{args['prompt']} #{i}" for i in range(int(args["jobs"]))]
    policy = PollPolicy().scaled(float(args["time_scale"]))
    with (
        tempfile.TemporaryDirectory() as out,
        LumaClient(
            args["api_key"],
            args["base_url"],
            poll_policy=policy,
            max_connections=concurrency,
        ) as client,
    ):
        chain = VideoChain(client, output_dir=out)
        before = rss_status()
        reset_peak_rss()
        with _PeakThreads() as threads:
            started = time.perf_counter()
            results = chain.batch(
                prompts, config={"max_concurrency": concurrency}, return_exceptions=True
            )
            seconds = time.perf_counter() - started
        after = rss_status()
        errors = [repr(r) for r in results if isinstance(r, BaseException)]
        saved = sum(1 for p in Path(out).iterdir() if p.suffix == ".mp4")
    return {
        "seconds": seconds,
        "errors": errors[:5],
        "error_count": len(errors),
        "saved": saved,
        "peak_threads": threads.peak,
        "rss_before": before.get("VmRSS", 0),
        "peak_rss": after.get("VmHWM", 0),
    }


class _StoreTimer:
    """Times every write of the journal's store (lock wait included) while it is on.

    The batch benchmark wants the cost of a state change as the batch pays it, contention and
    all; wrapping the store's two write methods sees exactly that, at the cost of two
    `perf_counter` calls per write.
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []

    @contextlib.contextmanager
    def on(self) -> Iterator[None]:
        from luma_tools._journal_sqlite import SQLiteStore

        originals = {name: getattr(SQLiteStore, name) for name in ("insert", "update")}

        def timed(method: Any) -> Any:
            def write(store: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return method(store, *args, **kwargs)
                finally:
                    self.seconds.append(time.perf_counter() - started)

            return write

        for name, method in originals.items():
            setattr(SQLiteStore, name, timed(method))
        try:
            yield
        finally:
            for name, method in originals.items():
                setattr(SQLiteStore, name, method)

    def figures(self) -> dict[str, float]:
        ordered = sorted(self.seconds)
        if not ordered:
            return {"writes": 0}
        return {
            "writes": len(ordered),
            "median_us": statistics.median(ordered) * 1e6,
            "p95_us": ordered[int(0.95 * (len(ordered) - 1))] * 1e6,
            "total_s": sum(ordered),
        }


def _batch(args: dict[str, Any]) -> dict[str, Any]:
    """`luma-tools batch FILE -o DIR --concurrency N --yes`, as the CLI runs it.

    The CLI's own parser, output and `cmd_batch` (plan, progress display, manifest, the table
    of results) run unchanged; only the client is made here, by the CLI's own factory, with
    the poll policy scaled to the simulator's clock (the CLI has no option for that).
    """
    os.environ.update(
        {
            "LUMA_TOOLS_HOME": args["home"],
            "LUMA_API_KEY": args["api_key"],
            "LUMA_BASE_URL": args["base_url"],
        }
    )
    from luma_tools import PollPolicy, cli
    from luma_tools._cli_errors import CliError
    from luma_tools._cli_jobs import cmd_batch

    argv = ["batch", args["file"], "-o", args["out"], "--concurrency", str(args["concurrency"])]
    parsed = cli.build_parser().parse_args([*argv, "--yes"])
    policy = PollPolicy().scaled(float(args["time_scale"]))
    timer = _StoreTimer()
    exit_code = 0
    before = rss_status()
    reset_peak_rss()
    with (
        _PeakThreads() as threads,
        timer.on(),
        Path(os.devnull).open("w") as devnull,  # the table of results: printed, not kept
        contextlib.redirect_stdout(devnull),
    ):
        started = time.perf_counter()
        try:
            cmd_batch(parsed, cli.Output(False), lambda: cli._client(parsed, poll_policy=policy))
        except CliError as exc:
            exit_code = exc.exit_code
        seconds = time.perf_counter() - started
    after = rss_status()
    return {
        "seconds": seconds,
        "exit_code": exit_code,
        "peak_threads": threads.peak,
        "rss_before": before.get("VmRSS", 0),
        "peak_rss": after.get("VmHWM", 0),
        "journal_writes": timer.figures(),
    }


def main() -> None:
    args = json.loads(sys.stdin.read())
    result = {"download": _download, "many": _many, "batch": _batch}[args.pop("kind")](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
