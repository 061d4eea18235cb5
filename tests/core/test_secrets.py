"""The API key never appears in a repr, a log record, an exception or CLI output."""

from __future__ import annotations

import logging
import pickle
import traceback
from pathlib import Path

import pytest

from luma_tools import AmbiguousSubmitError, AuthenticationError, LumaClient, LumaError
from luma_tools.cli import main
from luma_tools.simulator import LumaSimulator

SECRET = "sk-live-TOPSECRET-0123456789abcdef"


@pytest.fixture
def secret_sim() -> LumaSimulator:
    with LumaSimulator(api_key=SECRET) as simulator:
        yield simulator  # type: ignore[misc]


def test_repr_and_state_hide_the_key(secret_sim: LumaSimulator) -> None:
    client = LumaClient(SECRET, secret_sim.base_url)
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert SECRET not in repr(client.api_key)
    assert SECRET not in repr(vars(client))
    assert SECRET not in repr(client._session.headers)  # set per request, never on the session
    client.close()


def test_debug_logs_of_a_whole_run_hide_the_key(
    secret_sim: LumaSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root: luma_tools, urllib3, everything
    secret_sim.faults.rate_limit(times=1, retry_after=0, route="query")
    secret_sim.faults.truncate_download(times=1)
    with LumaClient(SECRET, secret_sim.base_url) as client:
        task = client.create("log everything")
        client.wait(task, timeout=10)
        client.download(task.id, tmp_path / "v.mp4")
        with pytest.raises(AuthenticationError):
            LumaClient("wrong", secret_sim.base_url).get(task.id)
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name == "luma_tools" for r in caplog.records)
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


def test_exceptions_hide_the_key(secret_sim: LumaSimulator) -> None:
    errors: list[LumaError] = []
    secret_sim.faults.reset_connection(times=1, route="create")
    with LumaClient(SECRET, secret_sim.base_url) as client:
        try:
            client.create("reset")
        except AmbiguousSubmitError as exc:
            errors.append(exc)
    with LumaClient(SECRET + "x", secret_sim.base_url) as wrong:
        try:
            wrong.get("abc")
        except AuthenticationError as exc:
            errors.append(exc)
    assert len(errors) == 2
    for error in errors:
        text = "".join(traceback.format_exception(error))  # the whole chain, with causes
        assert SECRET not in text
        assert SECRET.encode() not in pickle.dumps(error)


def test_cli_output_hides_the_key(
    secret_sim: LumaSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--api-key", SECRET, "--base-url", secret_sim.base_url, "-v"]
    assert main([*base, "generate", "cli secret", "-o", str(tmp_path / "v.mp4")]) == 0
    with pytest.raises(SystemExit):
        main(["--api-key", "nope", "--base-url", secret_sim.base_url, "--json", "status", "a"])
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
