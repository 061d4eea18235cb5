"""Task ids: what a usable one looks like, whoever supplied it.

An id ends up in a URL path (`/luma/generations/{id}`) and, when a video is saved into a folder,
in a file name (`{id}.mp4`). Ids typed by users, chosen by a model, sent by a gateway or by a
webhook caller all go through the same check, so none of them can name another path.
"""

from __future__ import annotations

import re

from ._exceptions import InvalidInputError
from ._text import clean_text

__all__ = ["MAX_TASK_ID", "check_task_id", "usable_task_id"]

#: Longest id accepted (UUIDs are 36 characters; gateways' own ids are shorter still).
MAX_TASK_ID = 128
_TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def usable_task_id(value: str) -> str | None:
    """Why `value` cannot be a task id, or None if it can."""
    if not value:
        return "is empty"
    if len(value) > MAX_TASK_ID:
        return f"is {len(value)} characters long; ids are at most {MAX_TASK_ID}"
    if not _TASK_ID.fullmatch(value):
        return (
            f"{clean_text(repr(value), 60)} contains characters a task id never has "
            "(/, \\, ?, #, whitespace, ...) or does not start with a letter or digit"
        )
    return None


def check_task_id(task_id: str, *, field: str = "task_id") -> str:
    """Return `task_id` if it is safe to put in a URL path and a file name.

    Raises:
        InvalidInputError: Naming `field`, for anything else.

    Example:
        ```python
        from luma_tools._ids import check_task_id

        assert check_task_id("9d4b7516-77e5-481a-b015-48313946f33b")
        ```
    """
    if not isinstance(task_id, str):
        raise InvalidInputError(field, f"must be a string, not {type(task_id).__name__}")
    problem = usable_task_id(task_id)
    if problem is not None:
        raise InvalidInputError(
            field, problem, hint="Pass the task id exactly as returned by create"
        )
    return task_id
