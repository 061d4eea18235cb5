"""`LumaStudio`: a small form that creates and extends tasks, one live panel each."""

from __future__ import annotations

import base64
import html
import os
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as widgets

from .._client import GenerationOptions, LumaClient
from .._exceptions import LumaError
from .._journal import Job
from .._models import ASPECT_RATIOS, GenerationRequest, Task
from .._polling import PollPolicy
from .._text import clean_text
from ._display import HIDE_FALLBACK_CSS, SavedText, bundle_of
from ._panel import TaskPanel
from ._state import Phase

__all__ = ["LumaStudio"]

# Journal jobs the studio lists under its panels.
_RECENT_JOBS = 8

# The same request clicked twice within this many seconds is a double click, not a second
# (paid) task.
_DOUBLE_CLICK_SECONDS = 1.0

#: The form's own words for the request fields its errors name.
_FIELD_LABELS = {
    "user_prompt": "Prompt",
    "prompt": "Prompt",
    "aspect_ratio": "Aspect ratio",
    "image_url": "Start image",
    "image_end_url": "End image",
    "expand_prompt": "Expand prompt",
    "task_id": "Extend task id",
}


def _close_tree(root: widgets.Widget) -> None:
    """Close `root` and every widget inside it."""
    pending = [root]
    while pending:
        widget = pending.pop()
        pending.extend(getattr(widget, "children", ()))
        widget.close()


def _row() -> widgets.Layout:
    """A form row that wraps instead of overflowing a narrow cell.

    Widths stay `auto` throughout the studio: ipywidgets gives each widget a 2 px margin, so
    `width: 100%` would overflow the cell by 4 px; an `auto` width in a column stretches to
    fit instead.
    """
    return widgets.Layout(flex_flow="row wrap", width="auto")


def _form_error(exc: LumaError) -> str:
    """`exc` in the form's words: "Start image: ..." rather than "image_url: ..."."""
    field = getattr(exc, "field", None)
    text = str(exc)
    if isinstance(field, str):
        label = _FIELD_LABELS.get(field, field)
        text = label + text.removeprefix(field) if text.startswith(field) else f"{label}: {text}"
        for name, other in _FIELD_LABELS.items():  # hints may name fields too
            text = text.replace(f"{name}=", f"{other} ")
    return text


def _describe_image(value: str, upload_name: str | None) -> str:
    """A short, saveable description of an image: never its bytes nor a signed query."""
    if value.startswith("data:"):
        return f"upload {upload_name}" if upload_name else "upload"
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        name = PurePosixPath(parts.path).name
        return f"{parts.netloc}/…/{name}" if name else parts.netloc
    return Path(value).name or value


class _ImageInput(widgets.HBox):  # type: ignore[misc]
    """An image given as a URL (or local path), or uploaded from the browser; clearable."""

    def __init__(self, label: str, css: str) -> None:
        self.label = label
        self.url = widgets.Text(
            placeholder="https://… image URL (optional)",
            description=label,
            style={"description_width": "90px"},
            layout=widgets.Layout(flex="1 1 18em", min_width="0", width="auto"),
        ).add_class(f"{css}-url")
        self.upload = widgets.FileUpload(
            accept="image/*", multiple=False, description="Upload"
        ).add_class(f"{css}-upload")
        self.clear_button = widgets.Button(
            description="Clear",
            tooltip=f"Remove the {label.lower()} (URL and upload)",
            layout=widgets.Layout(width="auto"),
        ).add_class(f"{css}-clear")
        self.clear_button.on_click(lambda _b: self.clear())
        super().__init__(
            [self.url, self.upload, self.clear_button],
            layout=_row(),
        )
        self.add_class(css)

    def upload_name(self) -> str | None:
        uploads = self.upload.value
        return str(uploads[0].get("name") or "") or None if uploads else None

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

    def describe(self) -> str | None:
        value = self.value()
        return None if value is None else _describe_image(value, self.upload_name())

    def clear_upload(self) -> None:
        # Also drops the image bytes from the widget state a saved notebook would keep.
        self.upload.value = ()

    def clear(self) -> None:
        self.url.value = ""
        self.clear_upload()


