"""`python -m luma_tools.simulator` and `luma-tools simulator`: one command line, two names.

Both run as real processes here: the same flags, defaults, output and one-line errors, and a
clean exit on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from luma_tools.cli import build_parser
from luma_tools.cli import main as luma_tools_main
from luma_tools.simulator import _cli as simulator_cli

VENV_BIN = Path(sys.executable).parent
LUMA_TOOLS = VENV_BIN / "luma-tools"
URL = re.compile(r"http://127\.0\.0\.1:\d+")
ANNOUNCED = re.compile(r"LUMA_API_KEY=\S+\n")
#: The two names of the one command.
ENTRY_POINTS = {
    "python -m luma_tools.simulator": [sys.executable, "-m", "luma_tools.simulator"],
    "luma-tools simulator": [str(LUMA_TOOLS), "simulator"],
}


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


def announced(text: str) -> tuple[str, str]:
    """(base URL, key) from the lines both entry points print."""
    match = re.search(
        r"^Luma gateway simulator at (http://127\.0\.0\.1:\d+) \(Ctrl-C to stop\)\n"
        r"  export LUMA_BASE_URL=(\S+)\n  export LUMA_API_KEY=(\S+)\n$",
        text,
    )
    assert match is not None, text
    assert match.group(1) == match.group(2)
    return match.group(1), match.group(3)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serves_until_ctrl_c_or_sigterm_then_exits_cleanly(entry: str, signum: int) -> None:
    proc = start([*ENTRY_POINTS[entry], "--port", "0", "--sim-api-key", "k-123"])
    try:
        base_url, key = announced(read_until(proc, ANNOUNCED, timeout=20))
        assert key == "k-123"
        serve_one_create(base_url, "k-123")
    finally:
        returncode, stderr = stop(proc, signum)
    assert returncode == 0, stderr
    assert stderr == ""  # no traceback, no noise
    assert_port_closed(base_url)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_random_key_time_scale_and_options(entry: str) -> None:
    proc = start(
        [
            *ENTRY_POINTS[entry],
            "--port",
            "0",
            "--queue-seconds",
            "100",
            "--run-seconds",
            "100",
            "--time-scale",
            "0.001",
            "--no-estimate",
        ]
    )
    try:
        base_url, key = announced(read_until(proc, ANNOUNCED, timeout=20))
        assert re.fullmatch(r"sim-[0-9a-f]{32}", key)
        headers = {"Authorization": f"Bearer {key}"}
        task = requests.post(
            f"{base_url}/luma/generations",
            json={"user_prompt": "fast"},
            headers=headers,
            timeout=5,
        ).json()
        assert task["estimate_wait_seconds"] is None
        # 200 simulated seconds at 0.001 real seconds each: done within a fraction of a second.
        deadline = time.monotonic() + 10
        while task["state"] != "completed":
            assert time.monotonic() < deadline, task
            task = requests.get(
                f"{base_url}/luma/generations/{task['id']}", headers=headers, timeout=5
            ).json()
    finally:
        returncode, stderr = stop(proc, signal.SIGINT)
    assert returncode == 0, stderr


def test_a_wrong_estimate_can_be_chosen_and_excludes_no_estimate() -> None:
    flags = ["--port", "0", "--queue-seconds", "4", "--run-seconds", "4"]
    proc = start([*ENTRY_POINTS["luma-tools simulator"], *flags, "--wrong-estimate", "stale"])
    try:
        base_url, key = announced(read_until(proc, ANNOUNCED, timeout=20))
        task = requests.post(
            f"{base_url}/luma/generations",
            json={"user_prompt": "stale"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        ).json()
        assert task["estimate_wait_seconds"] == 6  # 3/4 of 8 s
    finally:
        stop(proc, signal.SIGINT)
    parser = simulator_cli.build_parser()
    assert parser.parse_args(["--wrong-estimate", "stale"]).wrong_estimate == "stale"
    with pytest.raises(SystemExit):
        parser.parse_args(["--wrong-estimate", "stale", "--no-estimate"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--wrong-estimate", "sometimes"])


def test_both_names_share_flags_and_defaults() -> None:
    standalone = simulator_cli.build_parser().parse_args([])
    subcommand = build_parser().parse_args(["simulator"])
    for name, value in vars(standalone).items():
        assert getattr(subcommand, name, False) == value, name
    assert standalone.port == str(simulator_cli.DEFAULT_PORT) == "8765"
    assert standalone.host == "127.0.0.1"
    # luma-tools' own --api-key and --json are the standalone command's too.
    assert simulator_cli.build_parser().parse_args(["--api-key", "k"]).sim_api_key == "k"


def run_both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[int, str]]:
    """Exit status and stderr of both entry points for the same arguments, in process."""
    results = {}
    code = simulator_cli.main(argv)
    results["python -m luma_tools.simulator"] = (code, capsys.readouterr().err)
    try:
        code = luma_tools_main(["simulator", *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    results["luma-tools simulator"] = (code, capsys.readouterr().err)
    return results


BAD_VALUES = [
    (["--queue-seconds", "-1"], "--queue-seconds must be a number >= 0, got '-1'"),
    (["--queue-seconds", "nan"], "--queue-seconds must be a number >= 0, got 'nan'"),
    (["--run-seconds", "-0.5"], "--run-seconds must be a number >= 0, got '-0.5'"),
    (["--run-seconds", "inf"], "--run-seconds must be a number >= 0, got 'inf'"),
    (["--run-seconds", "soon"], "--run-seconds must be a number >= 0, got 'soon'"),
    (["--time-scale", "0"], "--time-scale must be a number > 0, got '0'"),
    (["--time-scale", "-2"], "--time-scale must be a number > 0, got '-2'"),
    (["--time-scale", "nan"], "--time-scale must be a number > 0, got 'nan'"),
    (["--port", "70000"], "--port must be a port number from 0 to 65535"),
    (["--port", "http"], "--port must be a port number from 0 to 65535"),
    (["--host", "http://127.0.0.1:8765"], "--host must be an interface address such as 127.0.0.1"),
    (["--host", ""], "--host must be an interface address such as 127.0.0.1"),
    (["--host", "no-such-host.invalid", "--port", "0"], "not an address this machine can resolve"),
    (["--host", "192.0.2.1", "--port", "0"], "is not an address of this machine"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_invalid_values_get_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for entry, (code, stderr) in run_both(argv, capsys).items():
        assert code == 2, (entry, stderr)
        assert stderr.count("\n") == 1, (entry, stderr)  # one line: no usage block, no traceback
        prog = entry.removesuffix(" simulator") if entry == "luma-tools simulator" else entry
        assert stderr.startswith(f"{prog}: error: "), (entry, stderr)
        assert message in stderr, (entry, stderr)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_taken_port_says_how_to_get_a_free_one(entry: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*ENTRY_POINTS[entry], "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    prog = "luma-tools" if entry == "luma-tools simulator" else entry
    assert result.stderr == (
        f"{prog}: error: port {port} on 127.0.0.1 is in use; "
        "pass --port 0 for a free one, or another --port\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_luma_tools_api_key_option_names_the_simulator_key(signum: int) -> None:
    assert LUMA_TOOLS.exists(), "the dev venv installs the luma-tools script"
    proc = start([str(LUMA_TOOLS), "--api-key", "cli-key", "simulator", "--port", "0"])
    try:
        text = read_until(proc, ANNOUNCED, timeout=20)
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


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_json_output(entry: str) -> None:
    proc = start([*ENTRY_POINTS[entry], "--port", "0", "--json"])
    try:
        line = read_until(proc, re.compile(r"\}\n"), timeout=20)
        info = json.loads(line)
        assert set(info) == {"base_url", "api_key"}
        serve_one_create(info["base_url"], info["api_key"])
    finally:
        returncode, stderr = stop(proc, signal.SIGTERM)
    assert returncode == 0, stderr
