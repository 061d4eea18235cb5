"""The comm messages between a TaskPanel and its front end, headless (no kernel, no browser)."""

from __future__ import annotations

from typing import Any

from luma_tools.widgets import TaskPanel

__all__ = ["press", "sent_messages"]


def press(panel: TaskPanel, kind: str) -> None:
    """What a button click in the browser does: a custom comm message to the kernel."""
    panel._handle_msg(
        {"content": {"data": {"method": "custom", "content": {"kind": kind}}}, "buffers": []}
    )


def sent_messages(panel: TaskPanel) -> list[dict[str, Any]]:
    """Record the custom messages the kernel sends to the panel's front end."""
    sent: list[dict[str, Any]] = []
    original = panel.send

    def send(content: Any, buffers: Any = None) -> None:
        sent.append(content)
        original(content, buffers)

    panel.send = send  # type: ignore[method-assign]
    return sent
