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

from ._client import GenerationOptions, LumaClient, PollEvent
from ._download import DownloadLinkExpired
from ._exceptions import (
    AmbiguousSubmitError,
    AuthenticationError,
    BadRequestError,
    DestinationExistsError,
    InvalidInputError,
    LumaConnectionError,
    LumaError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotReadyError,
    WaitCancelledError,
    WaitTimeoutError,
)
from ._models import ASPECT_RATIOS, AspectRatio, GenerationRequest, Task, TaskState
from ._polling import PollPolicy, PollSchedule
from ._version import __version__

if TYPE_CHECKING:
    from .tools import LumaToolkit as LumaToolkit

__all__ = [
    "ASPECT_RATIOS",
    "AmbiguousSubmitError",
    "AspectRatio",
    "AuthenticationError",
    "BadRequestError",
    "DestinationExistsError",
    "DownloadLinkExpired",
    "GenerationOptions",
    "GenerationRequest",
    "InvalidInputError",
    "LumaClient",
    "LumaConnectionError",
    "LumaError",
    "NotFoundError",
    "PollEvent",
    "PollPolicy",
    "PollSchedule",
    "QuotaError",
    "RateLimitError",
    "ServerError",
    "Task",
    "TaskFailedError",
    "TaskNotReadyError",
    "TaskState",
    "WaitCancelledError",
    "WaitTimeoutError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # LangChain is an optional extra: import it only when the toolkit is asked for. (It is
    # left out of __all__ so that `from luma_tools import *` never needs LangChain.)
    if name == "LumaToolkit":
        from .tools import LumaToolkit as LumaToolkit

        return LumaToolkit
    raise AttributeError(f"module 'luma_tools' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*__all__, "LumaToolkit"]
