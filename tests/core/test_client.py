"""The client against the simulator over real loopback HTTP: every endpoint and variant."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from luma_tools import (
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    LumaClient,
    LumaConnectionError,
    NotFoundError,
    QuotaError,
    ServerError,
    TaskState,
)
from luma_tools.simulator import LumaSimulator

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_create_sends_a_clean_body(client: LumaClient, sim: LumaSimulator) -> None:
    task = client.create(
        "  a cat dancing  ",
        aspect_ratio="9:16",
        expand_prompt=True,
        loop=False,
        model_name="ray-v2",
        duration="5s",
        resolution="720p",
    )
    assert task.state is TaskState.QUEUED
    assert task.prompt == "a cat dancing"
    (request,) = [r for r in sim.requests if r.route == "create"]
    assert request.json == {
        "user_prompt": "a cat dancing",
        "aspect_ratio": "9:16",
        "expand_prompt": True,
        "loop": False,
        "model_name": "ray-v2",
        "duration": "5s",
        "resolution": "720p",
    }
    assert request.had_authorization


def test_create_inlines_a_local_image(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    (tmp_path / "start.png").write_bytes(PNG)
    client.create(
        "x", image_url=str(tmp_path / "start.png"), image_end_url="https://example.com/end.png"
    )
    (request,) = [r for r in sim.requests if r.route == "create"]
    assert request.json is not None
    assert request.json["image_url"].startswith("data:image/png;base64,")
    assert request.json["image_end_url"] == "https://example.com/end.png"


def test_get_follows_a_task_to_completion(client: LumaClient) -> None:
    task = client.create("waves")
    done = client.wait(task.id, timeout=10)
    assert done.id == task.id
    assert done.state is TaskState.COMPLETED
    assert done.video_url is not None
    again = client.get(task.id)
    assert again.video_url == done.video_url
    assert again.thumbnail_url is not None
    assert again.last_frame_url is not None


def test_extend_links_to_the_source(client: LumaClient, sim: LumaSimulator) -> None:
    source = sim.add_task(state="completed", prompt="a fox")
    extended = client.extend(source, "the fox jumps", expand_prompt=False)
    assert extended.id != source
    assert sim.count("extend") == 1
    (request,) = [r for r in sim.requests if r.route == "extend"]
    assert request.path.endswith(f"/{source}/extend")
    assert request.json == {"user_prompt": "the fox jumps", "expand_prompt": False}


def test_extend_of_an_unfinished_task_is_a_bad_request(client: LumaClient) -> None:
    running = client.create("still cooking")
    with pytest.raises(BadRequestError) as caught:
        client.extend(running.id, "more")
    assert caught.value.task_id == running.id


def test_download_url(client: LumaClient, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    url = client.download_url(task_id)
    assert url.startswith(sim.base_url)
    assert "X-Amz-Signature" in url


def test_download_url_before_completion(client: LumaClient) -> None:
    task = client.create("not yet")
    with pytest.raises(BadRequestError):
        client.download_url(task.id)


def test_unknown_task_is_not_found(client: LumaClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get("00000000-0000-0000-0000-000000000000")
    assert "Check the task id" in str(caught.value)


@pytest.mark.parametrize("shape", ["flat", "array", "task_id", "envelope", "mixed"])
def test_create_response_shapes(client: LumaClient, sim: LumaSimulator, shape: str) -> None:
    sim.shapes.create = shape
    task = client.create("shape test")
    assert task.id
    assert sim.task_state(task.id) in ("pending", "processing", "completed")


def test_create_answering_201(client: LumaClient, sim: LumaSimulator) -> None:
    sim.shapes.create_status = 201
    assert client.create("created").state is TaskState.QUEUED


@pytest.mark.parametrize(
    "shape", ["flat", "artifact", "envelope", "data_list", "array", "official"]
)
def test_query_response_shapes(client: LumaClient, sim: LumaSimulator, shape: str) -> None:
    sim.shapes.query = shape
    if shape == "official":
        sim.shapes.states = "official"
    task_id = sim.add_task(state="completed", prompt="shapes")
    task = client.get(task_id)
    assert task.id == task_id
    assert task.state is TaskState.COMPLETED
    assert task.video_url is not None
    assert task.is_finished


@pytest.mark.parametrize("vocabulary", ["gateway", "official"])
def test_state_vocabularies_over_http(
    client: LumaClient, sim: LumaSimulator, vocabulary: str
) -> None:
    sim.shapes.states = vocabulary
    seen: list[TaskState] = []
    task = client.create("vocab")
    client.wait(task, timeout=10, on_update=lambda t: seen.append(t.state))
    assert seen[0] is TaskState.QUEUED
    assert seen[-1] is TaskState.COMPLETED
    assert TaskState.UNKNOWN not in seen


@pytest.mark.parametrize(
    "style", ["openai", "detail", "detail_str", "message", "html", "concatenated"]
)
def test_error_shapes_give_a_readable_message(sim: LumaSimulator, style: str) -> None:
    sim.shapes.errors = style
    with LumaClient("wrong-key", sim.base_url) as bad, pytest.raises(AuthenticationError) as caught:
        bad.get("abc")
    message = caught.value.message
    assert message
    assert "<" not in message
    assert "{" not in message
    assert caught.value.status_code == 401


def test_business_error_on_http_200(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.business_error(code=500, message="upstream channel failed", route="query")
    task_id = sim.add_task(state="completed")
    sim.faults.business_error(code=10001, message="prompt rejected by moderation", route="create")
    with pytest.raises(BadRequestError, match=r"prompt rejected by moderation"):
        client.create("anything")
    # GETs retry only on HTTP statuses; a 200 envelope error surfaces at once.
    with pytest.raises(ServerError, match=r"upstream channel failed"):
        client.get(task_id)


def test_quota_exhausted(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.quota_exhausted(status=402)
    with pytest.raises(QuotaError, match=r"quota"):
        client.create("costly")
    sim.faults.quota_exhausted(status=403)
    with pytest.raises(QuotaError):
        client.create("costly")


def test_simulator_rejects_string_booleans_and_the_client_can_send_them(
    sim: LumaSimulator,
) -> None:
    # Most gateways (the Go proxy) reject "true"; bool_as_string exists for the few that want it.
    with (
        LumaClient(sim.api_key, sim.base_url, bool_as_string=True) as stringy,
        pytest.raises(BadRequestError, match=r"expand_prompt"),
    ):
        stringy.create("x", expand_prompt=True)


@pytest.mark.parametrize(
    "task_id",
    ["../../x", "a/b", "a?b=1", "a#frag", "a b", " a", "a\n", "", "x" * 129, "..", "%2e%2e"],
)
def test_bad_task_ids_are_refused_before_any_request(
    client: LumaClient, sim: LumaSimulator, task_id: str
) -> None:
    for call in (
        client.get,
        client.download_url,
        lambda t: client.extend(t, "more"),
        lambda t: client.wait(t, timeout=1),
    ):
        with pytest.raises(InvalidInputError) as caught:
            call(task_id)
        assert caught.value.field == "task_id"
    assert sim.requests == []


def test_bad_create_input_sends_nothing(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    cases = [
        lambda: client.create("   "),
        lambda: client.create("x", aspect_ratio="5:4"),  # type: ignore[arg-type]
        lambda: client.create("x", image_url=str(tmp_path / "missing.png")),
        lambda: client.create("x", image_url=str(tmp_path / "notes.png")),
        lambda: client.create("x", notify_hook="not a url"),
        lambda: client.create("x", colour="red"),  # type: ignore[call-arg]
    ]
    for case in cases:
        with pytest.raises(InvalidInputError):
            case()
    assert sim.requests == []


def test_configuration_from_the_environment(
    sim: LumaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMA_API_KEY", sim.api_key)
    monkeypatch.setenv("LUMA_BASE_URL", sim.base_url + "/luma/generations/")
    with LumaClient() as env_client:
        assert env_client.base_url == sim.base_url  # the endpoint path was trimmed
        assert env_client.create("from env").id


def test_missing_configuration_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMA_API_KEY", raising=False)
    monkeypatch.delenv("LUMA_BASE_URL", raising=False)
    with pytest.raises(InvalidInputError, match=r"api_key: no API key.*LUMA_API_KEY"):
        LumaClient(base_url="https://gw.example")
    with pytest.raises(InvalidInputError, match=r"base_url: no gateway URL.*LUMA_BASE_URL"):
        LumaClient(api_key="k")
    with pytest.raises(InvalidInputError, match=r"base_url"):
        LumaClient(api_key="k", base_url="gw.example")


def test_unreachable_gateway(sim: LumaSimulator) -> None:
    base_url = sim.base_url
    sim.stop()
    with (
        LumaClient(sim.api_key, base_url, max_retries=1) as offline,
        pytest.raises(LumaConnectionError, match=r"connection refused"),
    ):
        offline.get("abc")
