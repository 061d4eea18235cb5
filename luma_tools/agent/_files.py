"""Which local files a model may name: images only from `image_dir`, videos only into
`output_dir`.

An image path or a file name comes from the model, so a prompt injection could otherwise make
a tool upload any image on the machine to the gateway, or write a file anywhere.
"""

from __future__ import annotations

from pathlib import Path

from .._exceptions import InvalidInputError

__all__ = ["download_target", "local_image"]

_REMOTE = ("http://", "https://", "data:")


def local_image(field: str, value: str, image_dir: Path | None) -> str:
    """An image argument checked against `image_dir`: URLs and data URIs pass unchanged, a
    local path must lie inside the folder and comes back absolute.

    Args:
        field: The argument's name, for the error (`image_url`, `image_end_url`).
        value: What the model passed.
        image_dir: The only folder local images may come from; None allows none.

    Raises:
        InvalidInputError: A local path outside `image_dir`, or any local path without one.
    """
    if value.strip().lower().startswith(_REMOTE):
        return value
    if image_dir is None:
        raise InvalidInputError(
            field,
            "local image files are not allowed here",
            hint="Pass an https image URL instead",
        )
    try:
        root = image_dir.expanduser().resolve()
        path = Path(value).expanduser()
        path = (path if path.is_absolute() else root / path).resolve()
        path.exists()  # raises for a name too long, where the core would fail obscurely
    except (OSError, ValueError, RuntimeError) as exc:  # too long, a loop of links...
        raise InvalidInputError(
            field, f"is not a usable path ({type(exc).__name__})", hint="Pass a short file path"
        ) from None
    if not path.is_relative_to(root):
        raise InvalidInputError(
            field,
            f"local images must be inside {root}",
            hint="Pass an https image URL, or a file from that folder",
        )
    return str(path)


def download_target(output_dir: Path, filename: str | None, task_id: str) -> Path:
    """Where a download goes: always directly inside `output_dir`.

    `filename` has passed the schema's plain-name check; `task_id` the client's id check.
    """
    return output_dir.expanduser() / (filename or f"{task_id}.mp4")
