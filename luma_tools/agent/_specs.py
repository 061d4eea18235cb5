"""What each tool is, framework-free: name, description, argument and result schemas, hints.

Both adapters read these: the LangChain tools take their `name`, `description` and
`args_schema` from here, the MCP server lists them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ._inputs import (
    LumaCreateVideoInput,
    LumaDownloadVideoInput,
    LumaExtendVideoInput,
    LumaQueryTaskInput,
)
from ._names import CREATE_TOOL, DOWNLOAD_TOOL, EXTEND_TOOL, MAX_WAIT_SECONDS, QUERY_TOOL
from ._results import DownloadData, TaskData

__all__ = ["CREATE", "DOWNLOAD", "EXTEND", "QUERY", "TOOL_SPECS", "ToolSpec", "json_schema"]


@dataclass(frozen=True)
class ToolSpec:
    """One tool, as a model and an MCP host see it.

    Attributes:
        name: The tool name (`luma_create_video`...).
        title: A short human-readable title.
        description: What the model reads about when and how to call it.
        input_model: The argument schema.
        output_model: The schema of its structured result.
        paid: Every call may be billed (create, extend).
        read_only: It changes nothing, anywhere (query).
        destructive: It may replace something that exists (a download with overwrite=true).
    """

    name: str
    title: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    paid: bool = False
    read_only: bool = False
    destructive: bool = False

    @property
    def input_schema(self) -> dict[str, Any]:
        """The argument schema as JSON Schema, as a model reads it."""
        return json_schema(self.input_model)

    @property
    def output_schema(self) -> dict[str, Any]:
        """The result schema as JSON Schema."""
        return json_schema(self.output_model)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema without the titles and class docstrings a model has no use for."""
    schema: dict[str, Any] = _without_titles(model.model_json_schema(), top=True)
    return schema


def _without_titles(node: Any, *, top: bool = False) -> Any:
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if top and key == "description":
            continue  # the class docstring; the tool description says it better
        if key in ("properties", "$defs") and isinstance(value, dict):
            cleaned[key] = {name: _without_titles(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _without_titles(value)
    return cleaned


CREATE = ToolSpec(
    name=CREATE_TOOL,
    title="Create a Luma video",
    description=(
        "Start generating a short AI video (about 5 s) from a text prompt, optionally with a "
        "start and/or end image. Returns at once with a task id; the video takes 1-5 minutes. "
        f"Then call {QUERY_TOOL} with that task_id and wait_seconds={MAX_WAIT_SECONDS} until "
        f"the state is completed, then {DOWNLOAD_TOOL}. Each call is billed: never call it "
        "twice for the same request."
    ),
    input_model=LumaCreateVideoInput,
    output_model=TaskData,
    paid=True,
)
EXTEND = ToolSpec(
    name=EXTEND_TOOL,
    title="Extend a Luma video",
    description=(
        "Continue a COMPLETED video (given by its task_id) with a new prompt describing what "
        "happens next; creates a new task of about 5 more seconds and returns its id at once. "
        f"Then call {QUERY_TOOL} with the NEW task_id and wait_seconds={MAX_WAIT_SECONDS} "
        f"until completed. Billed like {CREATE_TOOL}: never call it twice for the same request."
    ),
    input_model=LumaExtendVideoInput,
    output_model=TaskData,
    paid=True,
)
QUERY = ToolSpec(
    name=QUERY_TOOL,
    title="Check a Luma video task",
    description=(
        "Get the state of a Luma video task (queued, running, completed or failed). While it "
        f"is unfinished it waits up to wait_seconds (max {MAX_WAIT_SECONDS}) for the state to "
        f"change, so call it with wait_seconds={MAX_WAIT_SECONDS} and repeat until completed; "
        "no need to pause in between. When completed it gives the video link; then call "
        f"{DOWNLOAD_TOOL} to save it."
    ),
    input_model=LumaQueryTaskInput,
    output_model=TaskData,
    read_only=True,
)
DOWNLOAD = ToolSpec(
    name=DOWNLOAD_TOOL,
    title="Save a Luma video",
    description=(
        "Save the MP4 of a COMPLETED Luma task to local disk and return its path and size. "
        f"If the task is not completed yet it says so; then call {QUERY_TOOL} with "
        f"wait_seconds={MAX_WAIT_SECONDS} first."
    ),
    input_model=LumaDownloadVideoInput,
    output_model=DownloadData,
    destructive=True,
)

#: The four tools, in the order an agent uses them.
TOOL_SPECS: tuple[ToolSpec, ...] = (CREATE, EXTEND, QUERY, DOWNLOAD)
