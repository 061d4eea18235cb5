"""Parsing: every response variant from the gateway reference normalises into one `Task`.

These are the narrow parsing tests that may use recorded JSON (verbatim from the reference);
everything else talks to the simulator over HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from luma_tools import GenerationRequest, InvalidInputError, Task, TaskState

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@pytest.mark.parametrize(
    ("name", "task_id", "state"),
    [
        ("create_seed.json", "9d4b7516-77e5-481a-b015-48313946f33b", TaskState.QUEUED),
        ("create_v98store.json", "4665a07c-7641-4809-a133-10786201bb56", TaskState.QUEUED),
        ("create_task_id_only.json", "90254e88-2591-4007-99b8-9ee442b54b9b", TaskState.QUEUED),
        ("create_envelope.json", "a4a8f1ff-e59b-4969-abcb-98b3e16f003e", TaskState.QUEUED),
        ("create_mixed.json", "4665a07c-7641-4809-a133-10786201bb56", TaskState.QUEUED),
        ("create_array.json", "a4a8f1ff-e59b-4969-abcb-98b3e16f003e", TaskState.QUEUED),
        ("query_processing_record.json", "9d4b7516-77e5-481a-b015-48313946f33b", TaskState.RUNNING),
        (
            "query_completed_gptbest.json",
            "77aae5b1-7e0e-4038-9e8d-d59a0dd79b5e",
            TaskState.COMPLETED,
        ),
        (
            "query_completed_artifact.json",
            "4665a07c-7641-4809-a133-10786201bb56",
            TaskState.COMPLETED,
        ),
        ("query_artifact_only.json", "cad904d3-1111-2222-3333-444455556666", TaskState.COMPLETED),
        ("query_official.json", "123e4567-e89b-12d3-a456-426614174000", TaskState.COMPLETED),
        ("query_failed_gptge.json", "f00dfeed-0000-1111-2222-333344445555", TaskState.FAILED),
    ],
)
def test_every_variant_yields_id_and_state(name: str, task_id: str, state: TaskState) -> None:
    payload = load(name)
    task = Task.from_payload(payload)
    assert task.id == task_id
    assert task.state is state
    assert task.raw == payload


def test_completed_task_prefers_the_unwatermarked_download_url() -> None:
    task = Task.from_payload(load("query_completed_gptbest.json"))
    assert task.video_url is not None
    assert "watermarked" not in task.video_url
    assert task.download_url == task.video_url
    assert task.thumbnail_url is not None
    assert task.thumbnail_url.endswith("thumb.jpg")
    assert task.last_frame_url is not None
    assert task.last_frame_url.endswith("last_frame.jpg")
    assert task.prompt == "In a modern airport, travelers rush to check in."
    assert task.created_at == datetime(2024, 11, 1, 10, 20, 34, 197000, tzinfo=UTC)
    assert task.is_finished


def test_unknown_fields_are_kept_in_raw() -> None:
    task = Task.from_payload(load("query_completed_gptbest.json"))
    assert task.raw["brand_new_field"] == {"nobody": "expected this"}


def test_artifact_media_and_go_zero_time() -> None:
    task = Task.from_payload(load("query_artifact_only.json"))
    # video.download_url is empty, so the raw file under artifact wins over the watermark.
    assert task.video_url == "https://cdn.example/raw.mp4"
    assert task.thumbnail_url == "https://cdn.example/t.jpg"
    assert task.created_at is None  # "0001-01-01T00:00:00Z" means unset


def test_artifact_shape_reads_request_prompt() -> None:
    task = Task.from_payload(load("query_completed_artifact.json"))
    assert task.prompt == "cat dance"
    assert task.last_frame_url is not None
    assert task.created_at is None


def test_official_shape_uses_assets() -> None:
    task = Task.from_payload(load("query_official.json"))
    assert task.video_url == "https://example.com/video.mp4"
    assert task.thumbnail_url == "https://example.com/thumb.jpg"


def test_failed_task_carries_its_reason() -> None:
    task = Task.from_payload(load("query_failed_gptge.json"))
    assert task.failure_reason == "Contains blacklisted words"
    assert task.is_finished


def test_batch_record_fills_from_outer_fields() -> None:
    record = load("query_processing_record.json")["data"][0]
    record["status"] = "FAILURE"
    record["fail_reason"] = "moderation"
    del record["data"]["state"]
    task = Task.from_payload(record)
    assert task.state is TaskState.FAILED
    assert task.failure_reason == "moderation"


def test_completed_without_url_is_not_finished() -> None:
    task = Task.from_payload(load("query_completed_no_url.json"))
    assert task.state is TaskState.COMPLETED
    assert not task.is_finished


def test_thumbnail_may_be_a_plain_string() -> None:
    task = Task.from_payload(
        {"id": "a", "state": "completed", "video": {"url": "https://v", "thumbnail": "https://t"}}
    )
    assert task.thumbnail_url == "https://t"


def test_epoch_timestamps_and_string_estimates() -> None:
    task = Task.from_payload(
        {"id": 42, "state": "dreaming", "created_at": 1719819313, "estimate_wait_seconds": "37.5"}
    )
    assert task.id == "42"
    assert task.created_at == datetime.fromtimestamp(1719819313, UTC)
    assert task.estimate_wait_seconds == 37.5


def test_stale_failure_reason_ignored_while_running() -> None:
    task = Task.from_payload({"id": "a", "state": "processing", "failure_reason": "old"})
    assert task.failure_reason is None


@pytest.mark.parametrize("payload", [[], {}, {"state": "pending"}, "text", 7, {"data": None}])
def test_payload_without_task_id_is_rejected(payload: Any) -> None:
    with pytest.raises(ValueError, match=r"(?i)task id|empty list|expected a JSON object"):
        Task.from_payload(payload)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("pending", TaskState.QUEUED),
        ("queued", TaskState.QUEUED),
        ("SUBMITTED", TaskState.QUEUED),
        ("NOT_START", TaskState.QUEUED),
        ("processing", TaskState.RUNNING),
        ("dreaming", TaskState.RUNNING),
        ("IN_PROGRESS", TaskState.RUNNING),
        ("completed", TaskState.COMPLETED),
        ("SUCCESS", TaskState.COMPLETED),
        ("failed", TaskState.FAILED),
        ("FAILURE", TaskState.FAILED),
        ("teleporting", TaskState.UNKNOWN),
    ],
)
def test_state_vocabularies(word: str, state: TaskState) -> None:
    assert TaskState.from_raw(word) is state
    assert state.is_terminal == (state in (TaskState.COMPLETED, TaskState.FAILED))


def test_summary_is_json_ready_and_omits_raw() -> None:
    summary = Task.from_payload(load("query_completed_gptbest.json")).summary()
    assert "raw" not in summary
    json.dumps(summary)


def test_task_round_trips_through_model_dump() -> None:
    task = Task.from_payload(load("query_completed_gptbest.json"))
    assert Task.model_validate(task.model_dump()) == task


# ---------------------------------------------------------------------------------------------
# Request bodies


def test_unset_fields_are_omitted_and_booleans_are_json_booleans() -> None:
    body = GenerationRequest.build(
        user_prompt="  cat dance ", expand_prompt="true", loop=False, aspect_ratio=None
    ).to_body()
    assert body == {"user_prompt": "cat dance", "expand_prompt": True, "loop": False}


def test_string_booleans_on_request() -> None:
    body = GenerationRequest.build(user_prompt="x", expand_prompt=True).to_body(bool_as_string=True)
    assert body["expand_prompt"] == "true"


def test_passthrough_fields() -> None:
    body = GenerationRequest.build(
        user_prompt="x", model_name="ray-v2", duration=5, resolution="720p"
    ).to_body()
    assert body == {
        "user_prompt": "x",
        "model_name": "ray-v2",
        "duration": "5",
        "resolution": "720p",
    }


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"user_prompt": "   "}, "user_prompt", "blank"),
        ({"user_prompt": "x" * 5001}, "user_prompt", "limit is 5000"),
        ({"user_prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio", "16:9"),
        ({"user_prompt": "x", "expand_prompt": "perhaps"}, "expand_prompt", "boolean"),
        ({"user_prompt": "x", "notify_hook": "example.com/hook"}, "notify_hook", "http(s) URL"),
        ({"user_prompt": "x", "notify_hook": "ftp://example.com"}, "notify_hook", "scheme"),
        ({"user_prompt": "x", "colour": "red"}, "colour", "Known options"),
        ({"user_prompt": "x", "image_url": "data:image/png;base64,***"}, "image_url", "base64"),
        (
            {"user_prompt": "x", "image_url": "data:text/plain;base64,aGk="},
            "image_url",
            "data:image/png",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_fix(
    fields: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        GenerationRequest.build(**fields)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)
