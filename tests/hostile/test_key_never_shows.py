"""Class 4: the key never shows, and is always sent where it belongs."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hostile_server import KEY, HostileServer, json_reply, reply

from luma_tools import (
    AuthenticationError,
    InsecureKeyWarning,
    InvalidInputError,
    LumaClient,
    LumaError,
    TaskFailedError,
)

ECHOES = [
    f"invalid token Bearer {KEY}",
    f"key {KEY.replace('-', '%2D')} rejected",  # URL-encoded
    f'{{"error": {{"message": "bad key", "param": "{KEY}"}}}}',
]


@pytest.mark.parametrize("echo", ECHOES)
def test_an_echoed_key_is_redacted_from_errors(
    echo: str, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("GET", "/luma/generations/task-1", reply(401, echo))
    with pytest.raises(AuthenticationError) as caught:
        hostile_client.get("task-1")
    text = f"{caught.value} {caught.value!r} {caught.value.message}"
    assert KEY not in text
    assert KEY.replace("-", "%2D") not in text


def test_an_echoed_key_is_redacted_from_tasks_and_logs(
    hostile: HostileServer, hostile_client: LumaClient, caplog: pytest.LogCaptureFixture
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        json_reply(
            200,
            {
                "id": "task-1",
                "state": "failed",
                "failure_reason": f"upstream said Bearer {KEY} is banned",
                "prompt": KEY,
            },
        ),
    )
    caplog.set_level(logging.DEBUG, logger="luma_tools")
    with pytest.raises(TaskFailedError) as caught:
        hostile_client.wait("task-1", timeout=5)
    task = caught.value.task
    everything = f"{caught.value} {task!r} {task.summary()} {task.raw} {caplog.text}"
    assert KEY not in everything
    assert "<redacted>" in everything


@pytest.mark.parametrize(
    "bad",
    [f"{KEY}\n# my comment", f"{KEY}\rjunk", f"{KEY}\x00", f"sk-\u00e9\u4e2d{KEY}", f"sk {KEY}"],
)
def test_a_key_with_invalid_characters_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        LumaClient(bad, "http://127.0.0.1:9")
    assert caught.value.field == "api_key"
    assert KEY not in str(caught.value)
    assert "position" in str(caught.value)


def test_the_cli_refuses_such_a_key_without_a_traceback(tmp_path: Path) -> None:
    env = {
        "LUMA_API_KEY": f"{KEY}\n# rotated 2026-11",
        "LUMA_BASE_URL": "http://127.0.0.1:9",
        "PATH": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "luma_tools.cli", "status", "task-1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert KEY not in result.stderr + result.stdout
    assert "LUMA_API_KEY" in result.stderr


@pytest.mark.parametrize(
    "spelling",
    [
        "HTTP://127.0.0.1:{port}",
        "http://LOCALHOST:{port}/",
        "http://127.0.0.1:{port}/./",
        "http://127.0.0.1:{port}/luma/",
    ],
)
def test_auth_attaches_whatever_the_base_url_spelling(
    spelling: str, hostile: HostileServer, make_hostile_client
) -> None:
    hostile.script(
        "GET", "/luma/generations/task-1", json_reply(200, {"id": "task-1", "state": "pending"})
    )
    client = make_hostile_client(spelling.format(port=hostile.port))
    client.get("task-1")
    assert hostile.received[-1].headers.get("Authorization") == f"Bearer {KEY}"


def test_auth_attaches_under_an_encoded_path_prefix(
    hostile: HostileServer, make_hostile_client
) -> None:
    hostile.script(
        "GET", "/~gw/luma/generations/task-1", json_reply(200, {"id": "task-1", "state": "pending"})
    )
    client = make_hostile_client(f"http://127.0.0.1:{hostile.port}/%7egw/")
    client.get("task-1")
    assert hostile.received[-1].headers.get("Authorization") == f"Bearer {KEY}"


def test_plain_http_to_a_remote_host_warns_once() -> None:
    with pytest.warns(InsecureKeyWarning, match="unencrypted"):
        LumaClient(KEY, "http://gateway.invalid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LumaClient(KEY, "http://gateway.invalid")  # once per origin
        LumaClient(KEY, "http://127.0.0.1:9")  # loopback: nothing to warn about
        LumaClient(KEY, "https://gateway.invalid")


def test_the_key_is_not_in_any_repr(hostile_client: LumaClient) -> None:
    assert KEY not in repr(hostile_client)
    assert KEY not in repr(hostile_client._auth)
    assert KEY not in repr(vars(hostile_client))
    assert isinstance(hostile_client.api_key.get_secret_value(), str)


def test_an_echoed_key_is_redacted_from_ambiguous_errors(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("POST", "/luma/generations", reply(502, f"<title>proxy rejected {KEY}</title>"))
    with pytest.raises(LumaError) as caught:
        hostile_client.create("a fox")
    assert KEY not in str(caught.value)
