"""`LumaToolkit`: the four Luma tools sharing one client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, Field, SecretStr, model_validator

from .._client import LumaClient
from .create import LumaCreateVideo
from .download import LumaDownloadVideo
from .extend import LumaExtendVideo
from .query import LumaQueryTask

__all__ = ["LumaToolkit"]


class LumaToolkit(BaseToolkit):
    """Create, extend, query and download Luma videos from an agent, over one connection pool.

    Setup:
        ```bash
        pip install "luma-tools[langchain]"
        export LUMA_API_KEY=sk-...  LUMA_BASE_URL=https://your-gateway.example.com
        ```

    Key init args:
        client: A ready `LumaClient` (otherwise one is built from `api_key` / `base_url` or the
            environment).
        api_key: The gateway key (a `SecretStr`; never shown in a repr).
        base_url: The gateway origin.
        output_dir: Where `luma_download_video` saves files (default: the working directory).
        image_dir: The only folder whose images the model may name as start or end frames
            (default: the working directory); URLs are always accepted.

    Instantiate:
        ```python
        from luma_tools import LumaToolkit

        toolkit = LumaToolkit(client=client, output_dir="videos")
        tools = toolkit.get_tools()
        assert [tool.name for tool in tools] == [
            "luma_create_video",
            "luma_extend_video",
            "luma_query_task",
            "luma_download_video",
        ]
        ```

    Use within an agent:
        ```python
        from langchain.agents import create_agent

        agent = create_agent(model, tools=toolkit.get_tools())  # any tool-calling chat model
        result = agent.invoke({"messages": [("user", "Make me a fox video")]})
        print(result["messages"][-1].content)  # the model's last word
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: LumaClient = Field(default=None, exclude=True)  # type: ignore[assignment]
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    base_url: str | None = None
    output_dir: Path | None = None
    image_dir: Path | None = None

    @model_validator(mode="after")
    def _build_client(self) -> LumaToolkit:
        if self.client is None:
            self.client = LumaClient(self.api_key, self.base_url)
        return self

    def get_tools(self) -> list[BaseTool]:
        """The four tools, in the order an agent uses them."""
        shared: dict[str, Any] = {"client": self.client, "image_dir": self.image_dir}
        download = dict(shared)
        if self.output_dir is not None:
            download["output_dir"] = self.output_dir
        return [
            LumaCreateVideo(**shared),
            LumaExtendVideo(**shared),
            LumaQueryTask(**shared),
            LumaDownloadVideo(**download),
        ]
