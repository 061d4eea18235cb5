"""The `luma-tools` CLI: every command, --json, exit codes, one-line errors, the demo."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from luma_tools import Journal
from luma_tools.cli import EXIT_CODES, main
from luma_tools.simulator import LumaSimulator


@pytest.fixture
def env(sim: LumaSimulator, monkeypatch: pytest.MonkeyPatch) -> LumaSimulator:
    monkeypatch.setenv("LUMA_API_KEY", sim.api_key)
    monkeypatch.setenv("LUMA_BASE_URL", sim.base_url)
    return sim


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_clean_line(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("luma-tools: error: ")
    assert "Traceback" not in err


def test_create_status_wait_download(
    env: LumaSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "create", "a cli cat", "--aspect-ratio", "1:1", "--no-expand-prompt", "--loop"
    )
    assert code == 0
    task_id = out.strip()
    assert f"-m luma_tools wait {task_id}" in err  # run in-process: spelled as `python -m`
    (request,) = [r for r in env.requests if r.route == "create"]
    assert request.json == {
        "user_prompt": "a cli cat",
        "aspect_ratio": "1:1",
        "expand_prompt": False,
        "loop": True,
    }

    code, out, _ = run(capsys, "status", task_id)
    assert code == 0
    assert f"task:    {task_id}" in out

    code, out, err = run(capsys, "wait", task_id, "--timeout", "20")
    assert code == 0
    assert "state:   completed" in out
    assert f"{task_id}  completed" in err  # progress lines (not a TTY here)

    code, out, _ = run(capsys, "download", task_id, "-o", str(tmp_path))
    assert code == 0
    saved = tmp_path / f"{task_id}.mp4"
    assert f"Saved {saved}" in out
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == env.video("1:1").sha256


def test_json_output(
    env: LumaSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "generate", "json please", "-o", str(tmp_path / "v.mp4"), "--json")
    assert code == 0
    assert err == ""  # no progress noise in JSON mode
    data = json.loads(out)
    assert data["task"]["state"] == "completed"
    assert data["bytes"] == env.video_size
    code, out, _ = run(capsys, "--json", "status", data["task"]["id"])
    assert json.loads(out)["id"] == data["task"]["id"]


def test_extend(env: LumaSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    source = env.add_task(state="completed")
    code, out, err = run(capsys, "extend", source, "and then it rains")
    assert code == 0
    assert out.strip() != source
    assert f"extending {source}" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (("create", "   "), "PROMPT: the prompt is blank"),
        (("create", "x", "--image", "/no/such.png"), "--image: file '/no/such.png'"),
        (("status", "../../etc"), "TASK_ID:"),
        (("create", "x", "--notify-hook", "nope"), "--notify-hook:"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: LumaSimulator, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], fragment: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == EXIT_CODES["usage"]
    assert_one_clean_line(err)
    assert fragment in err
    assert env.requests == []


def test_argparse_rejects_bad_choices(
    env: LumaSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "create", "x", "--aspect-ratio", "2:1")
    assert code == 2
    assert "invalid choice" in err


def test_expected_failures_have_their_exit_codes(
    env: LumaSimulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env.faults.fail_next_task(reason="Contains blacklisted words")
    code, _, err = run(capsys, "generate", "bad words", "-o", str(tmp_path / "a.mp4"))
    assert code == EXIT_CODES["task_failed"]
    assert "Contains blacklisted words" in err
    assert "Traceback" not in err

    env.faults.stall_next_task()
    code, _, err = run(
        capsys, "generate", "stuck", "-o", str(tmp_path / "b.mp4"), "--timeout", "0.5"
    )
    assert code == EXIT_CODES["timeout"]
    assert "luma-tools: error: Task " in err
    # The journal knows where the video was headed: `resume ID` waits and saves it there.
    assert "to wait for it and save the video: " in err
    assert " resume " in err.rsplit("save the video: ", 1)[1]

    env.faults.quota_exhausted()
    code, _, err = run(capsys, "create", "costly")
    assert code == EXIT_CODES["auth"]
    assert_one_clean_line(err)

    env.faults.reset_connection(route="create")
    code, _, err = run(capsys, "create", "lost reply")
    assert code == EXIT_CODES["ambiguous"]
    assert_one_clean_line(err)

    monkeypatch.setenv("LUMA_API_KEY", "wrong")
    code, _, err = run(capsys, "status", "abc")
    assert code == EXIT_CODES["auth"]
    assert_one_clean_line(err)
    assert "LUMA_API_KEY" in err


def test_existing_output_is_refused(
    env: LumaSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "exists.mp4"
    target.write_bytes(b"keep")
    code, _, err = run(capsys, "generate", "x", "-o", str(target))
    assert code == EXIT_CODES["usage"]
    assert "--overwrite" in err
    assert env.count("create") == 0  # refused before spending money


def test_json_errors(env: LumaSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--json", "status", "00000000-dead-beef")
    assert code == EXIT_CODES["error"]
    assert out == ""
    error = json.loads(err)["error"]
    assert error["type"] == "NotFoundError"
    assert error["exit_code"] == code


def test_missing_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUMA_API_KEY", raising=False)
    monkeypatch.delenv("LUMA_BASE_URL", raising=False)
    code, _, err = run(capsys, "status", "abc")
    assert code == EXIT_CODES["usage"]
    assert_one_clean_line(err)
    assert "LUMA_API_KEY" in err


def test_demo_as_a_user_runs_it(tmp_path: Path) -> None:
    """The Quickstart's first command, through the real console script."""
    script = Path(sys.executable).parent / "luma-tools"
    result = subprocess.run(
        [str(script), "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LUMA_API_KEY": "", "LUMA_TOOLS_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 0, result.stderr
    # The demo's task dies with its simulator: it is not a job of the user's journal.
    assert Journal(tmp_path / "home" / "journal.sqlite3").jobs() == []
    video = tmp_path / "luma-demo.mp4"
    assert video.read_bytes()[4:8] == b"ftyp"  # a real MP4
    assert f"Saved {video.name}" in result.stdout or "luma-demo.mp4" in result.stdout
    assert "simulator" in result.stderr
    assert not list(tmp_path.glob("*.part"))
    # a second run replaces the demo file instead of failing
    again = subprocess.run(
        [str(script), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
