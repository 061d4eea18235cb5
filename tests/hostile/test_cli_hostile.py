"""Class 8: the CLI pays for nothing before the output is known to work, and never shows a
traceback for an expected failure, in text or in `--json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hostile_server import KEY, HostileServer, forward, hold, reply

from luma_tools.cli import EXIT_CODES
from luma_tools.simulator import LumaSimulator


def cli(
    *args: str, url: str, key: str = KEY, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LUMA_API_KEY": key, "LUMA_BASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "luma_tools.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert KEY not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "output",
    ["afile/clip.mp4", "existing.mp4", "/proc/luma-test/clip.mp4", "a_folder"],
    ids=["under-a-file", "exists", "proc", "is-a-folder"],
)
def test_generate_checks_the_output_before_paying(
    output: str, sim: LumaSimulator, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "existing.mp4").write_bytes(b"old")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_folder" / "clip.mp4").write_bytes(b"old")
    if output == "a_folder":
        output = "a_folder/clip.mp4"
    result = cli("generate", "a fox", "-o", output, url=sim.base_url, key=sim.api_key, cwd=tmp_path)
    assert result.returncode == EXIT_CODES["usage"], result.stderr
    clean(result)
    assert sim.count("create") == 0  # nothing was paid for
    if (
        output.endswith(("existing.mp4", "clip.mp4"))
        and "proc" not in output
        and "afile" not in output
    ):
        assert "--overwrite" in result.stderr
        assert "overwrite=True" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["status", "../etc"], "usage"),
        (["create", "a fox", "--aspect-ratio", "5:4"], "usage"),
        (["create", "a fox", "--image", "/no/such.png"], "usage"),
        (["wait", "task-1", "--timeout", "nan"], "usage"),
        (["wait", "task-1", "--timeout", "-1"], "usage"),
        (["status", "task-1", "--frobnicate"], "usage"),
        (["create", "a fox"], "error"),  # 404: the base URL is wrong
    ],
)
def test_expected_failures_are_one_line_in_text_and_json(
    args: list[str], code: str, hostile: HostileServer
) -> None:
    text = cli(*args, url=hostile.url)
    assert text.returncode == EXIT_CODES[code], text.stderr
    clean(text)
    assert text.stderr.startswith("luma-tools: error: ") or text.stderr.startswith("usage:")
    as_json = cli(*args, "--json", url=hostile.url)
    assert as_json.returncode == EXIT_CODES[code]
    clean(as_json)
    document = json.loads(as_json.stderr)
    assert document["error"]["exit_code"] == EXIT_CODES[code]
    assert document["error"]["message"]


def test_cli_messages_use_the_clis_words(hostile: HostileServer) -> None:
    result = cli(
        "create", "a fox", "--aspect-ratio", "16:9", "--image", "/no/such.png", url=hostile.url
    )
    assert "--image" in result.stderr
    assert "image_url" not in result.stderr
    result = cli("create", "a fox", url=hostile.url)  # 404 on create
    assert "LUMA_BASE_URL" in result.stderr
    assert "base_url=" not in result.stderr
    assert "task id" not in result.stderr
    hostile.script(
        "GET", "/luma/generations/task-1", reply(401, '{"error": {"message": "bad key"}}')
    )
    result = cli("status", "task-1", url=hostile.url)
    assert result.returncode == EXIT_CODES["auth"]
    assert "LUMA_API_KEY" in result.stderr
    assert "api_key=" not in result.stderr


def test_a_502_on_create_says_it_may_be_billed(hostile: HostileServer) -> None:
    hostile.script("POST", "/luma/generations", reply(502, "<title>Bad gateway</title>"))
    result = cli("create", "a fox", url=hostile.url)
    assert result.returncode == EXIT_CODES["ambiguous"]
    assert "may have been created and billed" in result.stderr
    assert "do not run the command again" in result.stderr
    clean(result)


def test_ctrl_c_during_create_is_ambiguous(hostile: HostileServer) -> None:
    release = threading.Event()
    hostile.script("POST", "/luma/generations", hold(release))
    env = {**os.environ, "LUMA_API_KEY": KEY, "LUMA_BASE_URL": hostile.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "luma_tools.cli", "create", "a paid fox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert hostile.held.wait(30)  # the request is on the server: it may be acted upon
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_CODES["ambiguous"], err
    assert "may have been created and billed" in err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert hostile.count("POST") == 1


def test_a_failed_download_of_a_completed_task_hints_download_not_wait(
    sim: LumaSimulator, hostile: HostileServer, tmp_path: Path
) -> None:
    # Reads pass through to the simulator, but the storage host serves a login page.
    hostile.script("GET", r"/luma/.*", forward(sim.base_url))
    hostile.script("POST", r"/luma/generations", forward(sim.base_url))
    sim.faults.server_error(times=100, status=503, route="file")
    result = cli(
        "generate",
        "a fox",
        "-o",
        "fox.mp4",
        "--timeout",
        "60",
        url=hostile.url,
        key=sim.api_key,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    clean(result)
    assert "-m luma_tools download" in result.stderr  # spelled to run as printed
    assert "-o fox.mp4" in result.stderr
    assert "luma_tools wait" not in result.stderr
