"""The agent core (`luma_tools.agent`): bounded texts, untrusted replies, folder rules, guard.

Everything here goes through `AgentTools.run`, the one entry both adapters use, against the
simulator or a scripted hostile gateway over loopback HTTP.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from luma_tools import LumaClient
from luma_tools import _exceptions as errors
from luma_tools._models import Task
from luma_tools.agent import (
    MAX_CONTENT_CHARS,
    PAID_TOOLS,
    TOOL_SPECS,
    AgentTools,
    SpendGuard,
    SpendLimitError,
    ToolResult,
    describe_paid_call,
)
from luma_tools.agent._messages import describe_error
from luma_tools.simulator import LumaSimulator

if TYPE_CHECKING:  # the fixture's type; conftest modules are not importable by name
    from conftest import ScriptedGateway

HUGE = 200_000
INVISIBLE = [chr(c) for c in range(32)] + ["\x7f", "\x9b", "\u202e", "\u2066", "\u200b"]


def assert_bounded(result: ToolResult) -> None:
    """A result a model can read: short, one line of visible characters."""
    assert len(result.content) <= MAX_CONTENT_CHARS, len(result.content)
    assert not [c for c in INVISIBLE if c in result.content], repr(result.content[:200])


def never_invites_a_second_paid_call(text: str) -> bool:
    lowered = text.lower()
    stops = "do not call" in lowered or "do not retry" in lowered
    return stops and "again in a minute" not in lowered


# -- the 1,000-character cap and untrusted gateway text --------------------------------------


def test_huge_failure_reason_from_the_simulator_is_capped() -> None:
    with LumaSimulator(queue_seconds=0.1, run_seconds=0.2) as sim:
        reason = "\x1b[31mFrame moderation failed\u202e " + "because " * (HUGE // 8)
        sim.faults.fail_next_task(reason)
        tools = AgentTools(LumaClient(sim.api_key, sim.base_url))
        created = tools.run("luma_create_video", {"prompt": "a storm at sea"})
        task_id = created.data["id"] if created.data else ""
        queried = tools.run("luma_query_task", {"task_id": task_id, "wait_seconds": 10})
        while not queried.is_error and queried.data and queried.data["state"] != "failed":
            queried = tools.run("luma_query_task", {"task_id": task_id, "wait_seconds": 10})
        tools.client.close()
    assert queried.is_error
    assert_bounded(queried)
    assert task_id in queried.content
    assert "failed" in queried.content
    assert "Frame moderation failed" in queried.content
    assert "call luma_create_video again" in queried.content  # the next step survives


def test_every_tool_result_is_bounded_against_a_hostile_gateway(
    gateway: ScriptedGateway, gateway_client: LumaClient, tmp_path: Path
) -> None:
    gateway.answer(
        "create",
        {
            "id": "task-1",
            "state": "pending\x1b[2J",
            "prompt": "echo " * (HUGE // 5),
            "video": {"url": "https://cdn.example/" + "v" * HUGE},
            "estimate_wait_seconds": 1e20,
        },
    )
    gateway.answer(
        "query",
        {
            "id": "task-1",
            "state": "failed",
            "failure_reason": "\x00\x07\u2066" + "no " * (HUGE // 3),
        },
    )
    tools = AgentTools(gateway_client, output_dir=tmp_path)
    created = tools.run("luma_create_video", {"prompt": "x"})
    queried = tools.run("luma_query_task", {"task_id": "task-1", "wait_seconds": 0})
    for result in (created, queried):
        assert_bounded(result)
        assert '"task-1"' in result.content
        assert "Next:" in result.content or "call luma_create_video again" in result.content
    assert "queued" in created.content or "unknown" in created.content
    assert created.data is not None
    # The structured result is bounded too: no 200 KB echo, no 200 KB "link".
    assert len(json.dumps(created.data)) < 10_000
    assert "video_url" not in created.data


def test_a_reply_with_an_unusable_id_is_an_ambiguous_create(
    gateway: ScriptedGateway, gateway_client: LumaClient
) -> None:
    gateway.answer("create", {"id": "x" * 5000, "state": "pending"})
    guard = SpendGuard(max_creates=5)
    result = AgentTools(gateway_client, guard=guard).run("luma_create_video", {"prompt": "x"})
    assert result.is_error
    assert_bounded(result)
    assert "may exist and be billed" in result.content
    assert "task log" in result.content
    assert never_invites_a_second_paid_call(result.content)
    assert guard.used == 1  # it may have been billed


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, "<html><body><h1>502 Bad Gateway</h1>" + "x" * HUGE + "</body></html>", "text/html"),
        (500, {"error": {"message": "upstream exploded " * 10_000}}, ""),
        (200, "not json at all " * 1000, "text/plain"),
    ],
    ids=["html-502", "json-500", "not-json"],
)
def test_a_create_without_a_proof_of_refusal_is_ambiguous(
    gateway: ScriptedGateway,
    gateway_client: LumaClient,
    status: int,
    body: Any,
    content_type: str,
) -> None:
    gateway.answer("create", body, status=status, content_type=content_type)
    result = AgentTools(gateway_client).run("luma_create_video", {"prompt": "x"})
    assert result.is_error
    assert_bounded(result)
    assert "may exist and be billed" in result.content
    assert "Do NOT call luma_create_video again" in result.content
    assert never_invites_a_second_paid_call(result.content)
    assert gateway.count("create") == 1


def test_a_huge_gateway_refusal_is_capped(
    gateway: ScriptedGateway, gateway_client: LumaClient
) -> None:
    gateway.answer("create", {"error": {"message": "\x1b[1mbad " * HUGE}}, status=400)
    result = AgentTools(gateway_client).run("luma_create_video", {"prompt": "x"})
    assert result.is_error
    assert_bounded(result)


class _FutureError(errors.LumaError):
    """A LumaError subclass the tools do not know yet (the core adds some)."""


def _task(task_id: str = "t-1", state: str = "failed") -> Task:
    return Task.from_payload({"id": task_id, "state": state, "failure_reason": "r" * HUGE})


ERRORS: list[errors.LumaError] = [
    errors.InvalidInputError("prompt", "p" * HUGE, hint="h" * HUGE),
    errors.AuthenticationError("k" * HUGE, status_code=401),
    errors.QuotaError("q" * HUGE, status_code=402),
    errors.RateLimitError("r" * HUGE, retry_after=1e12),
    errors.NotFoundError("n" * HUGE, status_code=404, task_id="t" * 500),
    errors.NotFoundError("n" * HUGE, status_code=404),
    errors.BadRequestError("b" * HUGE, status_code=400),
    errors.ServerError("s" * HUGE, status_code=502, task_id="t-1"),
    errors.LumaConnectionError("c" * HUGE),
    errors.AmbiguousSubmitError("a" * HUGE, task_id="t-1"),
    errors.TaskFailedError(_task()),
    errors.TaskNotReadyError(_task(state="processing")),
    errors.DestinationExistsError("d" * HUGE, task_id="t-1"),
    errors.DestinationError("p" * HUGE, path="/x", task_id="t-1"),
    errors.RedirectError("r" * HUGE, location="https://elsewhere.example/" + "l" * HUGE),
    errors.AmbiguousSubmitError(
        "lost " * HUGE, request_id="rid-" + "9" * HUGE, task_id="t-2", extends="t-1"
    ),
    errors.WaitTimeoutError("t-1", None, None, waited=3),
    SpendLimitError(3, 3, "1.20 USD"),
    _FutureError("f\x1b" * HUGE, hint="do something"),
]


@pytest.mark.parametrize("tool", [spec.name for spec in TOOL_SPECS])
@pytest.mark.parametrize("exc", ERRORS, ids=[type(e).__name__ for e in ERRORS])
def test_every_error_text_is_bounded_and_says_what_next(exc: errors.LumaError, tool: str) -> None:
    text = describe_error(exc, tool=tool)
    assert_bounded(ToolResult(text, is_error=True))
    assert text.rstrip().endswith((".", "!"))
    if tool in PAID_TOOLS and isinstance(
        exc, errors.AmbiguousSubmitError | errors.ServerError | errors.RedirectError | _FutureError
    ):
        assert never_invites_a_second_paid_call(text), text


def test_a_failed_task_text_keeps_id_state_and_next_step() -> None:
    text = describe_error(errors.TaskFailedError(_task("abc-123")), tool="luma_query_task")
    assert '"abc-123"' in text
    assert "failed" in text
    assert "Rephrase the prompt" in text


# -- arguments a model chose -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"task_id": "abc", "filename": "fox\x00.mp4"}, "filename"),
        ({"task_id": "abc", "filename": "f" * 300}, "filename"),
        ({"task_id": "abc", "filename": "é" * 130}, "filename"),  # 260 bytes of UTF-8
        ({"task_id": "abc", "filename": "../../etc/evil.mp4"}, "filename"),
        ({"task_id": "abc", "filename": "sub\\evil"}, "filename"),
    ],
    ids=["nul", "too-long", "too-many-bytes", "folders", "backslash"],
)
def test_bad_file_names_are_field_errors(
    sim: LumaSimulator, client: LumaClient, tmp_path: Path, arguments: dict[str, Any], field: str
) -> None:
    result = AgentTools(client, output_dir=tmp_path).run("luma_download_video", arguments)
    assert result.is_error
    assert result.content.startswith(f"Invalid arguments: {field}:")
    assert "unexpectedly" not in result.content
    assert sim.requests == []
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "image", ["start\x00.png", "https://ok.example/a.png\x00", "x/" * 3000 + "a.png"]
)
def test_bad_image_paths_are_field_errors(
    sim: LumaSimulator, client: LumaClient, tmp_path: Path, image: str
) -> None:
    result = AgentTools(client, image_dir=tmp_path).run(
        "luma_create_video", {"prompt": "x", "image_url": image}
    )
    assert result.is_error
    assert "image_url" in result.content
    assert "unexpectedly" not in result.content
    assert sim.count("create") == 0


def test_local_images_need_an_image_dir(sim: LumaSimulator, client: LumaClient) -> None:
    result = AgentTools(client, image_dir=None).run(
        "luma_create_video", {"prompt": "x", "image_url": "cat.png"}
    )
    assert result.is_error
    assert "local image files are not allowed here" in result.content
    assert sim.requests == []


def test_unknown_tool_is_an_error_result(client: LumaClient) -> None:
    result = AgentTools(client).run("luma_delete_everything", {})
    assert result.is_error
    assert "luma_create_video" in result.content


# -- the spend guard ---------------------------------------------------------------------------


def test_guard_refuses_past_the_limit_without_sending(
    sim: LumaSimulator, client: LumaClient
) -> None:
    guard = SpendGuard(max_creates=2, price_per_video=0.4)
    tools = AgentTools(client, guard=guard)
    first = tools.run("luma_create_video", {"prompt": "one"})
    source = first.data["id"] if first.data else ""
    sim_task = sim.add_task(state="completed")
    second = tools.run("luma_extend_video", {"task_id": sim_task, "prompt": "two"})
    third = tools.run("luma_create_video", {"prompt": "three"})
    assert not first.is_error
    assert not second.is_error
    assert source
    assert "Estimated cost so far: 0.80 USD for 2 paid calls" in second.content
    assert third.is_error
    assert "Spend limit reached: 2 paid calls (about 0.80 USD) of at most 2" in third.content
    assert "ask the user" in third.content
    assert sim.count("create") + sim.count("extend") == 2
    assert (guard.used, guard.remaining) == (2, 0)


def test_guard_counts_only_what_may_have_been_billed(make_client: Any) -> None:
    with LumaSimulator() as sim:
        guard = SpendGuard(max_creates=1)
        tools = AgentTools(make_client(sim), guard=guard)
        sim.faults.rate_limit(times=1, retry_after=1, route="create")
        assert "rate limiting" in tools.run("luma_create_video", {"prompt": "x"}).content
        assert (
            "aspect_ratio"
            in tools.run("luma_create_video", {"prompt": "x", "aspect_ratio": "2:1"}).content
        )
        sim.faults.quota_exhausted(route="create")
        assert "quota" in tools.run("luma_create_video", {"prompt": "x"}).content
        assert guard.used == 0  # refusals prove nothing was created
        sim.faults.reset_connection(times=1, route="create")
        lost = tools.run("luma_create_video", {"prompt": "x"})
        assert "may exist and be billed" in lost.content
        assert guard.used == 1  # a lost reply may have been billed
        assert "Spend limit" in tools.run("luma_create_video", {"prompt": "x"}).content


def test_guard_holds_against_parallel_calls(sim: LumaSimulator, client: LumaClient) -> None:
    tools = AgentTools(client, guard=SpendGuard(max_creates=3))
    results: list[ToolResult] = []
    start = threading.Barrier(8)

    def create(n: int) -> None:
        start.wait()
        results.append(tools.run("luma_create_video", {"prompt": f"video {n}"}))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(not r.is_error for r in results) == 3
    assert sum("Spend limit" in r.content for r in results) == 5
    assert sim.count("create") == 3


@pytest.mark.parametrize(
    "settings",
    [{"max_creates": -1}, {"price_per_video": float("nan")}, {"price_per_video": -1.0}],
)
def test_guard_settings_are_checked(settings: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidInputError):
        SpendGuard(**settings)


def test_approval_text_shows_prompt_options_and_cost() -> None:
    guard = SpendGuard(max_creates=3, price_per_video=0.4, currency="EUR")
    text = describe_paid_call(
        "luma_extend_video",
        {"task_id": "t-1", "prompt": "then it flies\x1b[2J", "loop": True, "duration": None},
        guard,
    )
    assert "Continues task: t-1" in text
    assert "Prompt: then it flies[2J" in text
    assert "Options: loop=True" in text
    assert "Estimated cost: 0.40 EUR" in text
    assert "0 paid calls so far, limit 3" in text
    assert "\x1b" not in text


# -- schemas -----------------------------------------------------------------------------------


def test_schemas_have_descriptions_and_no_titles() -> None:
    for spec in TOOL_SPECS:
        schema = spec.input_schema
        assert "title" not in schema
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{spec.name}.{name}"
            assert "title" not in prop
        assert spec.output_schema["type"] == "object"
    assert TOOL_SPECS[0].input_schema["required"] == ["prompt"]


def test_only_a_bounded_wait_may_be_cut_short(client: LumaClient) -> None:
    tools = AgentTools(client)
    assert tools.time_limit("luma_query_task", {"task_id": "t"}) == 40  # 30 s + grace
    assert tools.time_limit("luma_query_task", {"task_id": "t", "wait_seconds": 999}) == 55
    assert tools.time_limit("luma_query_task", {"task_id": "t", "wait_seconds": "x"}) is None
    for paid_or_own_deadline in ("luma_create_video", "luma_extend_video", "luma_download_video"):
        assert tools.time_limit(paid_or_own_deadline, {"task_id": "t", "prompt": "p"}) is None


def test_ambiguous_text_says_how_to_find_the_task() -> None:
    error = errors.AmbiguousSubmitError(
        "The create request (prompt 'a fox') was sent at 18:52:23 UTC but no reply came back",
        request_id="cf-ray-8f1d",
    )
    text = describe_error(error, tool="luma_create_video")
    assert "prompt 'a fox'" in text
    assert "18:52:23 UTC" in text
    assert "gateway request id cf-ray-8f1d" in text
    assert "task log" in text
    assert "Do NOT call luma_create_video again" in text
    revealed = errors.AmbiguousSubmitError("The reply was cut short", task_id="t-9")
    assert 'call luma_query_task with task_id="t-9"' in describe_error(
        revealed, tool="luma_create_video"
    )


@pytest.mark.parametrize(
    ("status", "counted", "expected"),
    [(308, False, "Nothing was created"), (302, True, "may exist and be billed")],
    ids=["permanent-refused", "found-ambiguous"],
)
def test_a_redirected_create_is_never_replayed(
    gateway: ScriptedGateway, gateway_client: LumaClient, status: int, counted: bool, expected: str
) -> None:
    gateway.answer("create", "", status=status, content_type="text/plain")
    gateway.replies["create"].headers = {"Location": "https://elsewhere.example/luma/generations"}
    guard = SpendGuard(max_creates=3)
    result = AgentTools(gateway_client, guard=guard).run("luma_create_video", {"prompt": "x"})
    assert result.is_error
    assert expected in result.content
    assert never_invites_a_second_paid_call(result.content)
    assert gateway.count("create") == 1
    assert guard.used == int(counted)
