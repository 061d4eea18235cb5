"""`luma-tools mcp` over stdio, driven by the official MCP Python client, on the simulator."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from luma_servers import stdio_session
from mcp import types
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from luma_tools.agent import MAX_CONTENT_CHARS, TOOL_SPECS
from luma_tools.simulator import LumaSimulator


def text_of(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


class Progress:
    """Collects the progress notifications of one call."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))


async def test_lists_the_four_tools_with_the_core_schemas(mcp_sim: LumaSimulator) -> None:
    async with stdio_session(mcp_sim) as session:
        listed = (await session.list_tools()).tools
    assert [tool.name for tool in listed] == [spec.name for spec in TOOL_SPECS]
    for tool, spec in zip(listed, TOOL_SPECS, strict=True):
        assert tool.description == spec.description
        assert tool.inputSchema == spec.input_schema
        assert tool.outputSchema == spec.output_schema
        assert tool.annotations is not None
        assert tool.annotations.idempotentHint is (not spec.paid)
        assert tool.annotations.readOnlyHint is spec.read_only
    create = listed[0]
    assert create.inputSchema["required"] == ["prompt"]
    assert create.annotations is not None
    assert create.annotations.readOnlyHint is False


async def test_create_query_with_progress_and_download(
    mcp_sim: LumaSimulator, tmp_path: Path
) -> None:
    async with stdio_session(mcp_sim, "--output-dir", str(tmp_path)) as session:
        created = await session.call_tool("luma_create_video", {"prompt": "a red fox in snow"})
        assert not created.isError
        assert created.structuredContent is not None
        task_id = created.structuredContent["id"]
        assert f'task_id="{task_id}"' in text_of(created)
        assert "luma_query_task" in text_of(created)

        progress = Progress()
        queried = await session.call_tool(
            "luma_query_task",
            {"task_id": task_id, "wait_seconds": 45},
            progress_callback=progress,
        )
        while not queried.isError and queried.structuredContent["state"] != "completed":
            queried = await session.call_tool(
                "luma_query_task",
                {"task_id": task_id, "wait_seconds": 45},
                progress_callback=progress,
            )
        assert "luma_download_video" in text_of(queried)
        assert progress.seen, "no progress notification"
        assert all(total == 45 for _, total, _ in progress.seen)
        assert all(task_id in (message or "") for _, _, message in progress.seen)

        saved = await session.call_tool(
            "luma_download_video", {"task_id": task_id, "filename": "fox"}
        )
        resources = (await session.list_resources()).resources
        read_back = await session.read_resource(AnyUrl((tmp_path / "fox.mp4").as_uri()))
        with pytest.raises(McpError, match="only the videos this server saved"):
            await session.read_resource(AnyUrl("file:///etc/passwd"))
    assert [(str(r.uri), r.mimeType) for r in resources] == [
        ((tmp_path / "fox.mp4").as_uri(), "video/mp4")
    ]
    (blob,) = read_back.contents
    assert isinstance(blob, types.BlobResourceContents)
    assert base64.b64decode(blob.blob) == (tmp_path / "fox.mp4").read_bytes()
    assert not saved.isError
    path = tmp_path / "fox.mp4"
    assert path.stat().st_size == mcp_sim.video_size
    assert saved.structuredContent == {
        "task": saved.structuredContent["task"],
        "path": str(path),
        "bytes": mcp_sim.video_size,
    }
    assert str(path) in text_of(saved)
    (link,) = [c for c in saved.content if isinstance(c, types.ResourceLink)]
    assert str(link.uri) == path.as_uri()
    assert (link.name, link.mimeType, link.size) == ("fox.mp4", "video/mp4", mcp_sim.video_size)
    assert mcp_sim.count("create") == 1


