"""Class 3: gateway replies are untrusted input (ids, timestamps, nesting, size, encoding, text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import HostileServer, json_reply, reply, slow_body

from luma_tools import AmbiguousSubmitError, LumaClient, LumaError, ServerError, TaskFailedError
from luma_tools.simulator import LumaSimulator

DONE = {"state": "completed"}


@pytest.mark.parametrize(
    "evil", ["../../x", "/etc/passwd", "..\\..\\x", "a/b", "", "x" * 200, "id\x00", "café/../x"]
)
def test_an_unusable_id_from_create_is_ambiguous_not_a_file_name(
    evil: str, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("POST", "/luma/generations", json_reply(200, {"id": evil, "state": "pending"}))
    with pytest.raises(AmbiguousSubmitError, match="usable task"):
        hostile_client.create("a fox")


def test_a_get_answering_for_another_id_cannot_name_a_file(
    sim: LumaSimulator, hostile: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    # The gateway answers GET /task-1 with a completed task whose id is a path.
    real = sim.add_task(state="completed")
    video = json.loads(
        __import__("requests")
        .get(
            f"{sim.base_url}/luma/generations/{real}",
            headers={"Authorization": f"Bearer {sim.api_key}"},
            timeout=5,
        )
        .text
    )["video"]["download_url"]
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200, {"id": "../../escaped", "state": "completed", "video": {"download_url": video}}
        ),
    )
    folder = tmp_path / "videos"
    path = hostile_client.download("task-1", f"{folder}/")
    assert path == folder / "task-1.mp4"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["task-1.mp4"]


@pytest.mark.parametrize(
    ("created_at", "year"),
    [
        (1733312345678, 2024),  # epoch milliseconds
        (1733312345, 2024),  # seconds
        (1733312345678901, 2024),  # microseconds
        ("1733312345678", 2024),  # milliseconds as text
        ("2024-12-04T11:39:05.678Z", 2024),
        (1e20, None),
        (-5, None),
        ("0001-01-01T00:00:00Z", None),
        ("next tuesday", None),
        ({"nested": True}, None),
        (True, None),
    ],
)
def test_any_timestamp_parses_or_becomes_none(
    created_at: object, year: int | None, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "POST",
        "/luma/generations",
        json_reply(200, {"id": "task-1", "state": "pending", "created_at": created_at}),
    )
    task = hostile_client.create("a fox")  # a bad field never costs the task
    assert task.id == "task-1"
    assert (task.created_at.year if task.created_at else None) == year


def test_odd_numbers_never_cost_the_task(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    body = (
        '{"id": "task-1", "state": "processing", "estimate_wait_seconds": 1e400, '
        '"created_at": 1e999}'
    )
    hostile.script(
        "GET", "/luma/generations/task-1", reply(200, body, content_type="application/json")
    )
    task = hostile_client.get("task-1")
    assert task.estimate_wait_seconds is None
    assert task.created_at is None


def test_wait_finishes_on_a_gateway_sending_epoch_milliseconds(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200,
            {
                "id": "task-1",
                "state": "completed",
                "created_at": 1733312345678,
                "video": {"url": "https://cdn.example/v.mp4"},
            },
        ),
    )
    assert hostile_client.wait("task-1", timeout=5).video_url == "https://cdn.example/v.mp4"


def test_deeply_nested_json_is_a_clean_error(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    hostile.script(
        "GET", "/luma/generations/task-1", reply(200, deep, content_type="application/json")
    )
    with pytest.raises(ServerError) as caught:
        hostile_client.get("task-1")
    assert caught.value.task_id == "task-1"
    hostile.script("POST", "/luma/generations", reply(200, deep, content_type="application/json"))
    with pytest.raises(AmbiguousSubmitError):
        hostile_client.create("a fox")
    error_body = '{"error": ' * 5000 + '"x"' + "}" * 5000
    hostile.script(
        "GET", "/luma/generations/task-2", reply(400, error_body, content_type="application/json")
    )
    with pytest.raises(LumaError) as caught:
        hostile_client.get("task-2")
    assert caught.value.task_id == "task-2"


def test_non_utf8_replies_are_read(hostile: HostileServer, hostile_client: LumaClient) -> None:
    body = '{"id": "task-1", "state": "processing", "prompt": "caf\xe9 \xff"}'.encode("latin-1")
    hostile.script(
        "GET", "/luma/generations/task-1", reply(200, body, content_type="application/json")
    )
    task = hostile_client.get("task-1")
    assert task.prompt is not None
    assert task.prompt.startswith("caf")


def test_a_huge_reply_is_cut_off_and_memory_stays_flat(tmp_path: Path) -> None:
    # In a fresh process, so the peak resident size measures this download alone.
    script = tmp_path / "huge.py"
    script.write_text(
        """
import resource, sys
sys.path.insert(0, sys.argv[1])
from hostile_server import HostileServer, reply
from luma_tools import LumaClient, ServerError
body = b'{"id": "task-1", "pad": "' + b"x" * (200 << 20) + b'"}'
with HostileServer() as server:
    server.script(
        "GET", "/luma/generations/task-1", reply(200, body, content_type="application/json")
    )
    client = LumaClient("sk-hostile-test-key-0123456789", server.url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        client.get("task-1")
    except ServerError as exc:
        print("error", exc.task_id)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("growth_mb", (after - before) // 1024)
"""
    )
    result = subprocess.run(
        [sys.executable, str(script), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "error task-1" in result.stdout, result.stderr[-2000:]
    growth = int(result.stdout.split("growth_mb")[1])
    assert growth < 64, f"reading a 200 MB reply grew the process by {growth} MB"


def test_a_gateways_200k_failure_reason_is_capped(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    reason = "moderation failed " * 12_000
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(200, {"id": "task-1", "state": "failed", "failure_reason": reason}),
    )
    with pytest.raises(TaskFailedError) as caught:
        hostile_client.wait("task-1", timeout=5)
    assert len(str(caught.value)) < 800
    assert caught.value.failure_reason is not None
    assert len(caught.value.failure_reason) <= 500


def test_control_characters_from_the_gateway_never_reach_a_message(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    reason = "bad \x1b[2J\x1b]0;pwned\x07 frame \u202eevil"
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(200, {"id": "task-1", "state": "failed", "failure_reason": reason}),
    )
    with pytest.raises(TaskFailedError) as caught:
        hostile_client.wait("task-1", timeout=5)
    text = str(caught.value)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    hostile.script("GET", "/luma/generations/task-2", reply(503, "<title>\x1b[31mdown</title>"))
    with pytest.raises(ServerError) as error:
        hostile_client.get("task-2")
    assert "\x1b" not in str(error.value)


def test_a_video_link_that_is_not_http_is_dropped(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200, {"id": "task-1", "state": "completed", "video": {"url": "file:///etc/passwd"}}
        ),
    )
    assert hostile_client.get("task-1").video_url is None


def test_a_trickling_reply_is_bounded_by_the_deadline(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    import time

    hostile.script(
        "GET",
        "/luma/generations/task-1",
        slow_body(b'{"id": "task-1", "state": "processing"}', interval=0.4),
    )
    started = time.monotonic()
    with pytest.raises(LumaError):
        hostile_client.get("task-1", deadline=time.monotonic() + 1.0)
    assert time.monotonic() - started < 2.0
