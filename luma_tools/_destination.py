"""Where a video goes: the file a destination names, checked before anything is paid for.

A destination is a file path, or a folder (an existing one, or a path ending in `/`), in which
case the file is `<task id>.mp4`. [`check_destination`][luma_tools.check_destination] answers
"will saving there work?" before a task is created, so an impossible `-o` is not discovered
after the video was paid for.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from ._download import FolderSweep, describe_os_error
from ._exceptions import DestinationError, DestinationExistsError, InvalidInputError
from ._ids import check_task_id
from ._text import clean_text

__all__ = [
    "MAX_FILE_NAME_BYTES",
    "check_destination",
    "check_file_name",
    "names_a_folder",
    "target_path",
]

#: Longest file name most file systems accept (NAME_MAX).
MAX_FILE_NAME_BYTES = 255
_PROBE_PREFIX = ".luma-tools-probe-"
_STALE_PROBE_SECONDS = 60
_PROBES = FolderSweep(f"{_PROBE_PREFIX}*", every=_STALE_PROBE_SECONDS)


def check_file_name(field: str, name: str) -> str:
    """`name` if it is a plain file name (no folders, NUL or control characters, <= 255 bytes).

    Raises:
        InvalidInputError: Naming `field`.

    Example:
        ```python
        from luma_tools._destination import check_file_name

        assert check_file_name("filename", "fox.mp4") == "fox.mp4"
        ```
    """
    hint = "Use a plain file name such as 'fox.mp4', without folders"
    if not isinstance(name, str):
        raise InvalidInputError(field, f"must be a string, not {type(name).__name__}", hint=hint)
    name = name.strip()
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise InvalidInputError(
            field, f"{clean_text(repr(name), 60)} is not a plain file name", hint=hint
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInputError(field, "contains a NUL byte or a control character", hint=hint)
    size = len(name.encode("utf-8", errors="surrogateescape"))
    if size > MAX_FILE_NAME_BYTES:
        raise InvalidInputError(
            field, f"is {size} bytes long; file names are at most {MAX_FILE_NAME_BYTES}", hint=hint
        )
    return name


def names_a_folder(dest: str | os.PathLike[str]) -> bool:
    """Whether `dest` means "into this folder": an existing folder, or a path ending in a slash."""
    raw = os.fspath(dest)
    return raw.endswith(("/", os.sep)) or Path(raw).expanduser().is_dir()


def target_path(dest: str | os.PathLike[str], task_id: str) -> Path:
    """The file a download of `task_id` to `dest` writes (absolute).

    The task id comes from a gateway when the destination is a folder, so it is checked again
    here: `../../x` never names a file.
    """
    target = Path(dest).expanduser()
    if names_a_folder(dest):
        target = target / f"{check_task_id(task_id)}.mp4"
    return target.absolute()


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def check_destination(dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check that a video can be saved at `dest`, before paying for it; return the folder.

    The folder (or the nearest existing folder above it, when it is still to be made) must be
    a folder this process can create files in: a probe file is created and removed, which also
    catches read-only disks and `/proc`. A file destination must not exist unless `overwrite`.

    Raises:
        DestinationError: The folder cannot be written (the message says why and what to do).
        DestinationExistsError: The file exists and `overwrite` is false.

    Example:
        ```python
        from luma_tools import check_destination

        check_destination("videos/")  # fine: the folder will be made when the video is saved
        ```
    """
    path = Path(dest).expanduser().absolute()
    if names_a_folder(dest):
        folder = path
    else:
        folder = path.parent
        if path.is_dir():
            raise DestinationError(
                f"{clean_text(str(path), 200)} is a folder",
                path=str(path),
                hint="End the path with / to save into it, or name a file",
            )
        if (path.exists() or path.is_symlink()) and not overwrite:
            raise DestinationExistsError(
                f"{clean_text(str(path), 200)} already exists", path=str(path)
            )
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise DestinationError(
            f"Cannot save under {clean_text(str(folder), 200)}: "
            f"{clean_text(str(existing), 200)} is a file, not a folder",
            path=str(folder),
            hint="Choose another folder, or move the file out of the way",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=_PROBE_PREFIX, dir=existing)
    except OSError as exc:
        raise describe_os_error(exc, folder) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        Path(probe).unlink()
    _remove_stale_probes(existing)
    return folder


def _remove_stale_probes(folder: Path) -> None:
    # A process killed between making and removing its probe leaves it behind.
    cutoff = time.time() - _STALE_PROBE_SECONDS
    for probe in _PROBES.listing(folder):
        with contextlib.suppress(OSError):
            if probe.stat().st_mtime < cutoff:
                probe.unlink()
