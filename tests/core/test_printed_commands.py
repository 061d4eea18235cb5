"""The commands luma-tools prints run as printed, from where the user is.

The demo ends with the command to run next. `luma-tools` is often not on PATH (the script sits in
an environment's `bin/` that was never activated), so the demo is run the ways a user runs it and
the printed line is then executed by a real shell against a simulator.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from luma_tools._invocation import cli_command, pip_install_command, python_command
from luma_tools.simulator import LumaSimulator

VENV_BIN = Path(sys.executable).parent
VENV = VENV_BIN.parent
LUMA_TOOLS = VENV_BIN / "luma-tools"
NEXT_COMMAND = ' generate "your prompt" -o video.mp4'
#: PATH as a user has it before activating the environment.
PLAIN_PATH = os.pathsep.join(
    entry
    for entry in os.environ.get("PATH", "").split(os.pathsep)
    if entry and Path(entry).absolute() != VENV_BIN.absolute()
)


@dataclass
class Way:
    """One way a user starts the demo: the command, from which folder, with which PATH."""

    name: str
    argv: list[str]
    cwd: Path
    path: str
    expected_prefix: str


def ways(tmp_path: Path) -> list[Way]:
    linked = tmp_path / "linked"
    linked.mkdir()
    # A clone's layout (`.venv/` next to the user) without writing into this checkout.
    (linked / ".venv").symlink_to(VENV, target_is_directory=True)
    activated = os.pathsep.join([str(VENV_BIN), PLAIN_PATH])
    folders = {name: tmp_path / name for name in ("absolute", "module", "activated")}
    for folder in folders.values():
        folder.mkdir()
    return [
        Way("script by absolute path", [str(LUMA_TOOLS), "demo"], folders["absolute"],
            PLAIN_PATH, shlex.quote(str(LUMA_TOOLS))),
        Way("script by relative path", [".venv/bin/luma-tools", "demo"], linked, PLAIN_PATH,
            ".venv/bin/luma-tools"),
        Way("python -m luma_tools", [sys.executable, "-m", "luma_tools", "demo"],
            folders["module"], PLAIN_PATH, f"{shlex.quote(sys.executable)} -m luma_tools"),
        Way("activated environment", ["luma-tools", "demo"], folders["activated"], activated,
            "luma-tools"),
    ]  # fmt: skip


def env_with(path: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"LUMA_API_KEY", "LUMA_BASE_URL"}}
    return {**env, "PATH": path, **extra}


@pytest.mark.timeout(180)
def test_the_demo_prints_a_next_command_that_runs_as_printed(tmp_path: Path) -> None:
    chosen = ways(tmp_path)
    # The demos mostly wait on the simulator's clock: run them side by side.
    demos = {
        way.name: subprocess.Popen(
            way.argv,
            cwd=way.cwd,
            env=env_with(way.path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for way in chosen
    }
    printed: dict[str, str] = {}
    for way in chosen:
        _, stderr = demos[way.name].communicate(timeout=120)
        assert demos[way.name].returncode == 0, f"{way.name}: {stderr}"
        last = stderr.rstrip("\n").splitlines()[-1]
        assert last == f"  {way.expected_prefix}{NEXT_COMMAND}", f"{way.name}: {stderr}"
        printed[way.name] = last.strip()

    with LumaSimulator(queue_seconds=0, run_seconds=0) as sim:
        runs = {
            way.name: subprocess.Popen(
                ["bash", "-c", printed[way.name]],
                cwd=way.cwd,
                env=env_with(way.path, LUMA_BASE_URL=sim.base_url, LUMA_API_KEY=sim.api_key),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for way in chosen
        }
        for way in chosen:
            _, stderr = runs[way.name].communicate(timeout=60)
            assert runs[way.name].returncode == 0, f"{way.name}: {printed[way.name]}\n{stderr}"
            assert (way.cwd / "video.mp4").read_bytes()[4:8] == b"ftyp", way.name
        assert sim.count("create") == len(chosen)


def test_commands_name_this_interpreter_when_path_finds_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither python3 nor luma-tools on PATH
    monkeypatch.setattr(sys, "argv", ["pytest"])
    python = shlex.quote(sys.executable)
    assert python_command() == python
    assert cli_command() == f"{python} -m luma_tools"
    assert pip_install_command("luma-tools[langchain]") == (
        f"{python} -m pip install 'luma-tools[langchain]'"
    )


def test_commands_use_bare_names_when_path_finds_this_very_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(VENV_BIN))
    monkeypatch.setattr(sys, "argv", [str(LUMA_TOOLS), "demo"])
    assert cli_command() == "luma-tools"
    assert python_command() in {"python3", "python"}
