"""Class 2: redirects never replay a paid POST; GET redirects are few and go nowhere unsafe."""

from __future__ import annotations

import pytest
from hostile_server import HostileServer, json_reply, redirect

from luma_tools import AmbiguousSubmitError, LumaClient, RedirectError

TASK = {"id": "task-1", "state": "processing"}


def test_a_307_loop_on_create_sends_one_post(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("POST", "/luma/generations", redirect(307, "/luma/generations"))
    with pytest.raises(RedirectError) as caught:
        hostile_client.create("a fox")
    assert hostile.count("POST") == 1
    assert "/luma/generations" in str(caught.value)
    assert "Nothing was created" in str(caught.value)
    assert "LUMA_BASE_URL" in str(caught.value)


@pytest.mark.parametrize("status", [301, 307, 308])
def test_a_redirect_to_another_host_never_receives_the_prompt(
    status: int, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    with HostileServer() as elsewhere:
        elsewhere.script("POST", "/luma/generations", json_reply(200, TASK))
        hostile.script(
            "POST", "/luma/generations", redirect(status, f"{elsewhere.url}/luma/generations")
        )
        with pytest.raises(RedirectError) as caught:
            hostile_client.create("a secret prompt")
        assert caught.value.location == f"{elsewhere.url}/luma/generations"
        assert elsewhere.received == []


@pytest.mark.parametrize("status", [302, 303])
def test_a_see_other_after_a_post_is_ambiguous(
    status: int, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    # 302/303 after a POST traditionally mean "done, the result is over there".
    hostile.script("POST", "/luma/generations", redirect(status, "/luma/generations/task-1"))
    with pytest.raises(AmbiguousSubmitError) as caught:
        hostile_client.create("a fox")
    assert "/luma/generations/task-1" in str(caught.value)
    assert hostile.count("POST") == 1
    assert hostile.count("GET") == 0


def test_a_get_follows_a_few_redirects_on_the_same_gateway(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("GET", "/luma/generations/task-1", redirect(302, "/v2/luma/generations/task-1"))
    hostile.script("GET", "/v2/luma/generations/task-1", json_reply(200, TASK))
    assert hostile_client.get("task-1").id == "task-1"


def test_a_get_redirect_loop_stops_after_three(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("GET", "/luma/generations/task-1", redirect(302, "/luma/generations/task-1"))
    with pytest.raises(RedirectError, match="more than 3"):
        hostile_client.get("task-1")
    assert hostile.count("GET") == 4


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/x",
        "javascript:alert(1)",
        "ftp://example.com/v.mp4",
    ],
)
def test_a_get_never_follows_another_scheme(
    location: str, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script("GET", "/luma/generations/task-1", redirect(302, location))
    with pytest.raises(RedirectError, match="not http"):
        hostile_client.get("task-1")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
    ],
)
def test_a_public_gateway_cannot_redirect_to_private_addresses(
    target: str, hostile: HostileServer, make_hostile_client
) -> None:
    # The hostile server stands in for a public gateway (allow_private_urls=False).
    client = make_hostile_client(hostile.url, allow_private_urls=False)
    hostile.script("GET", "/luma/generations/task-1", redirect(302, target))
    with pytest.raises(RedirectError, match="private"):
        client.get("task-1")


def test_a_redirect_to_another_host_carries_no_key(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    with HostileServer() as elsewhere:
        elsewhere.script("GET", "/luma/generations/task-1", json_reply(200, TASK))
        hostile.script(
            "GET",
            "/luma/generations/task-1",
            redirect(307, f"{elsewhere.url}/luma/generations/task-1"),
        )
        assert hostile_client.get("task-1").id == "task-1"
        assert "Authorization" in hostile.received[0].headers
        assert "Authorization" not in elsewhere.received[0].headers
