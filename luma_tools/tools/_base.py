"""What every Luma tool shares: the client, the output format and the error policy."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import Field, ValidationError, model_validator

from .._client import LumaClient
from .._exceptions import LumaError
from ._messages import describe_error

__all__ = ["LumaTool", "describe_validation_error"]

log = logging.getLogger("luma_tools")


def describe_validation_error(exc: ValidationError | Exception) -> str:
    """The tool result for arguments that fail the schema: each field, and what to do."""
    if not isinstance(exc, ValidationError):
        return f"Invalid arguments: {exc}. Fix them and call the tool again."
    problems = []
    for error in exc.errors(include_url=False)[:5]:
        field = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{field}: {error['msg']}")
    return f"Invalid arguments: {'; '.join(problems)}. Fix them and call the tool again."


class LumaTool(BaseTool):
    """Base of the four Luma tools: one shared `LumaClient`, short content, actionable errors.

    Subclasses implement `_call`, returning `(content, artifact)`. Gateway and task errors
    become a `ToolException` whose text tells the model what to do next, and the tool hands it
    back as a `ToolMessage(status="error")`, so an agent loop carries on; any other exception is
    logged and reported the same way rather than crashing the run.

    Args:
        client: The client to use. Defaults to one built from `api_key` / `base_url`, or from
            the `LUMA_API_KEY` / `LUMA_BASE_URL` environment variables.
    """

    client: LumaClient = Field(default_factory=LumaClient, exclude=True)
    image_dir: Path | None = None
    """Local images the model names must lie in this folder (default: the working directory).

    An image path comes from the model, so a prompt injection could otherwise make it upload
    any image on the machine to the gateway."""
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

    def _run(
        self, *, run_manager: CallbackManagerForToolRun | None = None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        try:
            self._check_local_images(arguments)
            return self._call(run_manager, **arguments)
        except ToolException:
            raise
        except LumaError as exc:
            raise ToolException(describe_error(exc, tool=self.name)) from exc
        except Exception as exc:
            # A bug or an unforeseen failure: log it for the developer, and give the model a
            # clean message instead of crashing the whole agent run.
            log.exception("%s failed unexpectedly", self.name)
            raise ToolException(
                f"{self.name} failed unexpectedly ({type(exc).__name__}). Do not retry: tell "
                "the user, who can find the details in the application log."
            ) from exc

    def _check_local_images(self, arguments: dict[str, Any]) -> None:
        """Refuse image paths outside `image_dir` (URLs and data URIs pass through)."""
        root = (self.image_dir or Path.cwd()).expanduser().resolve()
        for field in ("image_url", "image_end_url"):
            value = arguments.get(field)
            if not isinstance(value, str) or value.startswith(("http://", "https://", "data:")):
                continue
            path = Path(value).expanduser()
            path = (path if path.is_absolute() else root / path).resolve()
            if not path.is_relative_to(root):
                raise ToolException(
                    f"Invalid argument {field}: local images must be inside {root}. Pass an "
                    "https image URL, or a file from that folder, and call the tool again."
                )
            arguments[field] = str(path)

    def _call(
        self, run_manager: CallbackManagerForToolRun | None, **arguments: Any
    ) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError


def options_from(arguments: dict[str, Any], *skip: str) -> dict[str, Any]:
    """The create/extend options the model actually set (None means "leave it to the gateway")."""
    return {k: v for k, v in arguments.items() if v is not None and k not in skip}
