"""Every `Faults` switch: what it does, how many requests it takes, and on which route."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from luma_tools.simulator import LumaSimulator


def route_calls(gateway, sim: LumaSimulator):
    """One callable per route, each doing a valid request there."""
    done = sim.add_task(state="completed")
    link = gateway.download_url(done)
    return {
        "create": lambda: gateway.post("/luma/generations", json={"user_prompt": "x"}),
        "extend": lambda: gateway.post(
            f"/luma/generations/{done}/extend", json={"user_prompt": "x"}
        ),
        "query": lambda: gateway.get(f"/luma/generations/{done}"),
        "download_url": lambda: gateway.get(f"/luma/generations/{done}/download_video_url"),
        "batch": lambda: gateway.post("/luma/tasks", json={"ids": [done]}),
        "file": lambda: gateway.fetch_file(link),
    }


ARMERS = {
    "rate_limit": (lambda f, **kw: f.rate_limit(retry_after=7, **kw), 429),
    "server_error": (lambda f, **kw: f.server_error(status=502, **kw), 502),
    "business_error": (lambda f, **kw: f.business_error(code=10001, **kw), 200),
    "quota_exhausted": (lambda f, **kw: f.quota_exhausted(status=403, **kw), 403),
}


def is_faulted(name: str, response: requests.Response) -> bool:
    if name == "business_error":
        if not response.headers["Content-Type"].startswith("application/json"):
            return False
        body = response.json()
        return response.status_code == 200 and isinstance(body, dict) and body.get("code") == 10001
    return response.status_code == ARMERS[name][1]


@pytest.mark.parametrize("name", list(ARMERS))
def test_response_faults_hit_only_their_route_exactly_times_times(
    gateway, sim: LumaSimulator, name: str
) -> None:
    calls = route_calls(gateway, sim)
    arm, _ = ARMERS[name]
    for route in calls:
        arm(sim.faults, times=2, route=route)
        for other, call in calls.items():  # other routes are untouched
            if other != route:
                assert not is_faulted(name, call()), (route, other)
        outcomes = [is_faulted(name, calls[route]()) for _ in range(3)]
        assert outcomes == [True, True, False], route


@pytest.mark.parametrize("name", list(ARMERS))
def test_response_faults_without_a_route_hit_any_route(gateway, sim, name: str) -> None:
    calls = route_calls(gateway, sim)
    ARMERS[name][0](sim.faults, times=3, route=None)
    assert is_faulted(name, calls["batch"]())
    assert is_faulted(name, calls["file"]())
    assert is_faulted(name, calls["create"]())
    assert not is_faulted(name, calls["create"]())


def test_rate_limit_sends_retry_after_and_an_openai_error(gateway, sim) -> None:
    sim.faults.rate_limit(times=1, retry_after=7, route="create")
    response = gateway.post("/luma/generations", json={"user_prompt": "x"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {
        "error": {
            "message": "Too many requests, please retry later",
            "type": "rate_limit_error",
            "param": "",
            "code": "rate_limit_exceeded",
        }
    }
    assert sim.requests[-1].status == 429


def test_a_rate_limited_create_creates_nothing(gateway, sim, hook_receiver) -> None:
    sim.faults.rate_limit(route="create")
    body = {"user_prompt": "x", "notify_hook": hook_receiver.url}
    assert gateway.post("/luma/generations", json=body).status_code == 429
    task = gateway.post("/luma/generations", json=body).json()
    assert {h.body["id"] for h in hook_receiver.wait_for(1)} == {task["id"]}


def test_server_error_json_and_html(gateway, sim) -> None:
    sim.faults.server_error(status=503, route="query")
    sim.faults.server_error(status=502, route="query", html=True)
    task = f"/luma/generations/{sim.add_task()}"
    first = gateway.get(task)
    assert first.status_code == 503
    assert first.json()["error"]["type"] == "server_error"
    assert first.json()["error"]["message"] == "upstream service error, please retry"
    second = gateway.get(task)
    assert second.status_code == 502
    assert second.headers["Content-Type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in second.text
    assert "nginx" in second.text
    assert gateway.get(task).status_code == 200


def test_business_error_is_an_http_200_envelope(gateway, sim) -> None:
    sim.faults.business_error(code=10001, message="prompt rejected", route="create")
    response = gateway.post("/luma/generations", json={"user_prompt": "x"})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 10001
    assert body["message"] == "prompt rejected"
    assert body["data"] is None
    assert len(body["request_id"]) == 32


@pytest.mark.parametrize("status", [402, 403])
def test_quota_exhausted(gateway, sim, status: int) -> None:
    sim.faults.quota_exhausted(status=status, route="create")
    response = gateway.post("/luma/generations", json={"user_prompt": "x"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == "insufficient_user_quota"
    assert "quota" in response.json()["error"]["message"]


def test_faults_are_consumed_in_the_order_they_were_armed(gateway, sim) -> None:
    sim.faults.server_error(status=500, route="query")
    sim.faults.rate_limit(route=None)
    sim.faults.quota_exhausted(route="query")
    path = f"/luma/generations/{sim.add_task()}"
    assert [gateway.get(path).status_code for _ in range(4)] == [500, 429, 402, 200]


def test_reset_connection_acts_then_resets(gateway, sim, hook_receiver) -> None:
    sim.faults.reset_connection()  # default route: create
    with pytest.raises(requests.ConnectionError):
        gateway.post(
            "/luma/generations",
            json={"user_prompt": "lost reply", "notify_hook": hook_receiver.url},
        )
    last = sim.requests[-1]
    assert (last.route, last.status) == ("create", None)
    # The task was created although the reply was lost: its pending hook arrives.
    task_id = hook_receiver.wait_for(1)[0].body["id"]
    assert gateway.query(task_id)["prompt"] == "lost reply"
    assert gateway.post("/luma/generations", json={"user_prompt": "x"}).status_code == 200


def test_reset_connection_on_another_route_and_times(gateway, sim) -> None:
    calls = route_calls(gateway, sim)
    sim.faults.reset_connection(times=2, route="file")
    calls["create"]()
    calls["query"]()
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            calls["file"]()
    assert calls["file"]().status_code == 200
    assert [r.status for r in sim.requests if r.route == "file"] == [None, None, 200]


def raw_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET over a bare socket and read to EOF: shows exactly what was sent before the close."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = bytearray()
        while chunk := sock.recv(65536):  # the server closes after the short body
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), fields, body


@pytest.mark.parametrize("fraction", [0.25, 0.0])
def test_truncate_download_sends_a_short_body_then_closes(gateway, sim, fraction) -> None:
    link = gateway.download_url(sim.add_task(state="completed"))
    sim.faults.truncate_download(fraction=fraction)
    status, headers, body = raw_get(link)
    assert status == 200
    assert int(headers["Content-Length"]) == sim.video_size
    assert len(body) == int(sim.video_size * fraction)
    # requests notices the short body
    sim.faults.truncate_download(fraction=fraction)
    with pytest.raises(requests.RequestException):
        gateway.fetch_file(link)
    # one time only, and API routes never truncate
    assert len(gateway.fetch_file(link).content) == sim.video_size


def test_truncate_download_applies_to_ranges_and_skips_head(gateway, sim) -> None:
    link = gateway.download_url(sim.add_task(state="completed"))
    sim.faults.truncate_download(times=1, fraction=0.5)
    head = gateway.request("HEAD", link, auth=False)
    assert head.status_code == 200  # HEAD has no body to cut and does not consume it
    response = gateway.fetch_file(link, headers={"Range": "bytes=0-999"}, stream=True)
    assert response.status_code == 206
    with pytest.raises(requests.RequestException):
        response.content  # noqa: B018
    assert len(gateway.fetch_file(link).content) == sim.video_size


def test_expire_links_kills_issued_links_only(gateway, sim) -> None:
    task_id = sim.add_task(state="completed")
    old_link = gateway.download_url(task_id)
    old_vip = gateway.query(task_id)["video"]["download_url"]
    sim.faults.expire_links()
    for link in (old_link, old_vip):
        response = gateway.fetch_file(link)
        assert response.status_code == 403
        assert "<Message>Request has expired</Message>" in response.text
    assert gateway.fetch_file(gateway.download_url(task_id)).status_code == 200
    sim.faults.clear()  # expired links stay expired
    assert gateway.fetch_file(old_link).status_code == 403


def test_slow_body_sends_headers_at_once_and_dribbles_the_body(gateway, sim) -> None:
    link = gateway.download_url(sim.add_task(state="completed"))
    sim.faults.slow_body(seconds=0.5, route="file")
    started = time.monotonic()
    response = gateway.fetch_file(link, stream=True)
    headers_after = time.monotonic() - started
    body = response.content
    body_after = time.monotonic() - started
    assert body_after >= 0.45
    assert body_after - headers_after >= 0.3  # the headers came well before the body
    assert len(body) == sim.video_size
    started = time.monotonic()
    gateway.fetch_file(link).content  # noqa: B018
    assert time.monotonic() - started < 0.4  # only once


def test_slow_body_on_an_api_route(gateway, sim) -> None:
    sim.faults.slow_body(seconds=0.3, route="query")
    path = f"/luma/generations/{sim.add_task()}"
    started = time.monotonic()
    assert gateway.get(path).json()["state"] == "completed"
    assert time.monotonic() - started >= 0.25


def test_delay_response_holds_even_the_headers_after_acting(gateway, sim, hook_receiver) -> None:
    sim.faults.delay_response(seconds=0.6, route="create")
    body = {"user_prompt": "slow", "notify_hook": hook_receiver.url}
    with pytest.raises(requests.ReadTimeout):
        gateway.post("/luma/generations", json=body, timeout=(2, 0.2))
    # the create happened while the reply was held back
    task_id = hook_receiver.wait_for(1)[0].body["id"]
    assert gateway.query(task_id)["prompt"] == "slow"
    sim.faults.delay_response(seconds=0.3, route="query")
    started = time.monotonic()
    assert gateway.get(f"/luma/generations/{task_id}").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_fail_next_task_fails_only_the_next_create(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0, run_seconds=0.05)
    gateway = make_gateway(sim)
    sim.faults.fail_next_task("Advanced prompt moderation failed")
    failing = gateway.create()["id"]
    fine = gateway.create()["id"]
    failed = gateway.wait_for_state(failing, "failed")
    assert failed["failure_reason"] == "Advanced prompt moderation failed"
    assert failed["video"] is None
    assert gateway.get(f"/luma/generations/{failing}/download_video_url").status_code == 400
    assert gateway.wait_for_state(fine, "completed")["failure_reason"] is None


def test_fail_next_task_default_reason_and_extend(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0, run_seconds=0.05)
    gateway = make_gateway(sim)
    source = sim.add_task(state="completed")
    sim.faults.fail_next_task()
    extended = gateway.post(f"/luma/generations/{source}/extend", json={"user_prompt": "x"})
    failed = gateway.wait_for_state(extended.json()["id"], "failed")
    assert failed["failure_reason"] == "Contains blacklisted words"


def test_stall_next_task_stays_processing(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0, run_seconds=0.05)
    gateway = make_gateway(sim)
    sim.faults.stall_next_task()
    stalled = gateway.create()["id"]
    normal = gateway.create()["id"]
    gateway.wait_for_state(normal, "completed")
    time.sleep(0.05)  # well past the stalled task's due time as well
    task = gateway.query(stalled)
    assert task["state"] == "processing"
    assert task["estimate_wait_seconds"] == 0
    assert sim.task_state(stalled) == "processing"


def test_clear_disarms_everything(gateway, sim) -> None:
    sim.faults.rate_limit(times=5)
    sim.faults.server_error(times=5, route="query")
    sim.faults.reset_connection(times=5)
    sim.faults.slow_body(times=5, seconds=5)
    sim.faults.delay_response(times=5, seconds=5)
    sim.faults.truncate_download(times=5)
    sim.faults.business_error(times=5)
    sim.faults.quota_exhausted(times=5)
    sim.faults.fail_next_task()
    sim.faults.clear()
    calls = route_calls(gateway, sim)
    started = time.monotonic()
    for call in calls.values():
        assert call().status_code == 200
    assert time.monotonic() - started < 2
    task_id = calls["create"]().json()["id"]
    assert gateway.wait_for_state(task_id, "completed")["failure_reason"] is None


@pytest.mark.parametrize(
    ("arm", "match"),
    [
        (lambda f: f.rate_limit(times=0), "times"),
        (lambda f: f.rate_limit(retry_after=-1), "retry_after"),
        (lambda f: f.server_error(status=404), "5xx"),
        (lambda f: f.server_error(route="nope"), "unknown route"),
        (lambda f: f.quota_exhausted(status=429), "402 or 403"),
        (lambda f: f.truncate_download(fraction=1), "fraction"),
        (lambda f: f.truncate_download(fraction=-0.1), "fraction"),
        (lambda f: f.slow_body(seconds=-1), "seconds"),
        (lambda f: f.delay_response(seconds=-1), "seconds"),
        (lambda f: f.reset_connection(times=-1), "times"),
    ],
)
def test_bad_fault_arguments_are_rejected(sim: LumaSimulator, arm, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        arm(sim.faults)


def test_quota_exhausted_follows_the_error_shape(gateway, sim) -> None:
    sim.shapes.errors = "detail"
    sim.faults.quota_exhausted(route="create")
    response = gateway.post("/luma/generations", json={"user_prompt": "x"})
    assert response.status_code == 402
    assert "quota" in response.json()["detail"]["reason"]
