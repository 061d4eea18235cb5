"""Receive `notify_hook` callbacks, so that `wait` notices completion at once.

A gateway that supports `notify_hook` POSTs JSON to a URL of yours whenever a task changes
state. [`NotifyListener`][luma_tools.webhooks.NotifyListener] is a small HTTP server for that:
pass it to `create(..., notify=listener)` (which fills `notify_hook`) and to
`wait(task, listener=listener)` (which then sleeps until a callback arrives instead of polling).

Callbacks are only hints. Their payload is undocumented and differs between gateways, they can
repeat, arrive out of order, or never arrive at all. So the listener never takes a callback as
the final word: a callback that claims a task finished wakes the waiting `wait`, which confirms
with one `GET`; callbacks that report progress only prove that the gateway reaches us. Slow
polling keeps running underneath as a safety net, and a closed listener makes `wait` fall back to
ordinary polling.

Example:
    ```python
    # not-tested: binds a public interface and needs a public URL that the gateway can reach
    from luma_tools import LumaClient
    from luma_tools.webhooks import NotifyListener

    # The gateway must be able to reach the URL: bind a public interface, or put a tunnel or
    # reverse proxy in front and tell the listener its public address.
    with LumaClient() as client, NotifyListener(
        host="0.0.0.0", port=8765, public_url="https://hooks.example.com"
    ) as listener:
        task = client.create("a koi pond in the rain", notify=listener)
        task = client.wait(task, listener=listener)  # returns right after the callback
    ```

Receiving the callback in your own web framework instead: the view behind your route (e.g.
Flask's `@app.post("/luma-hook")`) parses the raw body, answers 200 at once, and leaves the
confirming `GET` to a worker:

```python
import json
import queue

from luma_tools.webhooks import parse_notify_payload

finished: queue.Queue[str] = queue.Queue()


def luma_hook(body: bytes) -> tuple[str, int]:
    task_id, state = parse_notify_payload(body)
    if state.is_terminal:
        finished.put(task_id)  # the body is only a claim: the worker confirms it
    return "", 200


# What a gateway POSTs when your task `task_id` completes:
assert luma_hook(json.dumps({"id": task_id, "state": "completed"}).encode()) == ("", 200)

# The worker: the query endpoint is the source of truth.
task = client.get(finished.get(timeout=5))
print(task.state, task.video_url)
```
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple, Self
from urllib.parse import urlsplit

from ._closing import Closing
from ._exceptions import InvalidInputError
from ._ids import check_task_id
from ._models import TaskState

__all__ = ["NotifyListener", "NotifyPayload", "NotifyStats", "parse_notify_payload"]

log = logging.getLogger("luma_tools")

#: What `NotifyWatch.wait` reports: a callback claims the task finished ("final"), a callback
#: shows the task is still going ("alive"), nothing arrived in time ("timeout"), the listener
#: stopped ("closed"), or the caller's cancel event was set ("cancelled").
WatchSignal = Literal["final", "alive", "timeout", "closed", "cancelled"]

_DEFAULT_MAX_BODY = 256 * 1024
# How many task ids the listener remembers callbacks for, so that a `wait` started after the
# first callback arrived still knows the gateway reaches us. Bounded: a listener may run for days.
_REMEMBERED_TASKS = 4096
# How often a cancellable wait re-checks its cancel event while sleeping on a listener.
_CANCEL_CHECK_SECONDS = 0.25
# Seconds a connection may take, all told, to send its request (a slow client sending a byte
# every few seconds passes any per-read timeout, so the whole exchange is bounded).
_REQUEST_TIMEOUT = 10.0
# Connections handled at once; more are answered 503 at once (each one holds a thread).
_MAX_CONNECTIONS = 32


class NotifyPayload(NamedTuple):
    """What a callback says: which task, and the state it claims (a hint, not a fact).

    Attributes:
        task_id: The task the callback is about.
        state: The claimed state; `UNKNOWN` when the body names none or an unfamiliar one.
    """

    task_id: str
    state: TaskState


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _find(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = _text(obj.get(key))
        if value is not None:
            return value
    return None


# A task record carries an integer record `id` next to the real `task_id`, so `task_id` wins.
_ID_KEYS = ("task_id", "id")
_STATE_KEYS = ("state", "status", "task_status")


def parse_notify_payload(body: bytes | str | Mapping[str, Any] | list[Any]) -> NotifyPayload:
    """Extract the task id and claimed state from a `notify_hook` callback body.

    Accepts every shape gateways are known or likely to send: the task object itself (as
    `GET /luma/generations/{id}` returns it), a `{code, message, data: task}` envelope, a gateway
    task record (`{"id": 13917, "task_id": "...", "status": "SUCCESS", "data": task}`), or a
    one-element list of any of these. The id is taken from `task_id` or `id`, then from
    `data.task_id` or `data.id`; the state from `state`, `status` or `task_status` at the same
    levels, in any gateway vocabulary.

    The state is a claim: confirm it with `client.get(task_id)` before acting on it.

    Args:
        body: The raw request body (bytes or text), or already-parsed JSON.

    Returns:
        `NotifyPayload(task_id, state)`, unpackable as a tuple.

    Raises:
        ValueError: The body is not JSON, or names no usable task id.

    Example:
        ```python
        from luma_tools.webhooks import parse_notify_payload

        task_id, state = parse_notify_payload(b'{"id": "9d4b7516", "state": "completed"}')
        assert task_id == "9d4b7516" and state.is_terminal
        # Only a claim: confirm with client.get(task_id) before acting on it.
        ```
    """
    data: Any = body
    if isinstance(body, bytes | bytearray | str):
        try:
            data = json.loads(body)
        except RecursionError:
            raise ValueError("the callback body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"the callback body is not JSON ({exc})"[:200]) from None
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    inner = data.get("data")
    if isinstance(inner, list):
        inner = inner[0] if inner else None
    inner = inner if isinstance(inner, Mapping) else {}
    task_id = _find(data, _ID_KEYS) or _find(inner, _ID_KEYS)
    if task_id is None:
        raise ValueError("the callback names no task id (id, task_id, data.id, data.task_id)")
    try:
        check_task_id(task_id)
    except InvalidInputError as exc:
        raise ValueError(f"the callback's task id is unusable: {exc}") from None
    raw_state = _find(data, _STATE_KEYS) or _find(inner, _STATE_KEYS)
    state = TaskState.from_raw(raw_state) if raw_state is not None else TaskState.UNKNOWN
    return NotifyPayload(task_id, state)


@dataclass(frozen=True)
class NotifyStats:
    """Counts of what a listener received (a snapshot).

    Attributes:
        accepted: Callbacks that named a task (answered 200).
        woke: Accepted callbacks that woke at least one `wait`.
        unauthorized: Requests without the listener's token (401).
        too_large: Bodies over the size cap (413).
        malformed: Bodies that were not JSON or named no task (400).
        busy: Connections refused because every slot was taken (503).
    """

    accepted: int = 0
    woke: int = 0
    unauthorized: int = 0
    too_large: int = 0
    malformed: int = 0
    busy: int = 0


class NotifyWatch(Closing):
    """One `wait`'s subscription to the callbacks of one task (made by `NotifyListener.watch`).

    Use it as a context manager, or call `close()` when done.
    """

    def __init__(self, listener: NotifyListener, task_id: str, proven: bool) -> None:
        self.task_id = task_id
        self._listener = listener
        self._event = threading.Event()
        self._final = False
        self._news = False
        self._proven = proven

    @property
    def proven(self) -> bool:
        """True once a callback for this task has arrived: the gateway reaches the listener."""
        return self._proven

    def _post(self, state: TaskState) -> None:
        # Called by the listener with its lock held.
        self._proven = True
        self._news = True
        # A terminal claim, or a state we cannot read, is worth a confirming GET; progress
        # reports are not (that is what keeps the request count down).
        if state.is_terminal or state is TaskState.UNKNOWN:
            self._final = True
        self._event.set()

    def _closed(self) -> None:
        self._event.set()

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> WatchSignal:
        """Sleep until a callback for the task arrives, the listener closes, or `timeout` passes.

        Args:
            timeout: Seconds to sleep at most.
            cancel: An event that ends the sleep early with "cancelled" (checked every
                quarter second).

        Returns:
            The `WatchSignal` that ended the sleep. After "final" or "alive" the news is consumed.
        """
        end = time.monotonic() + max(0.0, timeout)
        while True:
            if cancel is not None and cancel.is_set():
                return "cancelled"
            with self._listener._lock:
                if self._news:
                    self._news = False
                    self._event.clear()
                    final, self._final = self._final, False
                    return "final" if final else "alive"
                if self._listener.closed:
                    return "closed"
                self._event.clear()
            left = end - time.monotonic()
            if left <= 0:
                return "timeout"
            step = left if cancel is None else min(left, _CANCEL_CHECK_SECONDS)
            self._event.wait(step)

    def close(self) -> None:
        """Stop receiving this task's callbacks."""
        self._listener._unwatch(self)


