"""Every `Shapes` dialect produces the JSON the gateway reference documents."""

from __future__ import annotations

import json

import pytest

from luma_tools.simulator import LumaSimulator, Shapes


def create(gateway, prompt: str = "cat dance"):
    return gateway.post("/luma/generations", json={"user_prompt": prompt})


def test_defaults(sim: LumaSimulator) -> None:
    shapes = sim.shapes
    assert isinstance(shapes, Shapes)
    assert (shapes.create, shapes.create_status, shapes.query) == ("flat", 200, "flat")
    assert (shapes.states, shapes.errors, shapes.notify) == ("gateway", "openai", "task")
    assert repr(shapes).startswith("Shapes(create='flat'")


# -- create ---------------------------------------------------------------------------


def test_create_array(gateway, sim) -> None:
    sim.shapes.create = "array"
    body = create(gateway).json()
    assert isinstance(body, list)
    assert len(body) == 1
    assert body[0]["state"] == "pending"
    assert gateway.query(body[0]["id"])["prompt"] == "cat dance"


def test_create_task_id(gateway, sim) -> None:
    sim.shapes.create = "task_id"
    body = create(gateway).json()
    assert set(body) == {"task_id"}
    assert gateway.query(body["task_id"])["prompt"] == "cat dance"


def test_create_envelope(gateway, sim) -> None:
    sim.shapes.create = "envelope"
    body = create(gateway).json()
    assert set(body) == {"code", "message", "request_id", "data"}
    assert (body["code"], body["message"]) == (0, "success")
    assert body["data"]["state"] == "pending"
    assert gateway.query(body["data"]["id"])["prompt"] == "cat dance"


def test_create_mixed(gateway, sim) -> None:
    sim.shapes.create = "mixed"
    body = create(gateway).json()
    assert body["state"] == "pending"
    assert (body["code"], body["message"]) == (0, "success")
    assert body["request_id"]
    data = body["data"]
    assert set(data) == {"task_id", "task_status", "created_at", "updated_at"}
    assert data["task_id"] == body["id"]
    assert data["task_status"] == "pending"
    assert isinstance(data["created_at"], int)
    assert data["updated_at"] >= data["created_at"]


@pytest.mark.parametrize("status", [201, 202])
def test_create_status(gateway, sim, status: int) -> None:
    sim.shapes.create_status = status
    assert create(gateway).status_code == status
    source = sim.add_task()
    extended = gateway.post(f"/luma/generations/{source}/extend", json={"user_prompt": "x"})
    assert extended.status_code == status


def test_create_shapes_apply_to_extend(gateway, sim) -> None:
    sim.shapes.create = "task_id"
    source = sim.add_task()
    body = gateway.post(f"/luma/generations/{source}/extend", json={"user_prompt": "x"}).json()
    assert set(body) == {"task_id"}


def test_create_with_official_query_shape_returns_a_generation(gateway, sim) -> None:
    sim.shapes.query = "official"
    body = create(gateway).json()
    assert body["state"] == "queued"
    assert body["generation_type"] == "video"


# -- query ----------------------------------------------------------------------------


@pytest.fixture
def done(sim: LumaSimulator) -> str:
    return sim.add_task(state="completed", prompt="cat dance")


def test_query_artifact(gateway, sim, done: str) -> None:
    sim.shapes.query = "artifact"
    task = gateway.query(done)
    assert set(task) == {
        "id",
        "state",
        "video",
        "request",
        "artifact",
        "created_at",
        "estimate_wait_seconds",
        "failure_reason",
    }
    assert task["request"] == {"prompt": "cat dance", "aspect_ratio": "16:9"}
    assert task["video"]["url"] == task["video"]["download_url"]  # Example B
    artifact = task["artifact"]
    assert set(artifact) == {"video", "thumbnail", "video_raw", "created_at", "last_frame"}
    assert artifact["created_at"] == "0001-01-01T00:00:00Z"
    assert artifact["video"] == task["video"]
    assert artifact["thumbnail"]["media_type"] == "image"
    assert artifact["video_raw"]["duration"] == pytest.approx(4.0)
    assert artifact["last_frame"]["palette"] is None
    unfinished = gateway.query(sim.add_task(state="processing"))
    assert (unfinished["video"], unfinished["artifact"]) == (None, None)


def test_query_envelope(gateway, sim, done: str) -> None:
    sim.shapes.query = "envelope"
    body = gateway.query(done)
    assert (body["code"], body["message"]) == (200, "ok")
    assert body["data"]["id"] == done


def test_query_data_list(gateway, sim, done: str) -> None:
    sim.shapes.query = "data_list"
    body = gateway.query(done)
    assert set(body) == {"data"}
    assert [t["id"] for t in body["data"]] == [done]


def test_query_array(gateway, sim, done: str) -> None:
    sim.shapes.query = "array"
    body = gateway.get(f"/luma/generations/{done}").json()
    assert [t["id"] for t in body] == [done]


