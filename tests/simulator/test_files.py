"""The storage host: the MP4 bytes, ranges, HEAD and the CDN media."""

from __future__ import annotations

import hashlib
import re

import pytest

from luma_tools.simulator import LumaSimulator


@pytest.fixture
def completed(gateway, sim: LumaSimulator) -> dict:
    return gateway.query(sim.add_task(state="completed"))


@pytest.fixture
def video_url(completed: dict) -> str:
    return completed["video"]["download_url"]


def test_the_served_video_is_the_simulators_mp4(gateway, sim, video_url: str) -> None:
    response = gateway.fetch_file(video_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert int(response.headers["Content-Length"]) == sim.video_size == len(response.content)
    assert hashlib.sha256(response.content).hexdigest() == sim.video_sha256
    assert response.content[4:8] == b"ftyp"  # a real MP4


def test_download_video_url_and_the_cdn_serve_the_same_bytes(gateway, sim, completed) -> None:
    linked = gateway.fetch_file(gateway.download_url(completed["id"])).content
    watermarked = gateway.fetch_file(completed["video"]["url"]).content
    assert hashlib.sha256(linked).hexdigest() == sim.video_sha256
    assert hashlib.sha256(watermarked).hexdigest() == sim.video_sha256


def test_a_custom_video_file_is_served_and_hashed(tmp_path, make_sim, make_gateway) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 1200)  # > one chunk
    sim = make_sim(video_path=clip)
    gateway = make_gateway(sim)
    assert sim.video_sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert sim.video_size == clip.stat().st_size
    url = gateway.download_url(sim.add_task(state="completed"))
    assert gateway.fetch_file(url).content == clip.read_bytes()


def test_a_missing_video_file_is_an_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        LumaSimulator(video_path=tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-500", -500, None),
        ("bytes=1000-1000", 1000, 1000),
        ("bytes=10-99999999", 10, None),
    ],
)
def test_ranges_are_answered_with_206(
    gateway, sim, video_url: str, header: str, start: int, end: int | None
) -> None:
    whole = gateway.fetch_file(video_url).content
    size = sim.video_size
    first = start % size
    last = (size - 1) if end is None else end
    response = gateway.fetch_file(video_url, headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert int(response.headers["Content-Length"]) == last - first + 1
    assert response.content == whole[first : last + 1]


def test_resuming_with_a_range_rebuilds_the_exact_file(gateway, sim, video_url: str) -> None:
    head = gateway.fetch_file(video_url, headers={"Range": "bytes=0-9999"}).content
    tail = gateway.fetch_file(video_url, headers={"Range": f"bytes={len(head)}-"}).content
    assert hashlib.sha256(head + tail).hexdigest() == sim.video_sha256


@pytest.mark.parametrize("offset", [0, 1, 1000])
def test_an_unsatisfiable_range_is_a_416(gateway, sim, video_url: str, offset: int) -> None:
    start = sim.video_size + offset
    response = gateway.fetch_file(video_url, headers={"Range": f"bytes={start}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{sim.video_size}"
    assert response.content == b""


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc"])
def test_multi_and_malformed_ranges_get_the_whole_file(gateway, sim, video_url, header) -> None:
    response = gateway.fetch_file(video_url, headers={"Range": header})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert len(response.content) == sim.video_size


def test_head_gives_the_size_without_a_body(gateway, sim, video_url: str) -> None:
    response = gateway.request("HEAD", video_url, auth=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert int(response.headers["Content-Length"]) == sim.video_size
    assert response.content == b""
    ranged = gateway.request("HEAD", video_url, auth=False, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 0-9/{sim.video_size}"
    assert ranged.headers["Content-Length"] == "10"


@pytest.mark.parametrize("key", ["thumbnail", "last_frame"])
def test_the_thumbnail_and_last_frame_are_jpegs(gateway, completed, key: str) -> None:
    response = gateway.fetch_file(completed[key]["url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    "path",
    [
        "/cdn/{id}/secret.txt",
        "/cdn/00000000-0000-0000-0000-000000000000/thumbnail.jpg",
        "/cdn/{pending}/video_watermarked.mp4",
    ],
)
def test_unknown_or_unready_media_is_an_s3_no_such_key(gateway, sim, completed, path) -> None:
    pending = sim.add_task(state="pending")
    url = gateway.base_url + path.format(id=completed["id"], pending=pending)
    response = gateway.fetch_file(url)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/xml")
    assert re.search(r"<Code>NoSuchKey</Code>", response.text)


def test_file_requests_are_recorded_without_authorization(gateway, sim, video_url) -> None:
    gateway.fetch_file(video_url, headers={"Range": "bytes=0-0"})
    last = sim.requests[-1]
    assert last.route == "file"
    assert last.status == 206
    assert last.had_authorization is False
    assert "X-Amz-Signature" in last.query
    assert sim.count("file", "GET") == 1
