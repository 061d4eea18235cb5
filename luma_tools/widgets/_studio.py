"""`LumaStudio`: a small form that creates and extends tasks, one live panel each."""

from __future__ import annotations

import base64
import html
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from .._client import GenerationOptions, LumaClient
from .._exceptions import LumaError
from .._models import ASPECT_RATIOS, GenerationRequest, Task
from .._polling import PollPolicy
from ._panel import TaskPanel, _close_descendants
from ._state import Phase

__all__ = ["LumaStudio"]

# The same request clicked twice within this many seconds is a double click, not a second
# (paid) task.
_DOUBLE_CLICK_SECONDS = 1.0


class _ImageInput(widgets.HBox):  # type: ignore[misc]
    """An image given as a URL (or local path), or uploaded from the browser."""

    def __init__(self, label: str, css: str) -> None:
        self.url = widgets.Text(
            placeholder="https://… image URL (optional)",
            description=label,
            style={"description_width": "90px"},
            layout=widgets.Layout(width="60%"),
        ).add_class(f"{css}-url")
        self.upload = widgets.FileUpload(
            accept="image/*", multiple=False, description="Upload"
        ).add_class(f"{css}-upload")
        super().__init__([self.url, self.upload])
        self.add_class(css)

    def value(self) -> str | None:
        """The upload as a data URI if there is one, else the URL text, else None."""
        uploads = self.upload.value
        if uploads:
            item = uploads[0]
            kind = item.get("type") or "image/png"
            data = base64.b64encode(bytes(item["content"])).decode("ascii")
            return f"data:{kind};base64,{data}"
        text = self.url.value.strip()
        return text or None

    def clear(self) -> None:
        self.url.value = ""
        self.upload.value = ()


