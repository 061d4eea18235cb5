"""HTTP plumbing: werkzeug's threaded server with keep-alive and clean shutdown.

werkzeug's own request handler closes every connection after one response. Clients
(and benchmarks) rely on HTTP/1.1 keep-alive, so `KeepAliveHandler` replaces its
``run_wsgi``: the request body is bounded by ``Content-Length`` and drained after the
response, responses are framed by ``Content-Length`` (or chunked), and the
connection is closed only when the client asks for it or the body came out short.

Two signals from the app are honoured:

* ``environ[RESET_KEY]`` set: send nothing and close the socket (the app has already
  set ``SO_LINGER`` to 0 on ``environ["werkzeug.socket"]``, so the close is an RST).
* A body shorter than its ``Content-Length``: the connection is closed after it, so
  the client sees an incomplete read instead of waiting forever.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any, ClassVar, Final, cast

from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)
from werkzeug.wsgi import LimitedStream

__all__ = ["RESET_KEY", "HTTPServerThread"]

RESET_KEY: Final = "luma_simulator.reset"
_DRAIN_LIMIT: Final = 1024 * 1024
_log = logging.getLogger(__name__)


class ConnectionRegistry:
    """Tracks live connections and their threads so ``stop()`` can end them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._closing = False

    def add_thread(self, thread: threading.Thread) -> None:
        """Remember a connection thread before it starts."""
        with self._lock:
            self._threads.add(thread)

    def thread_done(self, thread: threading.Thread) -> None:
        """Forget a finished connection thread."""
        with self._lock:
            self._threads.discard(thread)

    def register(self, sock: socket.socket) -> None:
        """Remember a live connection (shut it at once if we are closing)."""
        with self._lock:
            self._sockets.add(sock)
            closing = self._closing
        if closing:
            _shutdown(sock)

    def unregister(self, sock: socket.socket) -> None:
        """Forget a connection."""
        with self._lock:
            self._sockets.discard(sock)

    def close_all(self, timeout: float) -> None:
        """Shut every connection down and join the connection threads."""
        with self._lock:
            self._closing = True
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            _shutdown(sock)
        for thread in threads:
            thread.join(timeout)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(WSGIRequestHandler):
    """A WSGI request handler with HTTP/1.1 keep-alive and quiet logging."""

    protocol_version = "HTTP/1.1"
    timeout = 60.0  # idle keep-alive connections are dropped after this
    registry: ClassVar[ConnectionRegistry]
    log_requests: ClassVar[bool] = False

    def setup(self) -> None:
        """Prepare the connection and register it."""
        super().setup()
        self._reset = False
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.registry.register(self.connection)

    def finish(self) -> None:
        """Close the connection (with an RST when the app asked for a reset)."""
        try:
            if self._reset:
                self.rfile.close()  # drops the last makefile() reference ...
                self.connection.close()  # ... so this really closes: SO_LINGER 0 => RST
            else:
                super().finish()
        except OSError:
            pass
        finally:
            self.registry.unregister(self.connection)

    # -- logging: silent unless asked ---------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log one request line if ``log_requests`` is on."""
        if self.log_requests:
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        """Log a server-side problem if ``log_requests`` is on."""
        if self.log_requests:
            super().log_error(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        """Log a message if ``log_requests`` is on."""
        if self.log_requests:
            super().log_message(format, *args)

    # -- the request/response cycle -----------------------------------------------------

    def _wrap_body(self, environ: dict[str, Any]) -> Any:
        if environ.get("wsgi.input_terminated"):  # chunked request, already dechunked
            return environ["wsgi.input"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return None
        stream = LimitedStream(cast(IO[bytes], self.rfile), length)
        environ["wsgi.input"] = stream
        environ["wsgi.input_terminated"] = True
        return stream

    def _drain(self, body: Any) -> None:
        """Skip whatever request body the app did not read, to reuse the connection."""
        drained = 0
        try:
            while drained <= _DRAIN_LIMIT:
                chunk = body.read(64 * 1024)
                if not chunk:
                    return
                drained += len(chunk)
        except Exception:
            pass
        self.close_connection = True

    def _head(self, status: str, headers: list[tuple[str, str]]) -> tuple[bytes, bool, int | None]:
        """Serialize the status line and headers; return (bytes, chunked, length)."""
        code = int(status.split(None, 1)[0])
        bodyless = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        lines = [f"{self.protocol_version} {status}", "Server: luma-simulator"]
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        length: int | None = None
        for name, value in headers:
            lines.append(f"{name}: {value}")
            if name.lower() == "content-length":
                length = int(value)
        chunked = False
        if length is None and not bodyless:
            if self.request_version == "HTTP/1.1":
                chunked = True
                lines.append("Transfer-Encoding: chunked")
            else:
                self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version != "HTTP/1.1":
            lines.append("Connection: keep-alive")
        self.log_request(code, "-" if length is None else length)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head, chunked, (None if bodyless else length)

    def run_wsgi(self) -> None:
        """Run the app for one request and write its response."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = self._wrap_body(environ)
        if body is None:
            self.close_connection = True
            self.send_error(400, "Bad Content-Length")
            return

        pending: list[Any] = [None, []]  # status, headers set by start_response
        head_sent = False
        chunked = False
        expected: int | None = None
        sent = 0

        def write(data: bytes) -> None:
            nonlocal head_sent, chunked, expected, sent
            if not head_sent:
                head, chunked, expected = self._head(pending[0], pending[1])
                head_sent = True
                if chunked and data:
                    data = b"%x\r\n%s\r\n" % (len(data), data)
                self.wfile.write(head + data)
            elif data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            sent += len(data)

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info and head_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            pending[0], pending[1] = status, list(headers)
            return write

        try:
            app_iter: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                if environ.get(RESET_KEY):
                    self._reset = True
                    self.close_connection = True
                    return
                for data in app_iter:
                    write(data)
                if not head_sent:
                    write(b"")
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                elif expected is not None and sent < expected:
                    self.close_connection = True  # short body: make the client notice
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        except OSError:
            self.close_connection = True  # client went away (or we are stopping)
            return
        except Exception:
            _log.exception("simulator request failed: %s %s", self.command, self.path)
            self.close_connection = True
            if not head_sent:
                try:
                    message = b"Internal Server Error"
                    pending[0] = "500 Internal Server Error"
                    pending[1] = [
                        ("Content-Type", "text/plain"),
                        ("Content-Length", str(len(message))),
                    ]
                    write(message)
                except OSError:
                    pass
            return
        if not self.close_connection:
            self._drain(body)


class HTTPServerThread:
    """Binds a port, builds the app for its URL and serves it on a daemon thread."""

    def __init__(
        self,
        app_factory: Callable[[str], Any],
        *,
        host: str,
        port: int,
        log_requests: bool = False,
    ) -> None:
        """Bind the listening socket (so the port is known) and create the server.

        Args:
            app_factory: Called with the base URL (``http://host:port``); returns the
                WSGI app.
            host: Interface to bind.
            port: Port to bind, 0 for a free one.
            log_requests: Let werkzeug log each request to stderr.

        Raises:
            OSError: If the address cannot be bound.
        """
        family = select_address_family(host, port)
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(get_sockaddr(host, port, family))
            listener.listen(128)
            self.port: int = listener.getsockname()[1]
            self.base_url = f"http://{_url_host(host)}:{self.port}"
            self.registry = ConnectionRegistry()
            handler = type(
                "SimulatorHandler",
                (KeepAliveHandler,),
                {"registry": self.registry, "log_requests": log_requests},
            )
            self.server: BaseWSGIServer = make_server(
                host,
                self.port,
                app_factory(self.base_url),
                threaded=True,
                request_handler=handler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds its own duplicate of the descriptor
        self.server.process_request = self._process_request  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start accepting connections."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to this long
            name=f"luma-sim-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every connection, join all threads, release the port."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout)
        self.registry.close_all(timeout)
        self.server.server_close()

    def _process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._handle_connection,
            args=(request, client_address),
            name=f"luma-sim-conn-{self.port}",
            daemon=True,
        )
        self.registry.add_thread(thread)
        thread.start()

    def _handle_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.server.finish_request(request, client_address)
        except OSError:
            _log.debug("connection ended with a socket error", exc_info=True)
        except Exception:
            _log.exception("simulator connection handler failed")
        finally:
            self.server.shutdown_request(request)
            self.registry.thread_done(threading.current_thread())


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
