"""`python -m luma_tools.simulator` and `luma-tools simulator` as real processes."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

VENV_BIN = Path(sys.executable).parent
LUMA_TOOLS = VENV_BIN / "luma-tools"
URL = re.compile(r"http://127\.0\.0\.1:\d+")


def read_until(proc: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> str:
    """Read stdout (unbuffered, from the fd) until ``pattern`` appears, with a deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = ""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not pattern.search(seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no match for {pattern.pattern!r} in {seen!r}"
            if selector.select(left):
                data = os.read(fd, 4096)
                assert data, f"process ended early: {seen!r}, rc={proc.poll()}"
                seen += data.decode()
    return seen


def start(argv: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("LUMA_API_KEY", None)
    env.pop("LUMA_BASE_URL", None)
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def serve_one_create(base_url: str, api_key: str) -> None:
    response = requests.post(
        f"{base_url}/luma/generations",
        json={"user_prompt": "standalone"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=5,
    )
    assert response.status_code == 200
    task = response.json()
    assert task["state"] == "pending"
    query = requests.get(
        f"{base_url}/luma/generations/{task['id']}",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=5,
    )
    assert query.json()["id"] == task["id"]
    denied = requests.get(f"{base_url}/luma/generations/{task['id']}", timeout=5)
    assert denied.status_code == 401


def stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, stderr


def assert_port_closed(base_url: str) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url, timeout=2)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_python_m_simulator(signum: int) -> None:
    proc = start(
        [sys.executable, "-m", "luma_tools.simulator", "--port", "0", "--api-key", "k-123"]
    )
    try:
        line = read_until(proc, re.compile(r"api key: \S+\n"), timeout=15)
        assert line.startswith("Luma simulator listening on http://127.0.0.1:")
        match = URL.search(line)
        assert match is not None
        base_url = match.group(0)
        assert "api key: k-123" in line
        serve_one_create(base_url, "k-123")
    finally:
        returncode, stderr = stop(proc, signum)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert_port_closed(base_url)


def test_python_m_simulator_random_key_and_options() -> None:
    proc = start(
        [
            sys.executable,
            "-m",
            "luma_tools.simulator",
            "--queue-seconds",
            "0",
            "--run-seconds",
            "0",
            "--no-estimate",
        ]
    )
    try:
        line = read_until(proc, re.compile(r"api key: \S+\n"), timeout=15)
        base_url = URL.search(line).group(0)  # type: ignore[union-attr]
        key = re.search(r"api key: (\S+)", line).group(1)  # type: ignore[union-attr]
        assert re.fullmatch(r"sim-[0-9a-f]{32}", key)
        task = requests.post(
            f"{base_url}/luma/generations",
            json={"user_prompt": "instant"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        ).json()
        assert task["state"] == "completed"
        assert task["estimate_wait_seconds"] is None
    finally:
        returncode, stderr = stop(proc, signal.SIGINT)
    assert returncode == 0, stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_luma_tools_simulator_command(signum: int) -> None:
    assert LUMA_TOOLS.exists(), "the dev venv installs the luma-tools script"
    proc = start([str(LUMA_TOOLS), "simulator", "--port", "0", "--sim-api-key", "cli-key"])
    try:
        text = read_until(proc, re.compile(r"LUMA_API_KEY=\S+\n"), timeout=20)
        match = URL.search(text)
        assert match is not None
        base_url = match.group(0)
        assert f"export LUMA_BASE_URL={base_url}" in text
        assert "export LUMA_API_KEY=cli-key" in text
        serve_one_create(base_url, "cli-key")
    finally:
        returncode, stderr = stop(proc, signum)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert_port_closed(base_url)


def test_luma_tools_simulator_json_output() -> None:
    proc = start([str(LUMA_TOOLS), "--json", "simulator", "--port", "0"])
    try:
        line = read_until(proc, re.compile(r"\}\n"), timeout=20)
        info = json.loads(line)
        assert set(info) == {"base_url", "api_key"}
        serve_one_create(info["base_url"], info["api_key"])
    finally:
        returncode, stderr = stop(proc, signal.SIGTERM)
    assert returncode == 0, stderr
