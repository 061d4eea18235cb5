"""The job journal: recorded before the POST, every outcome, every state, never a secret."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from luma_tools import (
    AmbiguousSubmitError,
    InvalidInputError,
    Journal,
    JournalError,
    LumaClient,
    RateLimitError,
    TaskState,
)
from luma_tools.simulator import LumaSimulator
from luma_tools.webhooks import NotifyListener


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite3")


@pytest.fixture
def jclient(sim: LumaSimulator, make_client, journal: Journal) -> LumaClient:
    return make_client(sim, journal=journal)


def test_a_generate_is_recorded_from_intent_to_file(
    jclient: LumaClient, journal: Journal, tmp_path: Path
) -> None:
    task, path = jclient.generate("a red fox", tmp_path / "fox.mp4", aspect_ratio="9:16")
    (job,) = journal.jobs()
    assert job.task_id == task.id
    assert job.prompt == "a red fox"
    assert job.options == {"aspect_ratio": "9:16"}
    assert job.dest == str(tmp_path / "fox.mp4")
    assert job.file == str(path)
    assert job.file_bytes == path.stat().st_size
    assert job.state is TaskState.COMPLETED
    assert job.label == "saved"
    assert job.is_finished
    kinds = [kind for _, kind, _ in journal.events(job.number)]
    assert kinds[:2] == ["sending", "created"]
    assert "state" in kinds
    assert kinds[-1] == "saved"
    assert journal.job(task.id) == job
    assert journal.job(job.number) == job


def test_the_intent_is_written_before_the_request_is_sent(
    sim: LumaSimulator, journal: Journal, make_client
) -> None:
    seen_before: list[int] = []
    client = make_client(sim, journal=journal)
    real_call = client._call

    def spy(call, **kwargs):  # what the journal holds at the moment the request goes out
        seen_before.append(len(journal.jobs()))
        return real_call(call, **kwargs)

    client._call = spy  # type: ignore[method-assign]
    client.create("a fox")
    assert seen_before == [1]
    assert journal.jobs()[0].status == "created"


def test_no_journal_no_request(sim: LumaSimulator, make_client, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    client = make_client(sim, journal=Journal(blocker / "journal.sqlite3"))
    with pytest.raises(JournalError):
        client.create("a fox")
    assert sim.count("create") == 0  # not recorded, so not sent


def test_ambiguous_and_refused_outcomes_are_recorded(
    sim: LumaSimulator, jclient: LumaClient, journal: Journal
) -> None:
    sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError):
        jclient.create("a lost reply")
    sim.faults.rate_limit(times=1, retry_after=1, route="create")
    with pytest.raises(RateLimitError):
        jclient.create("too fast")
    refused, ambiguous = journal.jobs()
    assert ambiguous.is_ambiguous
    assert ambiguous.label == "ambiguous"
    assert ambiguous.error is not None
    assert "a lost reply" in ambiguous.error
    assert refused.status == "refused"
    assert refused.label == "not created"
    assert journal.jobs(ambiguous=True) == [ambiguous]


def test_attach_and_dismiss_resolve_an_ambiguous_job(
    sim: LumaSimulator, jclient: LumaClient, journal: Journal
) -> None:
    sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError):
        jclient.create("a lost reply")
    (job,) = journal.jobs(ambiguous=True)
    real_id = next(r for r in sim.requests if r.route == "create").json  # the gateway's log
    task_id = sim.add_task(state="completed")
    attached = journal.attach(job.number, task_id)
    assert attached.status == "created"
    assert attached.task_id == task_id
    assert attached.is_unfinished  # completed but not saved yet: resume will download it
    with pytest.raises(InvalidInputError, match="not ambiguous"):
        journal.attach(job.number, task_id)
    dismissed = journal.dismiss(job.number)
    assert dismissed.label == "dismissed"
    assert dismissed.is_finished
    with pytest.raises(InvalidInputError, match="no job 999"):
        journal.dismiss(999)
    assert real_id["user_prompt"] == "a lost reply"


def test_a_request_whose_process_died_is_ambiguous(journal: Journal) -> None:
    # A row left in "sending" by a process that no longer exists (killed mid-request).
    script = f"""
