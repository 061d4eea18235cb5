"""Every notebook in notebooks/ runs top to bottom in a real kernel, offline, on the simulator.

Executed with nbclient and `store_widget_state=True`; the assertions read what a saved notebook
would carry: the panels' final states in their widget state and in their saved text (what GitHub
and nbviewer show), no key, no signed link, no video bytes, and all of it within a size budget.
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


#: What a notebook may weigh once run and saved with its widget state (it was 235 kB for
#: widgets.ipynb with one widget model per label, bar and button, and carried signed links).
EXECUTED_BUDGET = {"widgets": 160_000}
EXECUTED_DEFAULT_BUDGET = 40_000
#: A task panel is one model: its state, front-end module and style sheet.
PANEL_BUDGET = 20_000
COMMITTED_BUDGET = 12_000
PANEL_ID = "luma_tools.widgets._panel.TaskPanel"


def test_the_committed_notebooks_stay_small() -> None:
    for path in NOTEBOOKS:
        assert path.stat().st_size <= COMMITTED_BUDGET, path.name


class Models:
    """The saved widget models of an executed notebook, with reference lookups."""

    def __init__(self, book: nbformat.NotebookNode) -> None:
        self.state: dict[str, Any] = book.metadata["widgets"][WIDGET_STATE]["state"]

    def all_panels(self) -> list[dict[str, Any]]:
        return [m for m in self.state.values() if m["state"].get("_anywidget_id") == PANEL_ID]

    def panels(self, phase: str) -> list[dict[str, Any]]:
        return [m for m in self.all_panels() if m["state"]["state"]["phase"] == phase]

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

    def buffers(self) -> list[bytes]:
        return [
            base64.b64decode(buffer["data"])
            for model in self.state.values()
            for buffer in model.get("buffers", [])
        ]


def outputs_text(book: nbformat.NotebookNode, marker: str, mime: str = "text/plain") -> str:
    """The saved `mime` text of the outputs of the cell whose source contains `marker`."""
    (cell,) = [c for c in book.cells if c.cell_type == "code" and marker in c.source]
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output.get("text", "") if mime == "text/plain" else "")
        else:
            value = output.get("data", {}).get(mime, "")
            texts.append("".join(value) if isinstance(value, list) else value)
    return "".join(texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_offline_and_saves_a_small_truthful_record(
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
    # No signed (expiring) link anywhere: outputs, widget state, or its binary buffers.
    assert "X-Amz-Signature" not in saved
    assert "/files/" not in saved
    budget = EXECUTED_BUDGET.get(path.stem, EXECUTED_DEFAULT_BUDGET)
    assert len(saved.encode()) <= budget, f"{path.name}: {len(saved.encode())} B saved"
    if "widgets" not in book.metadata:
        return  # a notebook without widgets (e.g. agent.ipynb): running cleanly is the test

    models = Models(book)
    for blob in models.buffers():
        assert b"X-Amz-Signature" not in blob
        assert blob[4:8] != b"ftyp", "an MP4 was saved in the widget state"
    for panel in models.all_panels():
        assert len(json.dumps(panel)) <= PANEL_BUDGET
        # Only a kernel started by a Jupyter server is named (nbclient's is not).
        assert isinstance(panel["state"]["kernel_id"], str)
    completed = models.panels("completed")
    assert completed, "no panel reached completed"
    for panel in completed:
        assert panel["state"]["state"]["task_id"]
        assert panel["state"]["state"]["refollow"].startswith("TaskPanel.resume(client, ")

    if path.stem == "widgets":
        (failed,) = models.panels("failed")
        assert "Frame moderation failed" in failed["state"]["state"]["message"]
        assert failed["state"]["state"]["hint"]
        (studio,) = [
            m for m in models.state.values() if "luma-studio" in m["state"].get("_dom_classes", [])
        ]
        assert len([m for m in models.descendants(studio) if m in completed]) == 2
        assert len(completed) == 3
        # The saved text (what GitHub and nbviewer show) is the final state, not the first.
        assert ": completed" in outputs_text(book, "panel = TaskPanel(client, task")
        failing = outputs_text(book, "fail_next_task")
        assert ": failed" in failing
        assert "Frame moderation failed" in failing
        studio_text = outputs_text(book, "studio = LumaStudio(client")
        assert "Luma studio (2 tasks)" in studio_text
        assert studio_text.count(": completed") == 2
    if path.stem == "quickstart":
        progress = outputs_text(book, "def show_state(task)")
        assert ": queued" in progress
        assert "poll 1 after" in progress
        assert ": completed" in progress
        (videos,) = [*tmp_path.glob("videos/*.mp4")][:1]
        assert videos.stat().st_size > 0
    if path.stem == "chain":
        table = outputs_text(book, 'HTML(f"<table>', "text/html")
        assert table.count("✅ done") == 4
        assert table.count("❌ failed") == 1
    assert key not in json.dumps(models.state)
