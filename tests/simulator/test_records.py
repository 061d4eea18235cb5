"""`sim.requests`, `sim.count()` and the simulator's lifecycle."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from luma_tools.simulator import LumaSimulator, RecordedRequest


def test_each_request_is_recorded_with_its_details(gateway, sim: LumaSimulator) -> None:
    before = time.monotonic()
    task_id = gateway.create("recorded", aspect_ratio="1:1")["id"]
    gateway.get(f"/luma/generations/{task_id}?verbose=1&verbose=2")
    gateway.post("/luma/tasks", json={"ids": [task_id]})
    gateway.get("/nowhere")
    recorded = sim.requests
    assert all(isinstance(r, RecordedRequest) for r in recorded)
    assert [(r.method, r.path, r.route, r.status) for r in recorded] == [
        ("POST", "/luma/generations", "create", 200),
        ("GET", f"/luma/generations/{task_id}", "query", 200),
        ("POST", "/luma/tasks", "batch", 200),
        ("GET", "/nowhere", "other", 404),
    ]
    create, query, batch, _ = recorded
    assert create.json == {"user_prompt": "recorded", "aspect_ratio": "1:1"}
    assert query.json is None
    assert query.query == {"verbose": "2"}  # last value wins
    assert batch.json == {"ids": [task_id]}
    assert create.had_authorization is True
    assert create.headers["Authorization"] == "<redacted>"
    assert sim.api_key not in str(create)
    assert create.headers["Content-Type"] == "application/json"
    assert before <= create.time <= query.time <= batch.time <= time.monotonic()


def test_requests_is_a_snapshot_copy(gateway, sim) -> None:
    snapshot = sim.requests
    gateway.get("/luma/generations/x")
    assert snapshot == []
    snapshot.clear()
    assert len(sim.requests) == 1
    with pytest.raises(AttributeError):
        sim.requests[0].status = 1  # frozen


def test_non_json_bodies_are_recorded_as_none(gateway, sim) -> None:
    gateway.post("/luma/generations", data=b"not json", headers={"Content-Type": "text/plain"})
    assert sim.requests[-1].json is None
    assert sim.requests[-1].status == 400


def test_count_by_route_and_method(gateway, sim: LumaSimulator) -> None:
    task_id = sim.add_task()
    gateway.create()
    gateway.create()
    gateway.get(f"/luma/generations/{task_id}")
    gateway.request("HEAD", f"/luma/generations/{task_id}")
    gateway.get(f"/luma/generations/{task_id}/download_video_url")
    gateway.post(f"/luma/generations/{task_id}/extend", json={"user_prompt": "x"})
    gateway.post("/luma/tasks", json={"ids": []})
    gateway.fetch_file(gateway.query(task_id)["video"]["url"])
    gateway.get("/luma/generations")  # 405: no route matched, so "other"
    gateway.get("/other")
    assert sim.count("create") == 2
    assert sim.count("create", "post") == 2
    assert sim.count("create", "GET") == 0
    assert sim.count("query") == 3  # including the query() above
    assert sim.count("query", "HEAD") == 1
    assert sim.count("download_url") == 1
    assert sim.count("extend") == 1
    assert sim.count("batch") == 1
    assert sim.count("file") == 1
    assert sim.count("other") == 2
    assert sim.count("other", "GET") == 2
    assert sim.count("other", "POST") == 0


def test_count_rejects_unknown_routes(sim) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        sim.count("generations")


def test_base_url_and_repr(make_sim) -> None:
    unstarted = LumaSimulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = unstarted.base_url
    assert "not started" in repr(unstarted)
    sim = make_sim()
    assert sim.base_url.startswith("http://127.0.0.1:")
    assert not sim.base_url.endswith("/")
    assert "(running)" in repr(sim)


def test_a_fixed_port_is_used_and_released_on_stop(make_gateway) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = LumaSimulator(port=port)
    with sim:
        assert sim.base_url == f"http://127.0.0.1:{port}"
        assert sim.start() is sim  # idempotent while running
        task_id = sim.add_task()
        assert make_gateway(sim).query(task_id)["id"] == task_id
    assert "(stopped)" in repr(sim)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/luma/generations/x", timeout=2)
    sim.stop()  # idempotent
    with pytest.raises(RuntimeError, match="cannot be restarted"):
        sim.start()
    with LumaSimulator(port=port) as again:  # the port is free again
        assert again.base_url.endswith(f":{port}")


def test_stop_ends_open_keep_alive_connections_and_slow_bodies(make_gateway) -> None:
    sim = LumaSimulator().start()
    gateway = make_gateway(sim)
    link = gateway.download_url(sim.add_task())
    sim.faults.slow_body(seconds=30, route="file")
    response = gateway.fetch_file(link, stream=True)
    assert response.status_code == 200
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(requests.RequestException):
        response.content  # noqa: B018
