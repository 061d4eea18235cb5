"""The hostile classes through the other front ends: chains and the notebook panel's model.

(The CLI has its own module; the LangChain and MCP tools are tested with the tools.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hostile_server import (
    Connection,
    HostileServer,
    Received,
    forward,
    forward_then,
    json_reply,
    reply,
)

from luma_tools import AmbiguousSubmitError, DestinationError, InvalidInputError, LumaClient
from luma_tools.chains import VideoChain
from luma_tools.simulator import LumaSimulator
from luma_tools.widgets import Phase, TaskTracker


@pytest.fixture
def failing_proxy(sim: LumaSimulator, hostile: HostileServer) -> HostileServer:
    """Reads pass through to the simulator; creates reach it, then the proxy answers 502."""
    hostile.script("GET", r"/luma/.*", forward(sim.base_url))
    hostile.script(
        "POST", "/luma/generations", forward_then(sim.base_url, reply(502, "Bad gateway"))
    )
    return hostile


def test_a_chain_batch_never_resubmits_an_ambiguous_create(
    failing_proxy: HostileServer, sim: LumaSimulator, make_hostile_client, tmp_path: Path
) -> None:
    client: LumaClient = make_hostile_client(failing_proxy.url, api_key=sim.api_key)
    chain = VideoChain(client, output_dir=tmp_path)
    results = chain.batch(["one", "two", "three"], return_exceptions=True)
    assert all(isinstance(r, AmbiguousSubmitError) for r in results)
    assert all("may have been created and billed" in str(r) for r in results)
    assert sim.count("create") == 3  # one per prompt, none re-sent
    with pytest.raises(AmbiguousSubmitError):
        chain.invoke("four")
    assert sim.count("create") == 4


@pytest.mark.parametrize(
    "filename", ["../escape.mp4", "a/b.mp4", "nul\x00.mp4", "n" * 300 + ".mp4", ".."]
)
def test_a_chain_refuses_bad_file_names_before_paying(
    filename: str, sim: LumaSimulator, make_hostile_client, tmp_path: Path
) -> None:
    client = make_hostile_client(sim.base_url, api_key=sim.api_key)
    with pytest.raises(InvalidInputError, match="filename"):
        VideoChain(client, output_dir=tmp_path).invoke({"prompt": "a fox", "filename": filename})
    assert sim.count("create") == 0


def test_a_chain_checks_its_folder_before_paying(
    sim: LumaSimulator, make_hostile_client, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x")
    client = make_hostile_client(sim.base_url, api_key=sim.api_key)
    with pytest.raises(DestinationError):
        VideoChain(client, output_dir=tmp_path / "afile" / "videos").invoke("a fox")
    assert sim.count("create") == 0


@pytest.fixture
def lying_gateway(sim: LumaSimulator, hostile: HostileServer) -> HostileServer:
    """Creates and reads go to the simulator, but every read claims the task is "../../evil"."""
    hostile.script("POST", "/luma/generations", forward(sim.base_url))

    def lying_read(request: Received, conn: Connection) -> None:
        real = requests.get(
            sim.base_url + request.path,
            headers={"Authorization": request.headers["Authorization"]},
            timeout=5,
        ).json()
        if isinstance(real, dict):
            real["id"] = "../../evil"
        json_reply(200, real)(request, conn)

    hostile.script("GET", r"/luma/.*", lying_read)
    return hostile


def only_file(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


def test_a_gateway_id_never_names_a_file_outside_the_chains_folder(
    lying_gateway: HostileServer, sim: LumaSimulator, make_hostile_client, tmp_path: Path
) -> None:
    client = make_hostile_client(lying_gateway.url, api_key=sim.api_key)
    folder = tmp_path / "deep" / "videos"
    result = VideoChain(client, output_dir=folder).invoke("a fox")
    assert result.path.parent == folder
    assert only_file(tmp_path) == [f"deep/videos/{result.task.id}.mp4"]


def test_a_gateway_id_never_names_a_file_outside_the_panels_folder(
    lying_gateway: HostileServer, sim: LumaSimulator, make_hostile_client, tmp_path: Path
) -> None:
    client = make_hostile_client(lying_gateway.url, api_key=sim.api_key)
    task_id = sim.add_task(state="completed")
    tracker = TaskTracker(client, task_id)
    assert tracker.start()
    assert tracker.join(30)
    assert tracker.download(f"{tmp_path / 'videos'}/")
    assert tracker.join(30)
    assert only_file(tmp_path) == [f"videos/{task_id}.mp4"]


def test_a_gateway_id_never_names_a_file_outside_the_clis_folder(
    lying_gateway: HostileServer, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    env = {**os.environ, "LUMA_API_KEY": sim.api_key, "LUMA_BASE_URL": lying_gateway.url}
    result = subprocess.run(
        [sys.executable, "-m", "luma_tools.cli", "download", task_id, "-o", "videos/"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert only_file(tmp_path) == [f"videos/{task_id}.mp4"]


def test_the_panel_model_shows_an_ambiguous_create_and_never_resends_it(
    failing_proxy: HostileServer, sim: LumaSimulator, make_hostile_client
) -> None:
    client = make_hostile_client(failing_proxy.url, api_key=sim.api_key)
    tracker = TaskTracker(client, submit=lambda: client.create("a paid fox"))
    assert tracker.start()
    assert tracker.join(30)
    view = tracker.snapshot()
    assert view.phase == Phase.ERROR
    assert "may have been created and billed" in f"{view.message} {view.hint}"
    assert not tracker.start()  # no way to send it again from here
    assert tracker.join(5)
    assert sim.count("create") == 1