from luma_tools import Journal
journal = Journal({str(journal.path)!r})
body = {{"user_prompt": "killed"}}
print(journal.intent(operation="create", gateway="https://gw.example", body=body))
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=60)
    (job,) = journal.jobs()
    assert job.status == "sending"
    assert not job.in_flight
    assert job.is_ambiguous
    assert journal.jobs(ambiguous=True) == [job]


def test_the_journal_never_stores_the_key_or_the_notify_token(
    sim: LumaSimulator, make_client, journal: Journal
) -> None:
    client = make_client(sim, journal=journal)
    with NotifyListener() as listener:
        client.create(f"echo {sim.api_key}", notify=listener)
        token = listener.url.rsplit("/", 1)[-1]
    raw = journal.path.read_bytes() + Path(f"{journal.path}-wal").read_bytes()
    assert sim.api_key.encode() not in raw
    assert token.encode() not in raw
    (job,) = journal.jobs()
    assert "<redacted>" in job.options["notify_hook"]


def test_images_are_summarised_not_stored(
    jclient: LumaClient, journal: Journal, tmp_path: Path
) -> None:
    import base64

    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    (tmp_path / "start.png").write_bytes(png * 2000)
    jclient.create("from an image", image_url=str(tmp_path / "start.png"))
    (job,) = journal.jobs()
    assert len(job.options["image_url"]) < 200
    assert "sha256" in job.options["image_url"]


def test_two_processes_write_one_journal_at_once(sim: LumaSimulator, journal: Journal) -> None:
    script = f"""
import sys
from luma_tools import LumaClient, Journal
client = LumaClient({sim.api_key!r}, {sim.base_url!r}, journal=Journal({str(journal.path)!r}))
for i in range(15):
    client.create(f"process {{sys.argv[1]}} prompt {{i}}")
"""
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    threads = [
        threading.Thread(
            target=lambda: [
                LumaClient(sim.api_key, sim.base_url, journal=journal).create(f"thread {i}")
                for i in range(10)
            ]
        )
    ]
    for thread in threads:
        thread.start()
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    for thread in threads:
        thread.join(60)
    jobs = journal.jobs()
    assert len(jobs) == 3 * 15 + 10
    assert all(job.status == "created" and job.task_id for job in jobs)
    assert len({job.task_id for job in jobs}) == len(jobs)
    assert sim.count("create") == len(jobs)


def test_a_journal_from_an_older_schema_still_opens(tmp_path: Path) -> None:
    from luma_tools._journal_sqlite import _MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO jobs (created_at, updated_at, operation, gateway, prompt, options, digest, "
        "status, task_id, state) VALUES (1733312345, 1733312345, 'create', 'https://gw', "
        "'an old prompt', '{}', 'd', 'created', 'old-task', 'running')"
    )
    db.commit()
    db.close()
    journal = Journal(path)
    (job,) = journal.jobs()
    assert job.prompt == "an old prompt"
    assert job.is_unfinished
    assert job.run is None
    assert job.attempt == 1
    number = journal.intent(
        operation="create", gateway="https://gw", body={"user_prompt": "new"}, run="r", key="k"
    )
    assert journal.item("r", "k").number == number  # the new columns work


def test_a_journal_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(JournalError, match="newer luma-tools"):
        Journal(path).jobs()


def test_the_journal_can_be_turned_off(sim: LumaSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    assert LumaClient(sim.api_key, sim.base_url, journal=False).journal is None
    monkeypatch.setenv("LUMA_TOOLS_JOURNAL", "off")
    assert LumaClient(sim.api_key, sim.base_url).journal is None
    monkeypatch.setenv("LUMA_TOOLS_JOURNAL", "on")
    client = LumaClient(sim.api_key, sim.base_url)
    assert client.journal is not None
    assert client.journal.path == Path(os.environ["LUMA_TOOLS_HOME"]) / "journal.sqlite3"


def test_an_ambiguous_error_names_its_journal_job(
    sim: LumaSimulator, jclient: LumaClient, journal: Journal
) -> None:
    sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError) as caught:
        jclient.create("a lost reply")
    (job,) = journal.jobs(ambiguous=True)
    assert caught.value.job == job.number
    assert f"journal job {job.number}" in str(caught.value)