async def test_bounded_wait_reports_progress_ends_in_time_and_blocks_nothing(
    mcp_sim: LumaSimulator,
) -> None:
    mcp_sim.faults.stall_next_task()  # runs forever
    progress = Progress()
    finished: dict[str, float] = {}
    async with stdio_session(mcp_sim) as session:
        created = await session.call_tool("luma_create_video", {"prompt": "never ends"})
        assert created.structuredContent is not None
        task_id = created.structuredContent["id"]
        await session.call_tool("luma_query_task", {"task_id": task_id, "wait_seconds": 5})
        started = time.monotonic()

        async def long_wait() -> None:
            result = await session.call_tool(
                "luma_query_task",
                {"task_id": task_id, "wait_seconds": 4},
                progress_callback=progress,
            )
            finished["long"] = time.monotonic() - started
            assert not result.isError
            assert "running" in text_of(result)
            assert "wait_seconds=45" in text_of(result)

        async def quick_calls() -> None:
            await anyio.sleep(0.5)  # the long wait is under way
            await session.list_tools()
            done = mcp_sim.add_task(state="completed")
            await session.call_tool("luma_query_task", {"task_id": done, "wait_seconds": 0})
            finished["quick"] = time.monotonic() - started

        async with anyio.create_task_group() as group:
            group.start_soon(long_wait)
            group.start_soon(quick_calls)
    assert finished["quick"] < 2.5  # answered while the wait went on in its thread
    assert 3.5 < finished["long"] < 9  # the bound held
    assert len(progress.seen) >= 2
    values = [value for value, _, _ in progress.seen]
    assert values == sorted(values)  # MCP: progress grows...
    assert len(set(values)) == len(values)  # ...strictly


async def test_no_progress_token_no_notifications(mcp_sim: LumaSimulator) -> None:
    task_id = mcp_sim.add_task(state="pending")
    async with stdio_session(mcp_sim) as session:
        queried = await session.call_tool("luma_query_task", {"task_id": task_id})
    assert not queried.isError  # nothing went wrong without a progress callback


async def test_bad_id_is_an_error_result(mcp_sim: LumaSimulator) -> None:
    async with stdio_session(mcp_sim) as session:
        unknown = await session.call_tool("luma_query_task", {"task_id": "no-such-task"})
        hostile = await session.call_tool("luma_download_video", {"task_id": "../../etc"})
    assert unknown.isError
    assert text_of(unknown).startswith('No task with id "no-such-task". Check the id')
    assert unknown.structuredContent is None
    assert hostile.isError
    assert "task_id" in text_of(hostile)


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("luma_create_video", {"prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio: Input"),
    ("luma_create_video", {"aspect_ratio": "16:9"}, "prompt: Field required"),
    ("luma_query_task", {"task_id": "t", "wait_seconds": "soon"}, "wait_seconds:"),
    ("luma_query_task", {"task_id": "t", "wait_seconds": -5}, "wait_seconds:"),
    ("luma_download_video", {"task_id": "t", "filename": "a\x00.mp4"}, "filename:"),
    ("luma_download_video", {"task_id": "t", "filename": "f" * 300}, "filename:"),
    ("luma_create_video", {"prompt": "x", "image_url": "/etc/passwd"}, "image_url:"),
    ("luma_create_video", {"prompt": "x", "image_url": "a\x00.png"}, "image_url:"),
    ("luma_make_it_free", {}, "There is no tool named 'luma_make_it_free'"),
]


async def test_bad_arguments_are_error_results(mcp_sim: LumaSimulator) -> None:
    async with stdio_session(mcp_sim) as session:
        results = [
            (await session.call_tool(tool, args), expected) for tool, args, expected in BAD_CALLS
        ]
    for result, expected in results:
        text = text_of(result)
        assert result.isError, text
        assert expected in text, text
        assert "call the tool again" in text or "The Luma tools are" in text, text
        assert "Traceback" not in text, text
        assert "validation error" not in text.lower(), text
    assert mcp_sim.requests == []