class _Reaper:
    """One thread that cuts off connections past their deadline (instead of a timer each)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadlines: dict[socket.socket, float] = {}
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="luma-notify-reaper", daemon=True)
        self._thread.start()

    def watch(self, sock: socket.socket, seconds: float) -> None:
        with self._cond:
            self._deadlines[sock] = time.monotonic() + seconds
            self._cond.notify()

    def forget(self, sock: socket.socket) -> None:
        with self._cond:
            self._deadlines.pop(sock, None)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                for sock, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[sock]
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)  # the handler's read ends at once
                upcoming = min(self._deadlines.values(), default=now + 1.0)
                self._cond.wait(max(0.01, upcoming - now))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Without this a restart on a fixed port fails for a minute (TIME_WAIT).
    allow_reuse_address = True
    listener: NotifyListener
    reaper: _Reaper
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            # Every slot is busy (a flood, or slow clients): refuse at once, hold nothing.
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\nRetry-After: 1\r\n\r\n"
                )
            with self.listener._lock:
                self.listener._count(busy=1)
            self.shutdown_request(request)
            return
        self.reaper.watch(request, self.listener.request_timeout)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.reaper.forget(request)
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.reaper.forget(request)
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _REQUEST_TIMEOUT
    server_version = "luma-tools-notify"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(min(_REQUEST_TIMEOUT, self.server.listener.request_timeout))

    def do_POST(self) -> None:
        self.server.listener._handle(self)

    def _refuse(self) -> None:
        self._answer(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST only"}, close=True)

    do_GET = do_PUT = do_DELETE = do_PATCH = _refuse

    def _answer(self, status: HTTPStatus, document: Any, *, close: bool = False) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line (in access and error lines alike) holds the listener's secret token.
        line = (format % args).replace(self.server.listener._token, "<token>")
        log.debug("notify listener: %s", line[:120])


class NotifyListener(Closing):
    """A small HTTP server that receives `notify_hook` callbacks and wakes the matching `wait`.

    Every listener makes up a random, unguessable token and puts it in its callback URL
    (`listener.url`); requests without it are answered 401, bodies over `max_body_bytes` 413.
    Any JSON shape naming a task is accepted (see `parse_notify_payload`) and answered 200 at
    once; repeated, out-of-order and unknown-task callbacks are harmless.

    Args:
        host: Interface to bind. The default, 127.0.0.1, only hears this machine (a simulator
            or a local tunnel); use "0.0.0.0" to be reachable from the network.
        port: Port to bind; 0 picks a free one.
        public_url: The address the gateway should call, when it differs from the bound one
            (a tunnel, a reverse proxy): e.g. `https://hooks.example.com/luma`. The token is
            appended as the last path segment; the listener accepts any path ending in it.
        max_body_bytes: Larger bodies are refused with 413 without being read.
        request_timeout: Seconds a connection may take, in all, to send its request; slower
            clients are cut off (a trickle of bytes does not keep a thread).
        max_connections: Connections handled at once; more are answered 503 at once.
        safety_interval: Once callbacks for a task have arrived, `wait` polls only this often
            (seconds, scaled by the poll policy's `time_scale`) in case the final callback
            gets lost.

    Example:
        ```python
        from luma_tools import LumaClient
        from luma_tools.webhooks import NotifyListener

        with LumaClient() as client, NotifyListener() as listener:  # 127.0.0.1, any free port
            task = client.create("a paper boat on a stream", notify=listener)
            task = client.wait(task, listener=listener)  # returns right after the final callback
        print(listener.stats)
        ```
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        max_body_bytes: int = _DEFAULT_MAX_BODY,
        request_timeout: float = _REQUEST_TIMEOUT,
        max_connections: int = _MAX_CONNECTIONS,
        safety_interval: float = 300.0,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if not request_timeout > 0 or max_connections < 1:
            raise ValueError("request_timeout and max_connections must be positive")
        if safety_interval <= 0:
            raise ValueError("safety_interval must be positive")
        if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
            raise ValueError(f"public_url must be an http(s) URL, not {public_url!r}")
        self.host = host
        self.port = port
        self.public_url = public_url.rstrip("/") if public_url is not None else None
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.safety_interval = safety_interval
        self._token = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._watches: dict[str, set[NotifyWatch]] = {}
        self._seen: OrderedDict[str, TaskState] = OrderedDict()
        self._stats = NotifyStats()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and start serving on a background thread (idempotent while running).

        Raises:
            RuntimeError: The listener was stopped (make a new one: the URL would change).
            OSError: The address cannot be bound.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("a stopped NotifyListener cannot be restarted")
            if self._server is not None:
                return self
            server = _Server((self.host, self.port), _Handler)
            server.listener = self
            server.reaper = _Reaper()
            server.slots = threading.BoundedSemaphore(self.max_connections)
            self._server = server
            self.port = int(server.server_address[1])
            # Short poll interval: stop() returns promptly.
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"luma-notify-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake every `wait` (they fall back to polling). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            server, self._server = self._server, None
            watches = [w for group in self._watches.values() for w in group]
        for watch in watches:
            watch._closed()
        if server is not None:
            server.shutdown()
            server.server_close()
            server.reaper.stop()
        if self._thread is not None:
            self._thread.join(5)

    close = stop

    def __enter__(self) -> Self:
        return self.start()

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._server is not None else "not serving"
        return f"<NotifyListener {where}{' (stopped)' if self._closed else ''}>"

    # -- state ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once `stop` was called."""
        return self._closed

    @property
    def url(self) -> str:
        """The callback URL to give the gateway (`notify_hook`); it holds the secret token.

        Raises:
            RuntimeError: Before `start` when no `public_url` was given (the port is unknown).
        """
        if self.public_url is not None:
            return f"{self.public_url}/{self._token}"
        if self._server is None:
            raise RuntimeError("NotifyListener is not serving; use start() or a with block")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/luma-notify/{self._token}"

    @property
    def stats(self) -> NotifyStats:
        """What the listener has received so far."""
        with self._lock:
            return self._stats

    def _count(self, **changes: int) -> None:
        # Called with the lock held.
        current = self._stats
        self._stats = NotifyStats(
            **{name: getattr(current, name) + changes.get(name, 0) for name in vars(current)}
        )

    # -- watching ---------------------------------------------------------------------------

    def watch(self, task_id: str) -> NotifyWatch:
        """Subscribe to one task's callbacks (what `LumaClient.wait(listener=...)` does).

        A callback that arrived before the watch began still counts as proof that the gateway
        reaches the listener, but it does not wake the watch: the caller polls once anyway.
        """
        with self._lock:
            watch = NotifyWatch(self, task_id, proven=task_id in self._seen)
            self._watches.setdefault(task_id, set()).add(watch)
            if self._closed:
                watch._closed()
        return watch

    def _unwatch(self, watch: NotifyWatch) -> None:
        with self._lock:
            group = self._watches.get(watch.task_id)
            if group is not None:
                group.discard(watch)
                if not group:
                    del self._watches[watch.task_id]

    def feed(self, body: bytes | str | Mapping[str, Any] | list[Any]) -> NotifyPayload:
        """Take one callback body as if it had arrived over HTTP, and wake matching waits.

        For callbacks received some other way (your own web framework); the HTTP server calls
        this too.

        Raises:
            ValueError: See `parse_notify_payload`.
        """
        payload = parse_notify_payload(body)
        with self._lock:
            self._seen[payload.task_id] = payload.state
            self._seen.move_to_end(payload.task_id)
            while len(self._seen) > _REMEMBERED_TASKS:
                self._seen.popitem(last=False)
            watches = self._watches.get(payload.task_id, ())
            for watch in watches:
                watch._post(payload.state)
            self._count(accepted=1, woke=1 if watches else 0)
        log.debug("notify callback: task %s claims %s", payload.task_id, payload.state.value)
        return payload

    # -- HTTP -------------------------------------------------------------------------------

    def _handle(self, request: _Handler) -> None:
        path = urlsplit(request.path).path
        token = path.rstrip("/").rsplit("/", 1)[-1]
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            with self._lock:
                self._count(unauthorized=1)
            request._answer(HTTPStatus.UNAUTHORIZED, {"error": "unknown callback URL"}, close=True)
            return
        length_header = request.headers.get("Content-Length")
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        length_text = (length_header or "").strip()
        # isdigit() alone accepts "²" and other non-ASCII digits that int() then rejects.
        if chunked or not (length_text.isascii() and length_text.isdigit()):
            # Without a length we cannot bound what we read; real senders always set one.
            request._answer(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length"}, close=True)
            return
        length = int(length_text)
        if length > self.max_body_bytes:
            with self._lock:
                self._count(too_large=1)
            # Not reading the body: close the connection instead of draining it.
            request._answer(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"body over {self.max_body_bytes} bytes"},
                close=True,
            )
            return
        body = request.rfile.read(length)
        try:
            payload = self.feed(body)
        except ValueError as exc:
            with self._lock:
                self._count(malformed=1)
            request._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)[:200]})
            return
        request._answer(HTTPStatus.OK, {"ok": True, "task_id": payload.task_id})
