"""Each aspect ratio gets a clip of that shape, so the ratio a user picks is what they see.

The dimensions are read from the MP4's own track header (`tkhd`), and cross-checked with
ffprobe where it is installed. Nothing in the simulator needs ffmpeg at run time.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from luma_tools import ASPECT_RATIOS
from luma_tools.simulator import LumaSimulator
from luma_tools.simulator._files import PACKAGED_CLIPS, mp4_dimensions

ASSETS = Path(__file__).resolve().parents[2] / "luma_tools" / "simulator" / "assets"
#: The packaged clips stay small: the wheel carries all seven.
CLIP_BUDGET = 150_000


def ratio_of(width: int, height: int) -> Fraction:
    return Fraction(width, height)


def close_to(actual: Fraction, ratio: str, tolerance: float = 0.02) -> bool:
    wide, high = (int(part) for part in ratio.split(":"))
    return abs(float(actual) / (wide / high) - 1) <= tolerance


def test_every_aspect_ratio_has_a_small_clip_of_that_shape() -> None:
    assert set(PACKAGED_CLIPS) == set(ASPECT_RATIOS)
    for ratio, name in PACKAGED_CLIPS.items():
        path = ASSETS / name
        assert path.stat().st_size <= CLIP_BUDGET, name
        with path.open("rb") as f:
            size = mp4_dimensions(f)
        assert size is not None, name
        assert close_to(ratio_of(*size), ratio), (name, size)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_agrees_with_the_track_headers() -> None:
    for name in PACKAGED_CLIPS.values():
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", ASSETS / name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (stream,) = json.loads(out)["streams"]
        assert stream["codec_name"] == "h264"
        assert float(stream["duration"]) == pytest.approx(4.0, abs=0.1)
        with (ASSETS / name).open("rb") as f:
            assert mp4_dimensions(f) == (stream["width"], stream["height"])


def test_a_file_that_is_no_mp4_has_no_dimensions(tmp_path: Path) -> None:
    assert mp4_dimensions(io.BytesIO(b"")) is None
    assert mp4_dimensions(io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)) is None
    assert mp4_dimensions(io.BytesIO(b"\x00\x00\x00\x04moov")) is None  # a lying box size


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1", "21:9"])
def test_a_task_downloads_the_clip_of_its_ratio_and_reports_its_size(
    gateway, sim: LumaSimulator, ratio: str
) -> None:
    created = gateway.create("shaped", aspect_ratio=ratio)
    task = gateway.wait_for_video(created["id"])
    body = gateway.fetch_file(gateway.download_url(task["id"])).content
    served = sim.video(ratio)
    assert hashlib.sha256(body).hexdigest() == served.sha256
    assert len(body) == served.size
    assert mp4_dimensions(io.BytesIO(body)) == (served.width, served.height)
    assert close_to(ratio_of(served.width or 0, served.height or 1), ratio)
    # The gateway's JSON describes the same video.
    assert (task["video"]["width"], task["video"]["height"]) == (served.width, served.height)
    watermarked = gateway.fetch_file(task["video"]["url"]).content
    assert watermarked == body


def test_an_extension_keeps_the_ratio_of_its_source(gateway, sim: LumaSimulator) -> None:
    source = gateway.wait_for_video(gateway.create("tall", aspect_ratio="9:16")["id"])

    def extend(**fields: str) -> dict:
        response = gateway.post(f"/luma/generations/{source['id']}/extend", json=fields)
        assert response.status_code == 200, response.text
        return gateway.wait_for_video(response.json()["id"])

    kept = extend(user_prompt="taller")
    body = gateway.fetch_file(gateway.download_url(kept["id"])).content
    assert hashlib.sha256(body).hexdigest() == sim.video("9:16").sha256
    assert (kept["video"]["width"], kept["video"]["height"]) == (270, 480)
    wide = extend(user_prompt="wide now", aspect_ratio="16:9")  # an explicit ratio wins
    assert (wide["video"]["width"], wide["video"]["height"]) == (480, 270)


def test_a_custom_video_file_serves_every_ratio(tmp_path: Path, make_sim, make_gateway) -> None:
    clip = tmp_path / "mine.mp4"
    clip.write_bytes((ASSETS / PACKAGED_CLIPS["1:1"]).read_bytes())
    sim = make_sim(video_path=clip)
    gateway = make_gateway(sim)
    task = gateway.wait_for_video(gateway.create("any", aspect_ratio="9:16")["id"])
    body = gateway.fetch_file(gateway.download_url(task["id"])).content
    assert body == clip.read_bytes()
    assert (sim.video("9:16").width, sim.video("9:16").height) == (368, 368)
    assert (task["video"]["width"], task["video"]["height"]) == (368, 368)
