"""Start/end images: URLs and data URIs pass through; local files are sniffed and inlined."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from luma_tools import GenerationRequest, InvalidInputError
from luma_tools._images import resolve_image

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP_HEAD = b"RIFF\x00\x00\x00\x00WEBPVP8 "


def test_urls_and_data_uris_pass_through() -> None:
    assert resolve_image("image_url", " https://example.com/a.png ") == "https://example.com/a.png"
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert resolve_image("image_url", uri) == uri


@pytest.mark.parametrize(
    ("name", "data", "subtype"),
    [
        ("a.png", PNG, "png"),
        ("b.jpg", JPEG_HEAD + b"x" * 20, "jpeg"),
        ("c.webp", WEBP_HEAD + b"x" * 20, "webp"),
        ("d.gif", b"GIF89a" + b"x" * 20, "gif"),
        ("misnamed.txt", PNG, "png"),
    ],
)
def test_local_files_become_data_uris(tmp_path: Path, name: str, data: bytes, subtype: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    uri = resolve_image("image_url", str(path))
    assert uri.startswith(f"data:image/{subtype};base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == data


def test_home_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cat.png").write_bytes(PNG)
    assert resolve_image("image_end_url", "~/cat.png").startswith("data:image/png;base64,")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"image_url: file .* does not exist\. Pass an"):
        resolve_image("image_url", str(tmp_path / "nope.png"))


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"is not a file"):
        resolve_image("image_url", str(tmp_path))


def test_non_image_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just some text")
    with pytest.raises(InvalidInputError, match=r"'notes.png' is not a PNG, JPEG, WebP or GIF"):
        resolve_image("image_url", str(path))


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(PNG + b"\0" * 2048)
    with pytest.raises(InvalidInputError, match=r"huge.png.* the limit is .*Resize or compress"):
        resolve_image("image_url", str(path), max_bytes=1024)


def test_blank_and_bad_scheme() -> None:
    with pytest.raises(InvalidInputError, match=r"image_end_url: is blank"):
        resolve_image("image_end_url", "  ")
    with pytest.raises(InvalidInputError, match=r"unsupported URL scheme 'file'"):
        resolve_image("image_url", "file:///etc/passwd")


def test_request_inlines_local_files(tmp_path: Path) -> None:
    (tmp_path / "start.png").write_bytes(PNG)
    body = GenerationRequest.build(
        user_prompt="x",
        image_url=str(tmp_path / "start.png"),
        image_end_url="https://example.com/end.jpg",
    ).to_body()
    assert body["image_url"].startswith("data:image/png;base64,")
    assert body["image_end_url"] == "https://example.com/end.jpg"
