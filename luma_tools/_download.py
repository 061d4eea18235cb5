"""Streaming, resumable, atomic downloads that trust neither the storage host nor the disk.

* **One writer per destination.** A lock per destination path (`filelock`, in luma-tools' own
  folder) serialises downloads to the same file, across threads and processes; the bytes go to a
  temporary file created exclusively (`mkstemp`: a random name, never a planted symlink) next to
  the destination. A second caller waits, then finds the file done or gets
  `DestinationExistsError`.
* **Only a whole video gets the final name.** The first bytes must be MP4 or WebM, the length
  must match `Content-Length`, and an MP4's boxes must add up to the file (a body without a
  length that ends early is not complete). Compressed bytes (`Content-Encoding: gzip`) are
  decoded, never saved as the video. The file is fsynced, then linked into place without
  replacing anything unless `overwrite` was asked for.
* **Nothing runs forever.** Redirects are checked like the gateway's (`_urls.check_followable`),
  a dropped connection resumes with `Range`, a refused (expired) link is swapped for a fresh one,
  and an overall deadline bounds the whole download, a slow trickle included.
* **Disk trouble is explained.** Permission, a full disk, a file where a folder should be: a
  `DestinationError` naming the path and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import filelock
import requests

from ._exceptions import DestinationError, DestinationExistsError, LumaConnectionError, LumaError
from ._home import home_dir
from ._text import clean_text
from ._transport import WireError, describe_network_error, read_body
from ._urls import UnsafeURLError, check_followable
from ._video import SNIFF_BYTES, NotAVideoError, check_video, describe_bytes, sniff_video

__all__ = [
    "DownloadLinkExpired",
    "FolderSweep",
    "ProgressCallback",
    "describe_os_error",
    "stream_to_file",
]

log = logging.getLogger("luma_tools")

#: Called with (bytes written so far, total bytes or None when the server did not say).
ProgressCallback = Callable[[int, int | None], None]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_EXPIRED_STATUSES = (401, 403, 410)
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_NO_SIZE_LIMIT = 1 << 62


class DownloadLinkExpired(LumaError):
    """The storage host refused the (presigned) link: expired or revoked."""

    default_hint = "Fetch a fresh link with download_url() and try again"


class _Dropped(Exception):
    """The body stopped short; resume from where we are."""


class _NotVideo(Exception):
    """The storage host sent something else; a fresh link may help once."""


def describe_os_error(exc: OSError, path: Path, *, task_id: str | None = None) -> DestinationError:
    """A `DestinationError` that names `path` and says what to do about `exc`."""
    where = clean_text(str(path), 300)
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return DestinationError(
            f"No permission to write {where}",
            path=where,
            hint="Choose a folder you can write to, or fix its permissions",
            task_id=task_id,
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        return DestinationError(
            f"The disk is full while writing {where}",
            path=where,
            hint="Free some space or choose a folder on another disk",
            task_id=task_id,
        )
    if code in (errno.ENOTDIR, errno.EEXIST) or isinstance(exc, NotADirectoryError):
        return DestinationError(
            f"Cannot write {where}: a part of its folder path is a file, not a folder",
            path=where,
            hint="Choose another folder, or move the file out of the way",
            task_id=task_id,
        )
    if code == errno.EISDIR:
        return DestinationError(
            f"{where} is a folder",
            path=where,
            hint="Name a file, or end the path with /",
            task_id=task_id,
        )
    if code == errno.EROFS:
        return DestinationError(
            f"Cannot write {where}: the file system is read-only",
            path=where,
            hint="Choose a folder on a writable disk",
            task_id=task_id,
        )
    if code == errno.ENAMETOOLONG:
        return DestinationError(
            f"The file name is too long: {where}",
            path=where,
            hint="Choose a shorter name",
            task_id=task_id,
        )
    return DestinationError(
        f"Cannot write {where}: {exc.strerror or type(exc).__name__}",
        path=where,
        hint="Choose another folder",
        task_id=task_id,
    )


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _lock_for(dest: Path) -> filelock.FileLock:
    """The lock serialising downloads to `dest`, kept in luma-tools' folder (not the user's)."""
    key = hashlib.sha256(os.fsencode(dest)).hexdigest()[:32]
    for folder in (home_dir() / "locks", Path(tempfile.gettempdir()) / "luma-tools-locks"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return filelock.FileLock(folder / f"{key}.lock")
    raise DestinationError(
        "No folder to keep download locks in",
        hint="Set LUMA_TOOLS_HOME to a folder you can write to",
    )


@dataclass
class _Settings:
    timeout: tuple[float, float]
    max_seconds: float
    deadline: float
    allow_private: bool
    chunk_size: int
    on_progress: ProgressCallback | None


class _Transfer:
    """One file transfer: the state shared by its successive HTTP attempts."""

    def __init__(
        self, session: requests.Session, url: str, out: BinaryIO, settings: _Settings
    ) -> None:
        self.session = session
        self.url = url
        self.out = out
        self.settings = settings
        self.done = 0
        self.total: int | None = None
        self.resumable = True
        self.digest = hashlib.sha256()

    def restart(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.done = 0
        self.total = None
        self.digest = hashlib.sha256()

    def attempt(self) -> None:
        """One GET from `self.done` onwards (following checked redirects)."""
        url = self.url
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._get(url)
            with response:
                if response.status_code in _REDIRECTS and response.headers.get("Location"):
                    url = self._checked(urljoin(url, response.headers["Location"]), came_from=url)
                    continue
                self._check_response(response)
                if response.status_code == 416:
                    return
                self._receive(response)
                return
        raise LumaError(
            f"The storage host redirected more than {_MAX_REDIRECTS} times",
            hint="Fetch a fresh link and try again",
        )

    def _checked(self, url: str, *, came_from: str | None) -> str:
        try:
            return check_followable(
                url, came_from=came_from, allow_private=self.settings.allow_private
            )
        except UnsafeURLError as exc:
            raise LumaError(
                f"The video link leads to {clean_text(url, 120)}, which luma-tools will not "
                f"fetch: {exc}",
                hint="Ask the gateway's support about the link it gave",
            ) from None

    def _get(self, url: str) -> requests.Response:
        left = self.settings.deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime()
        connect, read = self.settings.timeout
        # Byte offsets only mean something on the identity encoding.
        headers = {"Accept-Encoding": "identity", "Accept": "*/*"}
        if self.done and self.resumable:
            headers["Range"] = f"bytes={self.done}-"
        elif self.done:
            self.restart()
        try:
            return self.session.get(
                url,
                headers=headers,
                stream=True,
                timeout=(min(connect, left), min(read, left)),
                allow_redirects=False,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Dropped(describe_network_error(exc)) from exc

    def _check_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status in _EXPIRED_STATUSES:
            raise DownloadLinkExpired("The download link was refused", status_code=status)
        if status == 416 and (self.total is None or self.done >= self.total):
            return  # the host has nothing more; whether that is enough is checked after
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        encoded = encoding not in ("", "identity")
        if status == 200:
            if self.done:
                log.debug("server ignored the Range header; restarting the download")
                self.restart()
            length = response.headers.get("Content-Length", "").strip()
            # The length of compressed bytes says nothing about the video's.
            self.total = (
                int(length) if length.isascii() and length.isdigit() and not encoded else None
            )
        elif status == 206 and not encoded:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != self.done:
                raise LumaError(
                    f"The server resumed at the wrong offset "
                    f"({clean_text(response.headers.get('Content-Range', ''), 60)!r})",
                    hint="Try the download again",
                )
            if match.group(3) != "*":
                self.total = int(match.group(3))
        else:
            raise LumaError(
                f"Downloading the video failed: HTTP {status} "
                f"{clean_text(response.reason or '', 60)}".rstrip(),
                status_code=status,
                hint="Try again later",
            )
        self.resumable = not encoded
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind.startswith(("text/", "application/json", "application/xml")):
            raise _NotVideo(f"the link served {clean_text(kind, 40)}, not a video")

    def _receive(self, response: requests.Response) -> None:
        settings = self.settings
        encoded = not self.resumable

        def write(chunk: bytes) -> None:
            if self.done < SNIFF_BYTES and self.done + len(chunk) >= SNIFF_BYTES:
                self.out.flush()
                head = _head(self.out, self.done) + chunk[: SNIFF_BYTES - self.done]
                if sniff_video(head) is None:
                    raise _NotVideo(f"the storage host sent {describe_bytes(head)}, not a video")
            self.out.write(chunk)
            self.digest.update(chunk)
            self.done += len(chunk)
            if settings.on_progress is not None:
                settings.on_progress(self.done, self.total)

        try:
            read_body(
                response.raw,
                limit=_NO_SIZE_LIMIT,
                read_timeout=settings.timeout[1],
                deadline=settings.deadline,
                on_chunk=write,
                decode=encoded,
                chunk_size=settings.chunk_size,
            )
        except WireError as exc:
            if exc.deadline:
                raise _OutOfTime() from exc
            raise _Dropped(exc.what) from exc
        if self.total is not None and self.done < self.total:
            raise _Dropped(f"connection closed at {self.done} of {self.total} bytes")


class _OutOfTime(Exception):
    """The download's deadline passed."""


