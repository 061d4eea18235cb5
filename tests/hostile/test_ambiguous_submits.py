"""Class 1: a create/extend whose outcome is unknown is ambiguous, and never sent twice.

A proxy in front of the real simulator forwards each paid request (the origin creates the
task) and then fails in every way proxies and CDNs do. Whatever it sends, the client must say
"may have been created and billed", and the simulator must have seen exactly one create.
"""

from __future__ import annotations

import pytest
from hostile_server import (
    HostileServer,
    close_after_request,
    forward,
    forward_then,
    json_reply,
    reply,
    reset_after_request,
)

from luma_tools import (
    AmbiguousSubmitError,
    AuthenticationError,
    BadRequestError,
    LumaClient,
    LumaConnectionError,
    NotFoundError,
    QuotaError,
    RateLimitError,
)
from luma_tools.simulator import LumaSimulator

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>example.com | 524: A timeout occurred</title></head>"
    "<body>The origin web server timed out responding to this request.</body></html>"
)


@pytest.fixture
def proxy(sim: LumaSimulator, hostile: HostileServer) -> HostileServer:
    """The hostile server as a proxy in front of the simulator: reads pass straight through."""
    hostile.script("GET", r"/luma/.*", forward(sim.base_url))
    return hostile


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 521, 522, 523, 524])
def test_a_proxy_error_after_the_origin_acted_is_ambiguous(
    status: int, proxy: HostileServer, sim: LumaSimulator, make_hostile_client
) -> None:
    proxy.script(
        "POST", "/luma/generations", forward_then(sim.base_url, reply(status, CLOUDFLARE_PAGE))
    )
    client: LumaClient = make_hostile_client(proxy.url, api_key=sim.api_key)
    with pytest.raises(AmbiguousSubmitError) as caught:
        client.create("a fox in the snow")
    error = caught.value
    assert error.status_code == status
    assert error.prompt == "a fox in the snow"
    assert error.sent_at is not None
    assert "may have been created and billed" in str(error)
    assert "do not resubmit" in str(error)
    assert "524: A timeout occurred" in str(error) or status != 524  # the page's own words
    assert sim.count("create") == 1  # the origin made the task, and only once
    assert proxy.count("POST") == 1


@pytest.mark.parametrize(
    "failure",
    [
        close_after_request(),
        reset_after_request(),
        reply(200, "<html><body>Welcome to the hotel Wi-Fi</body></html>"),
        json_reply(200, {"ok": True}),
        reply(200, "{truncated json"),
        json_reply(200, {"code": 500, "message": "upstream error"}),
    ],
    ids=["closed", "reset", "html-200", "json-without-task", "broken-json", "business-500"],
)
def test_any_reply_that_does_not_prove_refusal_is_ambiguous(
    failure, proxy: HostileServer, sim: LumaSimulator, make_hostile_client
) -> None:
    proxy.script("POST", "/luma/generations", forward_then(sim.base_url, failure))
    client = make_hostile_client(proxy.url, api_key=sim.api_key)
    with pytest.raises(AmbiguousSubmitError):
        client.create("a fox")
    assert sim.count("create") == 1
    assert proxy.count("POST") == 1


def test_an_extend_behind_a_failing_proxy_is_ambiguous_and_names_its_source(
    proxy: HostileServer, sim: LumaSimulator, make_hostile_client
) -> None:
    source = sim.add_task(state="completed")
    proxy.script(
        "POST",
        r"/luma/generations/[^/]+/extend",
        forward_then(sim.base_url, reply(502, "Bad gateway")),
    )
    client = make_hostile_client(proxy.url, api_key=sim.api_key)
    with pytest.raises(AmbiguousSubmitError) as caught:
        client.extend(source, "then it flies away")
    assert caught.value.operation == "extend"
    assert caught.value.extends == source
    assert caught.value.task_id is None
    assert sim.count("extend") == 1


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, {"error": {"message": "user_prompt is required"}}, BadRequestError),
        (422, {"detail": [{"loc": ["body", "aspect_ratio"], "msg": "bad ratio"}]}, BadRequestError),
        (401, {"error": {"message": "invalid token"}}, AuthenticationError),
        (403, {"error": {"message": "forbidden"}}, AuthenticationError),
        (402, {"error": {"message": "insufficient balance"}}, QuotaError),
        (429, {"error": {"message": "too many requests"}}, RateLimitError),
    ],
)
def test_replies_that_prove_refusal_raise_their_own_error(
    status: int, body: object, kind: type, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("POST", "/luma/generations", json_reply(status, body))
    with pytest.raises(kind) as caught:
        hostile_client.create("a fox")
    assert not isinstance(caught.value, AmbiguousSubmitError)
    assert caught.value.status_code == status
    assert hostile.count("POST") == 1  # refused: still never re-sent


def test_a_business_refusal_on_http_200_is_a_refusal(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "POST",
        "/luma/generations",
        json_reply(200, {"code": 1001, "message": "insufficient balance"}),
    )
    with pytest.raises(QuotaError):
        hostile_client.create("a fox")


def test_a_404_on_create_blames_the_base_url(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    with pytest.raises(NotFoundError) as caught:
        hostile_client.create("a fox")  # the hostile server has no such route: 404
    text = str(caught.value)
    assert "LUMA_BASE_URL" in text
    assert "task id" not in text
    assert caught.value.task_id is None


def test_the_gateway_request_id_is_kept(hostile: HostileServer, hostile_client: LumaClient) -> None:
    hostile.script(
        "POST", "/luma/generations", reply(502, "bad gateway", headers={"X-Request-Id": "req-42"})
    )
    with pytest.raises(AmbiguousSubmitError) as caught:
        hostile_client.create("a fox")
    assert caught.value.request_id == "req-42"
    assert "req-42" in str(caught.value)
    hostile.script(
        "POST", "/luma/generations", json_reply(504, {"message": "timeout", "request_id": "body-7"})
    )
    with pytest.raises(AmbiguousSubmitError) as caught:
        hostile_client.create("a fox")
    assert caught.value.request_id == "body-7"


def test_a_failed_tls_handshake_sent_nothing(make_hostile_client) -> None:
    # A plain-text server on an https URL: the handshake fails before any request byte.
    with HostileServer(raw_greeting=b"HTTP/1.1 400 Not TLS\r\n\r\n") as server:
        client = make_hostile_client(server.url.replace("http://", "https://"), max_retries=1)
        with pytest.raises(LumaConnectionError) as caught:
            client.create("a fox")
        assert not isinstance(caught.value, AmbiguousSubmitError)
        assert "TLS" in str(caught.value)
        assert server.received == []  # no request was ever read


def test_a_refused_connection_sent_nothing(make_hostile_client) -> None:
    with HostileServer() as server:
        url = server.url
    client = make_hostile_client(url, max_retries=0)  # the server is gone: nothing listens
    with pytest.raises(LumaConnectionError) as caught:
        client.create("a fox")
    assert not isinstance(caught.value, AmbiguousSubmitError)
