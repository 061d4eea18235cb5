"""Class 5: one writer per destination, and only a whole video under the final name."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
from hostile_server import HostileServer, gzip_reply, json_reply, reply, serve_bytes

import luma_tools
from luma_tools import (
    DestinationError,
    DestinationExistsError,
    LumaClient,
    LumaConnectionError,
    LumaError,
)

VIDEO = (Path(luma_tools.__file__).parent / "simulator" / "assets" / "sample.mp4").read_bytes()
FILE = "/files/video.mp4"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def storage(hostile: HostileServer) -> HostileServer:
    """The hostile server as gateway and storage host: task-1 is completed, its file at FILE."""
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200,
            {"id": "task-1", "state": "completed", "video": {"download_url": hostile.url + FILE}},
        ),
    )
    return hostile


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_good_download(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, serve_bytes(VIDEO))
    path = hostile_client.download("task-1", tmp_path / "v.mp4")
    assert sha(path.read_bytes()) == sha(VIDEO)
    assert leftovers(tmp_path) == ["v.mp4"]
    assert "Authorization" in storage.received[0].headers  # the gateway's API
    assert all("Authorization" not in r.headers for r in storage.received if r.path == FILE)


def test_two_downloads_to_one_path_share_one_writer(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, serve_bytes(VIDEO, chunk=8192, pause=0.01))
    dest = tmp_path / "v.mp4"
    results: list[object] = []

    def download() -> None:
        try:
            results.append(hostile_client.download("task-1", dest))
        except LumaError as exc:
            results.append(exc)

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [dest] * 4  # the later callers waited and found the file done
    assert sha(dest.read_bytes()) == sha(VIDEO)
    assert storage.count("GET", FILE) == 1
    assert leftovers(tmp_path) == ["v.mp4"]


def test_another_client_writing_the_same_path_gets_a_clear_error(
    storage: HostileServer, make_hostile_client, tmp_path: Path
) -> None:
    started = threading.Event()
    storage.script("GET", FILE, serve_bytes(VIDEO, chunk=4096, pause=0.02, started=started))
    first, second = make_hostile_client(storage.url), make_hostile_client(storage.url)
    dest = tmp_path / "v.mp4"
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(first.download("task-1", dest)))
    thread.start()
    assert started.wait(10)
    with pytest.raises(DestinationExistsError):
        second.download("task-1", dest)  # waits for the lock, then finds another's file
    thread.join(30)
    assert outcome == [dest]
    assert sha(dest.read_bytes()) == sha(VIDEO)


def test_a_planted_symlink_is_never_followed(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "v.mp4.part").symlink_to(victim)  # where older versions wrote
    storage.script("GET", FILE, serve_bytes(VIDEO))
    path = hostile_client.download("task-1", folder / "v.mp4")
    assert victim.read_text() == "precious"
    assert sha(path.read_bytes()) == sha(VIDEO)
    (folder / "link.mp4").symlink_to(victim)
    with pytest.raises(DestinationExistsError):
        hostile_client.download("task-1", folder / "link.mp4")
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Please sign in to the hotel Wi-Fi</body></html>",
        b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
        b'{"error": "expired"}',
        b"\x00" * 4096,
    ],
    ids=["captive-portal", "s3-error", "json", "zeros"],
)
def test_only_a_video_gets_the_final_name(
    body: bytes, storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, reply(200, body, content_type="application/octet-stream"))
    storage.script(
        "GET",
        "/luma/generations/task-1/download_video_url",
        json_reply(200, {"url": storage.url + FILE}),
    )
    with pytest.raises(LumaError, match=r"not a video|not MP4"):
        hostile_client.download("task-1", tmp_path / "v.mp4")
    assert leftovers(tmp_path) == []


def test_gzip_bytes_are_decoded_never_saved_as_the_video(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, gzip_reply(200, VIDEO))
    path = hostile_client.download("task-1", tmp_path / "v.mp4")
    assert sha(path.read_bytes()) == sha(VIDEO)
    assert gzip.compress(VIDEO)[:2] != path.read_bytes()[:2]


def test_a_body_without_length_that_ends_early_is_resumed(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script(
        "GET",
        FILE,
        serve_bytes(VIDEO, cut_at=len(VIDEO) // 2, declare_length=False),
        serve_bytes(VIDEO),
    )
    path = hostile_client.download("task-1", tmp_path / "v.mp4")
    assert sha(path.read_bytes()) == sha(VIDEO)
    second = [r for r in storage.received if r.path == FILE][1]
    assert second.headers.get("Range", "").startswith("bytes=")


def test_a_body_that_always_ends_early_is_never_saved(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    # The host's copy itself is cut short: every attempt ends 100 bytes early, without a length.
    storage.script("GET", FILE, serve_bytes(VIDEO[:-100], declare_length=False))
    with pytest.raises(LumaConnectionError, match="kept breaking off"):
        hostile_client.download("task-1", tmp_path / "v.mp4")
    assert leftovers(tmp_path) == []


def test_a_lying_content_length_is_caught(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script(
        "GET", FILE, reply(200, VIDEO, content_length=len(VIDEO) + 1000, content_type="video/mp4")
    )
    with pytest.raises(LumaError):
        hostile_client.download("task-1", tmp_path / "v.mp4")
    assert leftovers(tmp_path) == []


def test_a_trickling_storage_host_is_bounded_by_the_download_timeout(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, serve_bytes(VIDEO, chunk=64, pause=0.2))
    started = time.monotonic()
    with pytest.raises(LumaConnectionError, match="did not finish within"):
        hostile_client.download("task-1", tmp_path / "v.mp4", timeout=1.5)
    assert time.monotonic() - started < 3.0
    assert leftovers(tmp_path) == []


def test_a_private_storage_host_is_refused_for_a_public_gateway(
    hostile: HostileServer, make_hostile_client, tmp_path: Path
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200,
            {
                "id": "task-1",
                "state": "completed",
                "video": {"download_url": "http://169.254.169.254/latest/meta-data"},
            },
        ),
    )
    client = make_hostile_client(hostile.url, allow_private_urls=False)
    with pytest.raises(LumaError, match="private"):
        client.download("task-1", tmp_path / "v.mp4")


def _blocked_by_a_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "v.mp4"


@pytest.mark.parametrize(
    ("where", "words"),
    [
        (_blocked_by_a_file, "is a file, not a folder"),
        (lambda tmp_path: Path("/proc/luma-test.mp4"), "Cannot"),
        (lambda tmp_path: tmp_path / ("n" * 300 + ".mp4"), "too long"),
    ],
    ids=["parent-is-a-file", "proc", "name-too-long"],
)
def test_os_errors_name_the_path_and_the_fix(
    where, words: str, storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    storage.script("GET", FILE, serve_bytes(VIDEO))
    with pytest.raises(DestinationError, match=words) as caught:
        hostile_client.download("task-1", where(tmp_path))
    assert caught.value.hint
    assert caught.value.task_id == "task-1"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_no_permission_is_explained(
    storage: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DestinationError, match="No permission"):
        hostile_client.download("task-1", locked / "v.mp4")
