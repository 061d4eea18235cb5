"""`LumaToolkit`: the four Luma tools sharing one client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, Field, SecretStr, model_validator

from .._client import LumaClient
from ..agent import PAID_TOOLS, SpendGuard, describe_paid_call
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
        max_creates: The most creates and extends this toolkit's tools may send in its
            life (counting every call that may have been billed); past it they answer with
            an error telling the model to ask the user. Default: no limit.
        price_per_video: What one create or extend costs on your gateway, for the cost
            estimates in results and approval requests. Default: none shown.
        currency: The unit of `price_per_video` (default `"USD"`).

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

    Cap the spending:
        ```python
        from luma_tools import LumaToolkit

        toolkit = LumaToolkit(client=client, max_creates=3, price_per_video=0.40)
        create = toolkit.get_tools()[0]
        print(create.invoke({"prompt": "a red fox in snow"}))  # ... cost so far: 0.40 USD ...
        assert toolkit.spend_guard.used == 1
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
    max_creates: int | None = Field(default=None, ge=0)
    price_per_video: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: str = "USD"
    spend_guard: SpendGuard = Field(default=None, exclude=True)  # type: ignore[assignment]
    """The guard all the tools share (built from `max_creates` and the price)."""

    @model_validator(mode="after")
    def _build_client(self) -> LumaToolkit:
        if self.client is None:
            self.client = LumaClient(self.api_key, self.base_url)
        if self.spend_guard is None:
            self.spend_guard = SpendGuard(
                self.max_creates, price_per_video=self.price_per_video, currency=self.currency
            )
        return self

    def get_tools(self) -> list[BaseTool]:
        """The four tools, in the order an agent uses them."""
        shared: dict[str, Any] = {
            "client": self.client,
            "image_dir": self.image_dir,
            "spend_guard": self.spend_guard,
        }
        download = dict(shared)
        if self.output_dir is not None:
            download["output_dir"] = self.output_dir
        return [
            LumaCreateVideo(**shared),
            LumaExtendVideo(**shared),
            LumaQueryTask(**shared),
            LumaDownloadVideo(**download),
        ]

    def interrupt_on(
        self, decisions: Sequence[str] = ("approve", "edit", "reject")
    ) -> dict[str, dict[str, Any]]:
        """The `interrupt_on` of LangChain's `HumanInTheLoopMiddleware` for the paid tools.

        Create and extend then wait for a person's decision; the approval request shows the
        prompt, the options and, with a price, the estimated cost and the spending so far.
        Query and download run without asking.

        Example:
            ```python
            from langchain.agents.middleware import HumanInTheLoopMiddleware

            from luma_tools import LumaToolkit

            toolkit = LumaToolkit(client=client, price_per_video=0.40)
            approval = HumanInTheLoopMiddleware(interrupt_on=toolkit.interrupt_on())
            ```
        """
        guard = self.spend_guard

        def description(tool_call: Any, state: Any = None, runtime: Any = None) -> str:
            return describe_paid_call(tool_call["name"], tool_call.get("args") or {}, guard)

        return {
            name: {"allowed_decisions": list(decisions), "description": description}
            for name in sorted(PAID_TOOLS)
        }