async def test_max_creates_stops_the_model(mcp_sim: LumaSimulator) -> None:
    async with stdio_session(mcp_sim, "--max-creates", "1", "--price-per-video", "0.5") as s:
        first = await s.call_tool("luma_create_video", {"prompt": "one"})
        second = await s.call_tool("luma_create_video", {"prompt": "two"})
        source = mcp_sim.add_task(state="completed")
        third = await s.call_tool("luma_extend_video", {"task_id": source, "prompt": "three"})
    assert not first.isError
    assert "Estimated cost so far: 0.50 USD for 1 paid call." in text_of(first)
    for refused in (second, third):
        assert refused.isError
        assert "Spend limit reached: 1 paid call (about 0.50 USD) of at most 1" in text_of(refused)
        assert "ask the user" in text_of(refused)
    assert mcp_sim.count("create") == 1
    assert mcp_sim.count("extend") == 0


async def test_huge_failure_reason_stays_under_the_cap(mcp_sim: LumaSimulator) -> None:
    reason = "\x1b[31mFrame moderation failed: " + "very " * 40_000 + "bad"
    task_id = mcp_sim.add_task(state="failed", failure_reason=reason)
    async with stdio_session(mcp_sim) as session:
        result = await session.call_tool("luma_query_task", {"task_id": task_id})
    assert result.isError
    text = text_of(result)
    assert len(text) <= MAX_CONTENT_CHARS
    assert task_id in text
    assert "failed" in text
    assert "call luma_create_video again" in text
    assert "\x1b" not in text


async def test_lost_create_reply_is_ambiguous_never_a_retry(mcp_sim: LumaSimulator) -> None:
    mcp_sim.faults.reset_connection(times=1, route="create")
    async with stdio_session(mcp_sim) as session:
        result = await session.call_tool("luma_create_video", {"prompt": "x"})
    assert result.isError
    text = text_of(result)
    assert "may exist and be billed" in text
    assert "task log" in text
    assert "Do NOT call luma_create_video again" in text
    assert mcp_sim.count("create") == 1


async def test_local_images_only_from_the_image_dir(mcp_sim: LumaSimulator, tmp_path: Path) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
    )
    (tmp_path / "start.png").write_bytes(png)
    async with stdio_session(mcp_sim, "--image-dir", str(tmp_path)) as session:
        inside = await session.call_tool(
            "luma_create_video", {"prompt": "x", "image_url": "start.png"}
        )
        outside = await session.call_tool(
            "luma_create_video", {"prompt": "x", "image_url": "../start.png"}
        )
    assert not inside.isError, text_of(inside)
    assert outside.isError
    assert f"local images must be inside {tmp_path.resolve()}" in text_of(outside)
    (body,) = [r.json for r in mcp_sim.requests if r.route == "create"]
    assert body["image_url"].startswith("data:image/png;base64,")


async def test_a_slow_gateway_cannot_hold_a_query_past_its_bound(mcp_sim: LumaSimulator) -> None:
    task_id = mcp_sim.add_task(state="processing")
    async with stdio_session(mcp_sim) as session:
        mcp_sim.faults.delay_response(times=2, seconds=30, route="query")  # a stuck gateway
        started = time.monotonic()
        stuck = await session.call_tool("luma_query_task", {"task_id": task_id, "wait_seconds": 3})
        waited = time.monotonic() - started
        mcp_sim.faults.clear()
        after = await session.call_tool("luma_query_task", {"task_id": task_id, "wait_seconds": 0})
    assert waited < 8  # about the 3 s asked for, not the gateway's 30 s
    assert not stuck.isError
    text = text_of(stuck)
    assert f'Task "{task_id}" is still in an unknown state' in text
    assert "the gateway did not answer within 3 s" in text
    assert "Next: call luma_query_task" in text
    assert stuck.structuredContent == {"id": task_id, "state": "unknown"}
    assert not after.isError  # the server goes on serving
