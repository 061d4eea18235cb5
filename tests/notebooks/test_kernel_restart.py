"""A kernel restarted mid-task: the next cell re-follows the job from the journal, and nothing
is created twice."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from luma_tools.simulator import LumaSimulator

pytestmark = pytest.mark.notebook

BEFORE = """\
from luma_tools import LumaClient, PollPolicy
from luma_tools.widgets import TaskPanel

client = LumaClient(poll_policy=PollPolicy().scaled(0.05))
panel = TaskPanel(client, client.create("a lantern festival at night"))
panel.view.task_id
"""

AFTER = """\
assert "panel" not in globals(), "the kernel did not restart"
from luma_tools import LumaClient, PollPolicy
from luma_tools.widgets import TaskPanel

client = LumaClient(poll_policy=PollPolicy().scaled(0.05))  # a new kernel: a new client
(job,) = client.journal.jobs(unfinished=True)  # the task the old kernel was following
panel = TaskPanel.resume(client, job.task_id)
assert panel.wait(60), panel.view
print(job.task_id, panel.view.phase, panel.view.prompt)
"""


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_a_restarted_kernel_refollows_the_job_in_the_next_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LumaSimulator(queue_seconds=2.0, run_seconds=3.0) as sim:  # outlives the kernel
        monkeypatch.setenv("LUMA_BASE_URL", sim.base_url)
        monkeypatch.setenv("LUMA_API_KEY", sim.api_key)
        monkeypatch.setenv("LUMA_TOOLS_HOME", str(tmp_path / "home"))  # one journal, both kernels
        book = new_notebook(cells=[new_code_cell(BEFORE), new_code_cell(AFTER)])
        runner = NotebookClient(
            book,
            kernel_name="python3",
            timeout=120,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        with runner.setup_kernel(env=dict(os.environ)):
            runner.execute_cell(book.cells[0], 0)
            first_id = text_of(book.cells[0]).strip().strip("'")
            assert sim.task_state(first_id) != "completed"  # restarted mid-task
            run_sync(runner.km.restart_kernel)(now=True)
            run_sync(runner.kc.wait_for_ready)(timeout=60)
            runner.execute_cell(book.cells[1], 1)
        said = text_of(book.cells[1])
        assert first_id in said
        assert "completed" in said
        assert "a lantern festival at night" in said
        assert sim.count("create") == 1  # re-following never creates
