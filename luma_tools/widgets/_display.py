"""Saved text that stays truthful: re-publish a widget's text fallback as its state moves on.

A notebook keeps each output's `text/plain` as it was when it was displayed; that is what
GitHub, nbviewer and nbconvert show in place of the widget. Widgets displayed through
[`RepublishedText`][luma_tools.widgets._display.RepublishedText] get a display id, and every
`refresh()` replaces that text wherever the front end honours `update_display_data`
(nbclient, and JupyterLab while the displaying cell runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["RepublishedText", "bundle_of"]

Bundle = tuple[dict[str, Any], dict[str, Any]]


def bundle_of(repr_result: Any) -> Bundle:
    """Normalise a `_repr_mimebundle_` result (a dict, a (data, metadata) pair or None)."""
    if isinstance(repr_result, tuple):
        data, metadata = repr_result
        return dict(data or {}), dict(metadata or {})
    return dict(repr_result or {}), {}


class RepublishedText:
    """The outputs showing one widget, whose bundle is re-published on `refresh()`.

    Args:
        bundle: Builds the widget's current (data, metadata) bundle.
    """

    def __init__(self, bundle: Callable[[], Bundle]) -> None:
        self._bundle = bundle
        self._handles: list[Any] = []

    def show(self) -> None:
        """Display the widget (what `_ipython_display_` does), remembering the output."""
        from IPython.display import display

        data, metadata = self._bundle()
        handle = display(data, metadata=metadata, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        if handle is not None:
            self._handles.append(handle)

    def refresh(self) -> None:
        """Replace the bundle of every output that shows the widget (any thread)."""
        if not self._handles:
            return
        data, metadata = self._bundle()
        for handle in self._handles:
            handle.update(data, metadata=metadata, raw=True)
