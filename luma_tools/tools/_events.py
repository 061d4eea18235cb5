"""Progress of a long tool call or chain step, sent everywhere a LangChain user may listen.

A blocking call (a bounded wait, a download) reports through three channels, because agent
builders listen in different places: callback handlers' `on_text` (via the run manager),
`on_custom_event` handlers and `astream_events` (via `dispatch_custom_event`), and LangGraph's
`stream_mode="custom"` (via the graph's stream writer, when there is a graph).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForToolRun,
    CallbackManagerForToolRun,
    adispatch_custom_event,
    dispatch_custom_event,
)

__all__ = ["PROGRESS_EVENT", "areport_progress", "report_progress"]

#: The name of the custom event carrying progress (`on_custom_event(name, data)`).
PROGRESS_EVENT = "luma_progress"

log = logging.getLogger("luma_tools")


def report_progress(
    data: dict[str, Any], run_manager: CallbackManagerForToolRun | None = None
) -> None:
    """Send one progress update (a small JSON-ready dict with a `message`) to every listener.

    Never raises: progress is a courtesy and must not break the call it describes.
    """
    if run_manager is not None:
        run_manager.on_text(f"{data.get('message', '')}\n")
    with contextlib.suppress(RuntimeError):  # not inside a runnable: nobody to tell
        dispatch_custom_event(PROGRESS_EVENT, data)
    writer = _graph_stream_writer()
    if writer is not None:
        writer({PROGRESS_EVENT: data})


async def areport_progress(
    data: dict[str, Any], run_manager: AsyncCallbackManagerForToolRun | None = None
) -> None:
    """`report_progress` for async callers (`ainvoke`, `astream_events`). Never raises."""
    try:
        if run_manager is not None:
            await run_manager.on_text(f"{data.get('message', '')}\n")
        with contextlib.suppress(RuntimeError):  # not inside a runnable: nobody to tell
            await adispatch_custom_event(PROGRESS_EVENT, data)
        writer = _graph_stream_writer()
        if writer is not None:
            writer({PROGRESS_EVENT: data})
    except Exception:  # progress is a courtesy
        log.debug("progress report failed", exc_info=True)


def _graph_stream_writer() -> Any:
    """LangGraph's stream writer when running inside a graph, else None."""
    try:
        from langgraph.config import get_stream_writer
    except ImportError:  # LangGraph is optional
        return None
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):  # outside a graph run
        return None
    except Exception:  # a future LangGraph failing differently must not break the tool
        log.debug("LangGraph stream writer unavailable", exc_info=True)
        return None
