"""The "storage host": presigned links, S3-style errors and streamed file bodies."""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from werkzeug.datastructures import Range
from werkzeug.http import parse_range_header
from werkzeug.wrappers import Response

__all__ = [
    "PACKAGED_CLIPS",
    "FileSource",
    "LinkSigner",
    "LinkStatus",
    "ServedVideo",
    "VideoClips",
    "file_response",
    "held_back",
    "mp4_dimensions",
    "paced",
    "s3_error",
    "truncated",
]

CHUNK_SIZE = 256 * 1024
#: The packaged clip of each aspect ratio: ffmpeg's test pattern at about 130,000 pixels,
#: 4 s, H.264 baseline, made once when the clips were added (nothing runs ffmpeg at run time).
PACKAGED_CLIPS: Mapping[str, str] = {
    "16:9": "sample.mp4",
    "9:16": "sample-9x16.mp4",
    "1:1": "sample-1x1.mp4",
    "4:3": "sample-4x3.mp4",
    "3:4": "sample-3x4.mp4",
    "21:9": "sample-21x9.mp4",
    "9:21": "sample-9x21.mp4",
}
DEFAULT_RATIO = "16:9"
#: Bigger `moov` boxes are not read for dimensions (they are a few kB in practice).
_MAX_MOOV = 16 * 1024 * 1024
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
LinkStatus = Literal["ok", "expired", "invalid", "missing"]