class LumaStudio(widgets.VBox):  # type: ignore[misc]
    """A notebook form for generating videos: prompt, options, Generate and Extend.

    Every task gets its own live [`TaskPanel`][luma_tools.widgets.TaskPanel] in the list
    below the form (newest first), so several tasks can run side by side while the kernel
    stays free. Extend continues the task id in the "extend" box, or, when it is empty, the
    latest completed task of this studio.

    Args:
        client: The client to create tasks with.
        download_dir: Where the panels' Download buttons save videos.
        poll_policy: Overrides the client's poll policy for the panels.
        timeout: Seconds each panel follows its task.

    Example:
        ```python
        from luma_tools.widgets import LumaStudio

        studio = LumaStudio(client, download_dir="videos")
        studio  # the last expression of a cell displays it: type a prompt, press Generate
        ```
    """

    def __init__(
        self,
        client: LumaClient,
        *,
        download_dir: str | os.PathLike[str] | None = None,
        poll_policy: PollPolicy | None = None,
        timeout: float = 3600,
    ) -> None:
        self._client = client
        self._download_dir = Path(download_dir) if download_dir is not None else None
        self._poll_policy = poll_policy
        self._timeout = timeout
        self._last_submit: tuple[Any, float] | None = None
        self.panels: list[TaskPanel] = []
        wide = widgets.Layout(width="100%")
        self.prompt = widgets.Textarea(
            placeholder="Describe the video, e.g. a red fox running through fresh snow",
            layout=widgets.Layout(width="100%", height="70px"),
        ).add_class("luma-prompt-input")
        self.aspect_ratio = widgets.Dropdown(
            options=list(ASPECT_RATIOS),
            value="16:9",
            description="Aspect ratio",
            style={"description_width": "90px"},
            layout=widgets.Layout(width="200px"),
        ).add_class("luma-aspect-ratio")
        self.expand_prompt = widgets.Checkbox(
            value=False, description="Expand prompt", indent=False
        ).add_class("luma-expand-prompt")
        self.start_image = _ImageInput("Start image", "luma-start-image")
        self.end_image = _ImageInput("End image", "luma-end-image")
        self.generate_button = widgets.Button(
            description="Generate", icon="play", button_style="success"
        ).add_class("luma-generate")
        self.extend_id = widgets.Text(
            placeholder="task id (default: latest completed)",
            layout=widgets.Layout(width="300px"),
        ).add_class("luma-extend-id")
        self.extend_button = widgets.Button(
            description="Extend", icon="forward", tooltip="Continue a completed video by ~5 s"
        ).add_class("luma-extend")
        self.message = widgets.HTML().add_class("luma-studio-message")
        self.panel_list = widgets.VBox(layout=wide).add_class("luma-panels")
        self.generate_button.on_click(lambda _b: self.generate())
        self.extend_button.on_click(lambda _b: self.extend())
        super().__init__(
            [
                widgets.HTML("<b>Luma studio</b>"),
                self.prompt,
                widgets.HBox([self.aspect_ratio, self.expand_prompt]),
                self.start_image,
                self.end_image,
                widgets.HBox([self.generate_button, self.extend_button, self.extend_id]),
                self.message,
                self.panel_list,
            ],
            layout=widgets.Layout(width="100%", max_width="900px"),
        )
        self.add_class("luma-studio")

    # -- actions -----------------------------------------------------------------------------

    def generate(self, prompt: str | None = None) -> TaskPanel | None:
        """Create a task from the form (or from `prompt`) and add its panel.

        Returns:
            The new panel, or None if the form was invalid (the reason is shown).
        """
        text = self.prompt.value if prompt is None else prompt
        options = self._options()
        if not self._valid(text, options) or self._double_click(("create", text, options)):
            return None
        client = self._client

        def submit() -> Task:
            return client.create(text, **options)

        return self._add_panel(submit, text)

    def extend(self, task_id: str | None = None, prompt: str | None = None) -> TaskPanel | None:
        """Extend `task_id` (default: the extend box, else the latest completed task).

        Returns:
            The new panel, or None if there is nothing to extend or the form was invalid.
        """
        source = task_id or self.extend_id.value.strip() or self._latest_completed()
        if not source:
            self._say("Nothing to extend yet: wait for a task to complete or paste a task id.")
            return None
        text = self.prompt.value if prompt is None else prompt
        options = self._options()
        if not self._valid(text, options) or self._double_click(("extend", source, text, options)):
            return None
        client = self._client

        def submit() -> Task:
            return client.extend(source, text, **options)

        return self._add_panel(submit, text)

    def close(self) -> None:
        """Close the studio, its form and all its panels (stopping their polling)."""
        for panel in self.panels:
            panel.close()
        _close_descendants(self)
        super().close()

    # -- helpers -----------------------------------------------------------------------------

    def _options(self) -> GenerationOptions:
        options: GenerationOptions = {"aspect_ratio": self.aspect_ratio.value}
        if self.expand_prompt.value:
            options["expand_prompt"] = True
        start, end = self.start_image.value(), self.end_image.value()
        if start:
            options["image_url"] = start
        if end:
            options["image_end_url"] = end
        return options

    def _valid(self, prompt: str, options: GenerationOptions) -> bool:
        # Validate here, on the main thread, so mistakes show at once and nothing is sent.
        try:
            GenerationRequest.build(user_prompt=prompt, **options)
        except LumaError as exc:
            self._say(str(exc))
            return False
        self._say("")
        return True

    def _double_click(self, key: Any) -> bool:
        now = time.monotonic()
        frozen = repr(key)
        last = self._last_submit
        if last is not None and last[0] == frozen and now - last[1] < _DOUBLE_CLICK_SECONDS:
            return True
        self._last_submit = (frozen, now)
        return False

    def _add_panel(self, submit: Callable[[], Task], prompt: str) -> TaskPanel:
        # Created here, on the main thread; the create request itself runs in the panel's
        # poll thread so a slow gateway never blocks the kernel.
        panel = TaskPanel(
            self._client,
            download_dir=self._download_dir,
            timeout=self._timeout,
            poll_policy=self._poll_policy,
            _submit=submit,
            _prompt=prompt.strip(),
        )
        self.panels.append(panel)
        self.panel_list.children = (panel, *self.panel_list.children)
        return panel

    def _latest_completed(self) -> str | None:
        for panel in reversed(self.panels):
            view = panel.view
            if view.phase == Phase.COMPLETED and view.task_id:
                return view.task_id
        return None

    def _say(self, text: str) -> None:
        self.message.value = (
            f'<span style="color:#dc2626">{html.escape(text)}</span>' if text else ""
        )

    # -- text fallback -----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"LumaStudio(panels={len(self.panels)})"

    def _text(self) -> str:
        lines = [f"Luma studio ({len(self.panels)} tasks)"]
        lines += [panel.view.text() for panel in self.panels]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._text())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._text()
        return bundle
