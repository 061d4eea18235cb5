"""`luma_query_task`: a task's state, waiting a bounded time for it to change."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from ..agent import MAX_WAIT_SECONDS, QUERY, LumaQueryTaskInput, ToolSpec
from ._base import LumaTool

__all__ = ["LumaQueryTask", "LumaQueryTaskInput"]


class LumaQueryTask(LumaTool):
    """Report a task's state; while it runs, wait up to `wait_seconds` for it to change.

    The bounded wait keeps an agent from spinning on back-to-back status calls, and stays
    below common tool-call timeouts. Whatever happens, the answer carries the task id and its
    last known state.

    Example:
        ```python
        from luma_tools.tools import LumaQueryTask

        tool = LumaQueryTask(client=client)
        task = client.create("a paper boat on a stream")
        print(tool.invoke({"task_id": task.id, "wait_seconds": 10}))  # waits for a change
        ```
    """

    spec: ClassVar[ToolSpec] = QUERY
    name: str = QUERY.name
    description: str = QUERY.description
    args_schema: type[BaseModel] = LumaQueryTaskInput
    max_wait_seconds: float = MAX_WAIT_SECONDS
    """The cap on `wait_seconds`, whatever the model asks for."""

    def _core_options(self) -> dict[str, Any]:
        return {"max_wait_seconds": self.max_wait_seconds}
