"""Saved text that stays truthful: a widget's state as a second output that follows it.

A notebook keeps each output as it was last displayed; GitHub, nbviewer and nbconvert show the
text of an output in place of a widget. So a widget displayed through
[`SavedText`][luma_tools.widgets._display.SavedText] gets two outputs: the live widget, and
its text in an output with a display id that `refresh()` replaces as the state moves on.
Replacing the widget's own output instead would make JupyterLab draw the widget anew, which
throws a playing video back to 0:00 and a typing user out of the form.

While the widget is live its style sheet hides the text output, so nothing shows twice.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FALLBACK_CLASS", "HIDE_FALLBACK_CSS", "SavedText", "bundle_of"]

Bundle = tuple[dict[str, Any], dict[str, Any]]

#: The class of the saved-text output's HTML.
FALLBACK_CLASS = "luma-fallback"
#: Hides the saved text wherever the widget itself renders (the rule is loaded with it).
HIDE_FALLBACK_CSS = (
    f".jp-OutputArea-child:has(.{FALLBACK_CLASS}) {{ display: none; }}\n"
    f".{FALLBACK_CLASS} {{ display: none; }}"
)


def bundle_of(repr_result: Any) -> Bundle:
    """Normalise a `_repr_mimebundle_` result (a dict, a (data, metadata) pair or None)."""
    if isinstance(repr_result, tuple):
        data, metadata = repr_result
        return dict(data or {}), dict(metadata or {})
    return dict(repr_result or {}), {}


def text_bundle(text: str) -> dict[str, str]:
    """The saved-text output: plain text, and HTML that the live widget's style hides."""
    return {
        "text/plain": text,
        "text/html": f'<pre class="{FALLBACK_CLASS}">{html.escape(text)}</pre>',
    }


class SavedText:
    """Display a widget followed by its saved text, and keep that text up to date.

    Args:
        widget_bundle: Builds the widget's (data, metadata) bundle.
        text: Builds the widget's current plain-text summary.
    """

    def __init__(self, widget_bundle: Callable[[], Bundle], text: Callable[[], str]) -> None:
        self._widget_bundle = widget_bundle
        self._text = text
        self._handles: list[Any] = []
        self._shown: str | None = None
        # The studio's text is refreshed from every panel's render thread: without the lock a
        # thread holding an older text could replace a newer one last.
        self._lock = threading.Lock()

    def show(self) -> None:
        """Display the widget and its text (what `_ipython_display_` does)."""
        from IPython.display import display

        data, metadata = self._widget_bundle()
        data.pop("text/plain", None)  # the text output below says it, and stays current
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        with self._lock:
            self._shown = self._text()
            handle = display(text_bundle(self._shown), raw=True, display_id=True)  # type: ignore[no-untyped-call]
            if handle is not None:
                self._handles.append(handle)

    def refresh(self) -> None:
        """Replace the saved text of every output showing the widget, if it changed."""
        with self._lock:
            if not self._handles:
                return
            text = self._text()
            if text == self._shown:
                return
            self._shown = text
            for handle in self._handles:
                handle.update(text_bundle(text), raw=True)
