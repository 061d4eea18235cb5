"""Bearer auth on the API, and the storage host's own rules for presigned file links."""

from __future__ import annotations

import calendar
import re
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from luma_tools.simulator import LumaSimulator

UNAUTHORIZED = {
    "error": {
        "message": "Invalid token",
        "type": "authentication_error",
        "param": "",
        "code": "invalid_api_key",
    }
}


def s3_error(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return parts._replace(query=urlencode(params)).geturl()


BAD_CREDENTIALS = [
    {},
    {"Authorization": "Bearer wrong-key"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "{key}"},  # the key without its scheme
    {"X-Api-Key": "{key}"},
]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/luma/generations"),
        ("POST", "/luma/generations/{id}/extend"),
        ("GET", "/luma/generations/{id}"),
        ("GET", "/luma/generations/{id}/download_video_url"),
        ("POST", "/luma/tasks"),
        ("GET", "/luma/no-such-route"),
    ],
)
def test_every_api_route_needs_the_bearer_key(
    gateway, sim: LumaSimulator, method: str, path: str
) -> None:
    task_id = sim.add_task(state="completed")
    for credentials in BAD_CREDENTIALS:
        headers = {k: v.format(key=sim.api_key) for k, v in credentials.items()}
        response = gateway.request(
            method,
            path.format(id=task_id),
            auth=False,
            headers=headers,
            json={"user_prompt": "x", "ids": [task_id]},
        )
        assert response.status_code == 401, headers
        assert response.json() == UNAUTHORIZED
        recorded = sim.requests[-1]
        assert recorded.status == 401
        assert recorded.had_authorization == ("Authorization" in headers)


def test_a_wrong_key_creates_nothing(gateway, sim: LumaSimulator, hook_receiver) -> None:
    response = gateway.post(
        "/luma/generations",
        auth=False,
        headers={"Authorization": "Bearer nope"},
        json={"user_prompt": "x", "notify_hook": hook_receiver.url},
    )
    assert response.status_code == 401
    good = gateway.create("y", notify_hook=hook_receiver.url)
    hooks = hook_receiver.wait_for(1)
    assert {h.body["id"] for h in hooks} == {good["id"]}


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_scheme_is_case_insensitive_and_spaces_are_trimmed(gateway, sim, scheme) -> None:
    response = gateway.get(
        f"/luma/generations/{sim.add_task()}",
        auth=False,
        headers={"Authorization": f"{scheme}  {sim.api_key} "},
    )
    assert response.status_code == 200


def test_a_chosen_api_key_is_used(make_sim, make_gateway) -> None:
    sim = make_sim(api_key="sk-my-own-key")
    assert sim.api_key == "sk-my-own-key"
    gateway = make_gateway(sim)
    assert gateway.get(f"/luma/generations/{sim.add_task()}").status_code == 200


def test_default_keys_are_random_and_prefixed(make_sim) -> None:
    first, second = make_sim(), make_sim()
    assert re.fullmatch(r"sim-[0-9a-f]{32}", first.api_key)
    assert first.api_key != second.api_key


def test_unauthorized_requests_do_not_consume_response_faults(gateway, sim) -> None:
    sim.faults.rate_limit(times=1, route="create")
    rejected = gateway.post("/luma/generations", auth=False, json={"user_prompt": "x"})
    assert rejected.status_code == 401
    assert gateway.post("/luma/generations", json={"user_prompt": "x"}).status_code == 429


def test_the_error_shape_switch_applies_to_401(gateway, sim: LumaSimulator) -> None:
    sim.shapes.errors = "detail"
    response = gateway.post("/luma/generations", auth=False, json={"user_prompt": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": {"reason": "Invalid token", "code": 1}}


# -- file links -------------------------------------------------------------------------


@pytest.fixture
def download_url(gateway, sim: LumaSimulator) -> str:
    return gateway.download_url(sim.add_task(state="completed"))


def test_file_links_work_without_any_key(gateway, download_url: str) -> None:
    response = gateway.fetch_file(download_url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"


@pytest.mark.parametrize("value", ["Bearer {key}", "Bearer wrong", "AWS4-HMAC-SHA256 Credential=x"])
def test_file_links_reject_an_authorization_header(gateway, sim, download_url, value) -> None:
    response = gateway.fetch_file(
        download_url, headers={"Authorization": value.format(key=sim.api_key)}
    )
    assert response.status_code == 400
    error = s3_error(response)
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Only one auth mechanism allowed"
    assert error["ArgumentName"] == "Authorization"
    assert error["RequestId"]


def test_cdn_links_also_reject_an_authorization_header(gateway, sim) -> None:
    task = gateway.query(sim.add_task(state="completed"))
    response = gateway.get(task["video"]["url"])  # with the API key: the classic mistake
    assert response.status_code == 400
    assert s3_error(response)["Code"] == "InvalidArgument"
    assert gateway.fetch_file(task["video"]["url"]).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"X-Amz-Signature": "0" * 64},
        {"X-Amz-Date": "20990101T000000Z"},
        {"X-Amz-Expires": "999999"},
    ],
    ids=["signature", "date", "expires"],
)
def test_a_tampered_link_is_refused(gateway, download_url: str, change: dict[str, str]) -> None:
    response = gateway.fetch_file(with_params(download_url, **change))
    assert response.status_code == 403
    error = s3_error(response)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["Message"].startswith("The request signature we calculated does not match")


def test_a_link_for_another_path_is_refused(gateway, sim, download_url: str) -> None:
    other = sim.add_task(state="completed")
    query = urlsplit(download_url).query
    response = gateway.fetch_file(f"{gateway.base_url}/files/{other}.mp4?{query}")
    assert response.status_code == 403
    assert s3_error(response)["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("missing", ["X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires"])
def test_a_link_without_its_signature_params_is_refused(gateway, download_url, missing) -> None:
    response = gateway.fetch_file(with_params(download_url, **{missing: None}))
    assert response.status_code == 403
    error = s3_error(response)
    assert error["Code"] == "AccessDenied"
    assert "X-Amz-Signature" in error["Message"]


def test_links_expire_after_their_ttl(make_sim, make_gateway) -> None:
    sim = make_sim(link_ttl_seconds=0.2)
    gateway = make_gateway(sim)
    url = gateway.download_url(sim.add_task(state="completed"))
    assert "X-Amz-Expires=0.2" in url
    params = dict(parse_qsl(urlsplit(url).query))
    issued = calendar.timegm(time.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    # Valid at once (the date is rounded up, so never less than the TTL) ...
    assert gateway.fetch_file(url).status_code == 200
    # ... and refused once the clock passes X-Amz-Date + X-Amz-Expires.
    deadline = time.monotonic() + 3
    while (response := gateway.fetch_file(url, stream=True)).status_code == 200:
        response.close()
        assert time.monotonic() < deadline, "the link never expired"
        time.sleep(0.02)
    assert time.time() >= issued + 0.2
    assert response.status_code == 403
    error = s3_error(response)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "Request has expired"
    assert error["X-Amz-Expires"] == "0.2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["ServerTime"])
    # A fresh link works again.
    assert gateway.fetch_file(gateway.download_url(sim.add_task())).status_code == 200


@pytest.mark.parametrize("ttl", [0, -1])
def test_a_non_positive_link_ttl_is_rejected(ttl: float) -> None:
    with pytest.raises(ValueError, match="link_ttl_seconds"):
        LumaSimulator(link_ttl_seconds=ttl)
