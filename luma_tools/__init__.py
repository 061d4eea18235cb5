"""luma-tools: drive Luma video generation through API gateways.

From LLM agents (LangChain tools), notebooks (ipywidgets) and scripts (a client and a CLI).

Example:
    ```python
    from luma_tools import LumaClient

    with LumaClient() as client:  # LUMA_API_KEY and LUMA_BASE_URL from the environment
        task, path = client.generate("a lighthouse in a storm", "lighthouse.mp4")
    ```

`import luma_tools` stays light: LangChain and ipywidgets load only when you touch the tools
(`luma_tools.LumaToolkit`, `luma_tools.tools`) or the widgets (`luma_tools.widgets`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import LumaClient
from ._destination import check_destination
from ._download import DownloadLinkExpired
from ._exceptions import (
    AmbiguousSubmitError,
    AuthenticationError,
    BadRequestError,
    DestinationError,
    DestinationExistsError,
    InvalidInputError,
    LumaConnectionError,
    LumaError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    RedirectError,
    ServerError,
    SubmitInterrupted,
    TaskFailedError,
    TaskNotReadyError,
    WaitCancelledError,
    WaitTimeoutError,
)
from ._journal import Job, Journal, JournalError
from ._models import (
    ASPECT_RATIOS,
    AspectRatio,
    GenerationOptions,
    GenerationRequest,
    Task,
    TaskState,
)
from ._polling import PollPolicy, PollSchedule
from ._transport import InsecureKeyWarning
from ._version import __version__
from ._waiting import PollEvent

if TYPE_CHECKING:
    from ._async_client import AsyncLumaClient as AsyncLumaClient
    from .tools import LumaToolkit as LumaToolkit
    from .webhooks import NotifyListener as NotifyListener
    from .webhooks import parse_notify_payload as parse_notify_payload

__all__ = [
    "ASPECT_RATIOS",
    "AmbiguousSubmitError",
    "AspectRatio",
    "AsyncLumaClient",
    "AuthenticationError",
    "BadRequestError",
    "DestinationError",
    "DestinationExistsError",
    "DownloadLinkExpired",
    "GenerationOptions",
    "GenerationRequest",
    "InsecureKeyWarning",
    "InvalidInputError",
    "Job",
    "Journal",
    "JournalError",
    "LumaClient",
    "LumaConnectionError",
    "LumaError",
    "NotFoundError",
    "NotifyListener",
    "PollEvent",
    "PollPolicy",
    "PollSchedule",
    "QuotaError",
    "RateLimitError",
    "RedirectError",
    "ServerError",
    "SubmitInterrupted",
    "Task",
    "TaskFailedError",
    "TaskNotReadyError",
    "TaskState",
    "WaitCancelledError",
    "WaitTimeoutError",
    "__version__",
    "check_destination",
    "parse_notify_payload",
]

# Loaded on first use: the async client brings asyncio (about 50 ms to import, for the users of
# asyncio only); the webhooks module brings an HTTP server (cheap, but not needed by most
# users); the toolkit brings LangChain (an optional extra, hence not in __all__).
_LAZY = {
    "AsyncLumaClient": "_async_client",
    "NotifyListener": "webhooks",
    "parse_notify_payload": "webhooks",
    "LumaToolkit": "tools",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'luma_tools' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return [*__all__, "LumaToolkit"]
