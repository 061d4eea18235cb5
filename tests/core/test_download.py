"""Downloads: streamed, resumed, re-linked, verified, atomic; nothing partial left behind."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from luma_tools import (
    DestinationExistsError,
    LumaClient,
    LumaConnectionError,
    TaskFailedError,
    TaskNotReadyError,
)
from luma_tools.simulator import LumaSimulator, write_test_video

MakeClient = Callable[..., LumaClient]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_download_is_complete_and_verified(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task = client.wait(client.create("download me"), timeout=10)
    progress: list[tuple[int, int | None]] = []
    path = client.download(
        task, tmp_path / "out.mp4", on_progress=lambda d, t: progress.append((d, t))
    )
    assert path == tmp_path / "out.mp4"
    assert sha256(path) == sim.video_sha256
    assert leftovers(tmp_path) == ["out.mp4"]
    assert progress[-1] == (sim.video_size, sim.video_size)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    # the task carried its own unwatermarked link, so no extra request was needed
    assert sim.count("download_url") == 0
    files = [r for r in sim.requests if r.route == "file"]
    assert files
    assert not any(r.had_authorization for r in files)


def test_download_by_id_into_a_directory(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    path = client.download(task_id, tmp_path)
    assert path == tmp_path / f"{task_id}.mp4"
    assert sha256(path) == sim.video_sha256


def test_uses_download_video_url_when_the_task_has_no_link(
    tmp_path: Path, make_client: MakeClient
) -> None:
    with LumaSimulator(vip_download_url=False) as sim:
        client = make_client(sim)
        task = client.get(sim.add_task(state="completed"))
        assert task.download_url is None
        path = client.download(task, tmp_path / "v.mp4")
        assert sha256(path) == sim.video_sha256
        assert sim.count("download_url") == 1


def test_refuses_to_overwrite_unless_asked(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    target = tmp_path / "keep.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(DestinationExistsError, match=r"overwrite=True") as caught:
        client.download(task_id, target)
    assert caught.value.task_id == task_id
    assert target.read_bytes() == b"precious"
    client.download(task_id, target, overwrite=True)
    assert sha256(target) == sim.video_sha256


def test_resumes_after_a_dropped_connection(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.truncate_download(times=1, fraction=0.5)
    path = client.download(task_id, tmp_path / "resumed.mp4")
    assert sha256(path) == sim.video_sha256
    files = [r for r in sim.requests if r.route == "file"]
    assert len(files) == 2
    assert files[1].headers.get("Range", "").startswith("bytes=")
    assert files[1].headers["Range"] != "bytes=0-"


def test_gives_up_cleanly_when_the_connection_keeps_dropping(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.truncate_download(times=100, fraction=0.0)
    with pytest.raises(LumaConnectionError) as caught:
        client.download(task_id, tmp_path / "never.mp4")
    assert caught.value.task_id == task_id
    assert leftovers(tmp_path) == []  # neither the final name nor a .part


def test_expired_link_is_replaced_with_a_fresh_one(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task = client.get(sim.add_task(state="completed"))
    sim.faults.expire_links()
    path = client.download(task, tmp_path / "fresh.mp4")
    assert sha256(path) == sim.video_sha256
    assert sim.count("download_url") == 1
    assert next(r.status for r in sim.requests if r.route == "file") == 403


def test_not_ready_and_failed_tasks(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    running = client.create("still going")
    with pytest.raises(TaskNotReadyError, match=r"not completed"):
        client.download(running, tmp_path / "x.mp4")
    failed = client.get(sim.add_task(state="failed", failure_reason="Frame moderation failed"))
    with pytest.raises(TaskFailedError, match=r"Frame moderation failed"):
        client.download(failed, tmp_path / "x.mp4")
    assert leftovers(tmp_path) == []
    assert sim.count("file") == 0


def test_memory_stays_flat_for_a_large_file(tmp_path: Path, make_client: MakeClient) -> None:
    big = write_test_video(tmp_path / "big.mp4", 48 << 20)
    with LumaSimulator(video_path=big) as sim:
        client = make_client(sim)
        task = client.get(sim.add_task(state="completed"))
        tracemalloc.start()
        try:
            path = client.download(task, tmp_path / "copy.mp4")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert path.stat().st_size == 48 << 20
        assert sha256(path) == sim.video_sha256
        assert peak < 8 << 20, f"peak traced memory {peak / 2**20:.1f} MiB for a 48 MiB file"


def test_a_path_ending_in_a_slash_is_a_folder_created_on_demand(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    task_id = sim.add_task(state="completed")
    path = client.download(task_id, "videos/")
    assert path == tmp_path / "videos" / f"{task_id}.mp4"
    assert sha256(path) == sim.video_sha256
    nested = client.download(task_id, tmp_path / "a" / "b" / "clip.mp4")
    assert sha256(nested) == sim.video_sha256


def test_an_unfinished_task_leaves_no_folder_behind(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="processing")
    with pytest.raises(TaskNotReadyError):
        client.download(task_id, tmp_path / "new" / "")
    with pytest.raises(TaskNotReadyError):
        client.download(task_id, f"{tmp_path}/other/")
    assert list(tmp_path.iterdir()) == []


def test_parts_a_killed_process_left_are_removed_but_not_those_of_other_files(
    client: LumaClient, tmp_path: Path
) -> None:
    task = client.wait(client.create("left behind"), timeout=10)
    (tmp_path / ".out.mp4.k1ll3d00.part").write_bytes(b"half a video")
    (tmp_path / ".other.mp4.k1ll3d00.part").write_bytes(b"another download's")
    # A live download to a longer name shares the prefix but holds a lock of its own.
    (tmp_path / ".out.mp4.mp4.l1ve0000.part").write_bytes(b"still being written")
    client.download(task, tmp_path / "out.mp4")
    assert leftovers(tmp_path) == [
        ".other.mp4.k1ll3d00.part",
        ".out.mp4.mp4.l1ve0000.part",
        "out.mp4",
    ]


def test_a_folder_is_listed_for_leftovers_once_a_minute_not_per_download(
    client: LumaClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed: list[Path] = []
    original = Path.glob

    def counting_glob(self: Path, pattern: str) -> object:
        listed.append(self)
        return original(self, pattern)

    monkeypatch.setattr(Path, "glob", counting_glob)
    for n in range(5):
        task = client.wait(client.create(f"video {n}"), timeout=10)
        client.download(task, tmp_path / f"{n}.mp4")
    assert len(leftovers(tmp_path)) == 5
    # Once for partial downloads and once for write probes; a batch of 10,000 used to read its
    # folder twice per video.
    assert listed.count(tmp_path) == 2
