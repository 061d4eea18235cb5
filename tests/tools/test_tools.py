"""The four tools against the simulator: what the model reads, errors it can act on, progress."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from luma_tools import LumaClient, LumaToolkit
from luma_tools.simulator import LumaSimulator

if TYPE_CHECKING:  # the fixture's type; conftest modules are not importable by name
    from conftest import LoopWatch
from luma_tools.tools import (
    PROGRESS_EVENT,
    LumaCreateVideo,
    LumaDownloadVideo,
    LumaExtendVideo,
    LumaQueryTask,
)

MakeClient = Callable[..., LumaClient]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def call(tool: BaseTool, **args: Any) -> ToolMessage:
    """Invoke like an agent does: with a ToolCall, getting a ToolMessage back."""
    message = tool.invoke({"name": tool.name, "args": args, "id": "call_1", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    return message


@pytest.fixture
def tools(client: LumaClient, tmp_path: Path) -> dict[str, BaseTool]:
    return {t.name: t for t in LumaToolkit(client=client, output_dir=tmp_path).get_tools()}


# -- schemas ---------------------------------------------------------------------------------


def test_openai_schemas_describe_every_argument(tools: dict[str, BaseTool]) -> None:
    assert list(tools) == [
        "luma_create_video",
        "luma_extend_video",
        "luma_query_task",
        "luma_download_video",
    ]
    for tool in tools.values():
        function = convert_to_openai_tool(tool)["function"]
        assert 150 < len(function["description"]) < 600
        assert "luma_" in function["description"]  # says which tool comes next
        params = function["parameters"]
        assert params["properties"], tool.name
        for name, schema in params["properties"].items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
            assert "title" not in schema
        leaked = {"client", "output_dir", "image_dir", "max_wait_seconds", "run_manager", "api_key"}
        assert not leaked & set(params["properties"]), tool.name
    create = convert_to_openai_tool(tools["luma_create_video"])["function"]["parameters"]
    assert create["required"] == ["prompt"]
    ratios = create["properties"]["aspect_ratio"]["anyOf"][0]["enum"]
    assert set(ratios) == {"16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"}
    extend = convert_to_openai_tool(tools["luma_extend_video"])["function"]["parameters"]
    assert extend["required"] == ["task_id", "prompt"]
    query = convert_to_openai_tool(tools["luma_query_task"])["function"]["parameters"]
    assert query["required"] == ["task_id"]
    assert query["properties"]["wait_seconds"]["default"] == 30


# -- the happy path, as the model reads it ---------------------------------------------------


def test_create_query_download_contents(
    tools: dict[str, BaseTool], sim: LumaSimulator, tmp_path: Path
) -> None:
    created = call(tools["luma_create_video"], prompt="a red fox in snow", aspect_ratio="16:9")
    assert created.status == "success"
    task_id = created.artifact["id"]
    assert f'task_id="{task_id}"' in created.content
    assert "luma_query_task" in created.content
    assert sim.count("create") == 1

    queried = call(tools["luma_query_task"], task_id=task_id, wait_seconds=45)
    while "completed" not in queried.content:  # at most a few state changes
        queried = call(tools["luma_query_task"], task_id=task_id, wait_seconds=45)
    assert queried.artifact["state"] == "completed"
    assert queried.artifact["video_url"].startswith("http")
    assert "luma_download_video" in queried.content

    saved = call(tools["luma_download_video"], task_id=task_id, filename="fox")
    assert saved.status == "success"
    path = Path(saved.artifact["path"])
    assert path == (tmp_path / "fox.mp4").resolve()
    assert saved.artifact["bytes"] == path.stat().st_size == sim.video_size
    assert str(path) in saved.content
    for message in (created, queried, saved):
        assert len(message.content) < 1000
        assert "base64" not in message.content
        assert "X-Amz-Signature" not in message.content  # long signed links stay in the artifact


def test_a_data_uri_image_never_reaches_the_content(tools: dict[str, BaseTool]) -> None:
    data_uri = "data:image/png;base64," + base64.b64encode(PNG * 200).decode()
    created = call(tools["luma_create_video"], prompt="animate this", image_url=data_uri)
    assert created.status == "success"
    assert "base64" not in created.content
    assert len(created.content) < 1000


def test_local_image_path_is_sent_inline(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    (tmp_path / "start.png").write_bytes(PNG)
    create = LumaCreateVideo(client=client, image_dir=tmp_path)
    assert call(create, prompt="x", image_url="start.png").status == "success"
    body = next(r.json for r in sim.requests if r.route == "create")
    assert body["image_url"].startswith("data:image/png;base64,")


def test_local_images_outside_the_image_dir_are_refused(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    (tmp_path / "private.png").write_bytes(PNG)
    allowed = tmp_path / "shared"
    allowed.mkdir()
    create = LumaCreateVideo(client=client, image_dir=allowed)
    for sneaky in (str(tmp_path / "private.png"), "../private.png"):
        message = call(create, prompt="x", image_url=sneaky)
        assert message.status == "error"
        assert f"local images must be inside {allowed.resolve()}" in message.content
    assert sim.requests == []


def test_extend_links_to_the_source(tools: dict[str, BaseTool], sim: LumaSimulator) -> None:
    source = sim.add_task(state="completed")
    extended = call(tools["luma_extend_video"], task_id=source, prompt="then it flies away")
    assert extended.status == "success"
    assert extended.artifact["extends"] == source
    assert extended.artifact["id"] != source
    assert f'task_id="{extended.artifact["id"]}"' in extended.content
    assert any(r.route == "extend" and source in r.path for r in sim.requests)


# -- bounded waiting -------------------------------------------------------------------------


def test_query_returns_on_the_first_state_change(make_client: MakeClient, tmp_path: Path) -> None:
    with LumaSimulator(queue_seconds=0.5, run_seconds=30, estimate=False) as sim:
        query = LumaQueryTask(client=make_client(sim))
        task_id = sim.add_task(state="pending")
        started = time.monotonic()
        message = call(query, task_id=task_id, wait_seconds=45)
        assert time.monotonic() - started < 5  # the change (pending -> processing) ends it
        assert message.artifact["state"] == "running"
        assert "luma_query_task" in message.content


def test_query_budget_runs_out_with_id_and_state(make_client: MakeClient) -> None:
    with LumaSimulator() as sim:
        sim.faults.stall_next_task()
        client = make_client(sim)
        task_id = client.create("never ends").id
        query = LumaQueryTask(client=client, max_wait_seconds=0.5)
        started = time.monotonic()
        message = call(query, task_id=task_id, wait_seconds=1000)  # capped, not refused
        assert time.monotonic() - started < 3
        assert message.status == "success"
        assert task_id in message.content
        assert "running" in message.content
        assert "wait_seconds=45" in message.content
        assert message.artifact["id"] == task_id


def test_wait_seconds_zero_answers_at_once(tools: dict[str, BaseTool], sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="processing")
    message = call(tools["luma_query_task"], task_id=task_id, wait_seconds=0)
    assert message.artifact["state"] == "running"
    assert sim.count("query") == 1


# -- errors the model can act on -------------------------------------------------------------


def test_failed_task_gives_the_reason_and_what_to_do(
    tools: dict[str, BaseTool], sim: LumaSimulator
) -> None:
    task_id = sim.add_task(state="failed", failure_reason="Prompt rejected by moderation")
    message = call(tools["luma_query_task"], task_id=task_id)
    assert message.status == "error"
    assert "Prompt rejected by moderation" in message.content
    assert "Rephrase" in message.content
    assert task_id in message.content


def test_rate_limit_says_how_long_to_wait(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.rate_limit(times=1, retry_after=7, route="create")
    message = call(LumaCreateVideo(client=client), prompt="x")
    assert message.status == "error"
    assert "Wait 7 s" in message.content
    assert sim.count("create") == 1  # a paid request is never repeated on its own


def test_unknown_id(tools: dict[str, BaseTool]) -> None:
    message = call(tools["luma_query_task"], task_id="no-such-task")
    assert message.status == "error"
    assert 'No task with id "no-such-task"' in message.content


def test_hostile_id_is_refused_before_any_request(
    tools: dict[str, BaseTool], sim: LumaSimulator
) -> None:
    message = call(tools["luma_query_task"], task_id="../../admin")
    assert message.status == "error"
    assert "task_id" in message.content
    assert sim.requests == []


def test_bad_enum_names_the_field_and_the_choices(
    tools: dict[str, BaseTool], sim: LumaSimulator
) -> None:
    message = call(tools["luma_create_video"], prompt="x", aspect_ratio="2:1")
    assert message.status == "error"
    assert "aspect_ratio" in message.content
    assert "'16:9'" in message.content
    assert "call the tool again" in message.content
    assert sim.requests == []


def test_bad_key_says_tell_the_user(sim: LumaSimulator) -> None:
    with LumaClient("sk-wrong-key", sim.base_url) as wrong:
        message = call(LumaCreateVideo(client=wrong), prompt="x")
    assert message.status == "error"
    assert "tell the user" in message.content
    assert "sk-wrong-key" not in message.content


def test_quota(tools: dict[str, BaseTool], sim: LumaSimulator) -> None:
    sim.faults.quota_exhausted(route="create")
    message = call(tools["luma_create_video"], prompt="x")
    assert message.status == "error"
    assert "quota" in message.content
    assert "Do not retry" in message.content


def test_lost_reply_on_create_forbids_a_retry(make_client: MakeClient) -> None:
    with LumaSimulator() as sim:
        sim.faults.reset_connection(times=1, route="create")
        message = call(LumaCreateVideo(client=make_client(sim)), prompt="x")
        assert message.status == "error"
        assert "Do NOT call luma_create_video again" in message.content


def test_download_before_completion(tools: dict[str, BaseTool], sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="processing")
    message = call(tools["luma_download_video"], task_id=task_id)
    assert message.status == "error"
    assert "luma_query_task" in message.content
    assert task_id in message.content


def test_download_filename_cannot_escape_the_folder(tools: dict[str, BaseTool]) -> None:
    message = call(tools["luma_download_video"], task_id="abc", filename="../../etc/evil.mp4")
    assert message.status == "error"
    assert "filename" in message.content


def test_download_never_overwrites_unless_asked(
    tools: dict[str, BaseTool], sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    (tmp_path / "keep.mp4").write_bytes(b"mine")
    message = call(tools["luma_download_video"], task_id=task_id, filename="keep.mp4")
    assert message.status == "error"
    assert "overwrite=true" in message.content
    assert (tmp_path / "keep.mp4").read_bytes() == b"mine"
    again = call(tools["luma_download_video"], task_id=task_id, filename="keep.mp4", overwrite=True)
    assert again.status == "success"


def test_download_creates_a_missing_output_dir(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task_id = sim.add_task(state="completed")
    tool = LumaDownloadVideo(client=client, output_dir=tmp_path / "new" / "videos")
    message = call(tool, task_id=task_id)
    assert message.status == "success"
    saved = tmp_path / "new" / "videos" / f"{task_id}.mp4"
    assert message.artifact["path"] == str(saved.resolve())
    assert saved.stat().st_size == sim.video_size


def test_expired_link_is_renewed_silently(tools: dict[str, BaseTool], sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    call(tools["luma_query_task"], task_id=task_id, wait_seconds=0)
    sim.faults.expire_links()
    message = call(tools["luma_download_video"], task_id=task_id)
    assert message.status == "success"
    assert Path(message.artifact["path"]).stat().st_size == sim.video_size


def test_unexpected_exceptions_do_not_crash_the_caller(
    client: LumaClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(task_id: str, **options: Any) -> None:
        raise RuntimeError("bug in a dependency")

    monkeypatch.setattr(client, "get", broken)
    message = call(LumaQueryTask(client=client), task_id="abc")
    assert message.status == "error"
    assert "failed unexpectedly (RuntimeError)" in message.content
    assert "Traceback" not in message.content
    assert "bug in a dependency" in caplog.text  # the developer still gets the details


# -- async, progress, secrets ----------------------------------------------------------------


async def test_ainvoke_does_not_block_the_event_loop(
    make_client: MakeClient, loop_watch: LoopWatch
) -> None:
    with LumaSimulator(queue_seconds=0.3, run_seconds=0.6, estimate=False) as sim:
        query = LumaQueryTask(client=make_client(sim))
        task_id = sim.add_task(state="pending")
        call = {"task_id": task_id, "wait_seconds": 45}
        async with loop_watch:
            message = await query.ainvoke(
                {"name": query.name, "args": call, "id": "call_9", "type": "tool_call"}
            )
        assert message.artifact["state"] == "running"
        assert loop_watch.ticks > 10


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.events: list[tuple[str, Any]] = []

    def on_text(self, text: str, **kwargs: Any) -> None:
        self.texts.append(text)

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: Any = None,
        metadata: Any = None,
        **kwargs: Any,
    ) -> None:
        self.events.append((name, data))


def test_progress_reaches_callbacks(make_client: MakeClient) -> None:
    with LumaSimulator(queue_seconds=0.3, run_seconds=0.6, estimate=False) as sim:
        query = LumaQueryTask(client=make_client(sim))
        task_id = sim.add_task(state="pending")
        recorder = Recorder()
        query.invoke({"task_id": task_id, "wait_seconds": 45}, config={"callbacks": [recorder]})
    assert any(task_id in text for text in recorder.texts)
    names = {name for name, _ in recorder.events}
    assert names == {PROGRESS_EVENT}
    assert all(data["task_id"] == task_id for _, data in recorder.events)


def test_progress_outside_any_runnable_is_harmless(client: LumaClient, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="pending")
    query = LumaQueryTask(client=client)
    # Call the implementation directly: no runnable context, no graph, no run manager.
    _content, artifact = query._run(task_id=task_id, wait_seconds=2)
    assert artifact["id"] == task_id


def test_key_never_reaches_reprs_contents_or_artifacts(sim: LumaSimulator, tmp_path: Path) -> None:
    key = sim.api_key
    toolkit = LumaToolkit(api_key=key, base_url=sim.base_url, output_dir=tmp_path)
    assert toolkit.client.api_key.get_secret_value() == key
    shown = [repr(toolkit), str(toolkit), toolkit.model_dump_json()]
    tools = {t.name: t for t in toolkit.get_tools()}
    shown += [repr(t) for t in tools.values()] + [str(t.model_dump()) for t in tools.values()]
    created = call(tools["luma_create_video"], prompt="secret test")
    task_id = created.artifact["id"]
    queried = call(tools["luma_query_task"], task_id=task_id, wait_seconds=45)
    for message in (created, queried, call(tools["luma_query_task"], task_id="missing")):
        shown += [message.model_dump_json(), json.dumps(message.artifact)]
    assert not [text for text in shown if key in text]


def test_tools_build_their_client_from_the_environment(
    sim: LumaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMA_API_KEY", sim.api_key)
    monkeypatch.setenv("LUMA_BASE_URL", sim.base_url)
    tool = LumaExtendVideo()
    assert tool.client.base_url == sim.base_url
    assert call(LumaQueryTask(), task_id=sim.add_task(), wait_seconds=0).status == "success"
    toolkit_client = {id(t.client) for t in LumaToolkit().get_tools()}
    assert len(toolkit_client) == 1  # one shared client


def test_a_given_client_wins_over_credentials(
    client: LumaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUMA_BASE_URL", raising=False)
    # No client is built from the credentials (it would need a base URL, and be dropped).
    tool = LumaQueryTask(client=client, api_key="sk-unused")
    assert tool.client is client


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMA_API_KEY", raising=False)
    monkeypatch.setenv("LUMA_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="LUMA_API_KEY"):
        LumaDownloadVideo()


def test_concurrent_tool_calls_share_one_client(make_client: MakeClient, tmp_path: Path) -> None:
    with LumaSimulator() as sim:
        tools = {t.name: t for t in LumaToolkit(client=make_client(sim)).get_tools()}
        ids = [sim.add_task(state="pending") for _ in range(8)]
        results: list[ToolMessage] = []
        lock = threading.Lock()

        def work(task_id: str) -> None:
            message = call(tools["luma_query_task"], task_id=task_id, wait_seconds=45)
            with lock:
                results.append(message)

        threads = [threading.Thread(target=work, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(m.artifact["id"] for m in results) == sorted(ids)


def test_a_short_video_link_is_shown_and_offered(make_client: MakeClient) -> None:
    with LumaSimulator(vip_download_url=False) as sim:  # a short CDN link, nothing presigned
        task_id = sim.add_task(state="completed")
        message = call(LumaQueryTask(client=make_client(sim)), task_id=task_id, wait_seconds=0)
    url = message.artifact["video_url"]
    assert len(url) < 300
    assert f"Video: {url}" in message.content
    assert "or give the user the link" in message.content
