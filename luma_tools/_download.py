"""Streaming, resumable, atomic file downloads.

The bytes go to `<dest>.part` in fixed-size chunks (memory stays flat whatever the size). A
dropped connection resumes with a `Range` request; an expired presigned link is swapped for a
fresh one; the finished file is fsynced and renamed into place, so a file under the final name
is always complete. On failure the `.part` file is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import requests
import urllib3

from ._exceptions import LumaConnectionError, LumaError

__all__ = ["DownloadLinkExpired", "ProgressCallback", "stream_to_file"]

log = logging.getLogger("luma_tools")

#: Called with (bytes written so far, total bytes or None when the server did not say).
ProgressCallback = Callable[[int, int | None], None]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_EXPIRED_STATUSES = (401, 403, 410)


class DownloadLinkExpired(LumaError):
    """The storage host refused the (presigned) link: expired or revoked."""

    default_hint = "Fetch a fresh link with download_url() and try again"


class _Dropped(Exception):
    """The connection died mid-body; resume from where we are."""


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Transfer:
    """One file transfer: the state shared by its successive HTTP attempts."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        out: BinaryIO,
        *,
        timeout: tuple[float, float],
        chunk_size: int,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.session = session
        self.url = url
        self.out = out
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.done = 0
        self.total: int | None = None

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.done = 0

    def attempt(self) -> None:
        """One GET from `self.done` onwards. Raises `_Dropped` if the body is cut short."""
        # Byte offsets only mean something on the identity encoding.
        headers = {"Accept-Encoding": "identity"}
        if self.done:
            headers["Range"] = f"bytes={self.done}-"
        try:
            response = self.session.get(
                self.url, headers=headers, stream=True, timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Dropped(str(exc)) from exc
        with response:
            self._check_response(response)
            try:
                # read1 hands over bytes as they arrive, so a drop loses nothing received.
                while chunk := response.raw.read1(self.chunk_size):
                    self.out.write(chunk)
                    self.done += len(chunk)
                    if self.on_progress is not None:
                        self.on_progress(self.done, self.total)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,
            ) as exc:
                raise _Dropped(str(exc)) from exc
        if self.total is not None and self.done < self.total:
            raise _Dropped(f"connection closed at {self.done} of {self.total} bytes")

    def _check_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status in _EXPIRED_STATUSES:
            raise DownloadLinkExpired("The download link was refused", status_code=status)
        if status == 416 and self.total is not None and self.done >= self.total:
            return  # nothing left to fetch
        if status == 200:
            if self.done:
                log.debug("server ignored the Range header; restarting the download")
                self.restart()
            length = response.headers.get("Content-Length")
            self.total = int(length) if length and length.isdigit() else None
        elif status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != self.done:
                raise LumaError(
                    f"The server resumed at the wrong offset "
                    f"({response.headers.get('Content-Range')!r})"
                )
            if match.group(3) != "*":
                self.total = int(match.group(3))
        else:
            raise LumaError(
                f"Downloading the video failed: {response.reason}",
                status_code=status,
                hint="Try again later",
            )
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind.startswith(("text/", "application/json", "application/xml")):
            raise LumaError(
                f"The link served {kind}, not a video",
                hint="Fetch a fresh link with download_url() and try again",
            )


def stream_to_file(
    session: requests.Session,
    url: str,
    dest: Path,
    *,
    refresh_url: Callable[[], str],
    timeout: tuple[float, float],
    chunk_size: int = 1 << 20,
    max_resumes: int = 5,
    max_refreshes: int = 2,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Download `url` to `dest` safely (see the module docstring).

    Args:
        session: The session to use; the caller decides what auth it attaches.
        url: Where the bytes are.
        dest: Final path. Must not be a directory.
        refresh_url: Called to get a fresh link when the current one is refused.
        timeout: (connect, read) timeouts for each attempt.
        chunk_size: Bytes read and written at a time.
        max_resumes: Resumes allowed after dropped connections.
        max_refreshes: Fresh links fetched after refusals.
        on_progress: Called after every chunk with (done, total).

    Returns:
        `dest`, now complete.
    """
    part = dest.with_name(dest.name + ".part")
    resumes = refreshes = 0
    try:
        with part.open("wb") as out:
            transfer = _Transfer(
                session, url, out, timeout=timeout, chunk_size=chunk_size, on_progress=on_progress
            )
            while True:
                try:
                    transfer.attempt()
                    break
                except _Dropped as exc:
                    resumes += 1
                    if resumes > max_resumes:
                        raise LumaConnectionError(
                            f"The download kept breaking off ({exc})",
                            hint="Check your network and try again",
                        ) from exc
                    log.info("download interrupted at %d bytes; resuming", transfer.done)
                except DownloadLinkExpired:
                    refreshes += 1
                    if refreshes > max_refreshes:
                        raise
                    log.info("download link refused; fetching a fresh one")
                    transfer.url = refresh_url()
            if transfer.total is not None and transfer.done != transfer.total:
                raise LumaError(
                    f"Got {transfer.done} bytes but expected {transfer.total}",
                    hint="Try the download again",
                )
            out.flush()
            os.fsync(out.fileno())
        part.replace(dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    return dest
