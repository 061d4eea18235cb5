"""Make large video files to serve with `LumaSimulator(video_path=...)`."""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["write_test_video"]

_FTYP = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
_MOOV = struct.pack(">I4sI4s", 16, b"moov", 8, b"free")
_HEADERS = len(_FTYP) + len(_MOOV) + 8


def write_test_video(path: str | os.PathLike[str], size: int) -> Path:
    """Write a structurally valid MP4 of exactly `size` bytes (random media data).

    Clients check that a download is a whole MP4 (its boxes add up to the file), so a plain
    random file would be refused; this one passes, yet holds no real video.

    Example:
        ```python
        import tempfile
        from pathlib import Path

        from luma_tools.simulator import LumaSimulator, write_test_video

        with tempfile.TemporaryDirectory() as folder:
            big = write_test_video(Path(folder) / "big.mp4", 8 << 20)
            with LumaSimulator(video_path=big) as sim:
                assert sim.video_size == 8 << 20
        ```
    """
    if size < _HEADERS or size - len(_FTYP) - len(_MOOV) >= 1 << 32:
        raise ValueError(f"size must be between {_HEADERS} bytes and 4 GiB")
    target = Path(path)
    block = os.urandom(1 << 20)
    with target.open("wb") as out:
        out.write(_FTYP + _MOOV + struct.pack(">I4s", size - len(_FTYP) - len(_MOOV), b"mdat"))
        left = size - _HEADERS
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)
    return target
