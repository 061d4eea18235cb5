"""The HTTP plumbing under `LumaClient`: session, retries, auth, and request outcomes.

Retries are urllib3's `Retry`, mounted once on the session. It retries idempotent requests
(GET/HEAD) on connection errors, read timeouts, 429 and 5xx, with exponential backoff, jitter
and `Retry-After`. POST requests (create and extend cost money) are retried only when the
connection was never established, which is exactly what urllib3 calls a *connect* error.
"""

from __future__ import annotations

from typing import Any

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

__all__ = ["BearerAuth", "build_session", "never_sent"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class BearerAuth(requests.auth.AuthBase):
    """Adds `Authorization: Bearer <key>` to requests for the gateway's API, and nothing else.

    Presigned download links live on storage hosts (often under the same origin as the files of
    a simulator); sending them our key would leak it, and S3-style hosts reject such requests.
    """

    def __init__(self, api_key: SecretStr, api_prefix: str) -> None:
        self._api_key = api_key
        self._api_prefix = api_prefix

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url is not None and request.url.startswith(self._api_prefix):
            request.headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth(api_key=SecretStr('**********'), api_prefix={self._api_prefix!r})"


def build_retry(max_retries: int) -> Retry:
    """The retry policy for one client (see the module docstring)."""
    return Retry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=5,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.5,
        backoff_max=8.0,
        backoff_jitter=0.5,
        respect_retry_after_header=True,
        retry_after_max=30,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def build_session(*, max_retries: int, pool_size: int, user_agent: str) -> requests.Session:
    """A session whose adapters retry as described above and keep `pool_size` connections."""
    session = requests.Session()
    adapter = HTTPAdapter(
        max_retries=build_retry(max_retries), pool_connections=4, pool_maxsize=pool_size
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    return session


def never_sent(exc: BaseException) -> bool:
    """True if `exc` proves the request never reached the server (no connection was made)."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(current, requests.ConnectTimeout):
            return True
        if isinstance(current, MaxRetryError):
            current = current.reason
            continue
        args = getattr(current, "args", ())
        nested = args[0] if args and isinstance(args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False