class LumaStudio(widgets.VBox):  # type: ignore[misc]
    """A notebook form for generating videos: prompt, options, Generate and Extend.

    Every task gets its own live [`TaskPanel`][luma_tools.widgets.TaskPanel] in the list
    below the form (newest first), so several tasks can run side by side while the kernel
    stays free. Each panel shows its aspect ratio, images and, for an extension, the task it
    continues; finished panels can be folded or dismissed. Extend continues the task id in the
    "extend" box, or, when it is empty, the latest completed task of this studio. An uploaded
    image is sent with one Generate (or Extend) only; **Clear** removes an image.

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
        wide = widgets.Layout(width="auto")
        self.prompt = widgets.Textarea(
            placeholder="Describe the video, e.g. a red fox running through fresh snow",
            layout=widgets.Layout(width="auto", height="70px"),
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
            description="Generate", icon="play", button_style="primary"
        ).add_class("luma-generate")
        self.extend_id = widgets.Text(
            placeholder="task id (default: latest completed)",
            layout=widgets.Layout(flex="0 1 300px", min_width="0", width="auto"),
        ).add_class("luma-extend-id")
        self.extend_button = widgets.Button(
            description="Extend", icon="forward", tooltip="Continue a completed video by ~5 s"
        ).add_class("luma-extend")
        self.message = widgets.HTML().add_class("luma-studio-message")
        self.panel_list = widgets.VBox(layout=wide).add_class("luma-panels")
        # The journal's latest jobs: a list, a Follow button and a note, however many jobs
        # there are (a row of widgets per job would weigh on every saved notebook).
        self.recent = widgets.Select(
            options=[],
            rows=4,
            description="Recent jobs",
            style={"description_width": "90px"},
            layout=widgets.Layout(width="auto", min_width="0", max_width="100%"),
        ).add_class("luma-recent")
        self.follow_button = widgets.Button(
            description="Follow",
            icon="eye",
            tooltip="Follow the selected task again (nothing is created or sent)",
        ).add_class("luma-recent-follow")
        self.recent_note = widgets.HTML().add_class("luma-recent-note")
        self.follow_button.on_click(lambda _b: self._follow_selected())
        self._outputs = SavedText(self._repr_mimebundle_, self._text)
        self.generate_button.on_click(lambda _b: self.generate())
        self.extend_button.on_click(lambda _b: self.extend())
        super().__init__(
            [
                # The style hides the studio's saved text while the studio itself renders.
                widgets.HTML(f"<style>{HIDE_FALLBACK_CSS}</style><b>Luma studio</b>"),
                self.prompt,
                widgets.HBox([self.aspect_ratio, self.expand_prompt], layout=_row()),
                self.start_image,
                self.end_image,
                widgets.HBox(
                    [self.generate_button, self.extend_button, self.extend_id], layout=_row()
                ),
                self.message,
                self.panel_list,
                self.recent,
                self.follow_button,
                self.recent_note,
            ],
            layout=widgets.Layout(width="auto", max_width="900px"),
        )
        self.add_class("luma-studio")
        self.show_recent()

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
        details = self._details(options)

        def submit() -> Task:
            return client.create(text, **options)

        return self._add_panel(submit, text, details)

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
        details = [*self._details(options), ("extends", source)]

        def submit() -> Task:
            return client.extend(source, text, **options)

        return self._add_panel(submit, text, details)

    def close(self) -> None:
        """Close the studio, its form and all its panels (stopping their polling)."""
        for panel in self.panels:
            panel.close()
        for child in self.children:  # every form widget too, so no closed child keeps a parent
            _close_tree(child)
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

    def _details(self, options: GenerationOptions) -> list[tuple[str, str]]:
        details = [("aspect ratio", str(options.get("aspect_ratio", "16:9")))]
        for image in (self.start_image, self.end_image):
            described = image.describe()
            if described:
                details.append((image.label.lower(), described))
        return details

    def _valid(self, prompt: str, options: GenerationOptions) -> bool:
        # Validate here, on the main thread, so mistakes show at once and nothing is sent.
        try:
            GenerationRequest.build(user_prompt=prompt, **options)
        except LumaError as exc:
            self._say(_form_error(exc))
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

    def _add_panel(
        self, submit: Callable[[], Task], prompt: str, details: list[tuple[str, str]]
    ) -> TaskPanel:
        # Created here, on the main thread; the create request itself runs in the panel's
        # poll thread so a slow gateway never blocks the kernel.
        panel = TaskPanel(
            self._client,
            download_dir=self._download_dir,
            timeout=self._timeout,
            poll_policy=self._poll_policy,
            _submit=submit,
            _prompt=prompt.strip(),
            _details=details,
            _on_dismiss=self.dismiss,
            _on_change=self._outputs.refresh,
        )
        # An upload goes with one request only: the next Generate must not carry it along.
        self.start_image.clear_upload()
        self.end_image.clear_upload()
        self.panels.append(panel)
        self.panel_list.children = (panel, *self.panel_list.children)
        self._outputs.refresh()
        return panel

    def follow(self, task_id: str) -> TaskPanel:
        """Follow an existing task in a new panel, with what the journal knows of it.

        Nothing is created or sent again: this is how a task survives a kernel restart.
        """
        panel = TaskPanel.resume(
            self._client,
            task_id,
            download_dir=self._download_dir,
            timeout=self._timeout,
            poll_policy=self._poll_policy,
            _on_dismiss=self.dismiss,
            _on_change=self._outputs.refresh,
        )
        self.panels.append(panel)
        self.panel_list.children = (panel, *self.panel_list.children)
        self._outputs.refresh()
        self.show_recent()
        return panel

    def show_recent(self, limit: int = _RECENT_JOBS) -> list[Job]:
        """List the journal's latest jobs below the panels, to follow any of them again.

        Jobs with a task are in the list (Follow resumes the selected one in a panel); a job
        whose create had an unknown outcome is named in the note below, with how to attach
        the task id found in the gateway's log. Tasks shown in a panel here are left out.

        Returns:
            The jobs shown.
        """
        journal = getattr(self._client, "journal", None)
        jobs: list[Job] = []
        note = ""
        if journal is not None and journal.path.exists():
            try:
                shown = {panel.view.task_id for panel in self.panels}
                jobs = [j for j in journal.jobs(limit=limit * 2) if j.task_id not in shown][:limit]
            except LumaError as exc:
                note = f"The journal cannot be read: {exc}"
        followable = [j for j in jobs if j.task_id and j.status not in ("refused", "dismissed")]
        self.recent.options = [
            (f"{job.label} · {clean_text(job.prompt, 40)} · {str(job.task_id)[:13]}", job.task_id)
            for job in followable
        ]
        self.follow_button.disabled = not followable
        lost = [job for job in jobs if job.is_ambiguous]
        if lost:
            note = "; ".join(
                f"job {job.number} ({clean_text(job.prompt, 40)}) may have been created and "
                f"billed: find it in the gateway's task log, then luma-tools jobs attach "
                f"{job.number} TASK_ID"
                for job in lost
            )
        self.recent_note.value = f"<i>{html.escape(note)}</i>" if note else ""
        return jobs

    def _follow_selected(self) -> None:
        task_id = self.recent.value
        if task_id:
            self.follow(task_id)

    def dismiss(self, panel: TaskPanel) -> None:
        """Remove a finished panel from the studio (the task itself is not affected)."""
        if panel not in self.panels or not panel.view.is_final:
            return
        self.panels.remove(panel)
        self.panel_list.children = tuple(p for p in self.panel_list.children if p is not panel)
        task_id = panel.view.task_id
        panel.close()
        self._say(f"Dismissed task {task_id}." if task_id else "Dismissed.", error=False)
        self._outputs.refresh()

    def _latest_completed(self) -> str | None:
        for panel in reversed(self.panels):
            view = panel.view
            if view.phase == Phase.COMPLETED and view.task_id:
                return view.task_id
        return None

    def _say(self, text: str, *, error: bool = True) -> None:
        # Theme colours only (readable in dark themes); the words carry the meaning.
        style = "var(--jp-ui-font-color1)"
        mark = "border-left:4px solid var(--jp-error-color1);padding-left:6px;" if error else ""
        self.message.value = (
            f'<span style="color:{style};{mark}">{html.escape(text)}</span>' if text else ""
        )

    # -- text fallback -----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"LumaStudio(panels={len(self.panels)})"

    def _text(self) -> str:
        count = len(self.panels)
        lines = [f"Luma studio ({count} task{'' if count == 1 else 's'})"]
        lines += [panel.view.text() for panel in self.panels]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._text())

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = bundle_of(super()._repr_mimebundle_(**kwargs))
        data["text/plain"] = self._text()
        return data, metadata

    def _ipython_display_(self) -> None:
        self._outputs.show()
