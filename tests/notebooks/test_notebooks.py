"""Every notebook in notebooks/ runs top to bottom in a real kernel, offline, on the simulator.

Executed with nbclient and `store_widget_state=True`; the assertions read the final widget state
that a saved notebook would carry: the panels reached their final states and show a video.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Appended to each notebook: let the panels' background threads finish (in a notebook they
# simply keep updating), then leave the simulator's key in a file (not in any output), so the
# test can check that it appears nowhere in the executed notebook.
FINISH = """\
import gc as _gc
from pathlib import Path as _Path

from luma_tools.widgets import TaskPanel as _TaskPanel

_panels = [_o for _o in _gc.get_objects() if isinstance(_o, _TaskPanel)]
assert all(_p.wait(60) for _p in _panels), [_p.view for _p in _panels]
_Path({keyfile!r}).write_text(sim.api_key)
"""


def test_the_notebooks_are_there_and_saved_without_outputs() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "widgets.ipynb", "chain.ipynb"}
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        assert "widgets" not in book.metadata, path.name
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], path.name
                assert cell.execution_count is None, path.name
        text = path.read_text()
        assert "sk-" not in text
        assert "sim-" not in text  # the simulator's generated keys look like sim-<hex>
        switch = [c for c in book.cells if "USE_REAL_GATEWAY = False" in c.source]
        assert len(switch) == 1, f"{path.name}: one clearly marked real-gateway switch"


class Models:
    """The saved widget models of an executed notebook, with reference lookups."""

    def __init__(self, book: nbformat.NotebookNode) -> None:
        self.state: dict[str, Any] = book.metadata["widgets"][WIDGET_STATE]["state"]

    def named(self, model_name: str) -> list[dict[str, Any]]:
        return [m for m in self.state.values() if m["model_name"] == model_name]

    def panels(self, phase: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.state.values()
            if {"luma-panel", f"luma-phase-{phase}"} <= set(m["state"].get("_dom_classes", []))
        ]

    def descendants(self, model: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        stack = [model]
        while stack:
            current = stack.pop()
            for ref in current["state"].get("children", []):
                child = self.state[ref.removeprefix("IPY_MODEL_")]
                found.append(child)
                stack.append(child)
        return found

    def text(self, model: dict[str, Any]) -> str:
        return " ".join(
            str(m["state"].get("value", ""))
            for m in self.descendants(model)
            if "HTML" in m["model_name"]
        )

    @staticmethod
    def video_source(video: dict[str, Any]) -> bytes:
        value = video["state"].get("value")
        if isinstance(value, str):
            return value.encode()
        for buffer in video.get("buffers", []):
            if buffer["path"] == ["value"]:
                return base64.b64decode(buffer["data"])
        return b""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_offline_and_its_panels_finish_with_a_video(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offline by default means: even with real credentials around, nothing reaches a gateway.
    monkeypatch.setenv("LUMA_API_KEY", "sk-real-key-that-must-not-be-used")
    monkeypatch.setenv("LUMA_BASE_URL", "https://real-gateway.invalid")
    book = nbformat.read(path, as_version=4)
    keyfile = tmp_path / "simulator-key.txt"
    book.cells.append(nbformat.v4.new_code_cell(FINISH.format(keyfile=str(keyfile))))
    NotebookClient(
        book,
        kernel_name="python3",
        timeout=120,
        startup_timeout=60,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    key = keyfile.read_text()
    assert key.startswith("sim-")
    saved = nbformat.writes(book)
    assert key not in saved
    assert "sk-real-key-that-must-not-be-used" not in saved
    if "TaskPanel" not in path.read_text():
        return  # a notebook without widgets (e.g. agent.ipynb): running cleanly is the test

    models = Models(book)
    completed = models.panels("completed")
    assert completed, "no panel reached completed"
    for panel in completed:
        (video,) = [m for m in models.descendants(panel) if m["model_name"] == "VideoModel"]
        assert video["state"]["autoplay"] is False
        source = models.video_source(video)
        if video["state"]["format"] == "url":
            assert source.startswith(b"http://127.0.0.1:")
        else:
            assert source[4:8] == b"ftyp"  # an MP4 read from the downloaded file
    assert list(tmp_path.glob("videos/*.mp4")) or path.stem == "widgets"

    if path.stem == "widgets":
        (failed,) = models.panels("failed")
        assert "Frame moderation failed" in models.text(failed)
        assert "What to try" in models.text(failed)
        (studio,) = [
            m for m in models.state.values() if "luma-studio" in m["state"].get("_dom_classes", [])
        ]
        assert len([m for m in models.descendants(studio) if m in completed]) == 2
        assert len(completed) == 3
    if path.stem == "chain":
        table = "".join(
            "".join(o.get("data", {}).get("text/html", ""))
            for c in book.cells
            for o in c.get("outputs", [])
        )
        assert table.count("✅ done") == 4
        assert table.count("❌ failed") == 1
    assert key not in json.dumps(models.state)
