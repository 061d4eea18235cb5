"""Is this file a video, and is it whole? Checked before a download gets its final name.

Storage hosts are untrusted: a login page, an S3 XML error or a captive portal can arrive as
`application/octet-stream` with status 200, and a body sent without `Content-Length` can end
early without any error. An MP4 (ISO base media file) is a sequence of length-prefixed boxes, so
walking its top-level boxes proves both that it is one and that nothing is missing at the end;
WebM is recognised by its EBML signature.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

__all__ = ["NotAVideoError", "check_video", "sniff_video"]

# Top-level boxes an MP4 or QuickTime file may start with.
_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_EBML = b"\x1a\x45\xdf\xa3"
#: Bytes needed to recognise a video.
SNIFF_BYTES = 12


class NotAVideoError(ValueError):
    """The bytes are not a (complete) video; the message says what they look like."""


def sniff_video(head: bytes) -> str | None:
    """`"mp4"` or `"webm"` from a file's first bytes, or None.

    Example:
        ```python
        from luma_tools._video import sniff_video

        assert sniff_video(b"\\x00\\x00\\x00\\x18ftypmp42") == "mp4"
        assert sniff_video(b"<html><body>Sign in") is None
        ```
    """
    if head[:4] == _EBML:
        return "webm"
    if len(head) >= 8 and head[4:8] in _FIRST_BOXES:
        size = struct.unpack(">I", head[:4])[0]
        if size in (0, 1) or size >= 8:
            return "mp4"
    return None


def describe_bytes(head: bytes) -> str:
    """A few words on what non-video bytes look like ("an HTML page", "XML")."""
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if text.startswith(b"<?xml") or text.startswith(b"<error"):
        return "an XML document (a storage error?)"
    if text.startswith((b"{", b"[")):
        return "JSON"
    if head[:2] == b"\x1f\x8b":
        return "gzip-compressed data"
    return "data that is not MP4 or WebM"


def check_video(file: BinaryIO, size: int) -> str:
    """Check that `file` (`size` bytes) is a complete MP4 or a WebM; return which.

    Raises:
        NotAVideoError: Not a video, or an MP4 whose last box runs past the end (truncated).
    """
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    kind = sniff_video(head)
    if kind is None:
        raise NotAVideoError(f"the storage host sent {describe_bytes(head)}, not a video")
    if kind == "mp4":
        _check_boxes(file, size)
    return kind


def _check_boxes(file: BinaryIO, size: int) -> None:
    position = 0
    seen: set[bytes] = set()
    while position < size:
        file.seek(position)
        header = file.read(16)
        if len(header) < 8:
            raise NotAVideoError(f"the MP4 ends inside a box header at byte {position}")
        box_size, kind = struct.unpack(">I4s", header[:8])
        if box_size == 1:  # 64-bit size follows the type
            if len(header) < 16:
                raise NotAVideoError(f"the MP4 ends inside a box header at byte {position}")
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # the last box runs to the end of the file
            box_size = size - position
        if box_size < 8:
            raise NotAVideoError(f"the MP4 has a corrupt box at byte {position}")
        seen.add(kind)
        position += box_size
    if position > size:
        raise NotAVideoError(
            f"the MP4 is truncated: its last box needs {position - size} more bytes"
        )
    if b"moov" not in seen or not seen & {b"mdat", b"moof"}:
        raise NotAVideoError("the MP4 has no movie header or no media data")
