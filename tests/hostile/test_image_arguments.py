"""Class 9 (core part): image arguments are checked by their real magic numbers; odd paths are
field errors, never crashes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from luma_tools import InvalidInputError
from luma_tools._images import resolve_image

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    "content",
    [
        b"BM is how my diary starts",
        b"\x89PNG but not really",
        b"GIF8",
        b"RIFF....WAVEfmt ",
        b"\xff\xd8",
    ],
    ids=["bm-text", "png-prefix", "short-gif", "riff-wave", "short-jpeg"],
)
def test_a_file_that_only_looks_like_an_image_is_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        resolve_image("image_url", str(path))
    assert caught.value.field == "image_url"


def test_a_data_uri_must_hold_an_image(tmp_path: Path) -> None:
    text = base64.b64encode(b"<script>alert(1)</script>").decode()
    with pytest.raises(InvalidInputError, match="does not hold"):
        resolve_image("image_end_url", f"data:image/png;base64,{text}")
    good = base64.b64encode(PNG).decode()
    assert resolve_image("image_end_url", f"data:image/png;base64,{good}").startswith(
        "data:image/png"
    )


@pytest.mark.parametrize(
    "path",
    ["pic\x00.png", "x" * 5000 + ".png", "/dev/null", "/proc/self/mem"],
    ids=["nul", "too-long", "device", "proc"],
)
def test_odd_paths_are_field_errors(path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve_image("image_url", path)
    assert caught.value.field == "image_url"
