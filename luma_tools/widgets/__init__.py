"""Notebook widgets: a live task panel (an anywidget) and a small studio form (ipywidgets).

Needs the `notebook` extra:

```bash
pip install 'luma-tools[notebook]'
```

Example:
    ```python
    from luma_tools import LumaClient
    from luma_tools.widgets import LumaStudio, TaskPanel

    client = LumaClient()  # LUMA_API_KEY and LUMA_BASE_URL from the environment
    TaskPanel(client, client.create("a koi pond in the rain"))  # follows the task live
    LumaStudio(client)  # a form: prompt, options, Generate / Extend
    ```

The panels poll in background threads, so the kernel stays free for other cells. The logic
behind them lives in the widget-free [`TaskTracker`][luma_tools.widgets.TaskTracker], which
scripts and tests can use on its own.
"""

from __future__ import annotations

from .._extras import missing_extra

try:
    import anywidget as _anywidget
    import ipywidgets as _ipywidgets
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing_extra("notebook", "luma_tools.widgets", exc) from exc

from ._panel import TaskPanel
from ._state import PanelView, Phase, TaskTracker, format_bytes, format_seconds, refollow_code
from ._studio import LumaStudio

del _anywidget, _ipywidgets

__all__ = [
    "LumaStudio",
    "PanelView",
    "Phase",
    "TaskPanel",
    "TaskTracker",
    "format_bytes",
    "format_seconds",
    "refollow_code",
]
