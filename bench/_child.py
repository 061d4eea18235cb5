"""The client side of the download and many-jobs benchmarks, run in a child process.

Reads JSON arguments on stdin and prints one JSON line of results. Running apart from the
simulator (which stays in the parent) keeps its threads and memory out of the figures.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
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


def _many(args: dict[str, Any]) -> dict[str, Any]:
    from luma_tools import LumaClient, PollPolicy
    from luma_tools.chains import VideoChain

    concurrency = int(args["max_concurrency"])
    prompts = [f"{args['prompt']} #{i}" for i in range(int(args["jobs"]))]
    peak_threads = threading.active_count()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_threads
        while not stop.wait(0.02):
            peak_threads = max(peak_threads, threading.active_count())

    sampler = threading.Thread(target=sample, daemon=True)
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
        sampler.start()
        started = time.perf_counter()
        results = chain.batch(
            prompts, config={"max_concurrency": concurrency}, return_exceptions=True
        )
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        after = rss_status()
        errors = [repr(r) for r in results if isinstance(r, BaseException)]
        saved = sum(1 for p in Path(out).iterdir() if p.suffix == ".mp4")
    return {
        "seconds": seconds,
        "errors": errors[:5],
        "error_count": len(errors),
        "saved": saved,
        # The sampler thread itself is not part of the work.
        "peak_threads": peak_threads - 1,
        "rss_before": before.get("VmRSS", 0),
        "peak_rss": after.get("VmHWM", 0),
    }


def main() -> None:
    args = json.loads(sys.stdin.read())
    result = {"download": _download, "many": _many}[args.pop("kind")](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