class FileSource:
    """A file served by the simulator: a path on disk or a packaged asset."""

    def __init__(self, location: str | Path | Traversable) -> None:
        """Wrap a file.

        Args:
            location: A filesystem path, or an ``importlib.resources`` traversable.

        Raises:
            FileNotFoundError: If ``location`` is not a file.
        """
        self._location: Path | Traversable = (
            Path(location) if isinstance(location, str | Path) else location
        )
        if not self._location.is_file():
            raise FileNotFoundError(f"video file not found: {location}")
        self._lock = threading.Lock()
        self._sha256: str | None = None
        self._size: int | None = None
        self._dimensions: tuple[int, int] | Literal[False] | None = False

    @classmethod
    def packaged(cls, name: str) -> FileSource:
        """Return a file from ``luma_tools/simulator/assets``."""
        return cls(resources.files(__package__).joinpath("assets", name))

    def open(self) -> IO[bytes]:
        """Open the file for binary reading (seekable)."""
        return self._location.open("rb")

    @property
    def size(self) -> int:
        """Size in bytes."""
        if self._size is None:
            if isinstance(self._location, Path):
                self._size = self._location.stat().st_size
            else:
                self._digest()
        assert self._size is not None
        return self._size

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the content (computed once, streaming)."""
        return self._digest()

    def read_all(self) -> bytes:
        """Read the whole file (only for small assets)."""
        with self.open() as f:
            return f.read()

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) of the first video track, or None if this is no readable MP4."""
        with self._lock:
            if self._dimensions is False:
                with self.open() as f:
                    self._dimensions = mp4_dimensions(f)
            return self._dimensions

    def _digest(self) -> str:
        with self._lock:
            if self._sha256 is None:
                digest = hashlib.sha256()
                size = 0
                with self.open() as f:
                    while chunk := f.read(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                self._sha256 = digest.hexdigest()
                self._size = size
            return self._sha256


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of the ISO-BMFF boxes laid end to end in `data`."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            return
        yield kind, data[offset + header : offset + size]
        offset += size


def _moov(f: IO[bytes]) -> bytes | None:
    """The payload of the file's top-level `moov` box (at its start or its end)."""
    f.seek(0)
    while header := f.read(8):
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        skip = size - 8
        if size == 1:
            (size,) = struct.unpack(">Q", f.read(8))
            skip = size - 16
        if kind == b"moov":
            return f.read(skip) if 0 <= skip <= _MAX_MOOV else None
        if size == 0 or skip < 0:
            return None
        f.seek(skip, 1)
    return None


def mp4_dimensions(f: IO[bytes]) -> tuple[int, int] | None:
    """(width, height) from the first video track header (`tkhd`) of an MP4, if any.

    Reads box headers only: no decoder, no ffmpeg.

    Example:
        ```python
        import io

        from luma_tools.simulator._files import FileSource, mp4_dimensions

        with FileSource.packaged("sample-9x16.mp4").open() as f:
            assert mp4_dimensions(f) == (270, 480)
        assert mp4_dimensions(io.BytesIO(b"not a video")) is None
        ```
    """
    moov = _moov(f)
    if moov is None:
        return None
    for kind, trak in _boxes(moov):
        if kind != b"trak":
            continue
        for inner, tkhd in _boxes(trak):
            if inner != b"tkhd" or not tkhd:
                continue
            # version 0 and 1 differ in the width of their times; width and height (16.16
            # fixed point) close the box either way.
            need = 84 if tkhd[0] == 0 else 96
            if len(tkhd) < need:
                continue
            width, height = struct.unpack_from(">II", tkhd, need - 8)
            if width and height:
                return width >> 16, height >> 16
    return None


@dataclass(frozen=True, slots=True)
class ServedVideo:
    """The video a simulated task of one aspect ratio gets.

    Attributes:
        aspect_ratio: The requested aspect ratio.
        width: Width of the clip in pixels (None when the file is no readable MP4).
        height: Height of the clip in pixels.
        size: Size in bytes.
        sha256: Hex SHA-256 of the content.
    """

    aspect_ratio: str
    width: int | None
    height: int | None
    size: int
    sha256: str


class VideoClips:
    """The file each task's video is served from: the packaged clip of its aspect ratio.

    Args:
        single: Serve this one file for every aspect ratio instead (`video_path=`).
    """

    def __init__(self, single: FileSource | None = None) -> None:
        self._single = single
        self._clips: dict[str, FileSource] = {}
        self._lock = threading.Lock()

    def for_ratio(self, aspect_ratio: str | None) -> FileSource:
        """The clip for `aspect_ratio` (the 16:9 one for an unknown ratio)."""
        if self._single is not None:
            return self._single
        ratio = aspect_ratio if aspect_ratio and aspect_ratio in PACKAGED_CLIPS else DEFAULT_RATIO
        with self._lock:
            clip = self._clips.get(ratio)
            if clip is None:
                clip = self._clips[ratio] = FileSource.packaged(PACKAGED_CLIPS[ratio])
            return clip

    def describe(self, aspect_ratio: str) -> ServedVideo:
        """Size, digest and dimensions of the video served for `aspect_ratio`."""
        clip = self.for_ratio(aspect_ratio)
        width, height = clip.dimensions or (None, None)
        return ServedVideo(aspect_ratio, width, height, clip.size, clip.sha256)


class LinkSigner:
    """Issues and checks S3-style presigned query strings.

    Links are stateless: the signature is an HMAC over the path, ``X-Amz-Date``,
    ``X-Amz-Expires`` and a *generation* number. ``expire_all`` bumps the
    generation, so every earlier link then verifies as expired while new ones work.
    ``X-Amz-Date`` is rounded *up* to the second, so a link is never valid for less
    than the TTL, and client and server compute the same deadline from the URL.
    """

    def __init__(
        self, ttl: float, secret: bytes | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        """Create a signer.

        Args:
            ttl: Link lifetime in (real) seconds.
            secret: HMAC key (random by default).
            clock: Wall clock (injectable for tests).
        """
        self.ttl = ttl
        self._secret = secret or uuid.uuid4().bytes
        self._clock = clock
        self._generation = 0
        self._lock = threading.Lock()

    def expire_all(self) -> None:
        """Invalidate every link issued so far."""
        with self._lock:
            self._generation += 1

    def _signature(self, path: str, date: str, expires: str, generation: int) -> str:
        message = f"{path}\n{date}\n{expires}\n{generation}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, path: str) -> str:
        """Return the query string (without ``?``) that makes ``path`` downloadable."""
        with self._lock:
            generation = self._generation
        issued = datetime.fromtimestamp(math.ceil(self._clock()), UTC)
        date = issued.strftime(_AMZ_DATE)
        expires = f"{self.ttl:g}" if self.ttl != int(self.ttl) else str(int(self.ttl))
        return urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": f"SIMULATOR/{issued:%Y%m%d}/auto/s3/aws4_request",
                "X-Amz-Date": date,
                "X-Amz-Expires": expires,
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": self._signature(path, date, expires, generation),
            }
        )

    def check(self, path: str, args: Mapping[str, str]) -> LinkStatus:
        """Verify a request's query parameters for ``path``."""
        date = args.get("X-Amz-Date")
        expires = args.get("X-Amz-Expires")
        signature = args.get("X-Amz-Signature")
        if not (date and expires and signature):
            return "missing"
        with self._lock:
            current = self._generation
        for generation in range(current, -1, -1):
            if hmac.compare_digest(self._signature(path, date, expires, generation), signature):
                break
        else:
            return "invalid"
        if generation != current:
            return "expired"
        issued = datetime.strptime(date, _AMZ_DATE).replace(tzinfo=UTC).timestamp()
        if self._clock() >= issued + float(expires):
            return "expired"
        return "ok"


