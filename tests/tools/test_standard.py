"""langchain-tests standard suites for the four tools (integration: on the simulator)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator
from luma_tools.tools import LumaCreateVideo, LumaDownloadVideo, LumaExtendVideo, LumaQueryTask

FAST_POLL = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2)


@dataclass
class World:
    sim: LumaSimulator
    client: LumaClient
    completed_id: str
    output_dir: Path


_world: World | None = None


@pytest.fixture(scope="module", autouse=True)
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One simulator and a completed task for the whole module (the suites read it)."""
    global _world
    with LumaSimulator() as sim, LumaClient(sim.api_key, sim.base_url, poll_policy=FAST_POLL) as c:
        _world = World(sim, c, sim.add_task(state="completed"), tmp_path_factory.mktemp("videos"))
        yield _world
        _world = None


def the_world() -> World:
    assert _world is not None, "the world fixture is not active"
    return _world


ENV = {"LUMA_API_KEY": "sk-from-env", "LUMA_BASE_URL": "http://127.0.0.1:9"}


class _Standard:
    tool_class: type[BaseTool]

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return self.tool_class

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"client": the_world().client}


class _FromEnv(_Standard):
    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {}, {}


# -- create ----------------------------------------------------------------------------------


class TestCreateUnit(_FromEnv, ToolsUnitTests):
    tool_class = LumaCreateVideo

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"prompt": "a lighthouse at dawn", "aspect_ratio": "16:9"}


class TestCreateIntegration(_Standard, ToolsIntegrationTests):
    tool_class = LumaCreateVideo

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"prompt": "a lighthouse at dawn", "aspect_ratio": "16:9"}


# -- extend ----------------------------------------------------------------------------------


class _ExtendExample:
    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"task_id": the_world().completed_id, "prompt": "the camera pulls back"}


class TestExtendUnit(_ExtendExample, _FromEnv, ToolsUnitTests):
    tool_class = LumaExtendVideo


class TestExtendIntegration(_ExtendExample, _Standard, ToolsIntegrationTests):
    tool_class = LumaExtendVideo


# -- query -----------------------------------------------------------------------------------


class _QueryExample:
    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"task_id": the_world().completed_id, "wait_seconds": 0}


class TestQueryUnit(_QueryExample, _FromEnv, ToolsUnitTests):
    tool_class = LumaQueryTask


class TestQueryIntegration(_QueryExample, _Standard, ToolsIntegrationTests):
    tool_class = LumaQueryTask


# -- download --------------------------------------------------------------------------------


class _DownloadStandard(_Standard):
    tool_class = LumaDownloadVideo

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        world = the_world()
        return {"client": world.client, "output_dir": world.output_dir}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"task_id": the_world().completed_id, "filename": "standard.mp4", "overwrite": True}


class TestDownloadUnit(_DownloadStandard, ToolsUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {}, {}


class TestDownloadIntegration(_DownloadStandard, ToolsIntegrationTests):
    pass
