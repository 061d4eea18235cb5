"""LangChain tools for Luma video generation (the `[langchain]` extra).

Four tools, one per action, each with its own pydantic `*Input` schema, and a toolkit that
shares one `LumaClient` between them:

| tool | class | does |
|---|---|---|
| `luma_create_video` | `LumaCreateVideo` | starts a video; returns the task id at once |
| `luma_extend_video` | `LumaExtendVideo` | continues a completed video |
| `luma_query_task` | `LumaQueryTask` | the state, waiting up to 45 s for a change |
| `luma_download_video` | `LumaDownloadVideo` | saves the MP4 locally |

Example:
    ```python
    from luma_tools.tools import LumaToolkit

    tools = LumaToolkit(client=client).get_tools()
    ```
"""

from __future__ import annotations

from .._extras import missing_extra

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing_extra("langchain", "luma_tools.tools", exc) from exc

from ._events import PROGRESS_EVENT
from .create import LumaCreateVideo, LumaCreateVideoInput
from .download import LumaDownloadVideo, LumaDownloadVideoInput
from .extend import LumaExtendVideo, LumaExtendVideoInput
from .query import LumaQueryTask, LumaQueryTaskInput
from .toolkit import LumaToolkit

__all__ = [
    "PROGRESS_EVENT",
    "LumaCreateVideo",
    "LumaCreateVideoInput",
    "LumaDownloadVideo",
    "LumaDownloadVideoInput",
    "LumaExtendVideo",
    "LumaExtendVideoInput",
    "LumaQueryTask",
    "LumaQueryTaskInput",
    "LumaToolkit",
]