def s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    """An S3-style XML error response."""
    fields = {"Code": code, "Message": message, **extra, "RequestId": uuid.uuid4().hex[:16]}
    inner = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in fields.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'
    return Response(body, status=status, content_type="application/xml")


def _read_range(source: FileSource, start: int, length: int) -> Iterator[bytes]:
    with source.open() as f:
        f.seek(start)
        remaining = length
        while remaining > 0:
            chunk = f.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _close(chunks: Iterable[bytes]) -> None:
    """Close a wrapped WSGI body, as the server would have closed it unwrapped."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def truncated(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Yield at most ``limit`` bytes of ``chunks``, then stop."""
    sent = 0
    try:
        for chunk in chunks:
            if sent + len(chunk) >= limit:
                if limit > sent:
                    yield chunk[: limit - sent]
                return
            sent += len(chunk)
            yield chunk
    finally:
        _close(chunks)


def held_back(chunks: Iterable[bytes], seconds: float, stop: threading.Event) -> Iterator[bytes]:
    """Yield ``chunks`` after ``seconds`` of silence (the headers wait too).

    The server writes the status line with the first body chunk, so the client hears
    nothing at all until the delay is over (or ``stop`` is set).
    """
    stop.wait(seconds)
    try:
        yield from chunks
    finally:
        _close(chunks)


def paced(
    chunks: Iterable[bytes], total: int, seconds: float, stop: threading.Event
) -> Iterator[bytes]:
    """Yield ``chunks`` spread evenly over ``seconds``.

    An empty chunk goes first so the server sends the headers at once. Stops early
    (leaving the body short) when ``stop`` is set.

    Args:
        chunks: The body.
        total: Body length in bytes.
        seconds: How long the whole body should take.
        stop: Set when the simulator shuts down.
    """
    started = time.monotonic()
    piece_size = max(1, total // 20)
    sent = 0
    yield b""
    try:
        for chunk in chunks:
            for offset in range(0, len(chunk), piece_size):
                piece = chunk[offset : offset + piece_size]
                due = started + seconds * (sent + len(piece)) / max(total, 1)
                if stop.wait(max(0.0, due - time.monotonic())):
                    return
                sent += len(piece)
                yield piece
    finally:
        _close(chunks)


def _single_range(header: str | None, size: int) -> tuple[int, int] | Literal["bad"] | None:
    """Return ``(start, stop)`` for a satisfiable single range, ``None`` for "whole
    file", or ``"bad"`` for an unsatisfiable one."""
    if header is None:
        return None
    parsed: Range | None = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        # Malformed or multi-range: ignore it, like many servers do. An unknown unit
        # must be ignored (RFC 9110 §14.2), not answered with 416.
        return None
    bounds = parsed.range_for_length(size)
    return "bad" if bounds is None else bounds


def file_response(
    *, source: FileSource, content_type: str, method: str, range_header: str | None
) -> Response:
    """Stream a file with single-range support.

    Args:
        source: The file.
        content_type: ``Content-Type`` to send.
        method: ``"GET"`` or ``"HEAD"``.
        range_header: The request's ``Range`` header.

    Returns:
        A 200, 206 or 416 response whose body is read from disk in chunks.
    """
    size = source.size
    headers = {"Accept-Ranges": "bytes", "Content-Type": content_type}
    bounds = _single_range(range_header, size)
    if bounds == "bad":
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b"", status=416, headers=headers)
    start, end = bounds if bounds is not None else (0, size)
    status = 206 if bounds is not None else 200
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if method == "HEAD":
        return Response([], status=status, headers=headers)
    body = _read_range(source, start, end - start)
    return Response(body, status=status, headers=headers, direct_passthrough=True)