def test_query_official(gateway, sim, done: str) -> None:
    sim.shapes.query = "official"
    task = gateway.query(done)
    assert set(task) == {
        "id",
        "generation_type",
        "state",
        "failure_reason",
        "created_at",
        "assets",
        "model",
        "request",
    }
    assert task["state"] == "completed"
    assert task["model"] == "ray-2"
    assert set(task["assets"]) == {"video", "image", "progress_video"}
    assert task["assets"]["video"].startswith(f"{gateway.base_url}/files/{done}.mp4?")
    assert gateway.fetch_file(task["assets"]["video"]).status_code == 200
    assert task["request"]["prompt"] == "cat dance"
    assert gateway.query(sim.add_task(state="pending"))["state"] == "queued"
    assert gateway.query(sim.add_task(state="processing"))["state"] == "dreaming"


def test_official_request_echo_maps_models_and_keyframes(gateway, sim) -> None:
    sim.shapes.query = "official"
    body = {
        "user_prompt": "x",
        "model_name": "ray-v1",
        "loop": True,
        "image_url": "https://example.com/a.png",
        "image_end_url": "https://example.com/b.png",
    }
    task_id = gateway.post("/luma/generations", json=body).json()["id"]
    request = gateway.query(task_id)["request"]
    assert request["model"] == "ray-1-6"
    assert request["loop"] is True
    assert request["keyframes"] == {
        "frame0": {"type": "image", "url": "https://example.com/a.png"},
        "frame1": {"type": "image", "url": "https://example.com/b.png"},
    }


def test_official_states_vocabulary(gateway, sim) -> None:
    sim.shapes.states = "official"
    assert create(gateway).json()["state"] == "queued"
    assert gateway.query(sim.add_task(state="processing"))["state"] == "dreaming"
    record = gateway.post("/luma/tasks", json={"ids": [sim.add_task(state="processing")]})
    assert record.json()["data"][0]["data"]["state"] == "dreaming"
    assert gateway.query(sim.add_task(state="completed"))["state"] == "completed"
    assert gateway.query(sim.add_task(state="failed"))["state"] == "failed"


# -- errors ---------------------------------------------------------------------------


def unknown_task(gateway):
    return gateway.get("/luma/generations/nope")


def unauthorized(gateway):
    return gateway.get("/luma/generations/nope", auth=False)


@pytest.mark.parametrize(
    ("shape", "expect_404", "expect_401"),
    [
        (
            "openai",
            {"detail": {"reason": "task not found", "code": 1}},  # upstream keeps Go's shape
            {
                "error": {
                    "message": "Invalid token",
                    "type": "authentication_error",
                    "param": "",
                    "code": "invalid_api_key",
                }
            },
        ),
        (
            "detail",
            {"detail": {"reason": "task not found", "code": 1}},
            {"detail": {"reason": "Invalid token", "code": 1}},
        ),
        ("detail_str", {"detail": "task not found"}, {"detail": "Invalid token"}),
        ("message", {"message": "task not found"}, {"message": "Invalid token"}),
    ],
)
def test_json_error_shapes(gateway, sim, shape: str, expect_404, expect_401) -> None:
    sim.shapes.errors = shape
    assert unknown_task(gateway).json() == expect_404
    assert unauthorized(gateway).json() == expect_401


def test_html_error_shape(gateway, sim) -> None:
    sim.shapes.errors = "html"
    response = unknown_task(gateway)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>404 Not Found</title>" in response.text


def test_concatenated_error_shape_is_two_json_documents(gateway, sim) -> None:
    sim.shapes.errors = "concatenated"
    response = unknown_task(gateway)
    assert response.status_code == 404
    with pytest.raises(ValueError, match="Extra data"):
        response.json()
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(response.text)
    second, _ = decoder.raw_decode(response.text, end)
    assert first == {"detail": "task not found"}
    assert second == {"detail": {"reason": "task not found", "code": 1}}


def test_rate_limit_errors_follow_the_shape_and_keep_retry_after(gateway, sim) -> None:
    sim.shapes.errors = "detail_str"
    sim.faults.rate_limit(retry_after=3)
    response = unknown_task(gateway)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"detail": "Too many requests, please retry later"}


# -- switching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("create", "list"),
        ("query", "flat "),
        ("states", "official_"),
        ("errors", "xml"),
        ("notify", "generation"),
        ("create_status", 200.0),
        ("create_status", 301),
        ("create_status", True),
    ],
)
def test_invalid_settings_are_rejected(sim, name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        setattr(sim.shapes, name, value)


def test_unknown_settings_are_rejected(sim) -> None:
    with pytest.raises(AttributeError, match="no setting"):
        sim.shapes.error = "openai"  # type: ignore[attr-defined]


def test_switches_apply_at_once_and_reset_restores_defaults(gateway, sim, done) -> None:
    sim.shapes.query = "array"
    assert isinstance(gateway.get(f"/luma/generations/{done}").json(), list)
    sim.shapes.query = "flat"
    assert gateway.query(done)["id"] == done
    for name, value in [("create", "mixed"), ("errors", "html"), ("notify", "record")]:
        setattr(sim.shapes, name, value)
    sim.shapes.create_status = 201
    sim.shapes.reset()
    assert repr(sim.shapes) == repr(Shapes())
