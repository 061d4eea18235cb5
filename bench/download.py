"""Download: a large file from the simulator, `LumaClient.download` against `curl -o`.

Throughput is compared round by round (the order alternates), memory is the peak RSS growth of
the downloading process (a child, so the simulator's memory is not counted), and a connection
dropped half-way shows how many bytes the resume re-fetches.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from luma_tools import LumaClient
from luma_tools.simulator import LumaSimulator, write_test_video

from ._common import Row, Section, median, mib, run_child

CURL = "/usr/bin/curl"


def _make_file(path: Path, size: int) -> None:
    # A valid MP4 (clients check) whose media data is random, so nothing can compress it.
    write_test_video(path, size)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _served_bytes(sim: LumaSimulator, since: int, size: int, truncated_fraction: float) -> int:
    """Bytes the simulator sent for file requests after the first `since` requests."""
    total = 0
    truncated = False
    for request in sim.requests[since:]:
        if request.route != "file":
            continue
        range_header = request.headers.get("Range") or request.headers.get("range")
        start = int(range_header.split("=")[1].split("-")[0]) if range_header else 0
        length = size - start
        if not truncated and truncated_fraction:
            truncated = True  # the first file response is the one cut short
            length = int(length * truncated_fraction)
        total += length
    return total


def _workdir(size: int) -> str | None:
    """tmpfs when it has room: disk writeback on a shared VM swamps the differences we measure."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 * size:
        return str(shm)
    return None


def run(quick: bool = False) -> Section:
    size_mib = 32 if quick else 512
    rounds = 1 if quick else 6
    warmups = 0 if quick else 2
    size = size_mib << 20
    section = Section(f"Download ({size_mib} MiB)")
    where = _workdir(size)
    with tempfile.TemporaryDirectory(prefix="luma-bench-", dir=where) as tmp:
        source = Path(tmp) / "source.mp4"
        _make_file(source, size)
        with LumaSimulator(video_path=source) as sim:
            task_id = sim.add_task(state="completed")
            with LumaClient(sim.api_key, sim.base_url) as client:
                url = client.get(task_id).download_url
            assert url is not None
            args = {
                "kind": "download",
                "api_key": sim.api_key,
                "base_url": sim.base_url,
                "task_id": task_id,
            }
            have_curl = Path(CURL).exists()
            reference = "curl -o" if have_curl else "requests, 1 MiB chunks"
            times: dict[str, list[float]] = {"ours": [], "reference": [], "requests": []}
            growth: list[int] = []
            # The first rounds are not counted: on this (micro)VM the first touch of fresh memory
            # pages is slow, and whoever writes first after them paid up to 5x (either side).
            for i in range(warmups + rounds):
                order = ["ours", "reference"] if i % 2 == 0 else ["reference", "ours"]
                for who in order:
                    dest = Path(tmp) / f"{who}-{i}.mp4"
                    if who == "ours":
                        result = run_child(
                            "bench._child", {**args, "mode": "ours", "dest": str(dest)}
                        )
                        seconds = result["seconds"]
                        growth.append(result["peak_growth"])
                    elif have_curl:
                        started = time.perf_counter()
                        subprocess.run([CURL, "-sS", "-o", str(dest), url], check=True)
                        seconds = time.perf_counter() - started
                    else:
                        result = run_child(
                            "bench._child", {**args, "mode": "raw", "dest": str(dest)}
                        )
                        seconds = result["seconds"]
                    if i >= warmups:
                        times[who].append(seconds)
                    if i == 0 and who == "ours":
                        assert _sha256(dest) == sim.video_sha256, "downloaded file differs"
                    dest.unlink()
            if have_curl:  # the plain-requests stream as a second reference
                dest = Path(tmp) / "requests.mp4"
                result = run_child("bench._child", {**args, "mode": "raw", "dest": str(dest)})
                times["requests"].append(result["seconds"])
                dest.unlink()

            # A connection dropped half-way through.
            since = len(sim.requests)
            sim.faults.truncate_download(times=1, fraction=0.5)
            dest = Path(tmp) / "resumed.mp4"
            run_child("bench._child", {**args, "mode": "ours", "dest": str(dest)})
            complete = _sha256(dest) == sim.video_sha256
            served = _served_bytes(sim, since, size, 0.5)
            attempts = sum(1 for r in sim.requests[since:] if r.route == "file")

    ours, ref = median(times["ours"]), median(times["reference"])
    ratio = ref / ours
    section.tables.append(
        (
            ["downloader", "median time", "throughput"],
            [
                ["`client.download`", f"{ours:.2f} s", f"{size / ours / 2**20:.0f} MiB/s"],
                [reference, f"{ref:.2f} s", f"{size / ref / 2**20:.0f} MiB/s"],
            ]
            + (
                [
                    [
                        "requests, 1 MiB chunks",
                        f"{median(times['requests']):.2f} s",
                        f"{size / median(times['requests']) / 2**20:.0f} MiB/s",
                    ]
                ]
                if times["requests"]
                else []
            ),
        )
    )
    section.rows += [
        Row(f"throughput vs {reference}", f"{ratio:.2f}", ">= 0.9", ratio >= 0.9),
        Row("peak RSS growth", mib(max(growth)), "<= 50 MiB", max(growth) <= 50 << 20),
        Row(
            "bytes fetched after a drop at 50%",
            f"{served / size:.3f}x the file ({attempts} requests, file intact: {complete})",
            "<= 1.05x",
            served <= 1.05 * size and complete,
        ),
    ]
    section.notes.append(
        f"{rounds} rounds after {warmups} warm-up rounds, alternating who goes first; the file "
        "is random data served by the simulator over loopback and written to "
        f"{'tmpfs (/dev/shm)' if where else 'the temp dir'}: on this VM, disk writeback of "
        "earlier rounds made single runs vary 3x either way. `client.download` also fsyncs and "
        "renames the file into place; curl does neither. curl's time includes its process "
        "start (a few ms); ours is measured inside the process. Peak RSS is the downloading "
        "child's VmHWM growth during the download."
    )
    return section


if __name__ == "__main__":
    print(run(quick=shutil.which("curl") is None).markdown())
