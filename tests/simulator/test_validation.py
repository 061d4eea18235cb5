"""Strict create/extend body validation, like gin's BindJSON in the Go proxy (reference §2).

Validation is stateless, so one simulator serves the whole module.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from luma_tools.simulator import LumaSimulator

DATA_URI = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()


@pytest.fixture(scope="module")
def module_sim() -> Iterator[LumaSimulator]:
    with LumaSimulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def post(module_sim: LumaSimulator) -> Iterator[Any]:
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {module_sim.api_key}"}

    def post(body: Any = None, *, raw: bytes | None = None) -> requests.Response:
        url = f"{module_sim.base_url}/luma/generations"
        if raw is not None:
            return session.post(
                url,
                data=raw,
                headers={**headers, "Content-Type": "application/json"},
                timeout=5,
            )
        return session.post(url, json=body, headers=headers, timeout=5)

    yield post
    session.close()


def reason(response: requests.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"detail"}
    assert body["detail"]["code"] == 1
    text: str = body["detail"]["reason"]
    return text


@pytest.mark.parametrize("field", ["expand_prompt", "loop"])
@pytest.mark.parametrize(("value", "go_type"), [("true", "string"), (1, "number"), ([], "array")])
def test_booleans_must_be_json_booleans(post, field: str, value: Any, go_type: str) -> None:
    response = post({"user_prompt": "x", field: value})
    assert reason(response) == (
        f"json: cannot unmarshal {go_type} into Go struct field GenRequest.{field} of type bool"
    )


@pytest.mark.parametrize(
    "field",
    [
        "user_prompt",
        "aspect_ratio",
        "image_url",
        "image_end_url",
        "notify_hook",
        "model_name",
        "duration",
        "resolution",
    ],
)
@pytest.mark.parametrize(("value", "go_type"), [(5, "number"), (True, "bool"), ({}, "object")])
def test_string_fields_must_be_json_strings(post, field: str, value: Any, go_type: str) -> None:
    body = {"user_prompt": "x", field: value}
    assert reason(post(body)) == (
        f"json: cannot unmarshal {go_type} into Go struct field GenRequest.{field} of type string"
    )


@pytest.mark.parametrize("body", [{}, {"user_prompt": ""}, {"user_prompt": "  \n\t"}, None])
def test_a_blank_or_missing_prompt_is_rejected(post, body: Any) -> None:
    raw = b"null" if body is None else None
    assert reason(post(body, raw=raw)) == "user_prompt is required"


@pytest.mark.parametrize("ratio", ["16:10", "16x9", "1", "auto", "9:16 "])
def test_an_unknown_aspect_ratio_is_rejected(post, ratio: str) -> None:
    assert reason(post({"user_prompt": "x", "aspect_ratio": ratio})) == (
        f"invalid aspect_ratio {ratio!r}, must be one of 1:1, 4:3, 3:4, 16:9, 9:16, 21:9, 9:21"
    )


@pytest.mark.parametrize("ratio", ["1:1", "4:3", "3:4", "16:9", "9:16", "21:9", "9:21"])
def test_every_documented_aspect_ratio_is_accepted(post, module_sim, ratio: str) -> None:
    created = post({"user_prompt": "x", "aspect_ratio": ratio})
    assert created.status_code == 200
    task = echoed_task(module_sim, created.json()["id"])
    assert task["request"]["aspect_ratio"] == ratio


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "EOF"),
        (b"   ", "EOF"),
        (b'{"user_prompt": "x"', "unexpected end of JSON input"),
        (b"{bad json}", "invalid character 'b' looking for beginning of value"),
    ],
)
def test_malformed_json_is_rejected_with_go_wording(post, raw: bytes, message: str) -> None:
    assert reason(post(raw=raw)) == message


@pytest.mark.parametrize(
    ("raw", "go_type"), [(b'"a prompt"', "string"), (b'["x"]', "array"), (b"42", "number")]
)
def test_a_non_object_body_is_rejected(post, raw: bytes, go_type: str) -> None:
    assert reason(post(raw=raw)) == (
        f"json: cannot unmarshal {go_type} into Go value of type main.GenRequest"
    )


@pytest.mark.parametrize("field", ["image_url", "image_end_url"])
@pytest.mark.parametrize(
    "value",
    ["ftp://x/y.png", "not a url", "data:image/png;base64,", "data:image/png;base64,@@@", "//x"],
)
def test_images_must_be_http_urls_or_base64_data_uris(post, field: str, value: str) -> None:
    assert reason(post({"user_prompt": "x", field: value})) == (
        f"invalid {field}: must be an http(s) URL or a data:image/<fmt>;base64,<data> URI"
    )


@pytest.mark.parametrize("value", ["https://example.com/a.png", "http://x/y.jpg", DATA_URI])
def test_image_urls_and_data_uris_are_accepted(post, value: str) -> None:
    response = post({"user_prompt": "x", "image_url": value, "image_end_url": value})
    assert response.status_code == 200


@pytest.mark.parametrize("hook", ["ftp://x/hook", "localhost:9/hook", "hook"])
def test_notify_hook_must_be_an_http_url(post, hook: str) -> None:
    assert reason(post({"user_prompt": "x", "notify_hook": hook})) == (
        "invalid notify_hook: must be an http(s) URL"
    )


def test_unknown_fields_are_ignored_like_go_does(post) -> None:
    response = post({"user_prompt": "x", "prompt": 5, "model": ["ray-2"], "callback_url": 1})
    assert response.status_code == 200


def test_null_fields_count_as_absent(post) -> None:
    response = post(
        {"user_prompt": "x", "expand_prompt": None, "aspect_ratio": None, "image_url": None}
    )
    assert response.status_code == 200


def test_the_full_create_body_is_accepted_and_echoed(post, module_sim: LumaSimulator) -> None:
    body = {
        "user_prompt": "一阵风吹过树林",
        "aspect_ratio": "9:16",
        "expand_prompt": True,
        "loop": False,
        "image_url": "https://example.com/start.png",
        "image_end_url": DATA_URI,
        "model_name": "ray-v2",
        "duration": "5s",
        "resolution": "720p",
    }
    created = post(body)
    assert created.status_code == 200
    assert created.json()["prompt"] == "一阵风吹过树林"
    task = echoed_task(module_sim, created.json()["id"])
    assert task["request"] == {
        "prompt": "一阵风吹过树林",
        "aspect_ratio": "9:16",
        "expand_prompt": True,
        "image_url": "https://example.com/start.png",
        "image_end_url": DATA_URI,
        "model_name": "ray-v2",
        "duration": "5s",
        "resolution": "720p",
    }


def test_rejected_bodies_are_recorded_with_their_status(post, module_sim) -> None:
    post({"user_prompt": "x", "expand_prompt": "true"})
    last = module_sim.requests[-1]
    assert last.route == "create"
    assert last.status == 400
    assert last.json == {"user_prompt": "x", "expand_prompt": "true"}


def test_validation_errors_follow_a_non_default_error_shape(post, module_sim) -> None:
    module_sim.shapes.errors = "message"
    try:
        response = post({"user_prompt": ""})
    finally:
        module_sim.shapes.reset()
    assert response.status_code == 400
    assert response.json() == {"message": "user_prompt is required"}


def echoed_task(sim, task_id: str) -> dict:
    """The task in the "artifact" query shape, which echoes the validated request."""
    sim.shapes.query = "artifact"
    try:
        return requests.get(
            f"{sim.base_url}/luma/generations/{task_id}",
            headers={"Authorization": f"Bearer {sim.api_key}"},
            timeout=5,
        ).json()
    finally:
        sim.shapes.query = "flat"
