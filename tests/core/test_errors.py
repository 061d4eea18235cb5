"""Error bodies of every shape in the reference map to the right exception and message."""

from __future__ import annotations

import pickle

import pytest

from luma_tools import (
    AuthenticationError,
    BadRequestError,
    LumaError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    ServerError,
    Task,
    TaskFailedError,
    WaitTimeoutError,
)
from luma_tools._errors import business_error, error_from_status, extract_message

OPENAI = '{"error": {"message": "Invalid token", "type": "new_api_error", "param": "", "code": ""}}'
DETAIL = '{"detail": {"reason": "unauthorized secret token", "code": 1}}'
NGINX = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body></html>"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (OPENAI, "Invalid token"),
        (DETAIL, "unauthorized secret token"),
        ('{"detail": "Generation not found"}', "Generation not found"),
        ('{"message": "task not completed"}', "task not completed"),
        ('{"error": "plain string error"}', "plain string error"),
        ('{"detail": [{"loc": ["body", "x"], "msg": "field required"}]}', "field required"),
        (
            DETAIL + '{"detail": "second object appended by the Go proxy"}',
            "unauthorized secret token",
        ),
        ('"{\\"error\\": {\\"message\\": \\"encoded twice\\"}}"', "encoded twice"),
        (NGINX, "502 Bad Gateway"),
        ("<html><body><p>Service   Unavailable</p></body></html>", "Service Unavailable"),
        ("upstream connect error", "upstream connect error"),
        ("", "no error message"),
    ],
)
def test_message_extraction(body: str, message: str) -> None:
    assert extract_message(body) == message


def test_long_html_is_shortened() -> None:
    message = extract_message("<html><body>" + "word " * 500 + "</body></html>")
    assert len(message) <= 300
    assert message.endswith("…")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, OPENAI, AuthenticationError),
        (403, '{"error": {"message": "forbidden"}}', AuthenticationError),
        (403, '{"error": {"message": "x", "code": "insufficient_user_quota"}}', QuotaError),
        (402, '{"error": {"message": "pay up"}}', QuotaError),
        (429, '{"error": {"message": "You exceeded your current quota"}}', QuotaError),
        (404, '{"detail": "Generation not found"}', NotFoundError),
        (400, DETAIL, BadRequestError),
        (422, '{"detail": [{"msg": "bad"}]}', BadRequestError),
        (429, '{"error": {"message": "slow down"}}', RateLimitError),
        (500, "oops", ServerError),
        (502, NGINX, ServerError),
        (503, '{"error": {"message": "no available channel"}}', ServerError),
    ],
)
def test_status_classification(status: int, body: str, kind: type[LumaError]) -> None:
    error = error_from_status(status, body, task_id="t1")
    assert type(error) is kind
    assert error.status_code == status
    assert error.task_id == "t1"
    assert f"(HTTP {status})" in str(error)
    assert error.hint  # every error says what to do next


def test_rate_limit_carries_retry_after() -> None:
    error = error_from_status(429, '{"error": {"message": "slow"}}', retry_after=7)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7
    assert "Wait 7 s" in str(error)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"code": 0, "message": "ok", "data": {}}, None),
        ({"code": 200, "message": "success"}, None),
        ({"code": "success", "data": []}, None),
        ({"id": "x", "state": "pending"}, None),
        ({"code": 500, "message": "upstream failed", "data": None}, ServerError),
        ({"code": 401, "message": "bad key"}, AuthenticationError),
        ({"code": 10010, "message": "余额不足"}, QuotaError),
        ({"code": "invalid_prompt", "message": "prompt rejected"}, BadRequestError),
    ],
)
def test_business_envelope_on_http_200(data: object, kind: type[LumaError] | None) -> None:
    error = business_error(data)
    assert (type(error) if error else None) is kind


def test_errors_pickle_and_keep_their_fields() -> None:
    task = Task.from_payload({"id": "t9", "state": "failed", "failure_reason": "moderation"})
    for error in (
        TaskFailedError(task),
        WaitTimeoutError("t9", task.state, task, waited=30),
        RateLimitError("slow", retry_after=3),
        AuthenticationError("no", status_code=401),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert str(copy) == str(error)
        assert copy.task_id == error.task_id
    assert TaskFailedError(task).failure_reason == "moderation"
