"""What every Luma tool shares: the client, the spend guard, and the hand-over to the core.

The tools are thin: `luma_tools.agent.AgentTools` validates, talks to the gateway and writes
every word the model reads; a tool turns its `ToolResult` into LangChain's
`(content, artifact)` or a `ToolException`, and its progress into LangChain's events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import Field, model_validator

from .._client import LumaClient
from ..agent import AgentTools, ProgressUpdate, SpendGuard, ToolSpec, describe_validation_error
from ._events import report_progress

__all__ = ["LumaTool"]


class LumaTool(BaseTool):
    """Base of the four Luma tools: one shared `LumaClient`, short content, actionable errors.

    Errors come back as a `ToolMessage(status="error")` whose text tells the model what to do
    next, so an agent loop carries on; nothing a model or a gateway can cause crashes the run.

    Args:
        client: The client to use. Defaults to one built from `api_key` / `base_url`, or from
            the `LUMA_API_KEY` / `LUMA_BASE_URL` environment variables.
        spend_guard: Caps the paid calls; share one between create and extend (the toolkit
            does). Default: no limit.
    """

    spec: ClassVar[ToolSpec]

    client: LumaClient = Field(default_factory=LumaClient, exclude=True)
    image_dir: Path | None = None
    """Local images the model names must lie in this folder (default: the working directory).

    An image path comes from the model, so a prompt injection could otherwise make it upload
    any image on the machine to the gateway."""
    spend_guard: SpendGuard = Field(default_factory=SpendGuard, exclude=True)
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True
    handle_validation_error: Any = describe_validation_error

    @model_validator(mode="before")
    @classmethod
    def _client_from_credentials(cls, values: Any) -> Any:
        """Accept `api_key=` / `base_url=` as a shortcut for `client=LumaClient(...)`."""
        if isinstance(values, dict) and ("api_key" in values or "base_url" in values):
            values = dict(values)
            api_key, base_url = values.pop("api_key", None), values.pop("base_url", None)
            if "client" not in values:  # not setdefault: that would build a client to drop
                values["client"] = LumaClient(api_key, base_url)
        return values

    def _core(self) -> AgentTools:
        """The core with this tool's settings (cheap: it only holds references)."""
        return AgentTools(
            self.client,
            image_dir=self.image_dir or Path.cwd(),
            guard=self.spend_guard,
            **self._core_options(),
        )

    def _core_options(self) -> dict[str, Any]:
        """Settings of one tool only (its folder, its wait cap)."""
        return {}

    def _run(
        self, *, run_manager: CallbackManagerForToolRun | None = None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        def progress(update: ProgressUpdate) -> None:
            report_progress({**update.data, "message": update.message}, run_manager)

        result = self._core().run(self.spec.name, arguments, progress=progress)
        if result.is_error:
            raise ToolException(result.content)
        return result.content, result.data or {}
