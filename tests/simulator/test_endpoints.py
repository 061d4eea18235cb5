"""The gateway endpoints over loopback HTTP: create, extend, query, download URL, batch."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from luma_tools.simulator import LumaSimulator

FLAT_TASK_KEYS = {
    "id",
    "liked",
    "state",
    "video",
    "prompt",
    "user_id",
    "batch_id",
    "thumbnail",
    "video_raw",
    "created_at",
    "last_frame",
    "estimate_wait_seconds",
    "failure_reason",
    "queue_state",
}
ISO_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_create_returns_a_pending_flat_task(gateway, sim: LumaSimulator) -> None:
    response = gateway.post("/luma/generations", json={"user_prompt": "a cat surfing"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    task = response.json()
    assert set(task) == FLAT_TASK_KEYS
    assert uuid.UUID(task["id"]).version == 4
    assert task["state"] == "pending"
    assert task["prompt"] == "a cat surfing"
    assert task["video"] is None
    assert task["liked"] is None
    assert task["failure_reason"] is None
    assert ISO_MICROS.match(task["created_at"])
    created = datetime.strptime(task["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - created).total_seconds()) < 5
    assert sim.task_state(task["id"]) == "pending"


def test_create_accepts_the_legacy_trailing_slash(gateway) -> None:
    response = gateway.post("/luma/generations/", json={"user_prompt": "old route"})
    assert response.status_code == 200
    assert response.json()["prompt"] == "old route"


def test_query_follows_the_task_to_a_completed_video(gateway) -> None:
    task_id = gateway.create()["id"]
    done = gateway.wait_for_state(task_id, "completed")
    assert done["id"] == task_id
    assert done["estimate_wait_seconds"] is None
    video = done["video"]
    assert set(video) == {"url", "width", "height", "thumbnail", "download_url"}
    assert video["download_url"].startswith(f"{gateway.base_url}/files/{task_id}.mp4?")
    assert video["url"] == f"{gateway.base_url}/cdn/{task_id}/video_watermarked.mp4"
    assert video["thumbnail"] == done["thumbnail"]["url"]
    assert done["video_raw"]["url"] == video["download_url"]
    assert done["video_raw"]["media_type"] == "video"
    assert done["last_frame"]["palette"] is None
    assert set(done["thumbnail"]["palette"]) == {"grid"}


def test_download_video_url_returns_a_presigned_link(gateway, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    response = gateway.get(f"/luma/generations/{task_id}/download_video_url")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url"}
    url = body["url"]
    assert url.startswith(f"{gateway.base_url}/files/{task_id}.mp4?")
    for param in ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires=3600", "X-Amz-Signature"):
        assert param in url
    assert gateway.fetch_file(url).status_code == 200


@pytest.mark.parametrize("state", ["pending", "processing", "failed"])
def test_download_video_url_before_completion_is_a_400(gateway, sim, state: str) -> None:
    task_id = sim.add_task(state=state)
    response = gateway.get(f"/luma/generations/{task_id}/download_video_url")
    assert response.status_code == 400
    assert response.json() == {
        "detail": {"reason": f"video is not ready yet (task state: {state})", "code": 1}
    }


def test_extend_creates_a_new_task_from_a_completed_one(gateway, sim: LumaSimulator) -> None:
    source = sim.add_task(state="completed")
    response = gateway.post(
        f"/luma/generations/{source}/extend", json={"user_prompt": "add cat", "loop": True}
    )
    assert response.status_code == 200
    task = response.json()
    assert task["id"] != source
    assert task["state"] == "pending"
    assert task["prompt"] == "add cat"
    sim.shapes.query = "official"
    official = gateway.query(task["id"])
    assert official["request"]["keyframes"] == {"frame0": {"type": "generation", "id": source}}
    assert official["request"]["loop"] is True
    sim.shapes.query = "flat"
    records = gateway.post("/luma/tasks", json={"ids": [task["id"]]}).json()["data"]
    assert records[0]["action"] == "LUMA_EXTEND"


@pytest.mark.parametrize("state", ["pending", "processing", "failed"])
def test_extend_of_an_unfinished_or_failed_task_is_a_400(gateway, sim, state: str) -> None:
    source = sim.add_task(state=state)
    response = gateway.post(f"/luma/generations/{source}/extend", json={"user_prompt": "more"})
    assert response.status_code == 400
    assert response.json()["detail"]["reason"] == (
        f"can only extend a completed task (task state: {state})"
    )
    assert sim.count("extend") == 1


def test_extend_validates_the_body_like_create(gateway, sim: LumaSimulator) -> None:
    source = sim.add_task(state="completed")
    response = gateway.post(f"/luma/generations/{source}/extend", json={"user_prompt": " "})
    assert response.status_code == 400
    assert response.json() == {"detail": {"reason": "user_prompt is required", "code": 1}}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/download_video_url", None),
        ("POST", "/extend", {"user_prompt": "more"}),
    ],
)
def test_unknown_task_ids_are_a_404_in_the_upstream_detail_shape(
    gateway, method: str, suffix: str, body: object
) -> None:
    response = gateway.request(method, f"/luma/generations/{uuid.uuid4()}{suffix}", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": {"reason": "task not found", "code": 1}}


def test_batch_query_returns_task_records_and_skips_unknown_ids(gateway, sim) -> None:
    done = sim.add_task(state="completed", prompt="done")
    running = sim.add_task(state="processing", prompt="running")
    failed = sim.add_task(state="failed", failure_reason="Frame moderation failed")
    pending = sim.add_task(state="pending")
    ids = [done, str(uuid.uuid4()), running, failed, pending]
    response = gateway.post("/luma/tasks", json={"ids": ids})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "success"
    assert body["message"] == ""
    records = body["data"]
    assert [r["task_id"] for r in records] == [done, running, failed, pending]
    assert [r["status"] for r in records] == ["SUCCESS", "IN_PROGRESS", "FAILURE", "NOT_START"]
    assert [r["data"]["state"] for r in records] == [
        "completed",
        "processing",
        "failed",
        "pending",
    ]
    first = records[0]
    assert set(first) == {
        "id",
        "created_at",
        "updated_at",
        "task_id",
        "platform",
        "action",
        "status",
        "fail_reason",
        "submit_time",
        "start_time",
        "finish_time",
        "progress",
        "data",
    }
    assert isinstance(first["id"], int)
    assert first["action"] == "LUMA_VIDEO"
    assert first["progress"] == "100%"
    assert first["submit_time"] <= first["start_time"] <= first["finish_time"]
    assert first["fail_reason"] == ""
    assert first["data"]["video"]["download_url"]
    assert records[1]["finish_time"] == 0
    assert records[2]["fail_reason"] == "Frame moderation failed"
    assert records[2]["data"]["failure_reason"] == "Frame moderation failed"
    assert records[3]["start_time"] == 0
    assert records[3]["progress"] == "0%"
    assert len({r["id"] for r in records}) == 4


@pytest.mark.parametrize(
    "body", [{}, {"ids": "abc"}, {"ids": [1, 2]}, ["abc"], None, {"task_ids": ["a"]}]
)
def test_batch_query_rejects_a_malformed_body(gateway, body: object) -> None:
    response = gateway.post("/luma/tasks", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == 'body must be {"ids": ["<task id>", ...]}'


def test_batch_query_with_no_ids_is_an_empty_list(gateway) -> None:
    response = gateway.post("/luma/tasks", json={"ids": []})
    assert response.json() == {"code": "success", "message": "", "data": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/luma"),
        ("GET", "/luma/nope"),
        ("POST", "/luma/generations/file_upload/extra"),
        ("GET", "/luma/generations/abc/"),
        ("POST", "/luma//generations"),
        ("POST", "/luma/generations//"),
        ("POST", "/luma/tasks/"),
        ("GET", "/dream-machine/v1/generations"),
    ],
)
def test_unknown_routes_are_a_plain_404(gateway, sim, method: str, path: str) -> None:
    response = gateway.request(method, path, json={"user_prompt": "x"}, allow_redirects=False)
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert response.json() == {
        "error": {
            "message": "Invalid URL (no such route)",
            "type": "invalid_request_error",
            "param": "",
            "code": "not_found",
        }
    }
    assert sim.requests[-1].route == "other"
    assert sim.count("create") == 0


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/luma/generations", "POST"),
        ("DELETE", "/luma/generations/abc", "GET, HEAD"),
        ("GET", "/luma/tasks", "POST"),
        ("GET", "/luma/generations/abc/extend", "POST"),
    ],
)
def test_wrong_methods_are_a_405_with_allow(gateway, method: str, path: str, allowed) -> None:
    response = gateway.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_head_on_a_query_sends_headers_only(gateway, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    head = gateway.request("HEAD", f"/luma/generations/{task_id}")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) > 0


def test_keep_alive_serves_many_requests_on_one_connection(gateway, sim) -> None:
    task_id = sim.add_task(state="completed")
    for _ in range(5):
        gateway.query(task_id)
    ports = {r.headers.get("Host") for r in sim.requests}
    assert len(ports) == 1
    # urllib3 reused the pooled connection: one connection made for five requests
    pool = next(iter(gateway.session.adapters["http://"].poolmanager.pools._container.values()))
    assert pool.num_connections == 1