def _head(out: BinaryIO, size: int) -> bytes:
    position = out.tell()
    out.seek(0)
    head = out.read(size)
    out.seek(position)
    return head


def stream_to_file(
    session: requests.Session,
    url: str,
    dest: Path,
    *,
    refresh_url: Callable[[], str],
    timeout: tuple[float, float],
    max_seconds: float = 1800.0,
    overwrite: bool = False,
    allow_private: bool = False,
    already_saved: Callable[[Path], bool] | None = None,
    before_move: Callable[[Path, int, str], None] | None = None,
    chunk_size: int = 1 << 20,
    max_resumes: int = 5,
    max_refreshes: int = 2,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Download `url` to `dest` safely (see the module docstring).

    Args:
        session: The session to use; the caller decides what auth it attaches.
        url: Where the bytes are.
        dest: Final path (its folder must exist). Must not be a directory.
        refresh_url: Called to get a fresh link when the current one is refused.
        timeout: (connect, read) timeouts for each attempt.
        max_seconds: The whole download ends (with an error) after this long.
        overwrite: Replace an existing file at `dest`.
        allow_private: Whether links may point to loopback or private addresses.
        already_saved: Called (under the destination's lock) when `dest` exists: True if it is
            this very video, saved by an earlier call, which then returns at once.
        before_move: Called with (dest, size, sha256 hex) once the file is complete, just
            before it gets its name (a journal records it there, so that a crash right after
            the move still knows the file).
        chunk_size: Bytes read and written at a time.
        max_resumes: Resumes allowed after dropped connections.
        max_refreshes: Fresh links fetched after refusals.
        on_progress: Called after every chunk with (done, total).

    Returns:
        `dest`, now complete.
    """
    deadline = time.monotonic() + max_seconds
    settings = _Settings(timeout, max_seconds, deadline, allow_private, chunk_size, on_progress)
    lock = _lock_for(dest)
    try:
        lock.acquire(timeout=max(0.0, max_seconds))
    except filelock.Timeout:
        raise LumaError(
            f"Another download to {clean_text(str(dest), 200)} is still running",
            hint="Wait for it to finish, or choose another file name",
        ) from None
    try:
        if dest.exists() or dest.is_symlink():
            if dest.is_dir():
                raise DestinationError(
                    f"{clean_text(str(dest), 200)} is a folder",
                    path=str(dest),
                    hint="Name a file, or end the path with /",
                )
            if not overwrite:
                if already_saved is not None and already_saved(dest):
                    return dest
                raise DestinationExistsError(
                    f"{clean_text(str(dest), 200)} already exists", path=str(dest)
                )
        return _download_locked(
            session,
            url,
            dest,
            refresh_url,
            settings,
            overwrite,
            max_resumes,
            max_refreshes,
            before_move,
        )
    finally:
        lock.release()


class FolderSweep:
    """The files of a folder matching a pattern, listed at most once every `every` seconds.

    Leftovers of killed processes (partial downloads, write probes) are looked for in the
    whole folder. Listing it on every download made a batch into a folder of 10,000 videos
    read that folder 20,000 times (most of its time); a listing is now reused for `every`
    seconds, so a process killed while this one runs has its leftovers found at the next one.

    Example:
        ```python
        import tempfile
        from pathlib import Path

        from luma_tools._download import FolderSweep

        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "a.part").touch()
            sweep = FolderSweep("*.part", every=60)
            assert [p.name for p in sweep.listing(Path(folder))] == ["a.part"]
            (Path(folder) / "b.part").touch()
            assert len(sweep.listing(Path(folder))) == 1  # the same listing, for a minute
        ```
    """

    def __init__(self, pattern: str, every: float) -> None:
        self.pattern = pattern
        self.every = every
        self._lock = threading.Lock()
        self._listings: dict[Path, tuple[float, list[Path]]] = {}

    def listing(self, folder: Path) -> list[Path]:
        """The matching files of `folder`, as of a listing at most `every` seconds old."""
        now = time.monotonic()
        # Held while listing: a hundred threads starting at once wait for one listing.
        with self._lock:
            listed = self._listings.get(folder)
            if listed is None or now - listed[0] >= self.every:
                try:
                    found = sorted(folder.glob(self.pattern))
                except OSError:
                    found = []
                listed = self._listings[folder] = (now, found)
            return listed[1]


_PARTS = FolderSweep(".*.part", every=60)


def _remove_stale_parts(dest: Path) -> None:
    """Delete temporary files an earlier download to `dest` left behind (a killed process).

    Called with the destination's lock held: no live download can be writing them (a part
    listed earlier belongs to a download to `dest` that has ended since).
    """
    # Exactly the names mkstemp gives this destination's parts: a prefix match would also take
    # the live part of a download to a longer name ("a.mp4.mp4"), which holds another lock.
    own = re.compile(rf"\.{re.escape(dest.name[:200])}\.[a-z0-9_]{{8}}\.part")
    for stale in _PARTS.listing(dest.parent):
        if own.fullmatch(stale.name):
            with contextlib.suppress(OSError):
                stale.unlink()


def _download_locked(
    session: requests.Session,
    url: str,
    dest: Path,
    refresh_url: Callable[[], str],
    settings: _Settings,
    overwrite: bool,
    max_resumes: int,
    max_refreshes: int,
    before_move: Callable[[Path, int, str], None] | None,
) -> Path:
    _remove_stale_parts(dest)
    try:
        fd, part_name = tempfile.mkstemp(
            prefix=f".{dest.name[:200]}.", suffix=".part", dir=dest.parent
        )
    except OSError as exc:
        raise describe_os_error(exc, dest) from None
    part = Path(part_name)
    resumes = refreshes = 0
    try:
        with os.fdopen(fd, "w+b") as out:
            transfer = _Transfer(session, url, out, settings)
            transfer.url = transfer._checked(url, came_from=None)
            while True:
                try:
                    transfer.attempt()
                    out.flush()
                    try:
                        check_video(out, transfer.done)
                    except NotAVideoError as exc:
                        if transfer.total is None and "truncated" in str(exc):
                            raise _Dropped(str(exc)) from exc
                        raise _NotVideo(str(exc)) from exc
                    break
                except _Dropped as exc:
                    resumes += 1
                    if resumes > max_resumes:
                        raise LumaConnectionError(
                            f"The download kept breaking off ({exc})",
                            hint="Check your network and try again",
                        ) from exc
                    log.info("download interrupted at %d bytes; resuming", transfer.done)
                except (DownloadLinkExpired, _NotVideo) as exc:
                    refreshes += 1
                    if refreshes > max_refreshes:
                        if isinstance(exc, _NotVideo):
                            raise LumaError(
                                f"The video could not be downloaded: {exc}",
                                hint="The link may have expired or the storage host is "
                                "failing; try again later",
                            ) from None
                        raise
                    log.info("download link refused or wrong (%s); fetching a fresh one", exc)
                    transfer.restart()
                    transfer.url = transfer._checked(refresh_url(), came_from=None)
                except _OutOfTime:
                    raise LumaConnectionError(
                        f"The download did not finish within {settings.max_seconds:.0f} s "
                        f"({transfer.done} bytes received)",
                        hint="The storage host is too slow; try again later",
                    ) from None
            if transfer.total is not None and transfer.done != transfer.total:
                raise LumaError(
                    f"Got {transfer.done} bytes but expected {transfer.total}",
                    hint="Try the download again",
                )
            os.fsync(out.fileno())
            # mkstemp makes the file private (0600); a saved video gets the usual mode.
            os.fchmod(out.fileno(), 0o666 & ~_UMASK)
        if before_move is not None:
            before_move(dest, transfer.done, transfer.digest.hexdigest())
        _move_into_place(part, dest, overwrite)
    except OSError as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, requests.RequestException | filelock.Timeout):
            raise
        raise describe_os_error(exc, dest) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    return dest


def _move_into_place(part: Path, dest: Path, overwrite: bool) -> None:
    """Give the finished file its name; without `overwrite`, never replace anything there."""
    if overwrite:
        part.replace(dest)
        return
    try:
        os.link(part, dest)  # fails if dest appeared meanwhile: nothing is clobbered
    except FileExistsError:
        raise DestinationExistsError(
            f"{clean_text(str(dest), 200)} already exists", path=str(dest)
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if dest.exists():  # a file system without hard links: check, then rename
            raise DestinationExistsError(
                f"{clean_text(str(dest), 200)} already exists", path=str(dest)
            ) from None
        part.replace(dest)
        return
    part.unlink()


def _read_umask() -> int:
    # /proc tells without changing it; os.umask() would change it for every thread meanwhile.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
