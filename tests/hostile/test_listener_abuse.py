"""Class 7: the notify listener stays up under abuse, and a flood is not a flood of GETs."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from hostile_server import HostileServer, json_reply

from luma_tools import LumaClient, PollPolicy, WaitTimeoutError
from luma_tools.webhooks import NotifyListener


def raw_post(listener: NotifyListener, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes exactly as given to the listener's callback path; return its answer."""
    path = listener.url.split(str(listener.port), 1)[1]
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode() + head + b"\r\n" + body)
        return sock.recv(4096)


def healthy(listener: NotifyListener) -> bool:
    answer = requests.post(listener.url, json={"id": "task-ok", "state": "running"}, timeout=5)
    return answer.status_code == 200


@pytest.fixture
def listener() -> NotifyListener:
    with NotifyListener(request_timeout=1.0, max_connections=4) as running:
        yield running


@pytest.mark.parametrize("length", ["²", "١٢", "-1", "1e3", " ", "99999999999999999999"])
def test_odd_content_lengths_are_refused_and_it_stays_up(
    length: str, listener: NotifyListener
) -> None:
    answer = raw_post(listener, f"Content-Length: {length}\r\n".encode())
    assert answer.split(b" ")[1] in (b"411", b"413")
    assert healthy(listener)


def test_deeply_nested_json_is_a_400_and_it_stays_up(listener: NotifyListener) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    answer = requests.post(listener.url, data=body, timeout=5)
    # Over the size cap is 413; a nested body under the cap is 400.
    assert answer.status_code in (400, 413)
    nested = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
    answer = requests.post(listener.url, data=nested[:200_000], timeout=5)
    assert answer.status_code == 400
    assert healthy(listener)


def test_a_slow_client_is_cut_off_by_the_request_timeout(listener: NotifyListener) -> None:
    path = listener.url.split(str(listener.port), 1)[1]
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(f"POST {path} HTTP/1.1\r\n".encode())
        try:
            for _ in range(40):  # a header byte every 0.25 s: no single read ever times out
                sock.sendall(b"X")
                time.sleep(0.25)
        except OSError:
            pass  # cut off mid-trickle
        assert time.monotonic() - started < 3.0
    assert healthy(listener)


def test_connections_are_bounded_and_freed(listener: NotifyListener) -> None:
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", listener.port), timeout=5) for _ in range(12)]
    try:
        # Past the 4 slots each connection is answered 503 at once; the 4 that got a slot say
        # nothing and are cut off by the 1 s request timeout. Either way every read returns.
        # (On a loaded machine some connections are only accepted after the first ones were
        # cut off, and then get a slot of their own.)
        answers = [sock.recv(1024) for sock in idle]
        refused = sum(answer.startswith(b"HTTP/1.1 503") for answer in answers)
        assert refused + answers.count(b"") == 12
        assert refused >= 4
        assert threading.active_count() - before <= listener.max_connections
    finally:
        for sock in idle:
            sock.close()
    assert listener.stats.busy == refused
    # The slots are free again (a real gateway retries a 503 the same way).
    assert any(healthy(listener) or time.sleep(0.05) for _ in range(40))


def test_a_flood_of_completed_callbacks_does_not_flood_the_gateway(
    hostile: HostileServer, make_hostile_client
) -> None:
    # The task really is still running; a caller floods the listener with "completed" claims.
    hostile.script(
        "GET", "/luma/generations/task-1", json_reply(200, {"id": "task-1", "state": "processing"})
    )
    policy = PollPolicy(first_delay=30, min_interval=0.5, max_interval=30, jitter=0.0)
    client: LumaClient = make_hostile_client(hostile.url, poll_policy=policy)
    with NotifyListener(max_connections=64) as listener:
        stop = threading.Event()

        def flood() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    session.post(
                        listener.url, json={"id": "task-1", "state": "completed"}, timeout=5
                    )

        floods = [threading.Thread(target=flood) for _ in range(4)]
        for thread in floods:
            thread.start()
        try:
            with pytest.raises(WaitTimeoutError):
                client.wait("task-1", timeout=3, listener=listener)
        finally:
            stop.set()
            for thread in floods:
                thread.join(10)
        assert listener.stats.accepted > 50
    # One GET to start, then at most one confirming GET per half second (the floor).
    assert hostile.count("GET") <= 1 + 3 / 0.5 + 1
